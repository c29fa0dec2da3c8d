"""Oracle evaluation of the two-domain tasks of the shapes world.

Paired (Pix2Pix, label map → render): outputs against the ground-truth renders (L1, PSNR,
SSIM), and whether the oracle reads the object's shape, colour and stripes from the output.
Unpaired (CycleGAN, OP-GAN; plain ↔ striped): each held-out image goes to the other domain.
Target accuracy: the oracle reads the target's stripes (or their absence). Content kept: the
object's mask (its chromatic pixels: the world's backgrounds are pure grey and every object
pixel has chroma ≥ 0.2) overlaps the source's (IoU), its centroid moves little, and the
oracle reads the source's shape and colour.
"""
from __future__ import annotations

import torch

from ..data.shapes import PALETTE, SHAPES
from . import pixel
from .oracle import ShapesOracle

CHROMA = 0.1  # mask threshold, half the world's minimum object chroma


def object_mask(x: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W in [-1, 1] → N x H x W bool: the chromatic (object) pixels."""
    u = (x.float().clamp(-1, 1) + 1) / 2
    return (u.amax(1) - u.amin(1)) >= CHROMA


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    inter, union = (a & b).flatten(1).sum(1), (a | b).flatten(1).sum(1)
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(inter, dtype=torch.float))


def centroid(m: torch.Tensor) -> torch.Tensor:
    """N x H x W → N x 2 (x, y) as fractions of the side; the image centre where the mask is empty."""
    h, w = m.shape[1:]
    m = m.float()
    total = m.flatten(1).sum(1).clamp_min(1e-6)
    xs = (m.sum(1) * (torch.arange(w) + 0.5)).sum(1) / total / w
    ys = (m.sum(2) * (torch.arange(h) + 0.5)).sum(1) / total / h
    empty = m.flatten(1).sum(1) == 0
    return torch.where(empty[:, None], torch.full((len(m), 2), 0.5), torch.stack([xs, ys], 1))


def _truth(params, colours) -> dict[str, torch.Tensor]:
    return {"shape": torch.tensor([SHAPES.index(p.shape) for p in params]),
            "colour": torch.tensor([colours.index(p.colour) for p in params]),
            "striped": torch.tensor([p.striped for p in params])}


def _stats(values: list[torch.Tensor]) -> dict[str, float]:
    v = torch.cat(values).double()
    return {"mean": float(v.mean()), "std": float(v.std()) if len(v) > 1 else 0.0}


@torch.no_grad()
def evaluate_paired(method, dataset, n: int = 200, batch_size: int = 25) -> dict:
    colours = tuple(c for c in PALETTE if c in ("red", "green", "blue"))
    oracle = ShapesOracle(colours)
    n = min(n, len(dataset))
    scores = {k: [] for k in ("l1", "psnr", "ssim")}
    reads = {k: [] for k in ("shape", "colour", "striped", "all")}
    truth_read = []
    for start in range(0, n, batch_size):
        idx = range(start, min(n, start + batch_size))
        items = [dataset[i] for i in idx]
        a = torch.stack([it["A"] for it in items]).to(method.device)
        b = torch.stack([it["B"] for it in items])
        out = method.translate(a).cpu()
        for k in scores:
            scores[k].append(getattr(pixel, k)(out, b))
        truth = _truth([dataset.params(i) for i in idx], colours)
        got, ceiling = oracle.read(out), oracle.read(b)
        ok = {k: got[k].long() == truth[k].long() for k in truth}
        for k, v in ok.items():
            reads[k].append(v)
        reads["all"].append(torch.stack(list(ok.values())).all(0))
        truth_read.append(torch.stack([ceiling[k].long() == truth[k].long() for k in truth]).all(0))
    mean = lambda xs: float(torch.cat(xs).float().mean())
    return {"task": "paired", "n": n, **{k: _stats(v) for k, v in scores.items()},
            "attribute_accuracy": {k: mean(v) for k, v in reads.items()},
            "oracle_on_ground_truth": mean(truth_read)}


@torch.no_grad()
def evaluate_unpaired(method, dataset, n: int = 200, batch_size: int = 25, centre_tol: float = 0.05) -> dict:
    colours = tuple(c for c in PALETTE if c in ("red", "green", "blue"))
    oracle = ShapesOracle(colours)
    n = min(n, len(dataset))
    result = {"task": "unpaired", "n": n}
    for source, target in (("A", 1), ("B", 0)):
        rec = {k: [] for k in ("target", "iou", "shift", "centre_kept", "shape_kept", "colour_kept", "source_ok")}
        for start in range(0, n, batch_size):
            idx = range(start, min(n, start + batch_size))
            x = torch.stack([dataset[i][source] for i in idx]).to(method.device)
            out = method.translate(x, torch.full((len(x),), target, dtype=torch.long)).cpu()
            x = x.cpu()
            truth = _truth([dataset.params(source, i) for i in idx], colours)
            got, src = oracle.read(out), oracle.read(x)
            rec["target"].append(got["striped"] == bool(target))
            m_src, m_out = object_mask(x), object_mask(out)
            rec["iou"].append(mask_iou(m_src, m_out))
            shift = (centroid(m_out) - centroid(m_src)).norm(dim=1)
            rec["shift"].append(shift)
            rec["centre_kept"].append(shift <= centre_tol)
            rec["shape_kept"].append(got["shape"] == truth["shape"])
            rec["colour_kept"].append(got["colour"] == truth["colour"])
            rec["source_ok"].append((src["striped"] == truth["striped"]) & (src["shape"] == truth["shape"]))
        mean = lambda k: float(torch.cat(rec[k]).float().mean())
        name = f"{dataset.domains[1 - target]}_to_{dataset.domains[target]}"
        result[name] = {"target_accuracy": mean("target"), "mask_iou": mean("iou"), "centre_shift": mean("shift"),
                        "centre_kept": mean("centre_kept"), "shape_kept": mean("shape_kept"),
                        "colour_kept": mean("colour_kept"), "oracle_on_sources": mean("source_ok")}
    directions = [v for k, v in result.items() if isinstance(v, dict)]
    result["mean"] = {k: sum(d[k] for d in directions) / len(directions) for k in directions[0]}
    return result
