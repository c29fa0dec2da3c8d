"""Reading .pt / .ckpt / .pth files that users hand in: tensors and plain values only, never code."""
from __future__ import annotations

import warnings

import torch


def load(path):
    """torch.load(weights_only=True) on the CPU. Torch's warning about a file's pickle protocol is
    silenced: the load either succeeds or refuses the file, and the caller says so in one line."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Detected pickle protocol")
        return torch.load(path, map_location="cpu", weights_only=True)
