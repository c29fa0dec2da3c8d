"""Two-domain translation on the shapes world: Pix2Pix on label map → render pairs, CycleGAN and
OP-GAN on plain ↔ striped objects. Each method trains with several seeds from
configs/<method>_shapes.yaml, is scored by the oracle on held-out images, and the summary is
mean ± std over seeds.

    python benchmarks/two_domain.py [--methods pix2pix cyclegan opgan] [--seeds 0 1 2] [-n 200]

Results go to benchmarks/results/two_domain/ (results.json, updated per method; <method>.png,
the last sample grid of the first seed).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from i2i.api import load
from i2i.config import RunConfig
from i2i.data import build
from i2i.metrics import two_domain
from i2i.train.trainer import train
from record import record

ROOT = Path(__file__).resolve().parents[1]
METHODS = ["pix2pix", "cyclegan", "opgan"]


def flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[f"{prefix}{k}"] = v
    return out


def run(method: str, seed: int, out: Path, n: int, overrides: list[str]) -> dict:
    cfg = RunConfig.load(ROOT / "configs" / f"{method}_shapes.yaml")
    cfg.train.seed = seed
    cfg.apply_overrides(overrides)
    start = time.perf_counter()
    train(cfg, out, show_progress=False)
    minutes = (time.perf_counter() - start) / 60
    t = load(out)
    test_set = build(t.cfg.data, "test", train=False)
    evaluate = two_domain.evaluate_paired if test_set.paired else two_domain.evaluate_unpaired
    return {"seed": seed, "steps": cfg.train.steps, "train_minutes": round(minutes, 2),
            "threads": torch.get_num_threads(), **evaluate(t.method, test_set, n=n)}


def summarise(runs: list[dict]) -> dict:
    rows = [flat(r) for r in runs]
    keys = [k for k in rows[0] if k not in ("seed", "steps", "threads", "n")]
    return {k: {"mean": statistics.fmean(r[k] for r in rows),
                "std": statistics.stdev(r[k] for r in rows) if len(rows) > 1 else 0.0} for k in keys}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("-n", type=int, default=200, help="held-out images (pairs) scored per run")
    p.add_argument("--tag", default="", help="suffix of the results entry, e.g. for a variant given by --set")
    p.add_argument("--set", nargs="*", default=[], metavar="key=value", help="config overrides for every run")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / f"bench-2d-{time.strftime('%Y%m%d-%H%M%S')}")
    a = p.parse_args()
    results = ROOT / "benchmarks" / "results" / "two_domain"
    for method in a.methods:
        name = method + (f"-{a.tag}" if a.tag else "")
        runs = [run(method, seed, a.out / f"{name}-seed{seed}", a.n, a.set) for seed in a.seeds]
        record(results, name, {"overrides": a.set, "runs": runs, "summary": summarise(runs)},
               a.out / f"{name}-seed{a.seeds[0]}")

if __name__ == "__main__":
    main()
