"""What the benchmarks share: their common options, training a run once, and writing one entry per
method in results/<suite>/results.json (other methods' entries stay, so suites can run method by
method or side by side) with the first seed's last sample grid as <name>.png."""
from __future__ import annotations

import json
import shutil
import statistics
import time
from pathlib import Path

import torch


def record(results: Path, name: str, entry: dict, first_run: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    path = results / "results.json"
    report = json.loads(path.read_text()) if path.is_file() else {}
    report[name] = entry
    grids = sorted((first_run / "samples").glob("step_*.png"))
    shutil.copy(grids[-1], results / f"{name}.png")
    print(json.dumps({name: entry["summary"]}, indent=2), flush=True)
    path.write_text(json.dumps(report, indent=2))


def flat(d: dict, prefix: str = "") -> dict:
    """Numeric leaves of a nested result, keyed "a.b.c"."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[f"{prefix}{k}"] = v
    return out


def summarise(runs: list[dict]) -> dict:
    """Mean and standard deviation over seeds of every numeric figure of the runs."""
    rows = [flat(r) for r in runs]
    keys = [k for k in rows[0] if k not in ("seed", "steps", "threads", "n")]
    return {k: {"mean": statistics.fmean(r[k] for r in rows),
                "std": statistics.stdev(r[k] for r in rows) if len(rows) > 1 else 0.0} for k in keys}


def add_run_options(p, n_default: int, n_help: str, out: Path) -> None:
    """--seeds, -n, --tag, --set and --out, as every seeded benchmark takes them."""
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("-n", type=int, default=n_default, help=n_help)
    p.add_argument("--tag", default="", help="suffix of the results entry, e.g. for a variant given by --set")
    p.add_argument("--set", nargs="*", default=[], metavar="key=value", help="config overrides for every run")
    p.add_argument("--out", type=Path, default=out.with_name(f"{out.name}-{time.strftime('%Y%m%d-%H%M%S')}"))


def train_once(cfg, out: Path) -> dict:
    """Train `cfg` into `out` and return its minutes and threads; a run that finished before
    (bench_train.json) is kept, so seeds can train side by side and be scored together later."""
    from i2i.train.trainer import train
    done = out / "bench_train.json"
    if not done.is_file():
        start = time.perf_counter()
        train(cfg, out, show_progress=False)
        done.write_text(json.dumps({"train_minutes": round((time.perf_counter() - start) / 60, 2),
                                    "threads": torch.get_num_threads()}))
    return json.loads(done.read_text())
