"""A NaN or Inf loss: stop with one line (step, loss term), keep the last good checkpoint, resume
from it; or, with train.on_nonfinite=skip, undo that iteration's updates and go on."""
import copy
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from i2i.cli import main
from i2i.errors import I2IError
from i2i.methods.stargan import StarGAN
from i2i import rundir
from i2i.train.trainer import MAX_SKIPS_IN_A_ROW, Trainer, train

_spec = importlib.util.spec_from_file_location("trainer_tests", Path(__file__).with_name("test_trainer.py"))
_trainer_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_trainer_tests)
TINY, tiny_cfg = _trainer_tests.TINY, _trainer_tests.tiny_cfg  # the tiny StarGAN of the trainer's tests


def nan_images_at(steps, real=StarGAN.train_step):
    """A train_step that is handed NaN images at `steps`: the NaN goes through the real losses."""
    def step_fn(self, batch, step):
        if step in steps:
            batch = {**batch, "image": torch.full_like(batch["image"], float("nan"))}
        return real(self, batch, step)
    return step_fn


def skip_cfg(*extra):
    cfg = tiny_cfg(*extra)
    cfg.train.on_nonfinite = "skip"  # works before and after the key joins TrainConfig
    return cfg


def state_of(t: Trainer) -> tuple:
    """Weights, buffers, optimiser states and hyper-parameters but the learning rate (the trainer
    sets each step's from the schedule)."""
    opts = {k: {"state": o.state_dict()["state"], "groups": [{n: v for n, v in g.items() if n != "lr"}
                                                            for g in o.state_dict()["param_groups"]]}
            for k, o in t.optimizers.items()}
    return copy.deepcopy(t.method.state_dict()), copy.deepcopy(opts)


def watch(t: Trainer, steps) -> dict:
    """Record the state on entry to each of `steps` (the end of a run also draws a sample grid,
    which may move running statistics, so states are compared at entry to a step)."""
    seen, real = {}, t.method.train_step

    def step_fn(batch, step):
        if step in steps:
            seen[step] = state_of(t)
        return real(batch, step)

    t.method.train_step = step_fn
    return seen


def same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def test_nan_images_stop_the_cli_with_one_line_and_resume_continues(tmp_path, monkeypatch, capsys):
    args = ["train", "stargan", "--data", "shapes", "--no-progress", *TINY, "threads=1", "steps=8", "save_every=4"]
    assert main([*args, "--out", str(tmp_path / "straight")]) == 0
    monkeypatch.setattr(StarGAN, "train_step", nan_images_at({6}))
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("i2i: error: non-finite loss D/loss_real=nan at step 6; last good checkpoint: ")
    assert err[0].endswith("step_0000004 (--resume continues from it; train.on_nonfinite=skip skips such batches)")
    run = tmp_path / "r"
    assert rundir.latest(run).name == "step_0000004"  # nothing of the NaN state was written
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest", "step_0000004"]
    weights = rundir.load_weights(rundir.latest(run))
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())

    monkeypatch.undo()  # the bad batch is gone: --resume goes on from step 2 exactly as if never stopped
    assert main(["train", "stargan", "--out", str(run), "--resume", "--no-progress"]) == 0
    a = rundir.load_weights(rundir.latest(tmp_path / "straight"))
    b = rundir.load_weights(rundir.latest(run))
    assert rundir.latest(run).name == "step_0000008" and all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(l)["step"] for l in (run / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8]  # step 6, logged before the stop and again after the resume, once


def test_an_inf_loss_before_any_checkpoint_says_so(tmp_path):
    t = Trainer(tiny_cfg("steps=4", "save_every=2"), tmp_path / "r", show_progress=False)
    real = t.method.train_step
    t.method.train_step = lambda batch, step: {**real(batch, step), **({"G/loss_rec": float("inf")} if step else {})}
    with pytest.raises(I2IError, match=r"^non-finite loss G/loss_rec=inf at step 1; no checkpoint was written yet; "
                                       r"lower the learning rates$"):
        t.fit()
    assert rundir.latest(tmp_path / "r") is None


