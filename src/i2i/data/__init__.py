"""Datasets: the built-in worlds and the public layouts, built from a DataConfig."""
from __future__ import annotations

from ..errors import I2IError

# Attributes that exclude each other (exactly one is set), as StarGAN treats hair colours.
EXCLUSIVE_GROUPS = [
    ["Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair"],
    ["red", "green", "blue", "yellow", "magenta", "cyan"],
    ["circle", "square", "triangle"],
]
SHAPES_DEFAULT_ATTRIBUTES = ["red", "green", "blue", "striped", "large"]


def build(cfg, split: str = "train", train: bool = True):
    """The dataset a DataConfig names. `train=False` turns off random augmentation."""
    kind, _, path = cfg.spec.partition(":")
    if not 0.0 <= cfg.random_crop_prob <= 1.0:
        raise I2IError(f"data.random_crop_prob={cfg.random_crop_prob} is not a probability; use a value in [0, 1]")
    if kind == "shapes" and path:
        return _shapes_task(cfg, path, split, train)
    if kind == "shapes":
        from .shapes import PALETTE, ShapesDataset
        n = cfg.n_train if split == "train" else cfg.n_test
        common = dict(seed=0, split=split, stripe_period=cfg.stripe_period or None)
        if cfg.domains:  # shapes are the domains; every colour (or those named) and stripes are style
            other = [a for a in cfg.attributes if a not in PALETTE]
            if other:
                raise I2IError(f"data.attributes {other} cannot be used with data.domains; in domain mode "
                               f"attributes may only name colours ({', '.join(PALETTE)})")
            colours = list(cfg.attributes) or list(PALETTE)
            return ShapesDataset(n, cfg.image_size, colours=colours, domains=list(cfg.domains), **common)
        attrs = list(cfg.attributes) or SHAPES_DEFAULT_ATTRIBUTES
        colours = [a for a in attrs if a in PALETTE] or ["red", "green", "blue"]
        return ShapesDataset(n, cfg.image_size, attributes=attrs, colours=colours, **common)
    if kind == "digits" and path not in ("", "svhn"):
        raise I2IError(f"unknown digits task {cfg.spec!r}; use digits or digits:svhn (SVHN-like → clean digits)")
    if kind == "digits" and path == "svhn":
        from .digits import SVHNToDigits
        return SVHNToDigits(split, cfg.image_size, train=train)
    if kind == "digits":
        from .digits import DigitsDataset
        return DigitsDataset(split, cfg.image_size, digits=list(cfg.domains) or None)
    if kind == "ring":
        from .ring import RingDataset
        return RingDataset(cfg.n_train if split == "train" else cfg.n_test, split)
    if kind == "celeba" and cfg.domains:
        raise I2IError(f"data.domains={list(cfg.domains)} does not apply to CelebA; pick labels with data.attributes")
    if kind in ("paired", "unpaired"):
        _no_labels(cfg, kind)
    from .layouts import open_dataset
    kw = {"celeba": dict(split=split, crop=cfg.crop, image_size=cfg.image_size, flip=train,
                         **({"attributes": list(cfg.attributes)} if cfg.attributes else {})),
          "folders": dict(image_size=cfg.image_size, split=_folder_split(path, split), flip=train,
                          domains=list(cfg.domains) or None, rand_crop=cfg.random_crop_prob if train else 0.0),
          "paired": dict(image_size=cfg.image_size, split=_paired_split(path, split), train=train),
          "unpaired": dict(image_size=cfg.image_size, split=split, train=train)}
    return open_dataset(cfg.spec, **kw.get(kind, {}))


SHAPES_TASKS = ("paired", "unpaired")


def _shapes_task(cfg, task: str, split: str, train: bool):
    """shapes:paired (label map -> render, for pix2pix) or shapes:unpaired (plain <-> striped, for CycleGAN)."""
    if task not in SHAPES_TASKS:
        raise I2IError(f"unknown shapes task {task!r} in data.spec={cfg.spec!r}; use shapes, "
                       f"{', '.join('shapes:' + t for t in SHAPES_TASKS)}")
    _no_labels(cfg, cfg.spec)
    from .shapes_tasks import ShapesPaired, ShapesUnpaired
    n = cfg.n_train if split == "train" else cfg.n_test
    common = dict(split=split, stripe_period=cfg.stripe_period or None)
    if task == "paired":
        return ShapesPaired(n, cfg.image_size, **common)
    angle = cfg.stripe_angle if cfg.stripe_angle >= 0 else None
    return ShapesUnpaired(n, cfg.image_size, train=train, stripe_angle=angle, **common)


def _no_labels(cfg, what: str) -> None:
    """Two-domain data have fixed domains A and B and no labels to pick."""
    for name in ("attributes", "domains"):
        if getattr(cfg, name):
            raise I2IError(f"data.{name}={list(getattr(cfg, name))} does not apply to {what}: a two-domain "
                           f"dataset has fixed domains A and B and no labels; leave data.{name} empty")


def _paired_split(path: str, split: str) -> str:
    """pix2pix data: 'train', or for evaluation 'test' (falling back to 'val', as maps/cityscapes ship)."""
    from pathlib import Path
    if split != "test":
        return split
    root = Path(path).expanduser()
    return "val" if not (root / "test").is_dir() and (root / "val").is_dir() else "test"


# Image sizes of the built-in worlds, used when a run names the world but no size.
WORLD_IMAGE_SIZE = {"digits": 16, "digits:svhn": 16, "ring": 0}


def _folder_split(path: str, split: str) -> str | None:
    """root/{train,val}/<domain> when present (val falling back to train), else root/<domain>."""
    from pathlib import Path
    root = Path(path)
    if not (root / "train").is_dir():
        return None
    return "val" if split != "train" and (root / "val").is_dir() else "train"


def info(dataset, image_size: int):
    """The DataInfo a method is built from."""
    from ..methods.base import DataInfo
    attributes = list(getattr(dataset, "attributes", []) or [])
    domains = [] if attributes else list(getattr(dataset, "domains", []) or [])
    groups = [[a for a in g if a in attributes] for g in EXCLUSIVE_GROUPS]
    return DataInfo(image_size, channels=getattr(dataset, "channels", 3), points=getattr(dataset, "points", 0),
                    attributes=attributes, domains=domains,
                    exclusive=[g for g in groups if len(g) > 1])
