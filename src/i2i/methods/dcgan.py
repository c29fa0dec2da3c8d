"""DCGAN (Radford et al., ICLR 2016): a convolutional GAN built by the paper's guidelines.

- strided (transposed) convolutions instead of pooling, no fully connected hidden layers;
- batch norm in both networks, except G's output layer and D's input layer;
- ReLU in G with a tanh output, LeakyReLU 0.2 in D;
- weights from N(0, 0.02), Adam lr 2e-4, β1 0.5, z of 100 dimensions.
Objective and training step are the family's (`methods/gan.py`, `Adversarial`), G with the non-saturating loss:
    L_D = −E[log D(x)] − E[log(1 − D(G(z)))]        L_G = −E[log D(G(z))]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ..nn.mlp import Flat, mlp
from .gan import Adversarial


@dataclass
class DCGANConfig:
    z_dim: int = 100
    ngf: int = 64      # G's last hidden width (doubling towards the 4x4 input)
    ndf: int = 64      # D's first width
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    mlp_dim: int = 512  # points only: hidden width of the MLPs


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


class DCGAN(Adversarial):
    name = "dcgan"
    Config = DCGANConfig
    critic_batch_norm: ClassVar[bool] = True  # WGAN-GP's critic has none
    train_defaults: ClassVar[dict] = {"batch_size": 128}

    def build_networks(self, k: int):
        """Convolutions for images; for points (the ring), the 3-layer ReLU MLPs of WGAN-GP's toy
        experiments, since convolutions have nothing to slide over."""
        c, i = self.cfg, self.info
        if i.points:
            return mlp(c.z_dim + k, [c.mlp_dim] * 3, i.points), Flat(mlp(i.points + k, [c.mlp_dim] * 3, 1))
        G = Generator(c.z_dim + k, i.channels, i.image_size, c.ngf)
        D = Discriminator(i.channels + k, i.image_size, c.ndf, self.critic_batch_norm)
        G.apply(normal_init)
        D.apply(normal_init)
        return G, D

    def build_optimizers(self):
        c = self.cfg
        return {k: torch.optim.Adam(net.parameters(), c.lr, (c.beta1, c.beta2)) for k, net in self.networks().items()}
