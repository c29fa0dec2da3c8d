"""Device, precision and data-order choices shared by training and inference."""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import torch

from ..errors import I2IError
from ..nn.matmul_conv import use_matmul_convs
from ..nn.resample import use_resample_convs


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise I2IError(f"device={name} but no CUDA device is available; use device=cpu")
    return torch.device(name)


def cpu_bf16_units() -> str:
    """What runs bf16 matrix work on this CPU: "amx" tiles (Intel), "avx512_bf16" dot products,
    or "none". The speed-ups differ a lot between the two (docs/speed.md)."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "none"
    return "amx" if "amx_bf16" in flags else "avx512_bf16" if "avx512_bf16" in flags else "none"


def cpu_has_bf16() -> bool:
    return cpu_bf16_units() != "none"


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


COMPILE_FROM_STEPS = 20_000  # compiling costs 1-4 minutes on a CPU; a run this long repays it


def pick_compile(name: str, steps: int, device: torch.device) -> bool:
    if name not in ("auto", "on", "off"):
        raise I2IError(f"train.compile={name!r}; use auto, on or off")
    if name != "auto":
        return name == "on"
    if steps < COMPILE_FROM_STEPS:
        return False
    if device.type == "cuda":
        return importlib.util.find_spec("triton") is not None
    return device.type == "cpu" and shutil.which(os.environ.get("CXX", "g++")) is not None


def apply_runtime(method, t, device: torch.device) -> list[str]:
    """train.amp, channels_last, matmul_convs, resample_convs, compile and fused_optim on a freshly
    built method, before its optimisers exist (the trainer's and the speed benchmark's one way to do it).
    Returns the names of the networks it compiled."""
    method.amp_dtype = pick_amp(t.amp, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed training sizes: cuDNN times its kernels once
    if t.channels_last:
        method.to(memory_format=torch.channels_last)
    use_matmul_convs(method, t.matmul_convs)
    use_resample_convs(method, t.resample_convs)
    compiled = list(method.compilable) if pick_compile(t.compile, t.steps, device) else []
    for name in compiled:  # in place: parameters and state-dict names stay as they are
        getattr(method, name).compile()
    method.fused_optim = t.fused_optim
    return compiled


def loader_workers(requested: int, device: torch.device, world: int = 1) -> int:
    """train.num_workers, -1 (auto): none on CPU, where a worker takes a core from the step
    itself; on a GPU, the cores this process's share leaves after the main one, up to 8."""
    if requested < -1:
        raise I2IError(f"train.num_workers={requested}; use -1 (auto), 0 (load in the training process) or more")
    if requested >= 0:
        return requested
    if device.type == "cpu":
        return 0
    return max(1, min(8, (os.cpu_count() or 2) // world - 1))


def check_split(batch_size: int, world: int) -> None:
    """train.batch_size is the global batch: it must split evenly over the processes."""
    if batch_size % world:
        raise I2IError(f"train.batch_size={batch_size} is the global batch, split evenly over {world} "
                       f"processes; use a multiple of {world}")


class StepSampler(torch.utils.data.Sampler):
    """Batches as a pure function of (seed, step): resuming at step s replays the same order
    without saving loader state.

    Default: each epoch is a fresh permutation; the last partial batch is dropped.
    `balanced`: sources drawn with replacement, each item with probability ∝ 1/count(its class)
    (StarGAN v2's WeightedRandomSampler), so rare domains are seen as often as common ones.
    `references`: each batch is [B sources | B references | B second references]; references are
    class-balanced and ref2[i] is another item of ref[i]'s domain (StarGAN v2's reference stream).
    Both need `labels`, the domain index of every item.
    `pools` (with `grouping`): step s draws from pool s mod P only, as its own epochs of
    permutations (joint training alternates datasets; StarGAN with hidden labels uses the
    labelled items). A pool with a grouping instead gives batches of batch_size / group_size
    distinct label groups, group_size items each, consecutive (MatchGAN's label groups).
    `mix`: every batch instead takes batch_size / P items from each pool (joint data for a
    batch-norm G, whose batch statistics would otherwise depend on the dataset).
    `rank` of `world` processes (distributed training): batch_size is the global batch; every
    process computes the same global batch and iterates over its own slice of each section
    (sources, references, a pool's share), so the slices are disjoint and keep the batch's shape.
    """

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int = 0, labels=None,
                 balanced: bool = False, references: bool = False, pools=None, grouping=None,
                 group_size: int = 4, mix: bool = False, rank: int = 0, world: int = 1):
        if n < batch_size:
            raise I2IError(f"the dataset has {n} images, fewer than batch_size={batch_size}")
        check_split(batch_size, world)
        self.rank, self.world = rank, world
        self.n, self.bs, self.seed, self.start = n, batch_size, seed, start_step
        self.balanced, self.references = balanced, references
        self.pools = [np.asarray(p, dtype=np.int64) for p in pools] if pools is not None else None
        self.grouping = list(grouping) if grouping is not None else [None] * len(self.pools or [])
        self.group_size, self.mix = group_size, mix
        if mix and (self.pools is None or batch_size % len(self.pools) or any(g is not None for g in self.grouping)):
            raise I2IError(f"mixed batches need datasets to mix and a batch_size divisible by their number "
                           f"({len(self.pools or [])}); got batch_size={batch_size}")
        for k, pool in enumerate(self.pools or []):
            self._check_pool(k, pool)
        if mix and (batch_size // len(self.pools)) % world:
            raise I2IError(f"mixed batches take batch_size / {len(self.pools)} items from each dataset, and each "
                           f"share must split evenly over {world} processes; use a multiple of "
                           f"{len(self.pools) * world} for train.batch_size")
        if world > 1 and any(g is not None for g in self.grouping) and (batch_size // world) % group_size:
            raise I2IError(f"each of {world} processes needs whole label groups of {group_size}: use a multiple "
                           f"of {world * group_size} for train.batch_size")
        if (balanced or references) and labels is None:
            raise I2IError("balanced or reference sampling needs the domain label of every item; pass labels=")
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (n,) or labels.dtype.kind not in "iu" or (labels < 0).any():
                raise I2IError(f"labels must be {n} non-negative domain indices, got shape {labels.shape} "
                               f"dtype {labels.dtype}")
            self.labels = labels
            self.members = {int(k): np.flatnonzero(labels == k) for k in np.unique(labels)}  # sorted items
            self.classes = list(self.members.values())

    def balanced_draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """A uniform class, then a uniform item of it: P(item) = 1 / (classes * count(its class))."""
        picks = rng.integers(len(self.classes), size=size)
        return np.array([m[rng.integers(len(m))] for m in (self.classes[c] for c in picks)], dtype=np.int64)

    def _check_pool(self, k: int, pool: np.ndarray) -> None:
        groups = self.grouping[k]
        if groups is None:
            if len(pool) < self.bs:
                raise I2IError(f"batch pool {k} has {len(pool)} images, fewer than batch_size={self.bs} "
                               "(too few labelled images: raise data.labelled_fraction or lower batch_size)")
            return
        if self.bs % self.group_size:
            raise I2IError(f"batch_size={self.bs} must be a multiple of {self.group_size} (label groups of "
                           f"{self.group_size} images)")
        need, have = self.bs // self.group_size, len(np.unique(groups))
        if have < need:
            raise I2IError(f"the labelled images hold {have} distinct labels, fewer than the {need} label groups "
                           f"a batch of {self.bs} needs; lower batch_size or label more images")

    def pool_batch(self, step: int) -> list[int]:
        if self.mix:
            share = self.bs // len(self.pools)
            return [i for k in range(len(self.pools)) for i in self.epoch_draw(k, step, share)]
        k, local = step % len(self.pools), step // len(self.pools)
        pool, groups = self.pools[k], self.grouping[k]
        if groups is None:
            return self.epoch_draw(k, local, self.bs)
        rng = np.random.default_rng([self.seed, step, 2])
        out = []
        for g in rng.choice(np.unique(groups), self.bs // self.group_size, replace=False):
            members = pool[groups == g]
            out += rng.choice(members, self.group_size, replace=len(members) < self.group_size).tolist()
        return out

    def epoch_draw(self, k: int, local: int, size: int) -> list[int]:
        """Batch `local` of pool k's own epochs of permutations, `size` items."""
        pool = self.pools[k]
        epoch, j = divmod(local, len(pool) // size)
        perm = np.random.default_rng([self.seed, epoch, k]).permutation(len(pool))
        return pool[perm[j * size:(j + 1) * size]].tolist()

    def batch(self, step: int) -> list[int]:
        if self.pools is not None:
            return self.pool_batch(step)
        if self.balanced:
            out = self.balanced_draw(np.random.default_rng([self.seed, step, 0]), self.bs).tolist()
        else:
            per_epoch = self.n // self.bs
            epoch, k = divmod(step, per_epoch)
            perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            out = perm[k * self.bs:(k + 1) * self.bs].tolist()
        if self.references:
            rng = np.random.default_rng([self.seed, step, 1])
            ref = self.balanced_draw(rng, self.bs)
            ref2 = []
            for r in ref:
                m = self.members[int(self.labels[r])]
                if len(m) < 2:  # a one-image domain: the pair can only repeat it
                    ref2.append(int(r))
                    continue
                j = int(rng.integers(len(m) - 1))  # uniform over the others: skip r's own slot
                ref2.append(int(m[j + (j >= np.searchsorted(m, r))]))
            out += ref.tolist() + ref2
        return out

    def shard(self, batch: list[int]) -> list[int]:
        """This rank's slice of every section of a global batch."""
        if self.world == 1:
            return batch
        sections = 3 if self.references else len(self.pools) if self.mix else 1
        size = len(batch) // sections
        part = size // self.world
        starts = (s * size + self.rank * part for s in range(sections))
        return [i for start in starts for i in batch[start:start + part]]

    def __iter__(self):
        step = self.start
        while True:
            yield self.shard(self.batch(step))
            step += 1
