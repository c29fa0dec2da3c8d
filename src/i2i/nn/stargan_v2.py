"""StarGAN v2's networks (Choi et al. 2020; clovaai/stargan-v2 core/model.py): the generator, the
mapping network, the style encoder and the multi-task discriminator, and the export graph of G."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .adain import AdainResBlock, HighPass
from .fan import MASK_SIZE
from .residual import PreActResBlock


def _width(img_size: int, dim_in: int) -> int:
    return dim_in or 2 ** 14 // img_size


def _log2(img_size: int) -> int:
    n = int(math.log2(img_size))
    if 2 ** n != img_size or n < 4:
        raise ValueError(f"image size must be a power of two ≥ 16, got {img_size}")
    return n


class Generator(nn.Module):
    """Encoder of pre-activation ResBlks (IN), decoder of AdaIN ResBlks; with w_hpf > 0 one
    more down/up level and the encoder's high frequencies added back under masks."""
    called_parts = ("encoding", "render")  # what the method calls (one encoding serves several styles)

    def __init__(self, img_size=256, style_dim=64, max_conv_dim=512, w_hpf=1.0, dim_in=0, levels=0):
        super().__init__()
        levels = levels or _log2(img_size) - 4 + (w_hpf > 0)
        dim = _width(img_size, dim_in)
        self.from_rgb = nn.Conv2d(3, dim, 3, 1, 1)
        self.encode, self.decode = nn.ModuleList(), nn.ModuleList()
        self.to_rgb = nn.Sequential(nn.InstanceNorm2d(dim, affine=True), nn.LeakyReLU(0.2), nn.Conv2d(dim, 3, 1))
        for _ in range(levels):
            dim_out = min(dim * 2, max_conv_dim)
            self.encode.append(PreActResBlock(dim, dim_out, normalize=True, downsample=True))
            self.decode.insert(0, AdainResBlock(dim_out, dim, style_dim, w_hpf, upsample=True))
            dim = dim_out
        for _ in range(2):  # bottleneck
            self.encode.append(PreActResBlock(dim, dim, normalize=True))
            self.decode.insert(0, AdainResBlock(dim, dim, style_dim, w_hpf))
        if w_hpf > 0:
            self.hpf = HighPass(w_hpf)

    def forward(self, x, s, masks=None):
        return self.render(self.encoding(x, masks), s, masks)

    def encoding(self, x, masks=None):
        """The encoder's output (and the maps the high-pass skip adds back). It does not depend on
        the style, so one encoding serves every style rendered from the same image."""
        x = self.from_rgb(x)
        cache = {}
        for block in self.encode:
            if masks is not None and x.size(2) in (32, 64, 128):
                cache[x.size(2)] = x
            x = block(x)
        return x, cache

    def render(self, encoded, s, masks=None):
        """The decoder: an encoding in style s."""
        x, cache = encoded
        for block in self.decode:
            x = block(x, s)
            if masks is not None and x.size(2) in (32, 64, 128):
                mask = masks[0] if x.size(2) == 32 else masks[1]
                mask = F.interpolate(mask, size=x.size(2), mode="bilinear")
                x = x + self.hpf(mask * cache[x.size(2)])
        return self.to_rgb(x)


class MappingNetwork(nn.Module):
    """z → a style code per domain: a shared MLP trunk, then one MLP head per domain."""

    def __init__(self, latent_dim=16, style_dim=64, num_domains=2, hidden_dim=512):
        super().__init__()
        layers = [nn.Linear(latent_dim, hidden_dim), nn.ReLU()]
        for _ in range(3):
            layers += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU()]
        self.shared = nn.Sequential(*layers)
        self.unshared = nn.ModuleList(
            nn.Sequential(*[m for _ in range(3) for m in (nn.Linear(hidden_dim, hidden_dim), nn.ReLU())],
                          nn.Linear(hidden_dim, style_dim)) for _ in range(num_domains))

    def forward(self, z, y):
        h = self.shared(z)
        return _pick(torch.stack([head(h) for head in self.unshared], dim=1), y)


def _trunk(img_size: int, max_conv_dim: int, dim_in: int) -> tuple[list[nn.Module], int]:
    """The convolutional trunk E and D share: ResBlks down to 4x4, then a 4x4 valid conv."""
    dim = _width(img_size, dim_in)
    layers: list[nn.Module] = [nn.Conv2d(3, dim, 3, 1, 1)]
    for _ in range(_log2(img_size) - 2):
        dim_out = min(dim * 2, max_conv_dim)
        layers.append(PreActResBlock(dim, dim_out, downsample=True))
        dim = dim_out
    layers += [nn.LeakyReLU(0.2), nn.Conv2d(dim, dim, 4, 1, 0), nn.LeakyReLU(0.2)]
    return layers, dim


class StyleEncoder(nn.Module):
    def __init__(self, img_size=256, style_dim=64, num_domains=2, max_conv_dim=512, dim_in=0):
        super().__init__()
        layers, dim = _trunk(img_size, max_conv_dim, dim_in)
        self.shared = nn.Sequential(*layers)
        self.unshared = nn.ModuleList(nn.Linear(dim, style_dim) for _ in range(num_domains))

    def forward(self, x, y):
        h = self.shared(x).flatten(1)
        return _pick(torch.stack([head(h) for head in self.unshared], dim=1), y)


class Discriminator(nn.Module):
    """One real/fake logit per domain; D_y(x) is the logit of x's (claimed) domain y."""

    def __init__(self, img_size=256, num_domains=2, max_conv_dim=512, dim_in=0):
        super().__init__()
        layers, dim = _trunk(img_size, max_conv_dim, dim_in)
        self.main = nn.Sequential(*layers, nn.Conv2d(dim, num_domains, 1, 1, 0))

    def forward(self, x, y):
        return _pick(self.main(x).flatten(1), y)


def _pick(per_domain: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return per_domain[torch.arange(y.size(0), device=y.device), y.long()]


class StyledGraph(nn.Module):
    """The export graph's G(x, s); w_hpf > 0 without FAN weights: all-ones masks, as translate."""

    def __init__(self, g: nn.Module, encoder: nn.Module | None, masks: bool):
        super().__init__()
        self.g, self.encoder, self.masks = g, encoder, masks

    def forward(self, image, guide, domain=None):
        s = guide if self.encoder is None else self.encoder(guide, domain)
        masks = [image.new_ones(image.size(0), 1, MASK_SIZE, MASK_SIZE)] * 2 if self.masks else None
        return self.g(image, s, masks)
