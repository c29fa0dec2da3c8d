"""Conditional GAN (Mirza & Osindero, 2014): G and D both see the condition y.

    min_G max_D  E[log D(x | y)] + E[log(1 − D(G(z | y) | y))]
y (here the digit class, one-hot) is joined to the inputs of both networks: to G's noise z,
and to D's image as constant feature maps. The networks are DCGAN's (the paper used MLPs;
convolutions follow the DCGAN guidelines the rest of the family uses), G trained with the
non-saturating loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import losses
from .base import DataInfo
from .dcgan import DCGAN, DCGANConfig, Discriminator, Generator, normal_init


class CGAN(DCGAN):
    name = "cgan"
    Config = DCGANConfig

    def __init__(self, cfg: DCGANConfig, info: DataInfo):
        super(DCGAN, self).__init__(cfg, info)
        k = len(info.labels)
        if not k or info.multi_label:
            raise ValueError("cgan needs single-label classes to condition on (e.g. --data digits)")
        self.G = Generator(cfg.z_dim + k, info.channels, info.image_size, cfg.ngf)
        self.D = Discriminator(info.channels + k, info.image_size, cfg.ndf)
        self.apply(normal_init)

    def condition(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y.long(), len(self.info.labels)).float()

    def d_input(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[2:]).to(x.dtype)], 1)

    def train_step(self, batch, step):
        x, c = batch["image"].to(self.device), self.condition(batch["label"].to(self.device))
        opt = self.optimizers()
        z = torch.randn(x.size(0), self.cfg.z_dim, device=self.device)
        with self.autocast():
            x_fake = self.G(torch.cat([z, c], 1))
            loss_real = losses.nonsaturating_loss(self.D(self.d_input(x, c)), real=True)
            loss_fake = losses.nonsaturating_loss(self.D(self.d_input(x_fake.detach(), c)), real=False)
        opt["D"].zero_grad(set_to_none=True)
        (loss_real + loss_fake).backward()
        opt["D"].step()
        with self.autocast():
            loss_g = losses.nonsaturating_loss(self.D(self.d_input(x_fake, c)), real=True)
        opt["G"].zero_grad(set_to_none=True)
        loss_g.backward()
        opt["G"].step()
        return {"D/loss_real": loss_real.item(), "D/loss_fake": loss_fake.item(), "G/loss_fake": loss_g.item()}

    def latent(self, n: int, cond, generator):
        """[z | one-hot y]; y cycles through the classes when `cond` is None."""
        y = torch.arange(n) % len(self.info.labels) if cond is None else torch.as_tensor(cond).expand(n)
        z = torch.randn(n, self.cfg.z_dim, generator=generator)
        return torch.cat([z, self.condition(y)], 1)

    @torch.no_grad()
    def sample_grid(self, batch):
        """Row k: eight samples of class k (the same eight noise vectors in every row)."""
        k = len(self.info.labels)
        z = torch.randn(8, self.cfg.z_dim, generator=torch.Generator().manual_seed(0)).repeat(k, 1)
        y = torch.arange(k).repeat_interleave(8)
        return self.from_latent(torch.cat([z, self.condition(y)], 1)).unflatten(0, (k, 8))
