"""Crash safety: SIGKILL a training run at random moments, resume it each time, and check that
it ends bit-identical to an uninterrupted run and that no checkpoint is ever unreadable.

    python benchmarks/crash.py [--kills 24] [--steps 200] [--seed 0] [--out benchmarks/results/crash/results.json]

The run is `python -m i2i train stargan` on a tiny shapes config (32 px, one thread) that saves
every 2 steps, so many kills land inside a checkpoint write. Kinds of kill (a seeded shuffle):
  write        the moment the next-but-one checkpoint's .tmp_step_* directory appears
  write_delay  the same, then a random 0-30 ms later (mid-file, mid-rename, mid-pointer)
  random       a random 0-1 s after the resumed run logged its first step
  startup      a random 0.2-4.5 s after launch (imports, config writes, resume itself)
After every kill: every step_* checkpoint loads (safetensors + training state, step matches),
`latest` names a complete one, config.yaml loads. At the end: weights, optimiser and RNG state
equal the uninterrupted run's bit for bit, metrics.jsonl holds each step once with the same
losses. Then a full disk for real (a 2 MB tmpfs, where mount is allowed): the run stops with one
line and exit status 2, the previous checkpoint intact; resumed elsewhere it ends bit-identical.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from i2i.config import RunConfig
from i2i.errors import I2IError
from i2i.tools.report import read_metrics
from i2i import rundir
from i2i.train.logger import TIMINGS

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "crash" / "results.json"
SAVE_EVERY = 2
TINY = ["data.image_size=32", "n_train=64", "n_test=8", "g_conv_dim=8", "d_conv_dim=8", "g_repeat_num=1",
        "d_repeat_num=3", "n_critic=2", "batch_size=4", "decay_steps=20", "log_every=1", "sample_every=100000",
        "logger=none", "amp=none", "threads=1", "device=cpu", f"save_every={SAVE_EVERY}"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
MODES = {"write": 8, "write_delay": 5, "random": 8, "startup": 3}  # shares of --kills


def launch(out: Path, steps: int, log) -> subprocess.Popen:
    """A fresh run, or --resume where a checkpoint exists (the run's own config then)."""
    cmd = [sys.executable, "-m", "i2i", "train", "stargan", "--out", str(out), "--no-progress"]
    cmd += ["--resume"] if rundir.latest(out) else ["--data", "shapes", *TINY, f"steps={steps}"]
    return subprocess.Popen(cmd, env=ENV, stdout=log, stderr=log)


def steps_of(root: Path, prefix: str) -> list[int]:
    return sorted(int(p.name.removeprefix(prefix)) for p in root.glob(prefix + "*")) if root.is_dir() else []


def wait_for(proc: subprocess.Popen, ready, poll: float, timeout: float = 300) -> bool:
    """Poll until ready(); False if the process ended first."""
    end = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > end:
            return False
        time.sleep(poll)
    return True


def logged_past(out: Path, step: int, since: float) -> bool:
    """This launch has logged a step after `step` (older lines past it are trimmed on resume)."""
    path = out / "logs" / "metrics.jsonl"
    try:
        if path.stat().st_mtime < since:
            return False
        return json.loads(path.read_bytes().rstrip().rsplit(b"\n", 1)[-1])["step"] > step
    except (OSError, ValueError, KeyError, IndexError):
        return False


def kill(proc: subprocess.Popen, out: Path, mode: str, rng: random.Random) -> bool:
    """Wait for this mode's moment and SIGKILL; False if the run finished first."""
    root, launched = out / "checkpoints", time.time()
    base = (rundir.latest(out) and int(rundir.latest(out).name[5:])) or 0
    if mode in ("write", "write_delay"):
        target = base + rng.choice([2, 3]) * SAVE_EVERY  # the first new checkpoint completes: progress
        before = lambda: max(steps_of(root, "step_"), default=0) >= target - SAVE_EVERY
        writing = lambda: (root / f".tmp_step_{target:07d}").exists()
        if not (wait_for(proc, before, 0.01) and wait_for(proc, writing, 0.0002)):
            return False
        if mode == "write_delay":
            time.sleep(rng.uniform(0, 0.03))
    elif mode == "random":
        if not wait_for(proc, lambda: logged_past(out, base, launched), 0.01):
            return False
        time.sleep(rng.uniform(0, 1.0))
    else:
        time.sleep(rng.uniform(0.2, 4.5))
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def inspect(out: Path, since: float = 0.0) -> dict:
    """What a kill left: unreadable checkpoints (there must be none), `latest`, and where it hit
    (judged from what this launch, started at `since`, wrote: a leftover of an earlier kill is no hit)."""
    root = out / "checkpoints"
    unreadable = []
    for p in sorted(root.glob("step_*")):
        try:
            rundir.load_weights(p)
            if rundir.load_state(p)["step"] != int(p.name[5:]):
                raise I2IError(f"{p} holds another step")
        except I2IError as e:
            unreadable.append(f"{p.name}: {e}")
    done = steps_of(root, "step_")
    pointer = (root / "latest").read_text().strip() if (root / "latest").is_file() else None
    latest = rundir.latest(out)
    try:
        config_ok = not (out / "config.yaml").exists() or bool(RunConfig.load(out / "config.yaml"))
    except I2IError:
        config_ok = False
    new = lambda pattern: [p for p in root.glob(pattern) if p.stat().st_mtime >= since]
    hit = ("checkpoint files being written" if new(".tmp_step_*") else
           "an old checkpoint being removed" if new(".old_*") else
           "between the rename and the latest pointer" if pointer and done and int(pointer[5:]) < done[-1]
           and (root / f"step_{done[-1]:07d}").stat().st_mtime >= since else None)
    whole = lambda name: name in {f"step_{s:07d}" for s in done} and not any(u.startswith(name) for u in unreadable)
    return {"unreadable": unreadable, "config_ok": config_ok, "hit": hit,
            "latest": latest.name if latest else None,  # the pointer, if any, names a whole checkpoint
            "latest_ok": (latest is None and not done) or (latest is not None and whole(latest.name)
                                                             and (pointer is None or pointer == latest.name))}


def crash_run(out: Path, steps: int, kills: int, seed: int, modes: list[str] | None = None) -> dict:
    rng = random.Random(seed)
    if modes is None:
        total = sum(MODES.values())
        modes = [m for m, share in MODES.items() for _ in range(max(1, round(kills * share / total)))]
        modes = (modes * 2)[:kills]
        rng.shuffle(modes)
    events, launches, resumes = [], 0, 0
    log = open(out.parent / f"{out.name}.log", "ab")
    while True:
        resumed = rundir.latest(out) is not None
        proc = launch(out, steps, log)
        launches, resumes = launches + 1, resumes + resumed
        if len(events) >= len(modes):
            rc = proc.wait()
            break
        mode = modes[len(events)]
        t0, since = time.monotonic(), time.time()
        if not kill(proc, out, mode, rng):
            rc = proc.wait()
            break
        events.append({"mode": mode, "resumed": resumed, "after_s": round(time.monotonic() - t0, 3),
                       **inspect(out, since)})
    log.close()
    tail = (out.parent / f"{out.name}.log").read_text(errors="replace")[-800:] if rc else ""
    return {"events": events, "launches": launches, "resumes": resumes, "final_rc": rc, "final_log_tail": tail,
            "after_end": inspect(out)}


def compare(a: Path, b: Path) -> dict:
    """Final weights, training state (optimisers, RNG, step) and logged losses of two runs."""
    pa, pb = rundir.latest(a), rundir.latest(b)
    wa, wb = rundir.load_weights(pa), rundir.load_weights(pb)
    same_w = wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    same_s = equal(rundir.load_state(pa), rundir.load_state(pb))
    rows = [[json.loads(l) for l in (r / "logs" / "metrics.jsonl").read_text().splitlines()] for r in (a, b)]
    strip = lambda rs: [{k: v for k, v in r.items() if k not in TIMINGS} for r in rs]
    _, notes = read_metrics(b / "logs" / "metrics.jsonl")
    return {"final_checkpoints": [pa.name, pb.name], "bit_identical_weights": same_w,
            "bit_identical_state": same_s, "log_steps_once_each": [r["step"] for r in rows[1]] == [r["step"] for r in rows[0]],
            "logged_losses_identical": strip(rows[0]) == strip(rows[1]), "report_notes": notes}


def equal(x, y) -> bool:
    if isinstance(x, torch.Tensor):
        return isinstance(y, torch.Tensor) and x.dtype == y.dtype and x.shape == y.shape and torch.equal(x, y)
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(equal(u, v) for u, v in zip(x, y))
    return x == y


def full_disk(work: Path, steps: int, straight: Path) -> dict:
    """A real ENOSPC: the run writes into a 2 MB tmpfs, room for two checkpoints (0.7 MB each)."""
    mnt = work / "smallfs"
    mnt.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if mount.returncode:
        return {"skipped": f"cannot mount a small tmpfs here ({mount.stderr.strip() or mount.returncode})"}
    try:
        run = mnt / "run"
        cmd = [sys.executable, "-m", "i2i", "train", "stargan", "--out", str(run), "--no-progress", "--data",
               "shapes", *TINY, f"steps={steps}"]
        p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
        lines = p.stderr.strip().splitlines()
        latest = rundir.latest(run)
        after = inspect(run)
        leftover = [p.name for p in (run / "checkpoints").glob(".*")]
        moved = work / "disk_full_resumed"
        shutil.copytree(run, moved)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
    r = subprocess.run([sys.executable, "-m", "i2i", "train", "stargan", "--out", str(moved), "--no-progress",
                        "--resume"], env=ENV, capture_output=True, text=True, timeout=900)
    return {"exit_status": p.returncode, "stderr_lines": lines, "latest_after": latest.name if latest else None,
            "unreadable": after["unreadable"], "leftover_files": leftover,
            "latest_ok": after["latest_ok"], "resumed_elsewhere_rc": r.returncode,
            **({"resumed_vs_straight": compare(straight, moved)} if r.returncode == 0 else {"resume_stderr": r.stderr[-500:]})}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kills", type=int, default=24)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-full-disk", action="store_true")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="i2i_crash_") as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        straight = subprocess.run([sys.executable, "-m", "i2i", "train", "stargan", "--out", str(work / "straight"),
                                   "--no-progress", "--data", "shapes", *TINY, f"steps={a.steps}"],
                                  env=ENV, capture_output=True, text=True)
        if straight.returncode:
            print(straight.stderr, file=sys.stderr)
            return 1
        straight_s = time.monotonic() - t0
        run = crash_run(work / "crashed", a.steps, a.kills, a.seed)
        result = compare(work / "straight", work / "crashed") if run["final_rc"] == 0 else {}
        disk = {"skipped": "--no-full-disk"} if a.no_full_disk else full_disk(work, a.steps, work / "straight")
    events = run["events"]
    hits = [e["hit"] for e in events if e["hit"]]
    report = {
        "command": " ".join(["python benchmarks/crash.py", *(argv if argv is not None else sys.argv[1:])]),
        "config": {"method": "stargan", "data": "shapes", "overrides": TINY, "steps": a.steps, "seed": a.seed},
        "kills": len(events), "kills_by_mode": {m: sum(e["mode"] == m for e in events) for m in MODES},
        "kills_during_writes": len(hits), "kills_during_writes_by_moment": {h: hits.count(h) for h in sorted(set(hits))},
        "launches": run["launches"], "resumes": run["resumes"],
        "final_exit_status": run["final_rc"], **({"final_log_tail": run["final_log_tail"]} if run["final_rc"] else {}),
        **result,
        "unreadable_checkpoints": [u for e in events + [run["after_end"]] for u in e["unreadable"]],
        "latest_always_complete": all(e["latest_ok"] for e in events + [run["after_end"]]),
        "config_always_readable": all(e["config_ok"] for e in events),
        "full_disk": disk, "uninterrupted_run_s": round(straight_s, 1),
        "total_s": round(time.monotonic() - start, 1), "events": events,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "events"}, indent=1))
    ok = (result.get("bit_identical_weights") and result.get("bit_identical_state") and
          not report["unreadable_checkpoints"] and report["latest_always_complete"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
