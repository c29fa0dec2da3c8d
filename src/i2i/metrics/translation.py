"""Oracle evaluation of attribute translation on the shapes world.

Each held-out image is translated to a random valid target (one colour of the exclusive
group, each binary attribute drawn at random); the oracle then reads the output. A target
attribute counts as reached when the oracle reads the target value; content is kept when the
shape equals the source's and the centre moved by at most `centre_tol` of the image width.
"""
from __future__ import annotations

import numpy as np
import torch

from .oracle import ShapesOracle


def random_targets(n: int, attributes: list[str], exclusive: list[list[str]], rng) -> torch.Tensor:
    t = torch.from_numpy(rng.integers(0, 2, size=(n, len(attributes)))).float()
    for group in exclusive:
        idx = [attributes.index(a) for a in group]
        t[:, idx] = 0
        t[torch.arange(n), torch.tensor(idx)[rng.integers(0, len(idx), size=n)]] = 1
    return t


@torch.no_grad()
def evaluate_shapes(method, dataset, n: int = 500, seed: int = 0, batch_size: int = 50,
                    centre_tol: float = 0.05) -> dict:
    info = method.info
    attrs = info.attributes
    oracle = ShapesOracle()
    rng = np.random.default_rng(seed)
    n = min(n, len(dataset))
    hits = {a: [] for a in attrs}
    changed = {a: [] for a in attrs}
    shape_kept, centre_kept, source_ok = [], [], []
    for start in range(0, n, batch_size):
        items = [dataset[i] for i in range(start, min(n, start + batch_size))]
        x = torch.stack([it["image"] for it in items]).to(method.device)
        label = torch.stack([it["label"] for it in items])
        target = random_targets(len(items), attrs, info.exclusive, rng)
        out = method.translate(x, target.to(method.device)).cpu()
        src, res = oracle.read(x.cpu()), oracle.read(out)
        read = oracle.labels(res, attrs)
        source_ok.append((oracle.labels(src, attrs) == label).all(1))
        for k, a in enumerate(attrs):
            ok = read[:, k] == target[:, k]
            hits[a].append(ok)
            changed[a].append(ok[target[:, k] != label[:, k]])
        true_shape = torch.stack([it["content"][0] for it in items]).long()
        shape_kept.append(res["shape"] == true_shape)
        centre_kept.append(((res["cx"] - src["cx"]) ** 2 + (res["cy"] - src["cy"]) ** 2).sqrt() <= centre_tol)
    mean = lambda xs: float(torch.cat(xs).float().mean()) if sum(len(x) for x in xs) else float("nan")
    return {
        "n": n,
        "target_accuracy": {a: mean(hits[a]) for a in attrs},
        "target_accuracy_changed": {a: mean(changed[a]) for a in attrs},
        "all_targets": mean([torch.stack(col, 1).all(1) for col in zip(*hits.values())]),
        "shape_kept": mean(shape_kept),
        "centre_kept": mean(centre_kept),
        "oracle_on_sources": mean(source_ok),
    }
