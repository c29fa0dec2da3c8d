"""Fully connected stacks: the first GANs' networks and the toy nets of the 2-D experiments."""
from __future__ import annotations

import torch
from torch import nn


class Maxout(nn.Module):
    """max over `pieces` affine maps (Goodfellow et al. 2013), the original GAN's D unit."""

    def __init__(self, in_dim: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_dim, units * pieces)

    def forward(self, x):
        return self.linear(x).unflatten(-1, (self.units, self.pieces)).amax(-1)


def mlp(in_dim: int, hidden: list[int], out_dim: int, out_act: nn.Module | None = None) -> nn.Sequential:
    """Linear + ReLU for each hidden width, then a linear output (and `out_act`, if given)."""
    layers, dim = [], in_dim
    for width in hidden:
        layers += [nn.Linear(dim, width), nn.ReLU(True)]
        dim = width
    layers.append(nn.Linear(dim, out_dim))
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


class Flat(nn.Module):
    """Wraps a vector network for N x C x H x W data: flattens the input, or reshapes the output."""

    def __init__(self, net: nn.Module, shape: tuple[int, ...] | None = None):
        super().__init__()
        self.net, self.shape = net, shape  # shape: the output's per-sample shape, None to flatten input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shape is None:
            return self.net(x.flatten(1)).flatten()
        return self.net(x).unflatten(1, self.shape)
