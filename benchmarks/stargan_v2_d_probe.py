"""Does a StarGAN v2 run's discriminator tell its domains apart?

    python benchmarks/stargan_v2_d_probe.py RUN [--n 300] [--out FILE.json]

D has one real/fake head per domain, and each head is trained only on real images of its own
domain and on fakes aimed at it: nothing asks head k to reject a real image of another domain.
The generator is pushed toward the target domain only where head k has learned to do so. This
reads, on held-out real images, the mean logit of every head for every true domain and how often
the highest head is the true domain (chance: 1 / domains); and, for latent-guided fakes sent to
another domain, the mean logit of the target's head and of the source's head.

G sees the target domain only through the style code, so the probe also reads how well style
codes name their domain: latent codes of every domain from the mapping network, and each real
image's code from its own domain's style-encoder head; scored by nearest domain mean and by a
leave-one-out 5-nearest-neighbour vote (chance: 1 / domains).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from i2i import rundir
from i2i.api import load
from i2i.data import build


def _domain_readable(s: torch.Tensor, y: torch.Tensor, k: int) -> dict:
    """How often a style code's domain is its nearest domain mean, and the 5-NN vote's domain."""
    means = torch.stack([s[y == d].mean(0) for d in range(k)])
    dist = torch.cdist(s, s).fill_diagonal_(float("inf"))
    vote = torch.mode(y[dist.topk(5, largest=False).indices], dim=1).values
    return {"nearest_mean": float((torch.cdist(s, means).argmin(1) == y).float().mean()),
            "nearest_5": float((vote == y).float().mean())}


@torch.no_grad()
def probe(run, n: int = 300, seed: int = 0) -> dict:
    t = load(run, device="cpu")
    m = t.method
    test = build(t.cfg.data, "test", train=False)
    n = min(n, len(test))
    x = torch.stack([test[i]["image"] for i in range(n)])
    y = torch.tensor([int(test[i]["label"]) for i in range(n)])
    k = len(m.info.domains)
    heads = m.discriminator.main(x).flatten(1).float()  # N x domains
    g = torch.Generator().manual_seed(seed)
    y_trg = (y + torch.randint(1, k, y.shape, generator=g)) % k
    torch.manual_seed(seed)
    fake_heads = m.discriminator.main(m.translate(x, y_trg)).flatten(1).float()
    y_lat = torch.arange(k).repeat_interleave(n)
    latent = m.latent_style(y_lat, generator=g)
    return {
        "checkpoint": rundir.latest(run).name if not rundir.is_pretrained(run) else "pretrained",
        "n": n, "domains": list(m.info.domains),
        "real_mean_logit": {d: [round(float(v), 3) for v in heads[y == i].mean(0)] for i, d in enumerate(m.info.domains)},
        "real_head_is_domain": float((heads.argmax(1) == y).float().mean()),
        "fake_target_head": float(fake_heads.gather(1, y_trg[:, None]).mean()),
        "fake_source_head": float(fake_heads.gather(1, y[:, None]).mean()),
        "latent_style_names_domain": _domain_readable(latent, y_lat, k),
        "reference_style_names_domain": _domain_readable(m.reference_style(x, y), y, k),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    result = probe(a.run, a.n)
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
