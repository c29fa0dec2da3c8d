"""The pictures a style method is judged by (as in StarGAN v2's paper and official code):
latent-guided outputs per domain, a source x reference matrix, cycle reconstructions and
style interpolations. Each function returns a grid tensor (3 x H x W in [-1, 1])."""
from __future__ import annotations

from pathlib import Path

import torch

from ..data.images import make_grid, to_pil


def _codes(method, n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, method.latent_dim, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def latent_grid(method, x: torch.Tensor, n_codes: int = 5, seed: int = 0) -> torch.Tensor:
    """Rows: each source; columns: the source, then n_codes outputs per domain. Column j of
    a domain uses the same latent code for every row, so a column is one style."""
    z = _codes(method, n_codes, seed)
    cols = [x]
    for d in range(len(method.info.domains)):
        y = torch.full((x.size(0),), d, dtype=torch.long)
        cols += [method.translate(x, y, method.latent_style(y, z[j].expand(x.size(0), -1))) for j in range(n_codes)]
    return _grid(cols)


@torch.no_grad()
def reference_matrix(method, x: torch.Tensor, ref: torch.Tensor, y_ref: torch.Tensor) -> torch.Tensor:
    """The top row holds the references, the left column the sources; cell (i, j) is source i
    in reference j's domain and style."""
    blank = torch.ones_like(x[:1])
    rows = [torch.cat([blank, ref])]
    for i in range(x.size(0)):
        src = x[i:i + 1].expand(ref.size(0), -1, -1, -1)
        rows.append(torch.cat([x[i:i + 1].cpu(), method.translate(src, y_ref, method.reference_style(ref, y_ref)).cpu()]))
    return make_grid(torch.cat(rows).cpu(), nrow=ref.size(0) + 1)


@torch.no_grad()
def cycle_grid(method, x: torch.Tensor, y: torch.Tensor, ref: torch.Tensor, y_ref: torch.Tensor) -> torch.Tensor:
    """[x | G(x, E(ref)) | G(G(x, E(ref)), E(x))]: the reconstruction should give x back."""
    fake = method.translate(x, y_ref, method.reference_style(ref, y_ref))
    rec = method.translate(fake, y, method.reference_style(x, y))
    return _grid([x, fake, rec])


@torch.no_grad()
def interpolation(method, x: torch.Tensor, y: torch.Tensor, s0: torch.Tensor, s1: torch.Tensor,
                  steps: int = 8) -> list[torch.Tensor]:
    """Frames of x rendered with styles on the line from s0 to s1 (one style per frame)."""
    return [method.translate(x, y, torch.lerp(s0, s1, t)).cpu() for t in torch.linspace(0, 1, steps).tolist()]


def write_gif(frames: list[torch.Tensor], path: Path, ms: int = 120) -> Path:
    """Frames (each N x 3 x H x W, tiled side by side) as a looping GIF that plays there and back."""
    images = [to_pil(make_grid(f, nrow=f.size(0))) for f in frames]
    images += images[-2:0:-1]
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=ms, loop=0)
    tmp.replace(path)
    return path


def _grid(cols: list[torch.Tensor]) -> torch.Tensor:
    return make_grid(torch.stack([c.cpu() for c in cols], 1).flatten(0, 1), nrow=len(cols))

