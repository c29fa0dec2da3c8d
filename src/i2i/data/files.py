"""What every on-disk layout shares: finding image files, and reading them with bad-file bookkeeping."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from ..errors import I2IError
from . import images as im

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def need_dir(root, what: str) -> Path:
    if not str(root):
        raise I2IError(f"{what} needs a path, e.g. {what}:/data/my_dataset")
    root = Path(root).expanduser()
    if not root.exists():
        raise I2IError(f"dataset folder {root} does not exist; check the path")
    return root


def subdirs(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_images(folder: Path) -> list[Path]:
    """Image files under `folder` (recursive, sorted), hidden files and folders skipped."""
    out = []
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).parts
        if p.suffix.lower() in EXTENSIONS and not any(s.startswith(".") for s in rel) and p.is_file():
            out.append(p)
    return sorted(out)


def wrap_index(i, n: int) -> int:
    i = int(i)
    if not -n <= i < n:
        raise IndexError(f"index {i} out of range for {n} images")
    return i % n


class Readable(torch.utils.data.Dataset):
    """A bad file raises I2IError naming it, or, with `skip_bad`, is remembered, reported and skipped
    (counted per process in `skipped`: DataLoader workers each keep their own record)."""

    def __init__(self, skip_bad: bool = False):
        self.skip_bad = skip_bad
        self._bad: set = set()

    @property
    def skipped(self) -> int:
        return len(self._bad)

    def _load(self, key, path: Path) -> torch.Tensor | None:
        """The decoded image, or None when `key` is (now) known bad and skip_bad is on."""
        if key in self._bad:
            return None
        try:
            return im.to_tensor(im.load_image(path))
        except I2IError as e:
            return self._skip(key, e)

    def _skip(self, key, err: I2IError) -> None:
        """Raise `err`, or with skip_bad record `key` as bad and say so on stderr (one line per file
        and process, so that workers' skips are seen too)."""
        if not self.skip_bad:
            raise err
        self._bad.add(key)
        print(f"i2i: skipped: {err}", file=sys.stderr)
        return None

    @staticmethod
    def _first_readable(n: int, start: int, read):
        """read(j) for the first j from `start` on (cyclically) where it is not None; None if none is."""
        for k in range(n):
            out = read((start + k) % n)
            if out is not None:
                return out
        return None
