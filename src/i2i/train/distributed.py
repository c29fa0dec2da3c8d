"""Data-parallel training under torchrun: one process per device, the same model everywhere.

`torchrun --nproc_per_node=N -m i2i train ...` starts N copies of the trainer; torchrun's
environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) says which one this is. Each rank
trains on its slice of the global batch; right before every optimizer step the gradients are
averaged over the ranks, so every rank applies the same update to the same weights (what DDP
does for synchronous updates, without wrapping the methods' networks, which own their steps).
Buffers (batch-norm running statistics, CycleGAN's image pools) follow rank 0 after every step,
as DDP's broadcast_buffers does. docs/distributed.md tells how to launch it.
"""
from __future__ import annotations

import hashlib
import os
import sys

import numpy as np
import torch
import torch.distributed as dist

from ..errors import I2IError
from .runtime import pick_device

BUCKET = 1 << 24  # elements per all-reduce (64 MB of float32): one flat copy at a time, not the whole model


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """The torch seed of rank > 0: its own random stream (latent codes, gradient-penalty mixes,
    flips) that differs from every other rank's and from other seeds' streams."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0] >> 1)


class World:
    """This process's place among the training processes; World() is a lone process."""

    def __init__(self, rank: int = 0, size: int = 1, local_rank: int = 0, device: torch.device | None = None):
        self.rank, self.size, self.local_rank = rank, size, local_rank
        self.device = device or torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    # -- collectives (no-ops for a lone process) --------------------------------
    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Every parameter's .grad becomes the mean over the ranks. A parameter without a gradient
        on some rank counts as zeros there; one without a gradient on every rank keeps None (the
        optimizer skips it, as in a lone process)."""
        if not self.enabled or not params:
            return
        have = torch.tensor([p.grad is not None for p in params], dtype=torch.int32, device=self.device)
        dist.all_reduce(have)
        live = []
        for p, n in zip(params, have.tolist()):
            if n:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                live.append(p.grad)
        self._reduce(live, average=True)

    def broadcast_buffers(self, module: torch.nn.Module) -> None:
        """Rank 0's buffers everywhere."""
        if self.enabled:
            self._reduce(list(module.buffers()), average=False)

    def mean_logs(self, logs: dict[str, float]) -> dict[str, float]:
        """The logged figures averaged over the ranks: the global batch's losses, the same on every
        rank (so a non-finite loss stops every rank at the same step)."""
        if not self.enabled or not logs:
            return logs
        values = torch.tensor(list(logs.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(values)
        return dict(zip(logs, (values / self.size).tolist()))

    def gather(self, obj) -> list:
        """obj of every rank, in rank order (small things: RNG states, hashes)."""
        if not self.enabled:
            return [obj]
        out = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def broadcast_parameters(self, module: torch.nn.Module) -> None:
        """Rank 0's weights everywhere (as DDP does when it wraps a model)."""
        if self.enabled:
            self._reduce(list(module.parameters()), average=False)

    @torch.no_grad()
    def _reduce(self, tensors: list[torch.Tensor], average: bool) -> None:
        """All-reduce (average=True: the mean) or broadcast from rank 0, in flat buckets per dtype."""
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        for group in by_dtype.values():
            start = 0
            while start < len(group):
                end, n = start, 0
                while end < len(group) and (end == start or n + group[end].numel() <= BUCKET):
                    n += group[end].numel()
                    end += 1
                self._flat(group[start:end], average)
                start = end

    def _flat(self, bucket: list[torch.Tensor], average: bool) -> None:
        flat = torch.cat([t.reshape(-1) for t in bucket]).to(self.device)
        if average:
            dist.all_reduce(flat)
            flat /= self.size
        else:
            dist.broadcast(flat, 0)
        offset = 0
        for t in bucket:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()

    def close(self, clean: bool = True) -> None:
        """Leave the process group. After a clean run every rank waits at a barrier first, so none
        tears down gloo's connections while another still uses them (a gloo run can otherwise
        abort with SIGABRT on exit); after an error there is no barrier, since another rank may
        never arrive (torchrun stops the others)."""
        if not (self.enabled and dist.is_initialized()):
            return
        if clean:
            dist.barrier()
        dist.destroy_process_group()


def launched() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def leave(code: int) -> None:
    """End a torchrun process now, with `code`, once its output is flushed. Skipping the
    interpreter's teardown is what makes gloo runs exit reliably: after a clean run (barrier,
    destroy_process_group, files closed) a gloo process still aborted at exit with "terminate
    called without an active exception" in 1 of 25 launches on 2 loaded cores, from a C++ thread
    destroyed during teardown; nothing is left to tear down that writes anything."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def join(device: str = "auto") -> World:
    """This process's World: from torchrun's environment, joining the process group (nccl on
    CUDA, each rank on cuda:LOCAL_RANK; gloo on CPU); a lone World outside torchrun."""
    if not launched():
        return World(device=pick_device(device))
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda:"):
        raise I2IError(f"device={device} under torchrun: each process uses cuda:LOCAL_RANK; "
                       "use device=cuda (or auto), and CUDA_VISIBLE_DEVICES to choose the GPUs")
    kind = pick_device(device).type
    if kind == "cuda":
        if local >= torch.cuda.device_count():
            raise I2IError(f"LOCAL_RANK={local} but this node has {torch.cuda.device_count()} visible CUDA "
                           f"device(s); start at most that many processes per node (--nproc_per_node)")
        where = torch.device("cuda", local)
        torch.cuda.set_device(where)
        dist.init_process_group("nccl", device_id=where)
    elif kind == "cpu":
        where = torch.device("cpu")
        dist.init_process_group("gloo")
    else:
        raise I2IError(f"device={device}: distributed training runs on cuda (nccl) or cpu (gloo)")
    return World(rank, size, local, where)


def state_hash(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of a state dict's names, dtypes, shapes and bytes: equal exactly when the states are."""
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def main_process() -> bool:
    """Rank 0 of a torchrun launch, or a lone process: the one that prints."""
    return int(os.environ.get("RANK", "0")) == 0
