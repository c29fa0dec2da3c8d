"""Oracle evaluation of attribute translation on the shapes world.

Each held-out image is translated to a random valid target (one colour of the exclusive
group, each binary attribute drawn at random); the oracle then reads the output. A target
attribute counts as reached when the oracle reads the target value; content is kept when the
shape equals the source's and the centre moved by at most `centre_tol` of the image width.
For methods with an auxiliary classifier (StarGAN's D_cls) the classifier's reading of each
changed attribute is reported beside the oracle's: where the classifier says "reached" and the
oracle does not, G has learnt to fool its classifier rather than to make the change.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.shapes import SHAPES
from ..methods.base import Classifies, Styled
from .oracle import ShapesOracle

SHAPE_INDEX = {s: i for i, s in enumerate(SHAPES)}


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
    judged = {a: [] for a in attrs}  # changed attributes the method's own classifier reads as the target
    classify = method.classify if info.multi_label and isinstance(method, Classifies) else None
    turned = {(a, v): [] for a in attrs for v in ("on", "off")}  # changed to 1 / to 0
    shape_kept, centre_kept, source_ok, size_changed = [], [], [], []
    for start in range(0, n, batch_size):
        items = [dataset[i] for i in range(start, min(n, start + batch_size))]
        x = torch.stack([it["image"] for it in items]).to(method.device)
        label = torch.stack([it["label"] for it in items])
        target = random_targets(len(items), attrs, info.exclusive, rng)
        out = method.translate(x, target.to(method.device)).cpu()
        src, res = oracle.read(x.cpu()), oracle.read(out)
        read = oracle.labels(res, attrs)
        belief = (classify(out.to(method.device)).cpu() > 0.5).float() if classify else None
        source_ok.append((oracle.labels(src, attrs) == label).all(1))
        flips = target != label
        for k, a in enumerate(attrs):
            ok, flip = read[:, k] == target[:, k], flips[:, k]
            hits[a].append(ok)
            changed[a].append(ok[flip])
            if belief is not None:
                judged[a].append((belief[:, k] == target[:, k])[flip])
            turned[a, "on"].append(ok[flip & (target[:, k] == 1)])
            turned[a, "off"].append(ok[flip & (target[:, k] == 0)])
        true_shape = torch.stack([it["content"][0] for it in items]).long()
        shape_kept.append(res["shape"] == true_shape)
        centre_kept.append(((res["cx"] - src["cx"]) ** 2 + (res["cy"] - src["cy"]) ** 2).sqrt() <= centre_tol)
        size_changed.append(flips[:, attrs.index("large")] if "large" in attrs else torch.zeros_like(flips[:, 0]))
    # None where nothing was selected (e.g. no size changes): JSON has no NaN
    mean = lambda xs: float(torch.cat(xs).float().mean()) if sum(len(x) for x in xs) else None
    resized = torch.cat(size_changed)

    def split(xs):
        v = torch.cat(xs)
        return {"size_kept": mean([v[~resized]]), "size_changed": mean([v[resized]])}

    binary = [a for a in attrs if not any(a in g for g in info.exclusive)]
    return {
        "n": n,
        "target_accuracy": {a: mean(hits[a]) for a in attrs},
        "target_accuracy_changed": {a: mean(changed[a]) for a in attrs},
        "all_targets": mean([torch.stack(col, 1).all(1) for col in zip(*hits.values())]),
        "classifier_accuracy_changed": {a: mean(judged[a]) for a in attrs} if classify else None,
        "target_accuracy_set": {a: mean(turned[a, "on"]) for a in binary},
        "target_accuracy_cleared": {a: mean(turned[a, "off"]) for a in binary},
        "shape_kept": mean(shape_kept),
        "centre_kept": mean(centre_kept),
        "shape_kept_by_size_change": split(shape_kept),
        "centre_kept_by_size_change": split(centre_kept),
        "oracle_on_sources": mean(source_ok),
    }


@torch.no_grad()
def evaluate_shapes_domains(method, dataset, n: int = 200, seed: int = 0, n_latent: int = 10,
                            batch_size: int = 25, centre_tol: float = 0.05, size_tol: float = 0.04,
                            background_tol: float = 0.06) -> dict:
    """Shapes as domains (StarGAN v2's task): each held-out image goes to a random other shape,
    guided by `n_latent` random latent codes and by one reference image of that shape.

    translation: the oracle reads the target shape; content kept: centre, size (circumradius)
    and background grey move by at most their tolerances; latent diversity: distinct colours
    the oracle reads over one input's latent outputs (1 = none) and the share of inputs whose
    outputs are both striped and plain; reference fidelity: output colour class and stripes
    equal the reference's; latent_read_as: per target domain, the share of its latent-guided
    outputs read as each shape (where a miss goes: e.g. every target drawn round). Methods
    without a style input get one output per input and no reference scores."""
    oracle, rng = ShapesOracle(), np.random.default_rng(seed)
    k = len(method.info.domains)
    targets = torch.as_tensor(dataset.targets)
    styled = isinstance(method, Styled)
    n = min(n, len(dataset))
    acc = {"latent": [], "reference": []}
    kept = {"latent": [], "reference": []}
    spatial = {"latent": [], "reference": []}  # centre and size only: background left out
    colours, mixed, ref_colour, ref_stripes = [], [], [], []

    parts = {g: {"centre": [], "size": [], "background": []} for g in acc}
    read_as = {d: [] for d in method.info.domains}  # latent-guided outputs: the shapes read, per target domain

    def scores(src, out, y, guide):
        r = oracle.read(out)
        ok = {"centre": ((r["cx"] - src["cx"]) ** 2 + (r["cy"] - src["cy"]) ** 2).sqrt() <= centre_tol,
              "size": (r["size"] - src["size"]).abs() <= size_tol,
              "background": (r["background"] - src["background"]).abs() <= background_tol}
        for k, v in ok.items():
            parts[guide][k].append(v)
        spatial[guide].append(ok["centre"] & ok["size"])
        hit = r["shape"] == torch.as_tensor([SHAPE_INDEX[method.info.domains[i]] for i in y])
        if guide == "latent":
            for d, s in zip(y, r["shape"].tolist()):
                read_as[method.info.domains[d]].append(s)
        return r, hit, ok["centre"] & ok["size"] & ok["background"]

    codes = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch_size):
        idx = list(range(start, min(n, start + batch_size)))
        x = torch.stack([dataset[i]["image"] for i in idx]).to(method.device)
        y_src = targets[idx]
        y = (y_src + torch.from_numpy(rng.integers(1, k, size=len(idx)))) % k  # another domain
        src = oracle.read(x.cpu())
        reads = []
        for _ in range(n_latent if styled else 1):
            style = method.latent_style(y, generator=codes) if styled else None
            r, hit, ok = scores(src, method.translate(x, y, style).cpu(), y.tolist(), "latent")
            acc["latent"].append(hit), kept["latent"].append(ok), reads.append(r)
        colour_sets = torch.stack([r["colour"] for r in reads], 1)
        colours.append(torch.tensor([len(set(row.tolist())) for row in colour_sets], dtype=torch.float))
        stripes = torch.stack([r["striped"] for r in reads], 1)
        mixed.append(stripes.any(1) & ~stripes.all(1))
        if styled:
            ref_idx = [int(rng.choice(torch.nonzero(targets == d).flatten().numpy())) for d in y.tolist()]
            ref = torch.stack([dataset[i]["image"] for i in ref_idx]).to(method.device)
            r, hit, ok = scores(src, method.translate(x, y, method.reference_style(ref, y)).cpu(), y.tolist(), "reference")
            ref_read = oracle.read(ref.cpu())
            acc["reference"].append(hit), kept["reference"].append(ok)
            ref_colour.append(r["colour"] == ref_read["colour"]), ref_stripes.append(r["striped"] == ref_read["striped"])
    mean = lambda xs: float(torch.cat(xs).float().mean()) if xs else None
    return {
        "n": n, "n_latent": n_latent if styled else 1,
        "translation_accuracy": {g: mean(v) for g, v in acc.items()},
        "content_kept": {g: mean(v) for g, v in kept.items()},
        "content_kept_spatial": {g: mean(v) for g, v in spatial.items()},
        "content_kept_by_part": {g: {k: mean(v) for k, v in p.items()} for g, p in parts.items()},
        "latent_colours": mean(colours),
        "latent_stripes_mixed": mean(mixed),
        "reference_colour_match": mean(ref_colour),
        "reference_stripes_match": mean(ref_stripes),
        "latent_read_as": {d: {s: v.count(SHAPE_INDEX[s]) / len(v) for s in SHAPE_INDEX} for d, v in read_as.items() if v},
    }


@torch.no_grad()
def evaluate_joint(method, dataset, n: int = 300, seed: int = 0, batch_size: int = 50,
                   centre_tol: float = 0.05) -> dict:
    """Joint training on the shapes world (shapes:joint): held-out images of every dataset,
    each translated with every dataset's labels (a random valid target of that label set, the
    other sets' slices zero, the mask naming the set). The oracle reads the set's labels back
    (reached; "when changed" counts only targets that differ from the source) and checks that
    the labels of the other sets, the shape and the centre stay as they were."""
    oracle, rng = ShapesOracle(), np.random.default_rng(seed)
    sets = [d["labels"] for d in method.info.datasets]
    report = {"n": min(n, *map(len, dataset.parts)), "label_sets": {}}
    for k, (name, attrs) in enumerate(zip(dataset.names, sets)):
        groups = [g for g in method.info.exclusive if set(g) <= set(attrs)]
        others = [a for s in sets for a in s if a not in attrs]
        stats = {"reached": [], "reached_when_changed": [], "others_kept": [], "shape_kept": [], "centre_kept": []}
        by_source = {}
        for src_name, part in zip(dataset.names, dataset.parts):
            hits = []
            for start in range(0, report["n"], batch_size):
                x = torch.stack([part[i]["image"] for i in range(start, min(report["n"], start + batch_size))])
                target = random_targets(len(x), attrs, groups, rng)
                full = torch.zeros(len(x), len(method.info.attributes))
                full[:, method.label_slices()[k]] = target
                out = method.translate(x.to(method.device), method.joint_condition(full.to(method.device), k)).cpu()
                src, res = oracle.read(x), oracle.read(out)
                reached = (oracle.labels(res, attrs) == target).all(1)
                changed = (oracle.labels(src, attrs) != target).any(1)
                hits.append(reached)
                stats["reached"].append(reached)
                stats["reached_when_changed"].append(reached[changed])
                stats["others_kept"].append((oracle.labels(res, others) == oracle.labels(src, others)).all(1))
                stats["shape_kept"].append(res["shape"] == src["shape"])
                stats["centre_kept"].append(((res["cx"] - src["cx"]) ** 2 + (res["cy"] - src["cy"]) ** 2).sqrt()
                                            <= centre_tol)
            by_source[src_name] = float(torch.cat(hits).float().mean())
        mean = lambda xs: float(torch.cat(xs).float().mean()) if sum(len(x) for x in xs) else None
        report["label_sets"][name] = {"labels": attrs, **{k2: mean(v) for k2, v in stats.items()},
                                      "reached_by_source": by_source}
    return report
