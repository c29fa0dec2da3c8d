"""StarGAN v2 beside StarGAN on the shapes world with the three shapes as domains.

Trains both (configs/stargan_v2_shapes.yaml, configs/stargan_shapes_domains.yaml), scores both
with the same oracle evaluation (translation, content kept, latent diversity, reference
fidelity), writes StarGAN v2's sample grids, and puts everything in
benchmarks/results/stargan_v2/ (results.json, *.png, *.gif).

    python benchmarks/stargan_v2_shapes.py [--out runs/bench-v2] [--skip-stargan] [--n 500]
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from i2i.api import load
from i2i.cli import main as cli
from i2i.config import RunConfig
from i2i.data import build
from i2i.metrics.translation import evaluate_shapes_domains
from i2i.train.trainer import train

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "stargan_v2"
BAR = {"translation": 0.90, "content": 0.90, "reference_colour": 0.80}


def run(config: str, out: Path, n: int) -> dict:
    cfg = RunConfig.load(ROOT / "configs" / config)
    start = time.perf_counter()
    train(cfg, out)
    minutes = (time.perf_counter() - start) / 60
    t = load(out)
    result = evaluate_shapes_domains(t.method, build(t.cfg.data, "test", train=False), n=n)
    return {"config": config, "train_minutes": round(minutes, 2), "steps": cfg.train.steps, **result}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "runs" / f"bench-v2-{time.strftime('%Y%m%d-%H%M%S')}")
    p.add_argument("--n", type=int, default=500, help="held-out images to score")
    p.add_argument("--skip-stargan", action="store_true")
    a = p.parse_args()
    report = {"stargan_v2": run("stargan_v2_shapes.yaml", a.out / "stargan_v2", a.n)}
    if not a.skip_stargan:
        report["stargan"] = run("stargan_shapes_domains.yaml", a.out / "stargan", a.n)
    v2 = report["stargan_v2"]
    report["bar"] = {
        "translation ≥ 90% (latent and reference)": min(v2["translation_accuracy"].values()) >= BAR["translation"],
        "content kept ≥ 90% (latent and reference)": min(v2["content_kept"].values()) >= BAR["content"],
        "reference colour ≥ 80%": v2["reference_colour_match"] >= BAR["reference_colour"],
        "latent diversity above StarGAN's": ("stargan" in report
                                             and v2["latent_colours"] > report["stargan"]["latent_colours"]),
        "trained in ≤ 20 minutes": v2["train_minutes"] <= 20,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    cli(["sample", str(a.out / "stargan_v2"), "--out", str(RESULTS)])
    for name in ("stargan_v2", "stargan"):
        samples = sorted((a.out / name / "samples").glob("step_*.png")) if name in report else []
        if samples:
            shutil.copy(samples[-1], RESULTS / f"{name}_training_grid.png")
    (RESULTS / "results.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
