"""yunjey/stargan checkpoints: `200000-G.ckpt` [`200000-D.ckpt`], plain state dicts of model.py's
Generator and Discriminator.

i2i's StarGAN networks keep the official module layout (G.main.N with ResidualBlock.main.N inside;
D.main.N, D.conv1, D.conv2), so the mapping is official key → "G." / "D." + key, each shape
checked. Inferred from the weights: c_dim (G's first conv sees 3 + c channels), g_conv_dim,
g_repeat_num (residual blocks), and with D: d_conv_dim, d_repeat_num and the image size
(D's classifier kernel is image / 2^repeat). G alone fixes no image size (it is fully
convolutional), so without D the size must be given. G = D's labels + 2 is the CelebA+RaFD joint
model (mask vector of two datasets).
"""
from __future__ import annotations

from ..data import EXCLUSIVE_GROUPS
from ..errors import I2IError
from ..methods.base import DataInfo
from . import Part, Plan, count, model_config, need, tensors

CELEBA = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]  # the README's selected_attrs
# RaFD's eight expressions, in the order ImageFolder gives its folders (sorted names)
RAFD = ["angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised"]


def _split(states):
    """(G, D or None) whichever order the files come in."""
    if len(states) > 2:
        raise I2IError(f"stargan takes G.ckpt and optionally D.ckpt; got {len(states)} files")
    named = [(name, tensors(sd, name)) for name, sd in states]
    ds = [s for s in named if "conv1.weight" in s[1]]
    gs = [s for s in named if "conv1.weight" not in s[1]]
    if len(gs) != 1:
        raise I2IError(f"stargan needs one generator file (G.ckpt); got {', '.join(n for n, _ in named)}")
    return gs[0], (ds[0] if ds else None)


def _names(n: int, attributes, domains, source: str):
    """(attributes, domains) naming n labels: given, or CelebA's five / RaFD's eight."""
    if attributes and domains:
        raise I2IError("give --attributes (multi-label, as CelebA) or --domains (single-label, as RaFD), not both")
    given = attributes or domains
    if given:
        if len(given) != n:
            raise I2IError(f"{source} has {n} labels but {len(given)} names were given ({', '.join(given)})")
        return (list(attributes or []), list(domains or []))
    if n == 5:
        return CELEBA, []
    if n == 8:
        return [], RAFD
    raise I2IError(f"{source} has {n} labels; name them with --attributes a,b,... (multi-label, as CelebA's) "
                   f"or --domains a,b,... (single-label, as RaFD's)")


def _exclusive(attributes):
    return [g for g in ([a for a in grp if a in attributes] for grp in EXCLUSIVE_GROUPS) if len(g) > 1]


def plan(states, image_size: int | None = None, attributes=None, domains=None) -> Plan:
    (g_name, G), d = _split(states)
    w = need(G, "main.0.weight", g_name, "a StarGAN generator (yunjey/stargan G.ckpt)")
    c_g, g_conv_dim = w.shape[1] - 3, w.shape[0]
    g_repeat = count(G, r"main\.(\d+)\.main\.0\.weight")
    settings = {"g_conv_dim": g_conv_dim, "g_repeat_num": g_repeat, "c_dim": c_g}
    notes = []
    joint = False
    if d is not None:
        d_name, D = d
        d_repeat = count(D, r"main\.(\d+)\.weight")
        d_conv_dim = need(D, "main.0.weight", d_name, "a StarGAN discriminator").shape[0]
        cls = need(D, "conv2.weight", d_name, "a StarGAN discriminator")
        size = cls.shape[-1] * 2 ** d_repeat
        if image_size and image_size != size:
            raise I2IError(f"{d_name} was built for {size} px images (classifier kernel {cls.shape[-1]} after "
                           f"{d_repeat} halvings), not --image-size {image_size}")
        image_size, c_d = size, cls.shape[0]
        joint = c_g == c_d + 2
        if c_g != c_d and not joint:
            raise I2IError(f"{g_name} takes {c_g} labels but {d_name} classifies {c_d}: not one model's G and D")
        settings.update(d_conv_dim=d_conv_dim, d_repeat_num=d_repeat)
    else:
        if not image_size:  # G is fully convolutional: its weights fit every size; D's classifier fixes one
            raise I2IError(f"{g_name} alone does not fix the image size (G is fully convolutional): pass "
                           "--image-size N, the --image_size it was trained with, or give its D.ckpt too")
        d_repeat = min(6, image_size.bit_length() - 1)
        settings.update(d_conv_dim=64, d_repeat_num=d_repeat)
        notes.append("no D.ckpt: D is randomly initialised; i2i reads the labels a target does not name from D's "
                     "classifier, so name every label of each target (or import D.ckpt too)")
    settings["image_size"] = image_size
    if joint:  # [CelebA labels | RaFD labels | 2-way mask], D classifies the first two parts
        attrs = list(attributes or (CELEBA if c_d == 13 and not domains else []))
        doms = list(domains or (RAFD if c_d == 13 and not attributes else []))
        if len(attrs) + len(doms) != c_d:
            raise I2IError(f"{g_name} is a joint model with {c_d} labels (+ 2 mask); name them with --attributes "
                           f"(first dataset, multi-label) and --domains (second, single-label): "
                           f"got {len(attrs)} + {len(doms)}")
        datasets = [{"name": "CelebA", "labels": attrs, "multi_label": True},
                    {"name": "RaFD", "labels": doms, "multi_label": False}]
        info = DataInfo(image_size, attributes=attrs + doms, exclusive=_exclusive(attrs) + [doms], datasets=datasets)
        settings.update(c_dim=c_d, joint="CelebA+RaFD mask vector")
    else:
        attrs, doms = _names(c_g, attributes, domains, g_name)
        info = DataInfo(image_size, attributes=attrs, domains=doms, exclusive=_exclusive(attrs))
    settings["labels"] = attrs + doms
    if not (attributes or domains):
        notes.append(f"label names are the official defaults ({', '.join(attrs + doms)}); pass --attributes / "
                     "--domains if the model was trained on others")
    model = {k: settings[k] for k in ("g_conv_dim", "g_repeat_num", "d_conv_dim", "d_repeat_num")}
    cfg = model_config("stargan", image_size, model, None if joint else {"attributes": attrs, "domains": doms})
    parts = [Part(g_name, G, "G.")] + ([Part(d[0], d[1], "D.")] if d is not None else [])
    return Plan(cfg, info, parts, settings, notes)
