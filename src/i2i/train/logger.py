"""Where training figures go: a JSON-lines file always, TensorBoard when asked for."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import I2IError
from ..rundir import write_text_atomic

TIMINGS = ("steps_per_s", "data_wait")  # logged figures of wall-clock time: they differ run to run

KINDS = ("tensorboard", "none")


def trim_log(path: Path, step: int) -> None:
    """A resumed run logs the steps after its checkpoint again: drop the lines past `step` (and
    a line torn by a kill), so that metrics.jsonl reads as one uninterrupted run."""
    if not path.is_file():
        return
    lines = path.read_text(errors="replace").splitlines()
    keep = []
    for line in lines:
        try:
            if json.loads(line)["step"] <= step:
                keep.append(line)
        except (ValueError, KeyError, TypeError):
            continue
    if len(keep) < len(lines):
        write_text_atomic(path, "".join(f"{line}\n" for line in keep))


class RunLogger:
    """Every logged figure goes to logs/metrics.jsonl (what `i2i report` plots) and, with
    kind="tensorboard", to TensorBoard: figures as scalars, sample grids as images, the config as text."""

    def __init__(self, run_dir: Path, kind: str = "tensorboard", config_text: str = ""):
        if kind not in KINDS:  # checked before training starts, not silently ignored
            raise I2IError(f"train.logger={kind!r}; use {' or '.join(KINDS)}")
        self.path = Path(run_dir) / "logs"
        self.path.mkdir(parents=True, exist_ok=True)
        self.jsonl = open(self.path / "metrics.jsonl", "a")
        self.tb = None
        if kind == "tensorboard":
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is an optional extra
                print("i2i: tensorboard is not installed (pip install 'i2i[tensorboard]'); logging to logs/metrics.jsonl only")
            else:
                self.tb = SummaryWriter(str(self.path))
                if config_text:
                    self.tb.add_text("config", f"```\n{config_text}\n```", 0)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self.jsonl.write(json.dumps({"step": step, **values}) + "\n")
        self.jsonl.flush()
        if self.tb:
            for k, v in values.items():
                self.tb.add_scalar(k, v, step)

    def image(self, step: int, tag: str, image: torch.Tensor) -> None:
        if self.tb:
            self.tb.add_image(tag, ((image.clamp(-1, 1) + 1) / 2).float(), step)

    def close(self) -> None:
        self.jsonl.close()
        if self.tb:
            self.tb.close()
