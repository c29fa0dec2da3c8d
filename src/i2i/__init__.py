"""i2i: GAN image-to-image translation and generation.

    import i2i
    t = i2i.load("runs/demo")
    out = t.translate("in.png", target="red,striped")
"""

__version__ = "0.1.0"


def __getattr__(name):  # keep `import i2i` light: torch loads on first use
    if name in ("load", "Translator"):
        from . import api
        return getattr(api, name)
    if name == "train":
        from .train.trainer import train
        return train
    if name == "METHODS":
        from .methods.base import available
        return available()
    raise AttributeError(name)
