"""One training loop for every method: it schedules, logs, samples and saves; the method
owns its updates (Method.train_step). Under torchrun it is one of several data-parallel
processes (distributed.py): rank 0 alone logs, samples and saves."""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import torch
import yaml
from tqdm import tqdm

from .. import data as datasets
from ..config import RunConfig
from ..data.images import make_grid, save_image
from ..errors import I2IError
from ..methods.base import BatchSpec, Method, get_method
from .. import rundir
from . import distributed
from .logger import RunLogger, trim_log
from .runtime import StepSampler, apply_runtime, check_split, loader_workers, pick_device
from .undo import MAX_SKIPS_IN_A_ROW, NONFINITE, Undo, finite


def build_method(cfg: RunConfig, dataset, device: torch.device | None = None) -> Method:
    info = datasets.info(dataset, cfg.data.image_size)
    if not info.labels:
        raise I2IError(f"dataset {cfg.data.spec} has no labels or domains")
    try:
        method = get_method(cfg.method)(cfg.model, info)
    except ValueError as e:  # an impossible architecture for this size
        raise I2IError(f"{cfg.method}: {e}") from None
    return method.to(device or torch.device("cpu"))


def apply_schedule(optimizers: dict[str, torch.optim.Optimizer], plan: dict[str, dict[str, float]]) -> None:
    """Set a method's schedule (Method.schedule) on its optimisers: "lr" as a factor of each group's
    initial rate, other settings as values."""
    for name, values in plan.items():
        for group in optimizers[name].param_groups:
            group.setdefault("initial_lr", group["lr"])
            for key, v in values.items():
                group[key] = group["initial_lr"] * v if key == "lr" else v


def collate(items: list[dict]) -> dict:
    return {k: torch.stack([torch.as_tensor(it[k]) for it in items]) for k in items[0]}


def short_name(key: str) -> str:
    """Progress-bar label of a logged loss: "D/loss_fake" -> "D_fake". The network stays in the
    name, since D and G log terms with the same name (StarGAN's loss_fake, loss_cls)."""
    net, _, term = key.partition("/")
    return f"{net}_{term.removeprefix('loss_')}" if term else key


