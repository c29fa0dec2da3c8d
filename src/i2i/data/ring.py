"""The ring world: a mixture of 8 Gaussians on a circle, the 2-D test of mode collapse.

Modes at radius 2, angles 2πk/8, each an isotropic Gaussian of σ 0.02 (the ring of the
unrolled-GAN and VEEGAN papers). A sample is "high quality" when it lies within 3σ of a mode,
and a mode is covered when enough samples land there (`i2i.metrics.ring`). Every point is a
2-vector under the batch key "image", labelled with its mode.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .tensors import InMemory

RADIUS = 2.0
SIGMA = 0.02
N_MODES = 8
CLASSES = [f"mode{k}" for k in range(N_MODES)]
SPLIT_SEEDS = {"train": 0, "test": 1}


def modes() -> torch.Tensor:
    """8 x 2 mode centres."""
    angle = torch.arange(N_MODES, dtype=torch.float64) * 2 * math.pi / N_MODES
    return (RADIUS * torch.stack([angle.cos(), angle.sin()], 1)).float()


class RingDataset(InMemory):
    """n points of one split (fixed per split: train and test never share a draw)."""

    channels = 1
    points = 2

    def __init__(self, n: int, split: str = "train"):
        g = torch.Generator().manual_seed(SPLIT_SEEDS.get(split, 2))
        self.labels = torch.randint(0, N_MODES, (n,), generator=g)
        self.images = modes()[self.labels] + SIGMA * torch.randn(n, 2, generator=g)
        self.domains, self.attributes = CLASSES, []


def scatter(points: torch.Tensor, size: int = 256, extent: float = 2.6) -> torch.Tensor:
    """A 3 x size x size plot in [-1, 1]: samples in blue over the modes' 3σ circles in grey."""
    img = np.ones((size, size, 3), np.float32)
    scale = (size - 1) / (2 * extent)
    yy, xx = np.mgrid[0:size, 0:size]
    for cx, cy in modes().tolist():
        r = np.hypot(xx - (cx + extent) * scale, yy - (extent - cy) * scale)
        img[np.abs(r - 3 * SIGMA * scale) < 0.8] = 0.6
    p = points.detach().float().cpu().numpy()
    col = np.round((p[:, 0] + extent) * scale).astype(int)
    row = np.round((extent - p[:, 1]) * scale).astype(int)
    keep = (col >= 0) & (col < size) & (row >= 0) & (row < size)
    img[row[keep], col[keep]] = (0.1, 0.3, 0.9)
    return torch.from_numpy(img).permute(2, 0, 1) * 2 - 1
