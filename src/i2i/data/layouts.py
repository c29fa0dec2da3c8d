"""Public dataset layouts: find image files and labels on disk; images.py decodes them.

Single-domain datasets (CelebA, DomainFolders) yield {"image": float 3 x H x W in [-1, 1], "label": ...};
the two-domain ones (Paired, Unpaired) live in pairs.py and are registered here too.
"""
from __future__ import annotations

import difflib
import random
from pathlib import Path

import torch

from ..errors import I2IError
from . import images as im
from .files import EXTENSIONS, Readable, list_images, need_dir, subdirs, wrap_index
from .pairs import Paired, Unpaired, default_load_size  # noqa: F401 (registered below; importable from here)

CELEBA_ATTR_FILE = "list_attr_celeba.txt"
CELEBA_IMAGE_DIRS = ("images", "img_align_celeba")


class _ImageList(Readable):
    """Image path(i) with labels[i]; subclasses set labels, files (or path) and `transform`."""

    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def path(self, i: int) -> Path:
        return self.files[i]

    def __getitem__(self, i) -> dict:
        n = len(self)

        def read(j):
            img = self._load(j, self.path(j))
            return None if img is None else {"image": self.transform(img), "label": self.labels[j].clone()}

        item = self._first_readable(n, wrap_index(i, n), read)
        if item is None:
            raise I2IError(f"none of the {n} images of {self.root} could be read; check the dataset files")
        return item

    def transform(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class CelebA(_ImageList):
    """CelebA layout: list_attr_celeba.txt plus an images/ (or img_align_celeba/) folder.

    The split is StarGAN's: data lines shuffled with random.Random(seed), the first `test_size` are test.
    Transforms as StarGAN: (train) random horizontal flip, centre crop `crop`, resize to `image_size`.
    """

    def __init__(self, root, attr_file=None, attributes=("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"),
                 split: str = "train", crop: int | None = 178, image_size: int = 128, flip: bool = True,
                 test_size: int = 1999, seed: int = 1234, skip_bad: bool = False):
        super().__init__(skip_bad)
        if split not in ("train", "test", "all"):
            raise I2IError(f"CelebA split must be 'train', 'test' or 'all', got {split!r}")
        root = need_dir(root, "celeba")
        if root.is_file() and attr_file is None:  # celeba:/data/list_attr_celeba.txt
            root, attr_file = root.parent, root
        attr_file = Path(attr_file).expanduser() if attr_file else root / CELEBA_ATTR_FILE
        if not attr_file.is_file():
            raise I2IError(f"attribute file {attr_file} not found; put {CELEBA_ATTR_FILE} (text format, not the "
                           "Kaggle .csv) in the dataset folder or pass attr_file")
        self.root = self.image_dir = _celeba_image_dir(root, attr_file)
        self.attributes = list(attributes)
        if not self.attributes:
            raise I2IError("CelebA needs at least one attribute, e.g. attributes=['Male']")
        names, labels = _read_attr_file(attr_file, self.attributes)
        order = list(range(len(names)))
        random.Random(seed).shuffle(order)  # same permutation as StarGAN's random.seed(1234); random.shuffle(lines)
        order = order[:test_size] if split == "test" else order[test_size:] if split == "train" else order
        if not order:
            raise I2IError(f"CelebA split {split!r} of {attr_file} is empty (test_size={test_size}); "
                           "use a smaller test_size or a larger attribute file")
        self.names = [names[i] for i in order]  # file names; Paths are built on access (200k Paths cost seconds)
        self.labels = torch.tensor([labels[i] for i in order], dtype=torch.float32).reshape(len(order), -1)
        self.split, self.crop, self.image_size = split, crop, int(image_size)
        self.flip = flip and split == "train"

    def path(self, i: int) -> Path:
        return self.image_dir / self.names[i]

    @property
    def files(self) -> list[Path]:
        return [self.image_dir / n for n in self.names]

    def transform(self, t: torch.Tensor) -> torch.Tensor:
        if self.flip:
            t = im.random_flip(t)
        if self.crop:
            t = im.center_crop(t, self.crop)
        return im.resize_square(t, self.image_size)


def _celeba_image_dir(root: Path, attr_file: Path) -> Path:
    for base in dict.fromkeys((root, attr_file.parent)):
        for name in CELEBA_IMAGE_DIRS:
            d = base / name
            if (d / name).is_dir():  # the Kaggle zip nests img_align_celeba/img_align_celeba
                d = d / name
            if d.is_dir():
                return d
    if root.is_dir() and root != attr_file.parent:  # explicit attr_file: root may be the image folder itself
        return root
    raise I2IError(f"no image folder in {root}; expected {root / 'images'} or {root / 'img_align_celeba'}")


def _read_attr_file(path: Path, attributes: list[str]) -> tuple[list[str], list[list[float]]]:
    """File names and 0/1 values of `attributes`, per data line in file order."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise I2IError(f"cannot read attribute file {path}: {e}") from None
    if len(lines) < 2 or not lines[0].strip().isdecimal():
        raise I2IError(f"{path} is not in {CELEBA_ATTR_FILE} format (line 1: image count, line 2: attribute names)")
    header = lines[1].split()
    cols = [_attr_index(a, header, path) + 1 for a in attributes]
    value = {"1": 1.0, "-1": 0.0, "0": 0.0}
    names, labels = [], []
    for no, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(header) + 1:
            raise I2IError(f"{path} line {no}: {len(parts)} columns, expected {len(header) + 1} "
                           f"(file name + {len(header)} attributes); fix or remove the line")
        try:
            labels.append([value[parts[c]] for c in cols])
        except KeyError:
            c = next(c for c in cols if parts[c] not in value)
            raise I2IError(f"{path} line {no}: value {parts[c]!r} for {header[c - 1]} is not 1, -1 or 0; "
                           "fix the file") from None
        names.append(parts[0])
    if int(lines[0]) != len(names):
        raise I2IError(f"{path}: line 1 says {int(lines[0])} images but {len(names)} are listed; the file may be "
                       "truncated (re-download it) or line 1 needs updating")
    return names, labels


def _attr_index(name: str, names: list[str], path: Path) -> int:
    if name in names:
        return names.index(name)
    close = difflib.get_close_matches(name, names, n=3) or names[:5]
    raise I2IError(f"unknown attribute {name!r} in {path}; did you mean {', '.join(close)}? "
                   f"({len(names)} available)")


class DomainFolders(_ImageList):
    """root/<domain>/<images>, or root/<split>/<domain>/<images> with split='train'/'val'.

    Labels are domain indices (long) in sorted domain-name order. Images are searched recursively.
    Transforms: optional centre crop `crop`; with probability `rand_crop` StarGAN v2's random resized
    crop (scale 0.8-1.0, aspect 0.9-1.1); shorter side to `image_size`, centre crop to a square;
    then, if `flip`, a random horizontal flip. Randomness comes from torch's global RNG, as the flip's
    (DataLoader workers seed it per worker; the trainer checkpoints it).
    """

    def __init__(self, root, image_size: int = 256, split: str | None = None, crop: int | None = None,
                 flip: bool = True, domains=None, rand_crop: float = 0.0, skip_bad: bool = False):
        super().__init__(skip_bad)
        base = need_dir(root, "folders")
        if not base.is_dir():
            raise I2IError(f"{base} is not a folder; folders:PATH needs root/<domain>/<images>")
        if split is not None:
            base = base / split
            if not base.is_dir():
                raise I2IError(f"no {split!r} folder in {root}; expected {base}/<domain>/<images>")
        found = subdirs(base)
        if split is None and found and set(found) <= {"train", "val", "test"}:
            raise I2IError(f"{base} holds {'/'.join(found)} folders; pass split='train' or split='val'")
        if not found:
            raise I2IError(f"no domain folders in {base}; expected {base}/<domain>/<images>")
        if split in ("train", "val"):
            _check_sibling(Path(root).expanduser(), split, found)
        if domains is not None:
            missing = [d for d in domains if d not in found]
            if missing:
                raise I2IError(f"domain folder(s) {missing} not in {base}; found {found}")
            found = sorted(domains)
        self.root, self.domains, self.split = base, found, split
        self.files, labels = [], []
        for k, d in enumerate(self.domains):
            files = list_images(base / d)
            if not files:
                raise I2IError(f"domain folder {base / d} has no images ({', '.join(sorted(EXTENSIONS))}); "
                               "add images or remove the folder")
            self.files += files
            labels += [k] * len(files)
        self.labels = torch.tensor(labels, dtype=torch.long)
        self.image_size, self.crop, self.flip, self.rand_crop = int(image_size), crop, flip, rand_crop

    @property
    def targets(self) -> list[int]:
        """Domain index of every item, without reading images (for class-balanced sampling)."""
        return self.labels.tolist()

    def transform(self, t: torch.Tensor) -> torch.Tensor:
        if self.crop:
            t = im.center_crop(t, self.crop)
        # the coin is tossed here, not via random_resized_crop(p=), whose miss branch would squash
        # non-square images instead of centre-cropping them
        if self.rand_crop > 0 and torch.rand(()).item() < self.rand_crop:
            t = im.random_resized_crop(t, self.image_size, scale=(0.8, 1.0), ratio=(0.9, 1.1))
        t = im.resize_square(t, self.image_size)
        return im.random_flip(t) if self.flip else t


def _check_sibling(root: Path, split: str, found: list[str]) -> None:
    other = root / ("val" if split == "train" else "train")
    if other.is_dir():
        theirs = subdirs(other)
        if theirs != found:
            raise I2IError(f"domain folders differ between {root / split} {found} and {other} {theirs}; "
                           "use the same domain names in both")


# spec prefix -> factory(path, **kw); path is "" when the spec has none. Others may register more.
LAYOUTS = {"celeba": CelebA, "folders": DomainFolders, "paired": Paired, "unpaired": Unpaired}


def open_dataset(spec: str, **kw):
    """'celeba:PATH' -> CelebA, 'folders:PATH' -> DomainFolders, 'paired:PATH' -> Paired,
    'unpaired:PATH' -> Unpaired, or any prefix registered in LAYOUTS."""
    kind, _, path = spec.partition(":")
    if kind not in LAYOUTS:
        raise I2IError(f"unknown data spec {spec!r}; the prefix must be one of: {', '.join(sorted(LAYOUTS))} "
                       "(e.g. celeba:/data/celeba, folders:/data/afhq, paired:/data/facades, "
                       "unpaired:/data/horse2zebra)")
    return LAYOUTS[kind](path, **kw)