class Trainer:
    def __init__(self, cfg: RunConfig, run_dir: Path, resume: bool = False, show_progress: bool = True,
                 world: distributed.World | None = None):
        self.cfg, self.run_dir = cfg, Path(run_dir)
        t = cfg.train
        self.world = world or distributed.World(device=pick_device(t.device))
        self.show_progress = show_progress and self.world.main
        if t.threads > 0:
            torch.set_num_threads(t.threads)
        has_run = rundir.latest(self.run_dir) is not None
        if has_run and not resume:
            raise I2IError(f"{self.run_dir} already holds a training run; pass --resume to continue it "
                           "or choose another --out")
        if resume and not has_run:
            raise I2IError(f"nothing to resume in {self.run_dir}: it has no checkpoint")
        check_split(t.batch_size, self.world.size)
        self.on_nonfinite = getattr(t, "on_nonfinite", "stop")
        if self.on_nonfinite not in NONFINITE:
            raise I2IError(f"train.on_nonfinite={self.on_nonfinite!r}; use stop or skip")
        self.world.barrier()  # every rank has looked for a run before rank 0 writes one

        self.device = self.world.device
        torch.manual_seed(t.seed)  # the same initial weights on every rank
        self.train_set = datasets.build(cfg.data, "train", train=True)
        self.test_set = datasets.build(cfg.data, "test", train=False)
        self.method = build_method(cfg, self.train_set, self.device)
        compiled = apply_runtime(self.method, t, self.device)
        if compiled and self.world.main and show_progress:
            print(f"i2i: torch.compile of {', '.join(compiled)}: the first steps take minutes to compile "
                  "(train.compile=off skips it)", file=sys.stderr)
        self.optimizers = self.method.optimizers()
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])
            if self.world.enabled:  # gradients averaged over the ranks right before each update
                params = [p for group in opt.param_groups for p in group["params"]]
                opt.register_step_pre_hook(lambda *_, params=params: self.world.average_gradients(params))
        self.step = self.skipped = 0
        if self.world.enabled:
            self.world.broadcast_parameters(self.method)
            self.world.broadcast_buffers(self.method)
            if not self.world.main:
                self._seed_rank()
        if resume:
            self._restore()
        if self.world.main:
            rundir.write_run(self.run_dir, cfg.to_dict(), dataclasses.asdict(self.method.info))

    # -- state ----------------------------------------------------------------
    def _rng(self) -> dict:
        """This process's random state: torch's, and under torchrun its own GPU's."""
        cuda = [] if self.device.type != "cuda" else \
            [torch.cuda.get_rng_state(self.device)] if self.world.enabled else torch.cuda.get_rng_state_all()
        return {"torch_rng": torch.get_rng_state(), "cuda_rng": cuda}

    def _seed_rank(self, step: int = 0) -> None:
        """A rank > 0 draws its own random numbers (rank 0 keeps the lone process's stream)."""
        seed = distributed.rank_seed(self.cfg.train.seed, self.world.rank, step)
        torch.manual_seed(seed)  # seeds this process's CUDA generators too

    def _state(self) -> dict:
        """Collective under torchrun: every rank's RNG state goes into rank 0's checkpoint."""
        ranks = self.world.gather(self._rng())
        state = {"step": self.step, "skipped": self.skipped, **ranks[0],
                 "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()}}
        if self.world.enabled:
            state["ranks"] = ranks
        return state

    def _restore(self) -> None:
        """Every rank loads the same checkpoint. Rank r takes back its own saved RNG state; a rank
        the checkpoint has none for (the run was saved by fewer processes) reseeds from (seed, rank,
        step), so that run goes on correctly but not bit-identically to an uninterrupted one."""
        path = rundir.find(self.run_dir)
        rundir.load_into(self.method, rundir.load_weights(path), str(path))
        state = rundir.load_state(path)
        for k, opt in self.optimizers.items():
            kernels = [{f: g.get(f) for f in ("fused", "foreach")} for g in opt.param_groups]
            opt.load_state_dict(state["optimizers"][k])
            for group, kernel in zip(opt.param_groups, kernels):  # the kernel is this run's choice
                group.update(kernel)
        self.step, self.skipped = state["step"], state.get("skipped", 0)
        ranks = state.get("ranks") or [state]
        if self.world.rank >= len(ranks):
            self._seed_rank(self.step)
            return
        rng = ranks[self.world.rank]
        torch.set_rng_state(rng["torch_rng"])
        if rng["cuda_rng"] and self.device.type == "cuda":
            if self.world.enabled:  # one saved state per rank (or the lone run's first GPU)
                torch.cuda.set_rng_state(rng["cuda_rng"][0], self.device)
            else:
                torch.cuda.set_rng_state_all(rng["cuda_rng"])

    def save(self) -> Path | None:
        """Rank 0 writes the checkpoint (every rank must call this: it gathers their RNG states)."""
        weights = self.method.state_dict()
        if not finite(weights.values()):  # inf gradients with finite losses: never save that
            raise I2IError(f"the weights became non-finite by step {self.step} although every loss was finite; "
                           f"they were not saved; {self._last_good()}")  # on every rank: none waits
        state = self._state()
        if not self.world.main:
            return None
        return rundir.save(self.run_dir, self.step, weights, state)

    # -- non-finite losses ----------------------------------------------------
    def save_due(self) -> bool:
        """Whether this iteration ends with a checkpoint: every save_every, and at the last."""
        t = self.cfg.train
        return self.step % t.save_every == 0 or self.step == t.steps

    def _last_good(self) -> str:
        last = rundir.latest(self.run_dir)
        return (f"last good checkpoint: {last} (--resume continues from it; train.on_nonfinite=skip skips "
                "such batches)" if last else "no checkpoint was written yet; lower the learning rates")

    def _nonfinite(self, logs: dict[str, float], undo: Undo | None, in_a_row: int) -> bool:
        """stop: raise, naming the step and the loss term. skip: undo the iteration's updates and
        return True; after MAX_SKIPS_IN_A_ROW skipped steps in a row, stop after all."""
        bad = next((k for k, v in logs.items() if not math.isfinite(v)), None)
        if bad is None and (undo is None or finite(self.method.parameters())):
            return False
        what = f"non-finite loss {bad}={logs[bad]}" if bad else "non-finite weights (finite losses)"
        if undo is None or in_a_row + 1 >= MAX_SKIPS_IN_A_ROW:
            again = f" ({MAX_SKIPS_IN_A_ROW} steps in a row)" if undo is not None else ""
            raise I2IError(f"{what} at step {self.step}{again}; {self._last_good()}")
        undo.restore()
        self.skipped += 1
        if self.world.main:
            tqdm.write(f"i2i: warning: {what} at step {self.step}; skipped that batch "
                       f"({self.skipped} skipped so far)", file=sys.stderr)
        return True

    def check_ranks_agree(self) -> None:
        """At the end under torchrun: every rank's weights and buffers hashed; rank 0 writes the
        hashes to logs/ranks.json (equal unless something broke the lock-step) and warns if not."""
        if not self.world.enabled:
            return
        hashes = self.world.gather(distributed.state_hash(self.method.state_dict()))
        if self.world.main:
            (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
            (self.run_dir / "logs" / "ranks.json").write_text(json.dumps(
                {"world_size": self.world.size, "step": self.step, "state_sha256": hashes}, indent=1) + "\n")
            if len(set(hashes)) > 1:
                print(f"i2i: warning: the {self.world.size} processes ended with different weights; "
                      f"the checkpoint holds rank 0's (see {self.run_dir / 'logs' / 'ranks.json'})")

    # -- loop -----------------------------------------------------------------
    def loader(self):
        t, data = self.cfg.train, self.cfg.data
        if data.joint_batches not in ("alternate", "mixed"):
            raise I2IError(f"data.joint_batches={data.joint_batches!r}; use alternate or mixed")
        spec = BatchSpec(t.batch_size, t.seed, mix=data.joint_batches == "mixed", source=data.spec)
        sampler = StepSampler(self.method.batch_policy(self.train_set, spec), self.step,
                              rank=self.world.rank, world=self.world.size)
        # Its own generator: a DataLoader otherwise draws its worker seed from the global RNG,
        # which would shift every later random number after a resume. Each rank's workers their own.
        seed = t.seed + self.step if self.world.main else distributed.rank_seed(t.seed, self.world.rank, self.step)
        seeds = torch.Generator().manual_seed(seed)
        workers = loader_workers(t.num_workers, self.device, self.world.size)
        return iter(torch.utils.data.DataLoader(self.train_set, batch_sampler=sampler, collate_fn=collate,
                                                num_workers=workers, persistent_workers=workers > 0,
                                                pin_memory=self.device.type == "cuda", generator=seeds))

    def fixed_batch(self, n: int = 8) -> dict:
        source = self.test_set if len(self.test_set) else self.train_set
        return collate([source[i] for i in range(min(n, len(source)))])

    def sample(self, batch: dict) -> Path:
        columns = self.method.sample_grid(batch)  # N × K × 3 × H × W
        grid = make_grid(columns.flatten(0, 1).cpu(), nrow=columns.shape[1])
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        path.parent.mkdir(exist_ok=True)
        save_image(grid, path)
        self.logger.image(self.step, "samples", grid)
        return path

    def log(self, means: dict[str, float], factor: float, bar) -> None:
        """The logging part: the step's running means with the trainer's own figures."""
        means["lr_factor"] = factor
        if self.on_nonfinite == "skip":
            means["skipped_steps"] = self.skipped
        if self.cfg.data.skip_bad:  # this process's count (DataLoader workers keep their own)
            means["data/skipped"] = getattr(self.train_set, "skipped", 0)
        if self.world.main:
            self.logger.scalars(self.step, means)
        bar.set_postfix({short_name(k): f"{v:.3g}" for k, v in means.items() if k.startswith(("D/", "G/"))},
                        refresh=False)

    def fit(self) -> Path:
        t, main = self.cfg.train, self.world.main
        if main:  # before the logger opens the file to append
            trim_log(self.run_dir / "logs" / "metrics.jsonl", self.step)
        self.logger = RunLogger(self.run_dir, t.logger, yaml.safe_dump(self.cfg.to_dict(), sort_keys=False)) \
            if main else None
        fixed, batches = self.fixed_batch() if main else None, self.loader()
        meter = Meter()
        in_a_row, undo = 0, Undo(self.method, self.optimizers) if self.on_nonfinite == "skip" else None
        bar = tqdm(total=t.steps, initial=self.step, disable=not self.show_progress, dynamic_ncols=True,
                   desc=f"{self.cfg.method}")
        self.method.train()
        try:
            while self.step < t.steps:
                batch = meter.timed(batches)
                if self.method.channels_last:
                    batch = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v
                             for k, v in batch.items()}
                factor = self.method.lr_factor(self.step, t.steps)  # logged
                apply_schedule(self.optimizers, self.method.schedule(self.step, t.steps))
                if undo:
                    undo.take()
                logs = self.world.mean_logs(self.method.train_step(batch, self.step))
                skipped = self._nonfinite(logs, undo, in_a_row)  # checked at every step
                in_a_row = in_a_row + 1 if skipped else 0
                self.step += 1
                bar.update(1)
                meter.add({} if skipped else logs)
                if self.step % t.log_every == 0 or self.step == t.steps:
                    self.log(meter.means(t.log_every), factor, bar)
                if main and (self.step % t.sample_every == 0 or self.step == t.steps):
                    self.sample(fixed)
                # After the sample grid too: a grid in training mode updates rank 0's running statistics.
                self.world.broadcast_buffers(self.method)
                if self.save_due():
                    self.save()
            self.check_ranks_agree()
        except OSError as e:  # a full disk while logging or sampling (rundir.save names its own)
            raise I2IError(f"{e.strerror or e}{f': {e.filename}' if e.filename else ''} at step {self.step}; "
                           f"{self._last_good()}") from None
        finally:
            bar.close()
            if main:
                self.logger.close()
        skipped = getattr(self.train_set, "skipped", 0)
        if main and skipped:
            print(f"i2i: skipped {skipped} unreadable image(s) of {self.cfg.data.spec} (named above)")
        return self.run_dir


class Meter:
    """Running means of the step's figures, and the steps' speed and data wait between logs."""

    def __init__(self):
        self.running: dict[str, list[float]] = {}
        self.tick, self.waited = time.perf_counter(), 0.0

    def timed(self, batches):
        start = time.perf_counter()
        batch = next(batches)
        self.waited += time.perf_counter() - start
        return batch

    def add(self, logs: dict[str, float]) -> None:
        for k, v in logs.items():
            self.running.setdefault(k, []).append(v)

    def means(self, steps: int) -> dict[str, float]:
        """The means since the last call, over `steps` steps, and restart."""
        now = time.perf_counter()
        means = {k: sum(v) / len(v) for k, v in self.running.items()}
        means["steps_per_s"] = steps / max(now - self.tick, 1e-9)
        means["data_wait"] = self.waited / max(now - self.tick, 1e-9)  # share of time the step waited for data
        self.running, self.tick, self.waited = {}, now, 0.0
        return means


def train(cfg: RunConfig, run_dir: Path, resume: bool = False, show_progress: bool = True) -> Path:
    """Train in this process, or under torchrun as one of its data-parallel processes."""
    world = distributed.join(cfg.train.device)
    try:
        run = Trainer(cfg, run_dir, resume, show_progress, world).fit()
    except BaseException:
        world.close(clean=False)
        raise
    world.close()
    return run
