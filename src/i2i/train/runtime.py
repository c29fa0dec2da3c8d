"""Device, precision and data-order choices shared by training and inference."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import I2IError


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise I2IError(f"device={name} but no CUDA device is available; use device=cpu")
    return torch.device(name)


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_amp(name: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast where the hardware runs it fast; fp32 otherwise."""
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
        return torch.bfloat16 if cpu_has_bf16() else None
    table = {"bf16": torch.bfloat16, "fp16": torch.float16, "none": None}
    if name not in table:
        raise I2IError(f"amp={name!r}; use auto, bf16, fp16 or none")
    return table[name]


class StepSampler(torch.utils.data.Sampler):
    """Batches as a pure function of (seed, step): resuming at step s replays the same order
    without saving loader state. Each epoch is a fresh permutation; the last partial batch is dropped."""

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int = 0):
        if n < batch_size:
            raise I2IError(f"the dataset has {n} images, fewer than batch_size={batch_size}")
        self.n, self.bs, self.seed, self.start = n, batch_size, seed, start_step

    def batch(self, step: int) -> list[int]:
        per_epoch = self.n // self.bs
        epoch, k = divmod(step, per_epoch)
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return perm[k * self.bs:(k + 1) * self.bs].tolist()

    def __iter__(self):
        step = self.start
        while True:
            yield self.batch(step)
            step += 1
