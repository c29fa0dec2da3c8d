"""`i2i sample`: sample grids and style interpolations of a style method's run."""
from __future__ import annotations

from pathlib import Path

from ..errors import I2IError


def add(sub) -> None:
    sm = sub.add_parser("sample", help="sample grids and style interpolations of a style method's run",
                        description="Write StarGAN v2's kinds of pictures from held-out images of the run's "
                                    "dataset: latent.png (outputs per domain, one latent code per column), "
                                    "reference.png (source x reference matrix), cycle.png ([x | translated | "
                                    "reconstructed]), and interpolation_latent/_reference as PNG and GIF.")
    sm.add_argument("run", type=Path, help="run directory")
    sm.add_argument("--out", type=Path, help="output folder (default: RUN/samples/final)")
    sm.add_argument("--sources", type=int, default=6, help="number of source images")
    sm.add_argument("--seed", type=int, default=0, help="seed of the latent codes and image choice")
    sm.add_argument("--steps", type=int, default=8, help="frames of each interpolation")
    sm.add_argument("--device", default="auto")


def run(a) -> int:
    import torch

    from ..tools import sampling
    from ..api import load
    from ..data import build
    from ..data.images import make_grid, save_image
    t = load(a.run, a.device)
    if not t.has_style:
        raise I2IError(f"{a.run} is a {t.method.name} run; i2i sample needs a method that takes a style "
                       "(a latent code or a reference image)")
    m, out = t.method, a.out or a.run / "samples" / "final"
    data = build(t.cfg.data, "test", train=False)
    if len(data) < 2 * a.sources:
        raise I2IError(f"the test split has {len(data)} images; use --sources ≤ {len(data) // 2}")
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(a.seed))[:2 * a.sources].tolist()
    items = [data[i] for i in pick]
    x = torch.stack([it["image"] for it in items]).to(m.device)
    y = torch.tensor([int(it["label"]) for it in items], device=m.device)
    x, ref, y, y_ref = x[:a.sources], x[a.sources:], y[:a.sources], y[a.sources:]
    written = [save_image(sampling.latent_grid(m, x, seed=a.seed), out / "latent.png"),
               save_image(sampling.reference_matrix(m, x, ref, y_ref), out / "reference.png"),
               save_image(sampling.cycle_grid(m, x, y, ref, y_ref), out / "cycle.png")]
    codes = torch.randn(2, m.latent_dim, generator=torch.Generator().manual_seed(a.seed + 1))
    ends = {"latent": [m.latent_style(y_ref, codes[k].expand(len(y_ref), -1)) for k in range(2)],
            "reference": [m.reference_style(ref, y_ref), m.reference_style(ref.roll(1, 0), y_ref.roll(1, 0))]}
    for kind, (s0, s1) in ends.items():
        frames = sampling.interpolation(m, x, y_ref, s0, s1, a.steps)
        grid = make_grid(torch.stack(frames, 1).flatten(0, 1), nrow=len(frames))
        written += [save_image(grid, out / f"interpolation_{kind}.png"),
                    sampling.write_gif(frames, out / f"interpolation_{kind}.gif")]
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
