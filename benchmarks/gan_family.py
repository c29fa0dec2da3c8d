"""The GAN family on the built-in worlds: train each method with several seeds, score each run
with the world's oracle, report mean ± std, and keep one sample grid (or plot) per method.

    python benchmarks/gan_family.py --world digits [--methods gan dcgan cgan infogan wgan wgan_gp] [--seeds 0 1 2]
    python benchmarks/gan_family.py --world ring [--methods gan wgan wgan_gp]

Each method trains from configs/<method>_<world>.yaml; results go to
benchmarks/results/<world>/ (results.json, updated per method; <method>.png).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from i2i.api import load
from i2i.config import RunConfig
from i2i.metrics.digits import evaluate_generation
from i2i.metrics.ring import evaluate_ring
from i2i.train.trainer import train
from record import record

ROOT = Path(__file__).resolve().parents[1]
WORLDS = {"digits": (evaluate_generation, ["gan", "dcgan", "cgan", "infogan", "wgan", "wgan_gp"]),
          "ring": (evaluate_ring, ["gan", "wgan", "wgan_gp"])}
SCORES = ("min_class_share", "classes_at_least_4pct", "confident_share", "requested_digit_read", "code_accuracy",
          "digits_fd", "digits_fd_floor", "modes_covered", "high_quality_share", "train_minutes")


def run(method: str, world: str, seed: int, out: Path) -> dict:
    cfg = RunConfig.load(ROOT / "configs" / f"{method}_{world}.yaml")
    cfg.train.seed = seed
    start = time.perf_counter()
    train(cfg, out, show_progress=False)
    minutes = (time.perf_counter() - start) / 60
    return {"seed": seed, "steps": cfg.train.steps, "train_minutes": round(minutes, 2), "threads": torch.get_num_threads(),
            **WORLDS[world][0](load(out).method, n=1000, seed=seed)}


def summarise(runs: list[dict]) -> dict:
    out = {}
    for key in SCORES:
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            out[key] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world", choices=sorted(WORLDS), default="digits")
    p.add_argument("--methods", nargs="+", help="default: every method with a config for the world")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--out", type=Path, default=ROOT / "runs" / f"bench-gan-{time.strftime('%Y%m%d-%H%M%S')}")
    a = p.parse_args()
    results = ROOT / "benchmarks" / "results" / a.world
    for method in a.methods or WORLDS[a.world][1]:
        runs = [run(method, a.world, seed, a.out / f"{method}-{a.world}-seed{seed}") for seed in a.seeds]
        record(results, method, {"runs": runs, "summary": summarise(runs)},
               a.out / f"{method}-{a.world}-seed{a.seeds[0]}")

if __name__ == "__main__":
    main()
