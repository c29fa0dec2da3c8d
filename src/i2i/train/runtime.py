"""Device, precision and data-order choices shared by training and inference."""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import torch

from ..data.batches import Policy, Pools
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


def pick_channels_last(setting: bool | None, method) -> bool:
    """train.channels_last; auto (None): on for networks with resampling conv blocks (blocks that state
    `resampled_convs`, nn/resample.py), where NHWC measured 1.2x (256 px) and 1.4x (64 px) the
    steps/s on CPU; off for the others, which measured slower (docs/speed.md)."""
    if setting is not None:
        return setting
    return any(hasattr(type(m), "resampled_convs") for m in method.modules())


def apply_runtime(method, t, device: torch.device) -> list[str]:
    """train.amp, channels_last, matmul_convs, resample_convs, compile, fused_optim and penalty_fp32 on a freshly
    built method, before its optimisers exist (the trainer's and the speed benchmark's one way to do it).
    Returns the names of the networks it compiled."""
    method.amp_dtype = pick_amp(t.amp, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed training sizes: cuDNN times its kernels once
    method.channels_last = pick_channels_last(t.channels_last, method)
    if method.channels_last:
        method.to(memory_format=torch.channels_last)
    use_matmul_convs(method, t.matmul_convs)
    use_resample_convs(method, t.resample_convs)
    compiled = [n for n in method.networks() if n not in method.double_backward] \
        if pick_compile(t.compile, t.steps, device) else []
    for name in compiled:
        compile_network(getattr(method, name))
    method.fused_optim = t.fused_optim
    method.penalty_fp32 = t.penalty_fp32
    return compiled


def compile_network(net: torch.nn.Module) -> None:
    """torch.compile in place (parameters and state-dict names stay as they are). A network whose
    method calls named parts of it rather than forward (`called_parts`) has those compiled."""
    parts = getattr(type(net), "called_parts", ())
    if not parts:
        net.compile()
    for part in parts:
        setattr(net, part, torch.compile(getattr(net, part)))


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
    """A batch policy (data/batches.py) walked from `start_step`: batches are a function of
    (seed, step), so a resumed run replays the same order without saving loader state.
    `rank` of `world` processes (distributed training): the policy's batch is the global batch;
    every process computes the same global batch and iterates over its own slice of each section
    (sources, references, a pool's share), so the slices are disjoint and keep the batch's shape."""

    def __init__(self, policy: Policy, start_step: int = 0, rank: int = 0, world: int = 1):
        check_split(policy.size, world)
        self.policy, self.start, self.rank, self.world = policy, start_step, rank, world
        pools = policy if isinstance(policy, Pools) else None
        if world > 1 and pools and pools.mix and (policy.size // policy.sections) % world:
            raise I2IError(f"mixed batches take batch_size / {policy.sections} items from each dataset, and each "
                           f"share must split evenly over {world} processes; use a multiple of "
                           f"{policy.sections * world} for train.batch_size")
        if world > 1 and pools and pools.grouped() and (policy.size // world) % pools.group_size:
            raise I2IError(f"each of {world} processes needs whole label groups of {pools.group_size}: use a "
                           f"multiple of {world * pools.group_size} for train.batch_size")

    def batch(self, step: int) -> list[int]:
        return self.policy.batch(step)

    def shard(self, batch: list[int]) -> list[int]:
        """This rank's slice of every section of a global batch."""
        if self.world == 1:
            return batch
        size = len(batch) // self.policy.sections
        part = size // self.world
        starts = (s * size + self.rank * part for s in range(self.policy.sections))
        return [i for start in starts for i in batch[start:start + part]]

    def __iter__(self):
        step = self.start
        while True:
            yield self.shard(self.batch(step))
            step += 1
