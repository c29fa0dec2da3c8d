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
    if kind == "shapes":
        from .shapes import PALETTE, ShapesDataset
        attrs = list(cfg.attributes) or SHAPES_DEFAULT_ATTRIBUTES
        colours = [a for a in attrs if a in PALETTE] or ["red", "green", "blue"]
        n = cfg.n_train if split == "train" else cfg.n_test
        return ShapesDataset(n, cfg.image_size, attributes=attrs, colours=colours, seed=0, split=split,
                             stripe_period=cfg.stripe_period or None)
    if not path:
        raise I2IError(f"data spec {cfg.spec!r} needs a path, e.g. celeba:/data/celeba or folders:/data/afhq; "
                       "or use the built-in 'shapes'")
    from .layouts import CelebA, DomainFolders
    if kind == "celeba":
        kw = {"attributes": list(cfg.attributes)} if cfg.attributes else {}
        return CelebA(path, split=split, crop=cfg.crop, image_size=cfg.image_size, flip=train, **kw)
    if kind == "folders":
        return DomainFolders(path, image_size=cfg.image_size, split=_folder_split(path, split), flip=train)
    raise I2IError(f"unknown data spec {cfg.spec!r}; use shapes, celeba:PATH or folders:PATH")


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
    return DataInfo(image_size, attributes=attributes, domains=domains, exclusive=[g for g in groups if len(g) > 1])
