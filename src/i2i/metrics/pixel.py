"""Full-reference image metrics against a ground truth: L1, PSNR and SSIM (Wang et al. 2004).

Images are N x C x H x W in [-1, 1]; the metrics are computed on [0, 1] (data range 1), per
image, as the papers report them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _unit(x: torch.Tensor) -> torch.Tensor:
    return (x.detach().double().clamp(-1, 1) + 1) / 2


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (_unit(x) - _unit(y)).abs().flatten(1).mean(1)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """10·log10(1 / MSE) in dB per image."""
    mse = (_unit(x) - _unit(y)).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))  # capped at 100 dB: JSON has no infinity


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM per image: an 11x11 Gaussian window (σ 1.5), K1 0.01, K2 0.03, valid positions
    only, averaged over channels — the reference implementation's settings."""
    x, y = _unit(x), _unit(y)
    c = x.size(1)
    g = torch.exp(-(torch.arange(window, dtype=torch.float64) - (window - 1) / 2) ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(c, 1, window, window)
    blur = lambda t: F.conv2d(t, kernel, groups=c)
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1)
