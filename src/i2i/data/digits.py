"""The digits world: scikit-learn's 1,797 real handwritten digits, upsampled.

The 8x8 images (16 grey levels, scanned from 43 writers) ship inside scikit-learn, so nothing
is downloaded. A fixed permutation splits them once: the GAN family trains on "train"
(1,200 digits) and the digit oracle (`i2i.metrics.digits`) learns from the held-out "test"
split (597), so the oracle has never seen the digits a generator imitated.
Images are 1 x S x S in [-1, 1] (white ink on black, as scikit-learn stores them), S in
{8, 16, 32}, upsampled bilinearly in torch.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import I2IError
from .tensors import InMemory

SIZES = (8, 16, 32)
N_TRAIN = 1200  # the rest (597) is held out for the oracle
SPLIT_SEED = 0
CLASSES = [str(d) for d in range(10)]


@functools.lru_cache(maxsize=1)
def _arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


def split_indices(split: str) -> np.ndarray:
    """Indices of `split` ("train" | "test") into scikit-learn's order; fixed for every run."""
    if split not in ("train", "test"):
        raise I2IError(f"split must be 'train' or 'test', got {split!r}")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(_arrays()[1]))
    return np.sort(order[:N_TRAIN] if split == "train" else order[N_TRAIN:])


def upsample(x8: torch.Tensor, size: int) -> torch.Tensor:
    """N x 1 x 8 x 8 in [0, 1] -> N x 1 x size x size in [-1, 1]."""
    if size not in SIZES:
        raise I2IError(f"digits come at {', '.join(map(str, SIZES))} px, got image_size={size}")
    x = x8 if size == 8 else F.interpolate(x8, size=(size, size), mode="bilinear", align_corners=False)
    return x.clamp(0, 1) * 2 - 1


class DigitsDataset(InMemory):
    """Real digits of one split; "label" is the digit (the domain index, 0-9)."""

    channels = 1

    def __init__(self, split: str = "train", image_size: int = 16, digits=None):
        images, labels = _arrays()
        idx = split_indices(split)
        if digits is not None:
            bad = [d for d in digits if str(d).strip() not in CLASSES]
            if bad:
                raise I2IError(f"digits {bad} are not digits; name some of 0-9")
            idx = idx[np.isin(labels[idx], [int(d) for d in digits])]
        self.split, self.image_size = split, image_size
        self.domains = CLASSES
        self.attributes: list[str] = []
        self.images = upsample(torch.from_numpy(images[idx])[:, None], image_size)
        self.labels = torch.from_numpy(labels[idx])


def svhn_like(clean: torch.Tensor, neighbours: torch.Tensor, generator: torch.Generator,
              noise: float = 0.08) -> torch.Tensor:
    """DTN's source domain made from real digits: N x 1 x S x S clean digits in [-1, 1] → N x 3 x
    S x S "house numbers". Each image gets a random background and ink colour (at least 0.4 apart
    in luminance, either brighter), the edges of two other digits cut in at the left and right
    as SVHN's neighbouring digits are, and Gaussian noise."""
    n, _, s, _ = clean.shape
    ink = (clean + 1) / 2
    side = (neighbours + 1) / 2                                  # N x 2 x S x S
    shift = s * 3 // 4
    clutter = torch.zeros_like(ink)
    clutter[..., :s - shift] = side[:, :1, :, shift:]            # right edge of one digit, at the left
    clutter[..., shift:] = side[:, 1:, :, :s - shift]            # left edge of another, at the right
    ink = torch.maximum(ink, clutter)
    bg = torch.rand(n, 3, 1, 1, generator=generator)
    lum = lambda c: (c * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    fg = torch.rand(n, 3, 1, 1, generator=generator)
    for _ in range(20):  # redraw ink colours too close in luminance to the background
        close = (lum(fg) - lum(bg)).abs() < 0.4
        if not close.any():
            break
        fg = torch.where(close, torch.rand(n, 3, 1, 1, generator=generator), fg)
    fg = torch.where((lum(fg) - lum(bg)).abs() < 0.4, 1 - (lum(bg) > 0.5).float().expand(-1, 3, -1, -1), fg)
    x = bg + ink * (fg - bg) + noise * torch.randn(n, 3, s, s, generator=generator)
    return x.clamp(0, 1) * 2 - 1


class SVHNLikeDigits(InMemory):
    """The DTN task's source domain: the SVHN-like version (`svhn_like`) of one half of a split's
    digits; `half=1` gives the other half, so a clean target domain built from it never shows
    the same handwriting. Deterministic per (split, half, image size)."""

    channels = 3

    def __init__(self, split: str = "train", image_size: int = 16, half: int = 0, seed: int = 0):
        if half not in (0, 1):
            raise I2IError(f"half must be 0 or 1, got {half!r}")
        images, labels = _arrays()
        idx = split_indices(split)
        mine = idx[half::2]
        g = torch.Generator().manual_seed(seed * 2 + half)
        clean = upsample(torch.from_numpy(images[mine])[:, None], image_size)
        pool = upsample(torch.from_numpy(images[idx])[:, None], image_size)
        neighbours = pool[torch.randint(len(pool), (len(mine), 2), generator=g)][:, :, 0]
        self.split, self.image_size, self.half = split, image_size, half
        self.domains, self.attributes = CLASSES, []
        self.images = svhn_like(clean, neighbours, g)
        self.labels = torch.from_numpy(labels[mine])


class SVHNToDigits(torch.utils.data.Dataset):
    """DTN's unpaired task: item i is {"A": SVHN-like digit i of half 0 (3 channels), "label_A": its
    digit, "B": a clean digit of half 1 (1 channel)}, B drawn with torch's global RNG in training
    and B_{i mod n} otherwise. The target digits' labels are never given to a method."""

    domains = ["svhn", "digits"]
    paired = False
    channels = 3

    def __init__(self, split: str = "train", image_size: int = 16, train: bool = True):
        self.source = SVHNLikeDigits(split, image_size, half=0)
        images, _ = _arrays()
        other = split_indices(split)[1::2]
        self.target = upsample(torch.from_numpy(images[other])[:, None], image_size)
        self.train, self.image_size = train, image_size

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, i) -> dict:
        j = int(torch.randint(len(self.target), ())) if self.train else int(i) % len(self.target)
        return {"A": self.source.images[i], "label_A": self.source.labels[i], "B": self.target[j]}
