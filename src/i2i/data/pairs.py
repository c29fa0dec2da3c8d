"""The two-domain layouts of pix2pix and CycleGAN (junyanz/pytorch-CycleGAN-and-pix2pix): paired
(side-by-side A|B images or aligned A/ and B/ folders) and unpaired (trainA/trainB). Items are
{"A": ..., "B": ...}, both float 3 x H x W in [-1, 1].
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import I2IError
from . import images as im
from .files import EXTENSIONS, Readable, list_images, need_dir, subdirs, wrap_index


def default_load_size(image_size: int) -> int:
    """pix2pix/CycleGAN's load size for a crop size: 286 for 256."""
    return int(round(image_size * 286 / 256))


class _TwoDomain(Readable):
    """Shared transforms of Paired and Unpaired, as junyanz's 'resize_and_crop' preprocessing.

    Training (`train=True`): resize to load_size x load_size (aspect not kept, as junyanz), a random
    image_size crop, then (if `flip`) a random horizontal flip. Test: resize straight to
    image_size x image_size (deterministic; the same squash as training, without the crop).
    Randomness comes from torch's global RNG (DataLoader workers seed it per worker).
    """

    domains = ["A", "B"]
    paired: bool
    channels = 3

    def __init__(self, image_size: int, load_size: int | None, train: bool, flip: bool, skip_bad: bool):
        super().__init__(skip_bad)
        self.image_size = int(image_size)
        self.load_size = int(load_size) if load_size else default_load_size(self.image_size)
        if self.image_size < 1 or self.load_size < self.image_size:
            raise I2IError(f"load_size {self.load_size} must be >= image_size {self.image_size} >= 1")
        self.domains = list(self.domains)
        self.train, self.flip = bool(train), bool(flip) and bool(train)

    def get_params(self) -> tuple[int, int, bool]:
        """Crop corner and flip for one item, shared by A and B of a pair (junyanz get_params)."""
        if not self.train:
            return 0, 0, False
        room = self.load_size - self.image_size
        top = int(torch.randint(room + 1, ()))
        left = int(torch.randint(room + 1, ()))
        return top, left, self.flip and torch.rand(()).item() < 0.5

    def transform(self, t: torch.Tensor, params: tuple[int, int, bool]) -> torch.Tensor:
        if not self.train:
            return im.resize_exact(t, self.image_size)
        top, left, flip = params
        t = im.resize_exact(t, self.load_size)[..., top:top + self.image_size, left:left + self.image_size]
        return im.hflip(t) if flip else t


def _split_dir(root, split: str, what: str, expect: str) -> tuple[Path, Path]:
    base = need_dir(root, what)
    if not base.is_dir():
        raise I2IError(f"{base} is not a folder; {what}:PATH needs {expect}")
    return base, base / split


def _folder_names(path: Path) -> str:
    names = subdirs(path)
    return ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") if names else "no folders"


class Unpaired(_TwoDomain):
    """CycleGAN's unaligned layout: root/trainA, root/trainB (root/testA, root/testB for split='test').

    Length max(len A, len B). Item i: A = A_files[i % nA]; B = a random B file (torch's global RNG,
    as junyanz's serial_batches=False) when training, B_files[i % nB] otherwise. Bad images raise
    I2IError naming the file, or with `skip_bad` are skipped (the next file of that domain is used).
    """

    paired = False

    def __init__(self, root, image_size: int = 256, split: str = "train", *, load_size: int | None = None,
                 train: bool = True, flip: bool = True, skip_bad: bool = False):
        super().__init__(image_size, load_size, train, flip, skip_bad)
        if split not in ("train", "test"):
            raise I2IError(f"unpaired split must be 'train' or 'test', got {split!r}")
        base, _ = _split_dir(root, split, "unpaired", "root/trainA and root/trainB")
        dirs = [base / f"{split}A", base / f"{split}B"]
        missing = [d.name for d in dirs if not d.is_dir()]
        if missing:
            raise I2IError(f"no {' or '.join(missing)} folder in {base} (found: {_folder_names(base)}); "
                           f"unpaired:PATH expects {dirs[0].name}/ and {dirs[1].name}/ image folders"
                           f"{_other_layout(base)}")
        self.root, self.split = base, split
        self.files_A, self.files_B = (list_images(d) for d in dirs)
        for d, files in zip(dirs, (self.files_A, self.files_B)):
            if not files:
                raise I2IError(f"{d} has no images ({', '.join(sorted(EXTENSIONS))}); add images to it")

    def __len__(self) -> int:
        return max(len(self.files_A), len(self.files_B))

    def _first_good(self, domain: str, files: list[Path], start: int) -> torch.Tensor:
        t = self._first_readable(len(files), start, lambda j: self._load((domain, j), files[j]))
        if t is None:
            raise I2IError(f"none of the {len(files)} images of {self.root / (self.split + domain)} could be "
                           "read; check the dataset files")
        return t

    def __getitem__(self, i) -> dict:
        i = wrap_index(i, len(self))
        nb = len(self.files_B)
        j = int(torch.randint(nb, ())) if self.train else i % nb
        a = self._first_good("A", self.files_A, i % len(self.files_A))
        b = self._first_good("B", self.files_B, j)
        return {"A": self.transform(a, self.get_params()), "B": self.transform(b, self.get_params())}


