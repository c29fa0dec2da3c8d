"""Datasets: the built-in worlds and the public layouts, built from a DataConfig."""
from __future__ import annotations

from ..errors import I2IError

# Attributes that exclude each other (exactly one is set), as StarGAN treats hair colours.
EXCLUSIVE_GROUPS = [
    ["Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair"],
    ["red", "green", "blue", "yellow", "magenta", "cyan"],
    ["circle", "square", "triangle"],
    ["dark_bg", "mid_bg", "light_bg"],
]
SHAPES_DEFAULT_ATTRIBUTES = ["red", "green", "blue", "striped", "large"]


def build(cfg, split: str = "train", train: bool = True):
    """The dataset a DataConfig names (several, with data.joint or shapes:joint, as one JointDataset).
    `train=False` turns off random augmentation; data.labelled_fraction < 1 hides the labels of
    the other training items."""
    if not 0.0 < cfg.labelled_fraction <= 1.0:
        raise I2IError(f"data.labelled_fraction={cfg.labelled_fraction} must be in (0, 1]")
    dataset = _joint(cfg, split, train) if cfg.joint or cfg.spec == "shapes:joint" else _build_one(cfg, split, train)
    if cfg.labelled_fraction < 1.0 and split == "train":
        if not (getattr(dataset, "attributes", None) or getattr(dataset, "domains", None)) or \
                getattr(dataset, "paired", None) is not None:
            raise I2IError(f"data.labelled_fraction applies to labelled datasets; {cfg.spec} has no labels to hide")
        from .semi import PartlyLabelled
        dataset = PartlyLabelled(dataset, cfg.labelled_fraction)
    return dataset


# shapes:joint, the built-in joint task: the same world twice, one copy labelled by colour only
# (like CelebA's hair colours), the other, drawn with another seed, by background band only.
SHAPES_JOINT = {"shapes-colours": ["red", "green", "blue"], "shapes-backgrounds": ["dark_bg", "mid_bg", "light_bg"]}


def _joint(cfg, split: str, train: bool):
    """Joint training (StarGAN's mask vector): data.spec and each of data.joint as one dataset.
    data.attributes picks CelebA's (and shapes') labels, data.domains the folders' domains."""
    import dataclasses

    from .joint import JointDataset
    if cfg.spec == "shapes:joint":
        if cfg.joint:
            raise I2IError("shapes:joint already holds two datasets; leave data.joint empty")
        from .shapes import ShapesDataset
        n = cfg.n_train if split == "train" else cfg.n_test
        parts = [ShapesDataset(n, cfg.image_size, attributes=attrs, seed=k, split=split,
                               stripe_period=cfg.stripe_period or None)
                 for k, attrs in enumerate(SHAPES_JOINT.values())]
        return JointDataset(parts, list(SHAPES_JOINT))
    specs = [cfg.spec, *cfg.joint]
    parts = []
    for spec in specs:
        kind = spec.partition(":")[0]
        if kind not in ("celeba", "folders", "digits") and spec != "shapes":
            raise I2IError(f"{spec} cannot join a joint run: use labelled datasets (celeba:PATH, folders:PATH, shapes)")
        part_cfg = dataclasses.replace(cfg, spec=spec, joint=[], labelled_fraction=1.0,
                                       attributes=list(cfg.attributes) if kind in ("celeba", "shapes") else [],
                                       domains=list(cfg.domains) if kind in ("folders", "digits") else [])
        parts.append(_build_one(part_cfg, split, train))
    return JointDataset(parts, specs)


def _build_one(cfg, split: str, train: bool):
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
    args = kw.get(kind, {})
    if kind in kw:  # the public layouts read files; others registered in LAYOUTS may not take skip_bad
        args["skip_bad"] = cfg.skip_bad
    return open_dataset(cfg.spec, **args)


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
    from .datainfo import DataInfo
    attributes = list(getattr(dataset, "attributes", []) or [])
    domains = [] if attributes else list(getattr(dataset, "domains", []) or [])
    parts = list(getattr(dataset, "datasets", []) or [])  # joint training: the label set of each dataset
    groups = [[a for a in g if a in attributes] for g in EXCLUSIVE_GROUPS]
    groups += [d["labels"] for d in parts if not d["multi_label"]]  # a dataset's domains exclude each other
    return DataInfo(image_size, channels=getattr(dataset, "channels", 3), points=getattr(dataset, "points", 0),
                    attributes=attributes, domains=domains,
                    exclusive=[g for g in groups if len(g) > 1], datasets=parts)
