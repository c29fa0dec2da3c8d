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
from pathlib import Path

from i2i.api import load
from i2i.config import RunConfig
from i2i.data import build
from i2i.metrics import two_domain
from record import add_run_options, record, summarise, train_once

ROOT = Path(__file__).resolve().parents[1]
METHODS = ["pix2pix", "cyclegan", "opgan"]


def run(method: str, seed: int, out: Path, n: int, overrides: list[str]) -> dict:
    cfg = RunConfig.load(ROOT / "configs" / f"{method}_shapes.yaml")
    cfg.train.seed = seed
    cfg.apply_overrides(overrides)
    trained = train_once(cfg, out)
    t = load(out)
    test_set = build(t.cfg.data, "test", train=False)
    evaluate = two_domain.evaluate_paired if test_set.paired else two_domain.evaluate_unpaired
    return {"seed": seed, "steps": cfg.train.steps, **trained, **evaluate(t.method, test_set, n=n)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    add_run_options(p, 200, "held-out images (pairs) scored per run", ROOT / "runs" / "bench-2d")
    a = p.parse_args()
    results = ROOT / "benchmarks" / "results" / "two_domain"
    for method in a.methods:
        name = method + (f"-{a.tag}" if a.tag else "")
        runs = [run(method, seed, a.out / f"{name}-seed{seed}", a.n, a.set) for seed in a.seeds]
        record(results, name, {"overrides": a.set, "runs": runs, "summary": summarise(runs)},
               a.out / f"{name}-seed{a.seeds[0]}")

if __name__ == "__main__":
    main()
