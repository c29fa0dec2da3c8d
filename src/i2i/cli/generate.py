"""`i2i generate`: samples of a generative run as a grid."""
from __future__ import annotations

from pathlib import Path

from ..errors import I2IError


def add(sub) -> None:
    g = sub.add_parser("generate", help="samples of a generative run as a grid",
                       description="Draw N samples from a generative method's run (gan, dcgan, cgan, infogan, "
                                   "wgan, wgan_gp) and write them as one PNG grid; ring runs as a scatter plot.")
    g.add_argument("run", type=Path, help="run directory")
    g.add_argument("-n", type=int, default=None, help="number of samples (default 64; points: 1000 makes a good "
                                                       "plot), or with --traverse columns (default 9)")
    g.add_argument("--seed", type=int, default=0, help="seed of the latent codes")
    g.add_argument("--label", help="conditional methods (cgan): the class to draw, e.g. 7 (default: every class in turn)")
    g.add_argument("--traverse", type=int, nargs="?", const=1, metavar="K",
                   help="infogan: a traversal grid instead of samples; rows are the categorical code's values, "
                        "columns continuous code K (default 1) swept from -2 to 2")
    g.add_argument("--nrow", type=int, default=8, help="samples per grid row")
    g.add_argument("--output", "-o", type=Path, help="output PNG (default: RUN/samples/generated.png)")
    g.add_argument("--device", default="auto")


def run(a) -> int:
    import torch

    from ..api import load
    from ..data.images import make_grid, save_image
    from ..methods.base import Generates, Traverses
    n = a.n if a.n is not None else 9 if a.traverse is not None else 64
    if n < 1:
        raise I2IError(f"-n must be at least 1, got {n}")
    t = load(a.run, a.device)
    if a.traverse is not None:
        if not isinstance(t.method, Traverses):
            raise I2IError(f"{a.run} is a {t.method.name} run, which has no latent codes to traverse; drop --traverse")
        try:
            grid = t.method.traverse(a.traverse, n, generator=torch.Generator().manual_seed(a.seed))
        except ValueError as e:
            raise I2IError(str(e)) from None
        out = a.output or a.run / "samples" / f"traverse_code{a.traverse}.png"
        save_image(make_grid(grid.flatten(0, 1).cpu(), nrow=n), out)
        print(f"wrote {out} ({grid.shape[0]} categorical values x {n} values of code {a.traverse})")
        return 0
    cond = None
    if a.label is not None:
        labels = t.method.info.labels
        if not (isinstance(t.method, Generates) and t.method.conditional):
            raise I2IError(f"{a.run} is a {t.method.name} run, which has no class input; drop --label")
        if a.label not in labels:
            raise I2IError(f"unknown label {a.label!r}; this run knows {', '.join(labels)}")
        cond = labels.index(a.label)
    if not isinstance(t.method, Generates):
        raise I2IError(f"{a.run} is a {t.method.name} run, which translates rather than generates; "
                       "use i2i translate")
    x = t.method.generate(n, cond, generator=torch.Generator().manual_seed(a.seed))
    out = a.output or a.run / "samples" / "generated.png"
    if t.method.info.points:
        from ..data.ring import scatter
        save_image(scatter(x), out)
    else:
        save_image(make_grid(x.cpu(), nrow=a.nrow), out)
    print(f"wrote {out} ({n} samples)")
    return 0
