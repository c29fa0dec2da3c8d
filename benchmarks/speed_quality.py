"""Do the speed options keep quality? Train one config under several settings and seeds, score
every run with the world's oracle (`i2i eval --json`), and put the figures side by side.

    python benchmarks/speed_quality.py [--config configs/stargan_shapes_demo.yaml]
                                       [--settings default plain] [--seeds 0 1 2] [--jobs 2]

Settings are train.* overrides: "default" is the library as shipped (bf16 autocast where the CPU
has it, fused optimisers, GEMM convolutions on small maps, one-conv resampling); "plain" turns the
kernel options off; "noresample" only the one-conv resampling; "fp32" also turns autocast off.
Runs go to --out; the summary to --results (benchmarks/results/speed)/quality_<config>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from record import flat, summarise

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ["fused_optim=false", "matmul_convs=false", "resample_convs=false"]
SETTINGS = {"default": [], "plain": PLAIN, "fp32": PLAIN + ["amp=none"], "compile": ["compile=on"],
            "noresample": ["resample_convs=false"]}


def one(config: Path, setting: str, seed: int, out: Path, threads: int) -> dict:
    method = yaml.safe_load((ROOT / config).read_text())["method"]
    run = out / f"{setting}-seed{seed}"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "i2i", "train", method, "--config", str(ROOT / config), "--out", str(run),
                    "--no-progress", f"seed={seed}", f"threads={threads}", *SETTINGS[setting]],
                   check=True, env=env, cwd=ROOT, capture_output=True)
    minutes = (time.perf_counter() - start) / 60
    scored = subprocess.run([sys.executable, "-m", "i2i", "eval", str(run), "--json"], check=True, env=env,
                            cwd=ROOT, capture_output=True, text=True)
    return {"setting": setting, "seed": seed, "train_minutes": round(minutes, 2), **flat(json.loads(scored.stdout))}


def table(summary: dict, keys: list[str]) -> str:
    settings = list(summary)
    lines = ["| figure | " + " | ".join(settings) + " |", "|---" * (len(settings) + 1) + "|"]
    for k in keys:
        cells = [f"{summary[s][k]['mean']:.3f} ± {summary[s][k]['std']:.3f}" if k in summary[s] else "" for s in settings]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=Path("configs/stargan_shapes_demo.yaml"))
    p.add_argument("--settings", nargs="+", default=["default", "plain"], choices=list(SETTINGS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=2, help="runs at a time, each on cores / jobs threads")
    p.add_argument("--keys", nargs="*", help="figures for the table (default: every figure)")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / f"speed-quality-{time.strftime('%Y%m%d-%H%M%S')}")
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "speed")
    a = p.parse_args(argv)
    threads = max(1, (os.cpu_count() or 2) // a.jobs)
    todo = [(s, seed) for seed in a.seeds for s in a.settings]
    with ThreadPoolExecutor(a.jobs) as pool:
        runs = list(pool.map(lambda job: one(a.config, *job, a.out, threads), todo))
    summary = {s: summarise([r for r in runs if r["setting"] == s]) for s in a.settings}
    keys = a.keys or [k for k in runs[0] if k not in ("setting", "seed")]
    report = {"config": str(a.config), "seeds": a.seeds, "threads_per_run": threads, "jobs": a.jobs,
              "runs": runs, "summary": summary, "table": table(summary, keys)}
    dest = a.results / f"quality_{a.config.stem}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(report, indent=2))
    print(report["table"])
    print(f"written {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
