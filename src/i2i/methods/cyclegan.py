"""CycleGAN (Zhu et al., ICCV 2017): unpaired translation between two domains.

G: A → B and F: B → A (here G_A and G_B, the official names), each with a discriminator
(D_A judges outputs in B, D_B outputs in A). Full objective (paper eq. 3, plus §5.2's identity):
    L = L_GAN(G_A, D_A) + L_GAN(G_B, D_B) + λ_A·‖G_B(G_A(a)) − a‖₁ + λ_B·‖G_A(G_B(b)) − b‖₁
        + λ_idt·(λ_B·‖G_A(b) − b‖₁ + λ_A·‖G_B(a) − a‖₁)
L_GAN is least squares (LSGAN); each D learns from a pool of the last 50 fakes, and its loss
is halved. Networks and defaults follow junyanz/pytorch-CycleGAN-and-pix2pix: ResNet G with
9 blocks and instance norm, the 70x70 PatchGAN, λ 10 per direction, identity 0.5, Adam 2e-4
β1 0.5, batch 1, a constant learning rate for half the run then a linear decay to zero.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from .. import losses
from ..nn import factory
from ..nn.image_pool import ImagePool
from .base import DataInfo, Method, TwoDomains, frozen, linear_decay


@dataclass
class CycleGANConfig(factory.Options):   # defaults: ResNet 9 blocks, instance norm, LSGAN
    lambda_A: float = 10.0          # cycle A → B → A
    lambda_B: float = 10.0          # cycle B → A → B
    lambda_identity: float = 0.5    # × λ_A / λ_B; 0 turns the identity term off
    pool_size: int = 50


class CycleGAN(TwoDomains, Method):
    name = "cyclegan"
    Config = CycleGANConfig
    fit = "squash"  # junyanz's test path resizes to a square (286) and crops 256 at random: the squash kept
    train_defaults = {"batch_size": 1}
    inference_networks = ("G_A.", "G_B.")
    data_defaults = {"image_size": 256}   # load 286, crop 256

    def __init__(self, cfg: CycleGANConfig, info: DataInfo):
        super().__init__(cfg, info)
        c, size = info.channels, info.image_size
        G, D = (lambda: factory.build_generator(cfg, c, size)), (lambda: factory.build_discriminator(cfg, c))
        self.G_A, self.G_B, self.D_A, self.D_B = G(), G(), D(), D()
        self.fake_A_pool = ImagePool(cfg.pool_size, (c, size, size))
        self.fake_B_pool = ImagePool(cfg.pool_size, (c, size, size))

    def networks(self):
        return {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}

    def build_optimizers(self):
        betas = (self.cfg.beta1, 0.999)
        return {"G": torch.optim.Adam(itertools.chain(self.G_A.parameters(), self.G_B.parameters()), self.cfg.lr, betas),
                "D": torch.optim.Adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()), self.cfg.lr, betas)}

    def lr_factor(self, step, total):
        return linear_decay(step, total, round(total * self.cfg.decay_fraction))

    def gan(self, out, real: bool):
        return losses.gan_loss(out, real, self.cfg.gan_mode)

    # -- the objective --------------------------------------------------------
    def generator_losses(self, real_A, real_B, fake_A, fake_B, rec_A, rec_B) -> dict[str, torch.Tensor]:
        """The generators' terms, each already weighted (the official logs show them so)."""
        cfg = self.cfg
        terms = {"G_A": self.gan(self.D_A(fake_B), True), "G_B": self.gan(self.D_B(fake_A), True),
                 "cycle_A": cfg.lambda_A * losses.l1(rec_A, real_A),
                 "cycle_B": cfg.lambda_B * losses.l1(rec_B, real_B)}
        if cfg.lambda_identity > 0:  # G_A should leave images that are already in B alone
            terms["idt_A"] = cfg.lambda_B * cfg.lambda_identity * losses.l1(self.G_A(real_B), real_B)
            terms["idt_B"] = cfg.lambda_A * cfg.lambda_identity * losses.l1(self.G_B(real_A), real_A)
        return terms

    def discriminator_loss(self, D, real, fake) -> torch.Tensor:
        return 0.5 * (self.gan(D(real), True) + self.gan(D(fake.detach()), False))

    def critics(self) -> list[torch.nn.Module]:
        """The networks frozen while the generators learn."""
        return [self.D_A, self.D_B]

    def train_step(self, batch, step):
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        with frozen(*self.critics()):
            with self.autocast():
                fake_B = self.G_A(real_A)
                rec_A = self.G_B(fake_B)
                fake_A = self.G_B(real_B)
                rec_B = self.G_A(fake_A)
                g_terms = self.generator_losses(real_A, real_B, fake_A, fake_B, rec_A, rec_B)
            self.update(sum(g_terms.values()), "G")
        d_terms = self.critic_step(real_A, real_B, fake_A, fake_B)
        return {**{f"G/{k}": v.item() for k, v in g_terms.items()}, **{f"D/{k}": v.item() for k, v in d_terms.items()}}

    def critic_step(self, real_A, real_B, fake_A, fake_B) -> dict[str, torch.Tensor]:
        with self.autocast():
            terms = {"D_A": self.discriminator_loss(self.D_A, real_B, self.fake_B_pool.query(fake_B)),
                     "D_B": self.discriminator_loss(self.D_B, real_A, self.fake_A_pool.query(fake_A))}
        self.update(sum(terms.values()), "D")
        return terms

    # -- inference ------------------------------------------------------------
    @torch.no_grad()
    def translate(self, x, target, style=None):
        """target: the domain index of each output (1: A → B with G_A, 0: B → A with G_B)."""
        target = torch.as_tensor(target, device=x.device).long().expand(x.size(0))
        out = torch.empty_like(x, dtype=torch.float32)
        with self.autocast():
            for d, G in ((1, self.G_A), (0, self.G_B)):
                sel = target == d
                if sel.any():
                    out[sel] = factory.test_forward(G, x[sel], self.cfg.eval_mode).float()
        return out

    def direction_networks(self, direction):
        return (self.G_A if direction == "AtoB" else self.G_B,)

    def per_image_norm(self):
        return not self.cfg.eval_mode

    @torch.no_grad()
    def sample_grid(self, batch):
        """Rows: a, G_A(a), G_B(G_A(a)), b, G_B(b), G_A(G_B(b)) — the official visuals."""
        a, b = batch["A"].to(self.device), batch["B"].to(self.device)
        ones, zeros = torch.ones(a.size(0), dtype=torch.long), torch.zeros(b.size(0), dtype=torch.long)
        fake_B, fake_A = self.translate(a, ones), self.translate(b, zeros)
        return torch.stack([a, fake_B, self.translate(fake_B, zeros), b, fake_A, self.translate(fake_A, ones)], dim=1)
