"""DCGAN (Radford et al., ICLR 2016): a convolutional GAN built by the paper's guidelines.

- strided (transposed) convolutions instead of pooling, no fully connected hidden layers;
- batch norm in both networks, except G's output layer and D's input layer;
- ReLU in G with a tanh output, LeakyReLU 0.2 in D;
- weights from N(0, 0.02), Adam lr 2e-4, β1 0.5, z of 100 dimensions.
Objective (Goodfellow et al. 2014), G with the non-saturating loss as in practice:
    L_D = −E[log D(x)] − E[log(1 − D(G(z)))]        L_G = −E[log D(G(z))]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .. import losses
from .base import DataInfo, Method


@dataclass
class DCGANConfig:
    z_dim: int = 100
    ngf: int = 64      # G's last hidden width (doubling towards the 4x4 input)
    ndf: int = 64      # D's first width
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999


def _levels(size: int) -> int:
    n = int(math.log2(size))
    if 2 ** n != size or n < 3:
        raise ValueError(f"DCGAN needs a power-of-two image size ≥ 8, got {size}")
    return n - 2  # 4x4 -> size


def normal_init(m: nn.Module) -> None:
    """The paper's N(0, 0.02) for convs; batch-norm scales N(1, 0.02), shifts 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, z_dim=100, channels=3, size=64, ngf=64):
        super().__init__()
        n = _levels(size)
        dim = ngf * 2 ** (n - 1)
        layers = [nn.ConvTranspose2d(z_dim, dim, 4, 1, 0, bias=False), nn.BatchNorm2d(dim), nn.ReLU(True)]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(dim // 2), nn.ReLU(True)]
            dim //= 2
        layers += [nn.ConvTranspose2d(dim, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(z[:, :, None, None])


class Discriminator(nn.Module):
    """Strided convs down to 4x4, then one logit; `batch_norm=False` gives WGAN-GP's critic."""

    def __init__(self, channels=3, size=64, ndf=64, batch_norm: bool = True):
        super().__init__()
        n = _levels(size)
        layers, dim = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)], ndf
        for _ in range(n - 1):
            norm = [nn.BatchNorm2d(dim * 2)] if batch_norm else []
            layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1, bias=not batch_norm), *norm, nn.LeakyReLU(0.2, True)]
            dim *= 2
        layers.append(nn.Conv2d(dim, 1, 4, 1, 0, bias=False))  # 4x4 -> one logit
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x).flatten()


class DCGAN(Method):
    name = "dcgan"
    Config = DCGANConfig
    conditional: ClassVar[bool] = False    # cGAN: G and D also see the class
    critic_batch_norm: ClassVar[bool] = True  # WGAN-GP's critic has none

    def __init__(self, cfg: DCGANConfig, info: DataInfo):
        super().__init__(cfg, info)
        k = self.condition_dim()
        self.G = Generator(cfg.z_dim + k, info.channels, info.image_size, cfg.ngf)
        self.D = Discriminator(info.channels + k, info.image_size, cfg.ndf, self.critic_batch_norm)
        self.apply(normal_init)

    # -- the condition: none here; cGAN joins the class to both networks' inputs --------------
    def condition_dim(self) -> int:
        return 0

    def condition(self, label: torch.Tensor) -> torch.Tensor | None:
        return None

    def g_input(self, z: torch.Tensor, c) -> torch.Tensor:
        return z

    def d_input(self, x: torch.Tensor, c) -> torch.Tensor:
        return x

    def networks(self):
        return {"G": self.G, "D": self.D}

    def build_optimizers(self):
        c = self.cfg
        return {k: torch.optim.Adam(net.parameters(), c.lr, (c.beta1, c.beta2)) for k, net in self.networks().items()}

    def train_step(self, batch, step):
        x, c = batch["image"].to(self.device), self.condition(batch["label"].to(self.device))
        opt = self.optimizers()
        z = torch.randn(x.size(0), self.cfg.z_dim, device=self.device)
        with self.autocast():
            x_fake = self.G(self.g_input(z, c))
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
        """G's input for n samples: z ~ N(0, I), joined to the classes `cond` (one, or one per
        sample; every class in turn when None) for conditional methods."""
        z = torch.randn(n, self.cfg.z_dim, generator=generator)
        if not self.conditional:
            return z
        y = torch.arange(n) % len(self.info.labels) if cond is None else torch.as_tensor(cond).expand(n)
        return self.g_input(z, self.condition(y))

    @torch.no_grad()
    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        was_training = self.G.training
        self.G.eval()  # batch norm with running statistics: a sample does not depend on its batch
        try:
            with self.autocast():
                return self.G(z.to(self.device)).float()
        finally:
            self.G.train(was_training)

    def generate(self, n: int, cond=None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.from_latent(self.latent(n, cond, generator))

    @torch.no_grad()
    def sample_grid(self, batch):
        """8 x 8 samples from the same 64 latent codes at every call."""
        return self.generate(64, generator=torch.Generator().manual_seed(0)).unflatten(0, (8, 8))
