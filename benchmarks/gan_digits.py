"""The GAN family on real handwritten digits: train each method with several seeds, score
each run with the digit oracle, report mean ± std, and keep one sample grid per method.

    python benchmarks/gan_digits.py [--methods dcgan cgan wgan wgan_gp] [--seeds 0 1 2] [--out runs/bench-digits]

Each method trains from configs/<method>_digits.yaml; results go to
benchmarks/results/digits/ (results.json, updated per method; <method>.png).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

from i2i.api import load
from i2i.config import RunConfig
from i2i.metrics.digits import evaluate_generation
from i2i.train.trainer import train

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "digits"
SCORES = ("min_class_share", "classes_at_least_4pct", "confident_share", "requested_digit_read",
          "digits_fd", "digits_fd_floor", "train_minutes")


def run(method: str, seed: int, out: Path) -> dict:
    cfg = RunConfig.load(ROOT / "configs" / f"{method}_digits.yaml")
    cfg.train.seed = seed
    start = time.perf_counter()
    train(cfg, out, show_progress=False)
    minutes = (time.perf_counter() - start) / 60
    return {"seed": seed, "steps": cfg.train.steps, "train_minutes": round(minutes, 2),
            **evaluate_generation(load(out).method, n=1000, seed=seed)}


def summarise(runs: list[dict]) -> dict:
    out = {}
    for key in SCORES:
        values = [r[key] for r in runs if r[key] is not None]
        if values:
            out[key] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", default=["dcgan", "cgan", "wgan", "wgan_gp"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--out", type=Path, default=ROOT / "runs" / f"bench-digits-{time.strftime('%Y%m%d-%H%M%S')}")
    a = p.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "results.json"
    report = json.loads(path.read_text()) if path.is_file() else {}  # other methods' results stay
    for method in a.methods:
        runs = [run(method, seed, a.out / f"{method}-seed{seed}") for seed in a.seeds]
        report[method] = {"runs": runs, "summary": summarise(runs)}
        grids = sorted((a.out / f"{method}-seed{a.seeds[0]}" / "samples").glob("step_*.png"))
        shutil.copy(grids[-1], RESULTS / f"{method}.png")
        print(json.dumps({method: report[method]["summary"]}, indent=2), flush=True)
        path.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
