"""Pix2Pix (Isola et al., CVPR 2017): paired translation with a conditional GAN.

G maps an input A to an output B; D judges (A, B) pairs, patch by patch (PatchGAN), so it
learns "is B a plausible rendering of this A?". Objective (paper eq. 4):
    G* = arg min_G max_D  L_cGAN(G, D) + λ·L_L1(G),    L_L1 = E‖y − G(x)‖₁,  λ = 100
D's loss is halved "to slow down the rate at which D learns relative to G". The noise z is
only dropout, which stays on at test time as in the official code. Networks and defaults
follow junyanz/pytorch-CycleGAN-and-pix2pix: U-Net 256 with batch norm and dropout, the
70x70 PatchGAN, vanilla GAN loss, Adam 2e-4 β1 0.5, batch 1, a constant learning rate for
the first half of training and a linear decay to zero over the second.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from .. import losses
from ..errors import I2IError
from ..nn import factory
from .base import DataInfo, Method, TwoDomains, frozen, linear_decay


@dataclass
class Pix2PixConfig(factory.Options):
    netG: str = "unet_256"
    norm: str = "batch"
    dropout: bool = True
    gan_mode: str = "vanilla"
    lambda_L1: float = 100.0
    direction: str = "AtoB"        # BtoA swaps the roles of the paired images


class Pix2Pix(TwoDomains, Method):
    name = "pix2pix"
    Config = Pix2PixConfig
    fit = "squash"  # junyanz's test path resizes to a square (286) and crops 256 at random: the squash kept
    train_defaults = {"batch_size": 1}
    data_defaults = {"image_size": 256}   # load 286, crop 256
    one_way = True     # A → B only (direction=BtoA swaps what A and B are)
    inference_networks = ("G.",)

    def __init__(self, cfg: Pix2PixConfig, info: DataInfo):
        super().__init__(cfg, info)
        if cfg.direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction={cfg.direction!r}; use AtoB or BtoA")
        self.G = factory.build_generator(cfg, info.channels, info.image_size)
        self.D = factory.build_discriminator(cfg, 2 * info.channels)  # D sees (input, output) pairs

    def networks(self):
        return {"G": self.G, "D": self.D}

    def build_optimizers(self):
        betas = (self.cfg.beta1, 0.999)
        return {"G": torch.optim.Adam(self.G.parameters(), self.cfg.lr, betas),
                "D": torch.optim.Adam(self.D.parameters(), self.cfg.lr, betas)}

    def lr_factor(self, step, total):
        return linear_decay(step, total, round(total * self.cfg.decay_fraction))

    def pair(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = batch["A"].to(self.device), batch["B"].to(self.device)
        return (a, b) if self.cfg.direction == "AtoB" else (b, a)

    def train_step(self, batch, step):
        cfg = self.cfg
        real_A, real_B = self.pair(batch)
        gan = lambda out, real: losses.gan_loss(out, real, cfg.gan_mode)
        with self.autocast():
            fake_B = self.G(real_A)
            # D: real pairs vs fake pairs, the sum halved
            loss_D_fake = gan(self.D(torch.cat([real_A, fake_B.detach()], 1)), False)
            loss_D_real = gan(self.D(torch.cat([real_A, real_B], 1)), True)
        self.update((loss_D_fake + loss_D_real) * 0.5, "D")

        with frozen(self.D):
            with self.autocast():
                loss_G_GAN = gan(self.D(torch.cat([real_A, fake_B], 1)), True)
                loss_G_L1 = losses.l1(fake_B, real_B)
            self.update(loss_G_GAN + cfg.lambda_L1 * loss_G_L1, "G")
        return {"D/loss_real": loss_D_real.item(), "D/loss_fake": loss_D_fake.item(),
                "G/loss_GAN": loss_G_GAN.item(), "G/loss_L1": loss_G_L1.item()}

    # -- inference ------------------------------------------------------------
    @torch.no_grad()
    def translate(self, x, target=None, style=None):
        """A → B. Official test mode runs G in train mode one image at a time (batch statistics of
        that image, dropout on), leaving the running statistics untouched; eval_mode uses them."""
        if target is not None and bool((torch.as_tensor(target) != 1).any()):
            raise I2IError(f"pix2pix translates {self.info.domains[0]} → {self.info.domains[1]} only")
        with self.autocast():
            return factory.test_forward(self.G, x, self.cfg.eval_mode).float()

    def direction_networks(self, direction):
        return (self.G,)

    def per_image_norm(self):
        return not self.cfg.eval_mode

    @torch.no_grad()
    def sample_grid(self, batch):
        real_A, real_B = self.pair(batch)
        return torch.stack([real_A, self.translate(real_A), real_B], dim=1)
