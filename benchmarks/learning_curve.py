"""Learning curve: one training run, scored by the oracle on held-out images every K iterations.

    python benchmarks/learning_curve.py --config configs/stargan_shapes_demo.yaml --minutes 120 --every 400
        [--at 10 20] [--n 500] [--set KEY=VALUE ...] [--out runs/curve-...] [--results benchmarks/results/<method>]

Trains with the config's schedule (its learning-rate decay is over its `train.steps`) and stops at
`train.steps` or after --minutes of training, whichever comes first. At every K-th iteration, and
when training time passes each of --at's minutes, the checkpoint is loaded as `i2i eval` loads it
(the training's random state untouched) and scored; the time spent scoring is not counted in
`minutes`. --resume continues a run and its curve (after a session ends), its minutes going on from
the last point's. curve.json (a list of points, rewritten after each one) and curve.png (every
figure against iterations and against minutes) go to --results.

Points: `iteration`, `minutes` and fractions in [0, 1]:
- stargan: red, green, blue, striped, large (target reached when that attribute is changed),
  shape_kept, centre_kept;
- stargan_v2 and munit (shapes as domains): target_latent, target_reference, content_latent, content_reference (centre and size
  kept), reference_colour, and colours_over_10 (distinct colours over 10 latent codes, a count).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from i2i.api import load
from i2i.config import RunConfig
from i2i.data import build
from i2i.metrics import translation
from i2i.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]


def score(t, test, n: int) -> dict:
    """One point's figures for a loaded run: shapes as domains (a style method's figures), or the
    shapes' attributes."""
    if t.method.info.domains:
        s = translation.evaluate_shapes_domains(t.method, test, n=n, n_latent=10)
        return {"target_latent": s["translation_accuracy"]["latent"],
                "target_reference": s["translation_accuracy"]["reference"],
                "content_latent": s["content_kept_spatial"]["latent"],
                "content_reference": s["content_kept_spatial"]["reference"],
                "reference_colour": s["reference_colour_match"], "colours_over_10": s["latent_colours"]}
    s = translation.evaluate_shapes(t.method, test, n=n)
    return {**{a: s["target_accuracy_changed"][a] for a in ("red", "green", "blue", "striped", "large")},
            "shape_kept": s["shape_kept"], "centre_kept": s["centre_kept"]}


class CurveTrainer(Trainer):
    """The trainer, scoring each saved checkpoint and stopping once the time budget is spent."""

    def __init__(self, *args, minutes: float, n: int, results: Path, at: tuple[float, ...] = (), points=(), **kw):
        super().__init__(*args, **kw)
        self.budget, self.n, self.results = minutes * 60, n, results
        self.test = build(self.cfg.data, "test", train=False)
        # resumed: the earlier points, and the training minutes they had reached
        self.points = [p for p in points if p["iteration"] <= self.step]
        done = self.points[-1]["minutes"] * 60 if self.points else 0.0
        self.started, self.scoring = time.perf_counter() - done, 0.0
        self.marks = sorted(m * 60 for m in at if not self.points or m * 60 > done)  # training seconds of more points

    def trained(self) -> float:
        """Seconds spent training so far (scoring excluded)."""
        return time.perf_counter() - self.started - self.scoring

    def save_due(self) -> bool:
        if self.marks and self.trained() >= self.marks[0]:
            self.marks = [m for m in self.marks if m > self.trained()]
            return True
        return super().save_due()

    def save(self):
        path = super().save()
        begin = time.perf_counter()
        trained = self.trained() / 60
        with torch.random.fork_rng(devices=[]):  # building the loaded copy draws from torch's RNG
            t = load(self.run_dir, device="cpu")
            figures = score(t, self.test, self.n)
            point = {"iteration": self.step, "minutes": round(trained, 2), **{k: round(v, 4) for k, v in figures.items()}}
        self.points.append(point)
        write(self.points, self.results, self.cfg.method)
        print(json.dumps(point), flush=True)
        self.scoring += time.perf_counter() - begin
        if trained * 60 >= self.budget:
            self.cfg.train.steps = self.step  # the loop ends after this iteration
        return path


def write(points: list[dict], results: Path, method: str) -> None:
    results.mkdir(parents=True, exist_ok=True)
    (results / "curve.json").write_text(json.dumps(points, indent=1) + "\n")
    plot(points, method).save(results / "curve.png")


