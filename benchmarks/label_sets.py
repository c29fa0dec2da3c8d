"""StarGAN with several label sets and with few labels, on the shapes world.

    python benchmarks/label_sets.py joint [--seeds 0 1 2]   # configs/stargan_shapes_joint.yaml
    python benchmarks/label_sets.py semi [--methods stargan matchgan] [--seeds 0 1 2]

joint: StarGAN trained jointly on two datasets with different labels (shapes:joint: object
colours, background bands) through the mask vector; every held-out image of both datasets is
translated with each dataset's labels. semi: StarGAN and MatchGAN with the labels of 20% of the
images (configs/<method>_shapes_semi.yaml); translation accuracy is the oracle's reading of each
attribute the target changed, averaged over the five attributes. A run directory that holds a
finished run (bench_train.json) is scored, not retrained, so seeds can train side by side:
`--seeds 1 --out DIR` in one shell, `--seeds 2 --out DIR` in another, then all seeds with
`--out DIR`. Results go to
benchmarks/results/label_sets/ (results.json, the first seed's last sample grid per entry).
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path


from i2i.api import load
from i2i.config import RunConfig
from i2i.data import build
from i2i.metrics import translation
from record import add_run_options, record, summarise, train_once

ROOT = Path(__file__).resolve().parents[1]


def run(config: str, seed: int, out: Path, n: int, overrides: list[str]) -> dict:
    cfg = RunConfig.load(ROOT / "configs" / config)
    cfg.train.seed = seed
    cfg.apply_overrides(overrides)
    trained = train_once(cfg, out)
    t = load(out)
    test_set = build(t.cfg.data, "test", train=False)
    head = {"seed": seed, "steps": cfg.train.steps, **trained}
    if t.method.info.datasets:
        return {**head, **translation.evaluate_joint(t.method, test_set, n=n, seed=0)}
    r = translation.evaluate_shapes(t.method, test_set, n=n, seed=0)
    changed = list(r["target_accuracy_changed"].values())
    return {**head, "translation_accuracy": statistics.fmean(changed), **r}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("suite", choices=["joint", "semi"])
    p.add_argument("--methods", nargs="+", default=["stargan", "matchgan"], help="semi: the methods to compare")
    add_run_options(p, 300, "held-out images scored per run (per dataset for joint)", ROOT / "runs" / "bench-labels")
    a = p.parse_args()
    configs = ({"joint": "stargan_shapes_joint.yaml"} if a.suite == "joint"
               else {f"{m}-semi": f"{m}_shapes_semi.yaml" for m in a.methods})
    for name, config in configs.items():
        name += f"-{a.tag}" if a.tag else ""
        runs = [run(config, seed, a.out / f"{name}-seed{seed}", a.n, a.set) for seed in a.seeds]
        record(ROOT / "benchmarks" / "results" / "label_sets", name,
               {"config": f"configs/{config}", "overrides": a.set, "runs": runs, "summary": summarise(runs)},
               a.out / f"{name}-seed{a.seeds[0]}")


if __name__ == "__main__":
    main()
