"""How well does ShapesOracle read shapes-world images after GAN-like degradations?

Renders 500 random images (all shapes, all palette colours) per image size, degrades them,
reads them back and scores each attribute. Writes benchmarks/results/oracle_robustness.json
and prints a markdown table.

    python benchmarks/oracle_robustness.py [--n 500] [--sizes 32 64]
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from i2i.data.shapes import PALETTE, SHAPES, render_batch, sample_params
from i2i.metrics.oracle import ShapesOracle, gaussian_blur

CONDITIONS = {  # name -> (blur sigma px, noise sigma in [-1, 1] units, JPEG quality or None)
    "clean": (0.0, 0.0, None),
    "blur 0.5": (0.5, 0.0, None),
    "blur 1.0": (1.0, 0.0, None),
    "blur 1.5": (1.5, 0.0, None),
    "noise 0.05": (0.0, 0.05, None),
    "noise 0.1": (0.0, 0.1, None),
    "jpeg 50": (0.0, 0.0, 50),
    "blur 1.0 + noise 0.05": (1.0, 0.05, None),
}
ATTRS = ("shape", "colour", "striped", "large", "centre")


def jpeg(images: torch.Tensor, quality: int) -> torch.Tensor:
    """Round trip through Pillow's JPEG encoder (default 4:2:0 chroma subsampling)."""
    out = []
    for im in images:
        arr = ((im + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
        out.append(torch.from_numpy(np.array(Image.open(buf).convert("RGB"))).permute(2, 0, 1))
    return torch.stack(out).float() / 127.5 - 1.0


def degrade(images: torch.Tensor, blur: float, noise: float, quality: int | None, seed: int) -> torch.Tensor:
    x = gaussian_blur(images, blur)
    if noise > 0:
        x = x + noise * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    x = x.clamp(-1, 1)
    return jpeg(x, quality) if quality is not None else x


def score(readings: dict, params: list, oracle: ShapesOracle) -> dict[str, float]:
    t = lambda f: torch.tensor([f(p) for p in params])
    truth = {"shape": t(lambda p: SHAPES.index(p.shape)), "colour": t(lambda p: oracle.colours.index(p.colour)),
             "striped": t(lambda p: p.striped), "large": t(lambda p: p.large)}
    acc = {k: (readings[k] == v).float().mean().item() for k, v in truth.items()}
    err = torch.maximum((readings["cx"] - t(lambda p: p.cx)).abs(), (readings["cy"] - t(lambda p: p.cy)).abs())
    acc["centre"] = (err < 0.05).float().mean().item()
    acc["size_rel_err_median"] = (readings["size"] / t(lambda p: p.size) - 1).abs().median().item()
    return acc


def table(results: dict) -> str:
    sizes = list(results["accuracy"])
    head = "| condition | " + " | ".join(f"{a} @{s}" for s in sizes for a in ATTRS) + " |"
    lines = [head, "|" + "---|" * (1 + len(sizes) * len(ATTRS))]
    for cond in CONDITIONS:
        cells = [f"{results['accuracy'][s][cond][a] * 100:.1f}" for s in sizes for a in ATTRS]
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 32])
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "oracle_robustness.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    oracle = ShapesOracle()
    results = {"n": args.n, "seed": args.seed, "colours": list(PALETTE), "shapes": list(SHAPES),
               "centre_tolerance": 0.05, "accuracy": {}, "read_seconds_per_1000": {}}
    for size in args.sizes:
        params = [sample_params(np.random.default_rng([args.seed, size, i]), colours=tuple(PALETTE))
                  for i in range(args.n)]
        clean = render_batch(params, size)
        results["accuracy"][size] = {}
        for k, (cond, (blur, noise, quality)) in enumerate(CONDITIONS.items()):
            images = degrade(clean, blur, noise, quality, seed=args.seed + k)
            t0 = time.perf_counter()
            readings = oracle.read(images)
            if cond == "clean":
                results["read_seconds_per_1000"][size] = (time.perf_counter() - t0) * 1000 / args.n
            results["accuracy"][size][cond] = score(readings, params, oracle)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\naccuracy in %, n={args.n} per size; centre = both coordinates within 0.05 of the image side")
    print("read time, s per 1000 images:", {s: round(v, 2) for s, v in results["read_seconds_per_1000"].items()})


if __name__ == "__main__":
    main()
