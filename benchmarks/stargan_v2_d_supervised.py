"""Can StarGAN v2's discriminator trunk tell the shapes apart at all, and how soon? (issue #26)

Trains the Discriminator of the shapes config (its widths, 32 px) as a plain 3-way classifier:
cross-entropy over its per-domain outputs, on the shapes domains' training images, with the
optimiser StarGAN v2 gives D (Adam, β (0, 0.99), weight decay 1e-4). Held-out accuracy every
--every steps goes to --out as JSON. In the GAN, each head only learns real-of-its-domain against
fakes aimed at it, a weaker signal than these labels: this is the pace D could reach at best.

    python benchmarks/stargan_v2_d_supervised.py [--steps 6000] [--lr 1e-3] [--batch 8] [--out F.json]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from i2i.data.shapes import ShapesDataset
from i2i.nn.stargan_v2 import Discriminator

DOMAINS = ["circle", "square", "triangle"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--dim-in", type=int, default=16)
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    torch.manual_seed(a.seed)
    train = ShapesDataset(a.n_train, a.size, domains=DOMAINS)
    test = ShapesDataset(500, a.size, domains=DOMAINS, split="test")
    x, y = (torch.stack([train[i][k] for i in range(len(train))]) for k in ("image", "label"))
    xt, yt = (torch.stack([test[i][k] for i in range(len(test))]) for k in ("image", "label"))
    d = Discriminator(a.size, len(DOMAINS), 128, a.dim_in)
    opt = torch.optim.Adam(d.parameters(), a.lr, betas=(0.0, 0.99), weight_decay=1e-4)
    points, start = [], time.perf_counter()
    for step in range(1, a.steps + 1):
        idx = torch.randint(len(x), (a.batch,))
        loss = F.cross_entropy(d.main(x[idx]).flatten(1), y[idx].long())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % a.every == 0:
            with torch.no_grad():
                acc = (d.main(xt).flatten(1).argmax(1) == yt).float().mean().item()
            points.append({"step": step, "seconds": round(time.perf_counter() - start, 1), "test_accuracy": acc})
            print(json.dumps(points[-1]), flush=True)
    if a.out:
        a.out.write_text(json.dumps({"settings": vars(a) | {"out": str(a.out)}, "points": points}, indent=1) + "\n")


if __name__ == "__main__":
    main()
