"""WGAN-GP (Gulrajani et al., NeurIPS 2017): WGAN with a gradient penalty instead of clipping.

    L_D = E[D(G(z))] − E[D(x)] + λ·E[(‖∇D(x̂)‖₂ − 1)²],   x̂ = αx + (1 − α)G(z),  α ~ U(0, 1)
λ = 10, n_critic = 5 throughout, Adam lr 1e-4 with betas (0, 0.9), and no batch norm in the
critic (the penalty is per sample; batch norm would couple the samples). The penalty is the
same function StarGAN uses.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import losses
from .base import linear_decay
from .wgan import WGAN, WGANConfig


@dataclass
class WGANGPConfig(WGANConfig):
    lr: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    lambda_gp: float = 10.0
    n_critic_warm: int = 5     # no warm-up schedule: every G update waits for n_critic critic updates
    linear_decay: bool = False  # lr falls linearly to 0 over the run, as the official CIFAR-10 script


class WGANGP(WGAN):
    name = "wgan_gp"
    Config = WGANGPConfig
    critic_batch_norm = False
    double_backward = ("D",)  # the gradient penalty

    def build_optimizers(self):
        c = self.cfg
        return {k: torch.optim.Adam(net.parameters(), c.lr, (c.beta1, c.beta2)) for k, net in self.networks().items()}

    def lr_factor(self, step: int, total: int) -> float:
        return linear_decay(step, total, total) if self.cfg.linear_decay else 1.0

    def penalty(self, x_real, x_fake):
        return {"gp": self.cfg.lambda_gp * losses.gradient_penalty(self.D, x_real, x_fake)}  # logged λ-weighted

    def after_critic_step(self) -> None:
        pass  # no clipping: the penalty keeps the critic 1-Lipschitz
