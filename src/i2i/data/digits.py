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
