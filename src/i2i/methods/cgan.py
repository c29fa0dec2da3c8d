"""Conditional GAN (Mirza & Osindero, 2014): G and D both see the condition y.

    min_G max_D  E[log D(x | y)] + E[log(1 − D(G(z | y) | y))]
y (here the digit class, one-hot) is joined to the inputs of both networks: to G's noise z,
and to D's image as constant feature maps. The networks, training step and optimiser are
DCGAN's (the paper used MLPs; convolutions follow the DCGAN guidelines the rest of the family
uses), G trained with the non-saturating loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .dcgan import DCGAN, DCGANConfig


class CGAN(DCGAN):
    name = "cgan"
    Config = DCGANConfig
    conditional = True

    def condition_dim(self) -> int:
        if not self.info.labels or self.info.multi_label:
            raise ValueError("cgan needs single-label classes to condition on (e.g. --data digits)")
        return len(self.info.labels)

    def condition(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y.long(), len(self.info.labels)).float()

    def g_input(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, c.to(z.device, z.dtype)], 1)

    def d_input(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # points
            return torch.cat([x, c.to(x.dtype)], 1)
        return torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[2:]).to(x.dtype)], 1)

    @torch.no_grad()
    def sample_grid(self, batch):
        """Row k: eight samples of class k (the same eight noise vectors in every row)."""
        k = len(self.info.labels)
        z = torch.randn(8, self.cfg.z_dim, generator=torch.Generator().manual_seed(0)).repeat(k, 1)
        return self.from_latent(self.g_input(z, self.condition(torch.arange(k).repeat_interleave(8)))).unflatten(0, (k, 8))
