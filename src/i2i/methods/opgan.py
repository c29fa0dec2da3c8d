"""OP-GAN (Xie et al., ECCV 2020, "Self-Supervised CycleGAN for Object-Preserving Image-to-Image
Domain Adaptation"): CycleGAN plus a Siamese network S that keeps objects where they were.

The cycle loss cannot stop G from moving or deforming objects: for any invertible warp T,
G_A∘T and T⁻¹∘G_B are just as cycle-consistent. OP-GAN cuts the source image and its
translation into a 3x3 grid of patches and lets S, one encoder with shared weights, look at
pairs of patches:
    L_cc  content registration: for the same grid position, the content maps of the source
          patch and of its translation must agree (MSE);
    L_dc  domain classification, 3-way: both patches from the source, both from the
          translation, or one of each (same or different position); softmax cross-entropy.
    L = L_GAN(G_A, D_A) + L_GAN(G_B, D_B) + α·L_cyc + β·(L_cc + L_dc),   α = 10, β = 1
Updates alternate: the generators with S and the discriminators frozen, then S and the
discriminators. Everything else is CycleGAN's (`methods/cyclegan.py`).

No code was published; these choices are ours (docs/two_domain.md, "OP-GAN: our reading of the paper"):
- S is three 3x3 convs (stride 2 in the middle); the content map is the spatial attention of
  its features, mean over channels of the squared activations, scaled to mean 1 per patch —
  parameter-free, so S cannot satisfy L_cc by emptying a learned content head;
- S learns from L_dc only; the generators minimise L_cc + L_dc (with L_cc, S could flatten its
  attention and make the constraint vacuous); `generator_dc=false` leaves them L_cc alone;
- domain features are pooled and fused symmetrically, [d₁ + d₂, |d₁ − d₂|], so a pair's class
  does not depend on its order; per image, one pair of each kind (both source, both
  translation, same position, different position) is drawn;
- L_S is applied in both directions (a with G_A(a), b with G_B(b)); no identity loss (eq. 7
  has none); S uses the generators' Adam settings.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import DataInfo
from .cyclegan import CycleGAN, CycleGANConfig

GRID = 3
BOTH_SOURCE, BOTH_TRANSLATED, ONE_OF_EACH = 0, 1, 2


@dataclass
class OPGANConfig(CycleGANConfig):
    lambda_identity: float = 0.0   # the paper's objective (eq. 7) has no identity term
    beta: float = 1.0              # weight of L_S = L_cc + L_dc
    s_dim: int = 64                # width of S's convs
    generator_dc: bool = True      # G minimises L_dc too (eq. 7 as we read it); False: G minimises L_cc only


class Siamese(nn.Module):
    """The patch encoder S: features → (content attention map, domain vector)."""

    def __init__(self, channels: int = 3, dim: int = 64):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, dim, 3, 1, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(dim, dim * 2, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(dim * 2, dim * 2, 3, 1, 1), nn.LeakyReLU(0.2, True))
        self.domain = nn.Conv2d(dim * 2, dim * 2, 1)
        self.classify = nn.Linear(dim * 4, 3)

    def forward(self, patches):
        h = self.trunk(patches)
        attention = h.float().pow(2).mean(1)
        content = attention / attention.mean((1, 2), keepdim=True).clamp_min(1e-6)
        return content, self.domain(h).mean((2, 3))

    def pair_logits(self, d1, d2):
        return self.classify(torch.cat([d1 + d2, (d1 - d2).abs()], 1))


def grid_patches(x: torch.Tensor) -> torch.Tensor:
    """N x C x H x W → N x 9 x C x h x h, the 3x3 grid (row-major; a remainder of H mod 3 is dropped)."""
    h = x.size(2) // GRID
    cells = [x[:, :, i * h:(i + 1) * h, j * h:(j + 1) * h] for i in range(GRID) for j in range(GRID)]
    return torch.stack(cells, 1)


def sample_pairs(n: int, generator: torch.Generator | None = None):
    """Per image one pair of each kind, as (image, position, side) indices with side 0 = source,
    1 = translation. Returns (first, second, label) index tensors over the 2·9 patches of each image."""
    cells = GRID * GRID
    p, q = torch.rand(n, cells, generator=generator).argsort(1)[:, :2].T  # two distinct positions
    img = torch.arange(n)
    patch = lambda side, pos: img * 2 * cells + side * cells + pos
    first = torch.cat([patch(0, p), patch(1, p), patch(0, p), patch(0, p)])
    second = torch.cat([patch(0, q), patch(1, q), patch(1, p), patch(1, q)])
    label = torch.tensor([BOTH_SOURCE, BOTH_TRANSLATED, ONE_OF_EACH, ONE_OF_EACH]).repeat_interleave(n)
    return first, second, label


class OPGAN(CycleGAN):
    name = "opgan"
    Config = OPGANConfig

    def __init__(self, cfg: OPGANConfig, info: DataInfo):
        super().__init__(cfg, info)
        if info.image_size // GRID < 8:
            raise ValueError(f"OP-GAN cuts images into a 3x3 grid; {info.image_size} px gives patches under 8 px")
        self.S = Siamese(info.channels, cfg.s_dim)

    def networks(self):
        return {**super().networks(), "S": self.S}

    def build_optimizers(self):
        return {**super().build_optimizers(),
                "S": torch.optim.Adam(self.S.parameters(), self.cfg.lr, (self.cfg.beta1, 0.999))}

    def critics(self):
        return [*super().critics(), self.S]

    def self_supervised_losses(self, source, translated) -> tuple[torch.Tensor, torch.Tensor]:
        """(L_cc, L_dc) for a batch of sources and their translations."""
        n = source.size(0)
        patches = torch.stack([grid_patches(source), grid_patches(translated)], 1).flatten(0, 2)  # N·2·9 patches
        content, domain = self.S(patches)
        content = content.unflatten(0, (n, 2, GRID * GRID))
        loss_cc = F.mse_loss(content[:, 0], content[:, 1])
        first, second, label = sample_pairs(n)
        logits = self.S.pair_logits(domain[first], domain[second]).float()
        loss_dc = F.cross_entropy(logits, label.to(logits.device))
        return loss_cc, loss_dc

    def generator_losses(self, real_A, real_B, fake_A, fake_B, rec_A, rec_B):
        terms = super().generator_losses(real_A, real_B, fake_A, fake_B, rec_A, rec_B)
        cc_A, dc_A = self.self_supervised_losses(real_A, fake_B)
        cc_B, dc_B = self.self_supervised_losses(real_B, fake_A)
        beta = self.cfg.beta
        terms.update({"cc_A": beta * cc_A, "cc_B": beta * cc_B})
        if self.cfg.generator_dc:
            terms.update({"dc_A": beta * dc_A, "dc_B": beta * dc_B})
        return terms

    def critic_step(self, real_A, real_B, fake_A, fake_B):
        terms = super().critic_step(real_A, real_B, fake_A, fake_B)
        with self.autocast():
            loss_dc = (self.self_supervised_losses(real_A, fake_B.detach())[1]
                       + self.self_supervised_losses(real_B, fake_A.detach())[1])
        self.update(loss_dc, "S")
        return {**terms, "S_dc": loss_dc}