COLOURS = ["#d62728", "#2ca02c", "#1f77b4", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]


def plot(points: list[dict], method: str):
    """Every figure against iterations (left) and minutes (right), drawn with PIL (no matplotlib
    here); colours_over_10 is drawn divided by 10. The dashed line is the 0.9 bar."""
    from PIL import Image, ImageDraw
    keys = [k for k in points[0] if k not in ("iteration", "minutes")]
    w, h, m = 360, 240, 40
    img = Image.new("RGB", (2 * w + 3 * m, h + 2 * m + 16 * len(keys)), "white")
    d = ImageDraw.Draw(img)
    d.text((m, 8), f"{method}: oracle figures on held-out images", fill="black")
    for panel, x in enumerate(("iteration", "minutes")):
        x0, y0 = m + panel * (w + m), m
        xs = [p[x] for p in points]
        lo, hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
        px = lambda v: x0 + (v - lo) / (hi - lo) * w  # noqa: E731
        py = lambda v: y0 + h - max(0.0, min(1.0, v)) * h  # noqa: E731
        d.rectangle([x0, y0, x0 + w, y0 + h], outline="black")
        for q in (0.25, 0.5, 0.75):
            d.line([x0, py(q), x0 + w, py(q)], fill="#e0e0e0")
        for gx in range(int(x0), int(x0 + w), 8):
            d.line([gx, py(0.9), gx + 4, py(0.9)], fill="grey")
        for k, key in enumerate(keys):
            ys = [p[key] / (10 if key == "colours_over_10" else 1) for p in points]
            line = [(px(a), py(b)) for a, b in zip(xs, ys)]
            d.line(line, fill=COLOURS[k % len(COLOURS)], width=2) if len(line) > 1 else None
            for cx, cy in line:
                d.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=COLOURS[k % len(COLOURS)])
        d.text((x0, y0 + h + 4), f"{lo:g}", fill="black")
        d.text((x0 + w - 40, y0 + h + 4), f"{hi:g} {x}", fill="black")
        d.text((x0 - 22, y0 - 6), "1.0", fill="black")
        d.text((x0 - 22, y0 + h - 6), "0.0", fill="black")
    for k, key in enumerate(keys):
        d.text((m, h + m + 20 + 16 * k), "-- " + key + (" / 10" if key == "colours_over_10" else ""),
               fill=COLOURS[k % len(COLOURS)])
    return img


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, help="the run's config (not with --resume: the run's own is used)")
    p.add_argument("--minutes", type=float, required=True, help="training time budget (scoring not counted)")
    p.add_argument("--every", type=int, required=True, help="score every K iterations")
    p.add_argument("--n", type=int, default=500, help="held-out images scored per point")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--at", type=float, nargs="*", default=[], metavar="MINUTES",
                   help="also score when training time passes these minutes (e.g. --at 10 20)")
    p.add_argument("--out", type=Path, help="run directory (default runs/curve-<method>-<time>)")
    p.add_argument("--results", type=Path, help="default benchmarks/results/<method>")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out and the curve in --results (minutes go on from its last point)")
    a = p.parse_args(argv)
    if a.resume == bool(a.config) or (a.resume and not a.out):
        raise SystemExit("give --config for a new curve, or --resume with --out RUN (and --results) to continue one")
    cfg = RunConfig.load(a.out / "config.yaml" if a.resume else a.config)
    for kv in a.set:
        cfg.set(*kv.split("=", 1))
    if cfg.data.spec != "shapes":
        raise SystemExit(f"learning curves score runs on the shapes world (data.spec shapes), not {cfg.data.spec}")
    cfg.set("train.save_every", a.every)
    out = a.out or ROOT / "runs" / f"curve-{cfg.method}-{time.strftime('%Y%m%d-%H%M%S')}"
    results = a.results or ROOT / "benchmarks" / "results" / cfg.method
    points = json.loads((results / "curve.json").read_text()) if a.resume else []
    CurveTrainer(cfg, out, resume=a.resume, show_progress=False, minutes=a.minutes, n=a.n, results=results,
                 at=tuple(a.at), points=points).fit()


if __name__ == "__main__":
    main()