class Paired(_TwoDomain):
    """pix2pix's aligned layout: root/<split>/*.jpg with A and B side by side (A the left half, split
    at width // 2), or two aligned folders root/<split>/A and root/<split>/B holding the same file
    names (extensions may differ). split: 'train', 'test' or 'val'.

    The same crop and flip are applied to A and B. A bad image raises I2IError naming the file, or
    with `skip_bad` its pair is skipped (the next pair is used).
    """

    paired = True

    def __init__(self, root, image_size: int = 256, split: str = "train", *, load_size: int | None = None,
                 train: bool = True, flip: bool = True, skip_bad: bool = False):
        super().__init__(image_size, load_size, train, flip, skip_bad)
        if split not in ("train", "test", "val"):
            raise I2IError(f"paired split must be 'train', 'test' or 'val', got {split!r}")
        expect = f"root/{split}/*.jpg (A|B side by side) or root/{split}/A and root/{split}/B"
        base, d = _split_dir(root, split, "paired", expect)
        if not d.is_dir():
            hint = f"; for trainA/trainB folders use unpaired:{base}" if (base / f"{split}A").is_dir() else ""
            raise I2IError(f"no {split!r} folder in {base} (found: {_folder_names(base)}); paired:PATH expects "
                           f"{expect}{hint}")
        self.root, self.split = d, split
        ab = [(d / x).is_dir() for x in "AB"]
        if any(ab):
            if not all(ab):
                raise I2IError(f"{d / 'AB'[ab.index(False)]} does not exist but {d / 'AB'[ab.index(True)]} does; "
                               "aligned folders need both A/ and B/ with the same file names")
            self.side_by_side = False
            self.files_A, self.files_B = _aligned(d / "A", d / "B")
            self.files = self.files_A
        else:
            self.side_by_side = True
            if subdirs(d) and not any(p.suffix.lower() in EXTENSIONS for p in d.iterdir() if p.is_file()):
                raise I2IError(f"{d} holds folders ({_folder_names(d)}) but no images; paired:PATH expects "
                               f"{expect}; for {base}/{split}/<domain>/<images> trees use folders:{base}")
            self.files = list_images(d)
            if not self.files:
                raise I2IError(f"{d} has no images ({', '.join(sorted(EXTENSIONS))}) and no A/ and B/ folders; "
                               f"paired:PATH expects {expect}")
            self.files_A = self.files_B = self.files

    def __len__(self) -> int:
        return len(self.files)

    def _pair(self, j: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        if not self.side_by_side:
            a = self._load(j, self.files_A[j])
            b = self._load(j, self.files_B[j]) if a is not None else None
            return None if b is None else (a, b)
        ab = self._load(j, self.files[j])
        if ab is None:
            return None
        w = ab.shape[-1]
        if w < 2:
            return self._skip(j, I2IError(f"image {self.files[j]} is {w} px wide; side-by-side A|B images "
                                          "need width >= 2"))
        return ab[..., :w // 2], ab[..., w // 2:]

    def __getitem__(self, i) -> dict:
        n = len(self)
        pair = self._first_readable(n, wrap_index(i, n), self._pair)
        if pair is None:
            raise I2IError(f"none of the {n} image pairs of {self.root} could be read; check the dataset files")
        params = self.get_params()  # one draw for both halves
        return {"A": self.transform(pair[0], params), "B": self.transform(pair[1], params)}


def _other_layout(base: Path) -> str:
    """A hint naming the spec for a tree that is not CycleGAN's trainA/trainB layout."""
    for split in ("train", "test", "val"):
        d = base / split
        if d.is_dir():
            if ((d / "A").is_dir() and (d / "B").is_dir()) or any(
                    p.suffix.lower() in EXTENSIONS for p in d.iterdir() if p.is_file()):
                return f"; {d} looks like a paired tree (A|B side by side, or A/ and B/): use paired:{base}"
            return f"; {d} looks like a domain-folder tree: use folders:{base}"
    if subdirs(base):
        return f"; for {base}/<domain>/<images> trees use folders:{base}"
    return ""


def _aligned(dir_a: Path, dir_b: Path) -> tuple[list[Path], list[Path]]:
    """Files of A and B matched by path relative to their folder, extension ignored."""
    def by_name(folder: Path) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for p in list_images(folder):
            key = p.relative_to(folder).with_suffix("").as_posix()
            if key in out:
                raise I2IError(f"{out[key]} and {p} have the same name; aligned folders need one file per name")
            out[key] = p
        return out
    a, b = by_name(dir_a), by_name(dir_b)
    if not a and not b:
        raise I2IError(f"{dir_a} and {dir_b} have no images ({', '.join(sorted(EXTENSIONS))}); add the pairs")
    for src, dst, other in ((a, b, dir_b), (b, a, dir_a)):
        lone = sorted(set(src) - set(dst))
        if lone:
            more = f" (and {len(lone) - 1} more)" if len(lone) > 1 else ""
            raise I2IError(f"{src[lone[0]]} has no partner: no {other / lone[0]}.<ext> image{more}; "
                           "aligned A/B folders need the same file names")
    keys = sorted(a)
    return [a[k] for k in keys], [b[k] for k in keys]