def break_weights(t, net, value, at_step=1):
    """After step at_step, fill net's first weight with value: an overflowing update that breaks
    the weights while the logged losses stay finite."""
    real = t.method.train_step

    def overflow(batch, step):
        logs = real(batch, step)
        if step == at_step:
            with torch.no_grad():
                next(net.parameters()).fill_(value)
        return logs

    t.method.train_step = overflow


def test_non_finite_weights_with_finite_losses_are_never_saved(tmp_path):
    t = Trainer(tiny_cfg("steps=4", "save_every=2"), tmp_path / "r", show_progress=False)
    break_weights(t, t.method.G, float("inf"))
    with pytest.raises(I2IError, match="weights became non-finite by step 2 although every loss was finite"):
        t.fit()
    assert rundir.latest(tmp_path / "r") is None


def test_skip_undoes_the_bad_iteration_and_counts_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(StarGAN, "train_step", nan_images_at({3}))
    t = Trainer(skip_cfg("steps=6", "save_every=3"), tmp_path / "r", show_progress=False)
    seen = watch(t, (3, 4))
    t.fit()
    assert same(seen[3], seen[4])  # weights, buffers and both optimisers' states: as before step 3
    err = capsys.readouterr().err
    assert "i2i: warning: non-finite loss D/loss_real=nan at step 3; skipped that batch (1 skipped so far)" in err
    lines = [json.loads(l) for l in (tmp_path / "r" / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert [(l["step"], l["skipped_steps"]) for l in lines] == [(2, 0), (4, 1), (6, 1)]
    assert all(v == v for l in lines for v in l.values())  # the NaN terms are not in the means
    assert rundir.load_state(rundir.latest(tmp_path / "r"))["skipped"] == 1
    w = rundir.load_weights(rundir.latest(tmp_path / "r"))
    assert all(torch.isfinite(v).all() for v in w.values() if v.is_floating_point())


def test_skip_also_undoes_the_first_step_whose_optimiser_state_did_not_exist_yet(tmp_path, monkeypatch):
    monkeypatch.setattr(StarGAN, "train_step", nan_images_at({0}))
    t = Trainer(skip_cfg("steps=2"), tmp_path / "r", show_progress=False)
    seen = watch(t, (0, 1))
    t.fit()
    assert same(seen[0], seen[1]) and t.skipped == 1
    assert not seen[1][1]["D"]["state"] and not seen[1][1]["G"]["state"]


def test_skip_gives_up_when_every_step_is_bad(tmp_path, monkeypatch):
    monkeypatch.setattr(StarGAN, "train_step", nan_images_at(set(range(2, 100))))
    t = Trainer(skip_cfg("steps=20", "save_every=2"), tmp_path / "r", show_progress=False)
    last = 2 + MAX_SKIPS_IN_A_ROW - 1
    with pytest.raises(I2IError, match=rf"at step {last} \({MAX_SKIPS_IN_A_ROW} steps in a row\); "
                                       r"last good checkpoint: .*step_0000010"):
        t.fit()
    assert rundir.latest(tmp_path / "r").name == "step_0000010"  # checkpoints of the undone state


def test_skip_catches_weights_broken_by_a_finite_loss(tmp_path):
    t = Trainer(skip_cfg("steps=3"), tmp_path / "r", show_progress=False)
    seen = watch(t, (1, 2))
    break_weights(t, t.method.D, float("nan"))
    t.fit()
    assert t.skipped == 1 and same(seen[1], seen[2])


def test_a_wrong_on_nonfinite_value_is_refused(tmp_path):
    cfg = tiny_cfg()
    cfg.train.on_nonfinite = "ignore"
    with pytest.raises(I2IError, match=r"train.on_nonfinite='ignore'; use stop or skip"):
        Trainer(cfg, tmp_path / "r")


def test_skip_keeps_an_uneventful_run_bit_identical(tmp_path):
    train(tiny_cfg("steps=4"), tmp_path / "a", show_progress=False)
    train(skip_cfg("steps=4"), tmp_path / "b", show_progress=False)
    a, b = (rundir.load_weights(rundir.latest(tmp_path / r)) for r in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)
