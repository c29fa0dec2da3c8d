"""Crash safety: a run SIGKILLed 3 times (benchmarks/crash.py, short) ends bit-identical to an
uninterrupted one; a failing write (a full disk) keeps the previous checkpoint and says so in one
line; no moment of a save or a prune leaves a half checkpoint."""
import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from i2i.cli import main
from i2i.errors import I2IError
from i2i import rundir
from i2i.train.logger import trim_log



@pytest.fixture(scope="module")
def crash(benchmark_module):
    return benchmark_module("crash")


def weights(step):
    return {"G.w": torch.full((3, 4), float(step)), "D.b": torch.arange(5)}


def test_three_kills_and_resumes_end_bit_identical(crash, tmp_path):
    start = time.monotonic()
    steps = 40  # long enough that the random kill lands before the end
    cmd = [sys.executable, "-m", "i2i", "train", "stargan", "--out", str(tmp_path / "straight"), "--no-progress",
           "--data", "shapes", *crash.TINY, f"steps={steps}"]
    subprocess.run(cmd, env=crash.ENV, check=True, capture_output=True)
    # one kill as a checkpoint's files are written, one a little later (mid-write, mid-rename or
    # mid-pointer), one at a random moment of training
    run = crash.crash_run(tmp_path / "crashed", steps, kills=3, seed=1, modes=["write", "write_delay", "random"])
    assert [e["mode"] for e in run["events"]] == ["write", "write_delay", "random"]
    assert run["final_rc"] == 0 and run["resumes"] == 3, run
    for event in run["events"] + [run["after_end"]]:
        assert event["unreadable"] == [] and event["latest_ok"] and event["config_ok"] is not False, event
    assert run["events"][0]["hit"] == "checkpoint files being written"
    result = crash.compare(tmp_path / "straight", tmp_path / "crashed")
    assert result["bit_identical_weights"] and result["bit_identical_state"], result
    assert result["log_steps_once_each"] and result["logged_losses_identical"] and not result["report_notes"]
    assert time.monotonic() - start < 120  # ~25 s on one free core


def test_a_full_disk_stops_training_with_one_line_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, capsys):
    real = rundir._write

    def disk_full(path, *a, **k):
        if path.parent.name == ".tmp_step_0000004":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(rundir, "_write", disk_full)
    run = tmp_path / "r"
    args = ["train", "stargan", "--data", "shapes", "--out", str(run), "--no-progress", "data.image_size=32",
            "n_train=16", "n_test=4", "g_conv_dim=8", "d_conv_dim=8", "g_repeat_num=1", "d_repeat_num=3",
            "batch_size=4", "logger=none", "amp=none", "threads=1", "steps=6", "save_every=2", "log_every=1"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("i2i: error: could not write checkpoint "), err
    assert err[0].endswith(f"step_0000004: No space left on device; the previous checkpoint is intact "
                           f"({run / 'checkpoints' / 'step_0000002'})")
    root = run / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step_0000002"]  # no half-written leftovers
    assert (root / "latest").read_text() == "step_0000002\n"
    assert rundir.load_state(root / "step_0000002")["step"] == 2 and rundir.load_weights(root / "step_0000002")
    monkeypatch.undo()  # space freed: the run goes on from step 2
    assert main(["train", "stargan", "--out", str(run), "--resume", "--no-progress"]) == 0
    assert rundir.latest(run).name == "step_0000006"
    assert [json.loads(l)["step"] for l in (run / "logs" / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("where", ["weights", "state", "rename", "pointer"])
def test_a_failing_write_anywhere_in_a_save_keeps_latest(tmp_path, monkeypatch, where):
    rundir.save(tmp_path, 1, weights(1), {"step": 1})
    before = (tmp_path / "checkpoints" / "step_0000001" / rundir.WEIGHTS).read_bytes()
    real_write, real_replace, real_text = rundir._write, os.replace, rundir.write_text_atomic
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write(path, data=None, obj=None):
        if (where == "weights") == (obj is None):
            raise full
        return real_write(path, data, obj)

    def replace(src, dst):
        if Path(dst).name == "step_0000002":
            raise full
        return real_replace(src, dst)

    def text(path, content):  # the checkpoint is in place; moving `latest` to it fails
        if path.name == "latest":
            raise full
        return real_text(path, content)

    {"weights": lambda: monkeypatch.setattr(rundir, "_write", write),
     "state": lambda: monkeypatch.setattr(rundir, "_write", write),
     "rename": lambda: monkeypatch.setattr(rundir.os, "replace", replace),
     "pointer": lambda: monkeypatch.setattr(rundir, "write_text_atomic", text)}[where]()
    with pytest.raises(I2IError, match=r"step_0000002: No space left on device; the previous checkpoint is intact"):
        rundir.save(tmp_path, 2, weights(2), {"step": 2})
    monkeypatch.undo()
    root = tmp_path / "checkpoints"
    assert (root / "latest").read_text() == "step_0000001\n" and rundir.latest(tmp_path).name == "step_0000001"
    assert (root / "step_0000001" / rundir.WEIGHTS).read_bytes() == before
    assert not list(root.glob(".tmp_step_*"))
    rundir.save(tmp_path, 3, weights(3), {"step": 3})  # a later save cleans up and goes on
    assert not [p.name for p in root.glob(".*")]


def test_write_text_atomic_removes_its_temporary_file_when_the_write_fails(tmp_path, monkeypatch):
    (tmp_path / "latest").write_text("step_0000001\n")
    monkeypatch.setattr(rundir.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OSError):
        rundir.write_text_atomic(tmp_path / "latest", "step_0000002\n")
    assert (tmp_path / "latest").read_text() == "step_0000001\n" and not (tmp_path / ".latest.tmp").exists()


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


@pytest.mark.parametrize("at", ["prune", "replace"])
def test_a_kill_while_removing_a_checkpoint_never_leaves_half_of_one(tmp_path, monkeypatch, at):
    for step in (1, 2, 3):
        rundir.save(tmp_path, step, weights(step), {"step": step})
    root = tmp_path / "checkpoints"
    if at == "replace":  # step 3 written again after a kill that came before `latest` moved to it
        (root / "latest").write_text("step_0000002\n")
    real = rundir.shutil.rmtree

    def killed_half_way(path, ignore_errors=False):
        path = Path(path)
        if path.name.startswith(".old_step") and path.exists():
            (path / rundir.STATE).unlink()  # one file gone, then the kill
            raise Killed
        return real(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(rundir.shutil, "rmtree", killed_half_way)
    with pytest.raises(Killed):
        rundir.save(tmp_path, 4 if at == "prune" else 3, weights(9), {"step": 9})
    monkeypatch.undo()
    for p in root.glob("step_*"):  # every checkpoint there is whole
        assert rundir.load_weights(p) and rundir.load_state(p)
    latest = rundir.latest(tmp_path)
    assert rundir.load_state(latest)["step"] in (2, 3, 4, 9)
    rundir.save(tmp_path, 5, weights(5), {"step": 5})
    assert not [p.name for p in root.glob(".*")]  # the next save removes what the kill left


def test_resume_trims_logged_lines_past_the_checkpoint_and_torn_ones(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": s, "x": s}) + "\n" for s in range(1, 7)) + '{"step": 7, "x"')
    trim_log(log, 4)
    assert [json.loads(l)["step"] for l in log.read_text().splitlines()] == [1, 2, 3, 4]
    before = log.stat().st_mtime_ns
    trim_log(log, 4)  # nothing to drop: the file is left alone
    assert log.stat().st_mtime_ns == before
