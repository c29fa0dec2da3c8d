"""StarGAN (Choi et al., CVPR 2018): one generator for many domains.

G(x, c) translates image x to target domain c (the label tiled over the image). D is a
PatchGAN critic with an auxiliary classifier D_cls. Objectives (paper eq. 5-6):
    L_D = −L_adv + λ_cls·L_cls^r                (L_adv as WGAN-GP)
    L_G =  L_adv + λ_cls·L_cls^f + λ_rec·L_rec  (L_rec = ‖x − G(G(x, c), c')‖₁)
Networks and defaults follow the official code (yunjey/stargan).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from ..nn.residual import ResidualBlock, norm_layer
from .base import DataInfo, Method, linear_decay


@dataclass
class StarGANConfig:
    g_conv_dim: int = 64
    d_conv_dim: int = 64
    g_repeat_num: int = 6          # residual blocks in G
    d_repeat_num: int = 6          # strided convs in D (image_size / 2**repeat must be ≥ 1)
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 5              # D updates per G update
    decay_steps: int = 100_000     # linear decay to 0 over the last `decay_steps` iterations
    warmup_steps: int = 0          # not in the paper (0 = official): first train G alone to
                                   # reconstruct x from its own label, so it starts near identity
    g_norm: str = "instance"       # official: instance; "batch" keeps absolute colour (see Generator)


class Generator(nn.Module):
    """Instance norm (official) normalises each channel of each image on its own. On images of flat
    colour that maps every channel to ±(object mask), so absolute colour and background level are
    lost; norm="batch" keeps them (batch statistics in training, running statistics at inference)."""

    def __init__(self, conv_dim=64, c_dim=5, repeat_num=6, norm="instance"):
        super().__init__()
        norm = norm_layer(norm)

        def down(cin, cout, k, s, p):
            return [nn.Conv2d(cin, cout, k, s, p, bias=False), norm(cout), nn.ReLU(inplace=True)]

        layers = down(3 + c_dim, conv_dim, 7, 1, 3)
        dim = conv_dim
        for _ in range(2):
            layers += down(dim, dim * 2, 4, 2, 1)
            dim *= 2
        layers += [ResidualBlock(dim, norm) for _ in range(repeat_num)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=False), norm(dim // 2),
                       nn.ReLU(inplace=True)]
            dim //= 2
        layers += [nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x, c):
        c = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.size(2), x.size(3))
        return self.main(torch.cat([x, c], dim=1))


class Discriminator(nn.Module):
    """PatchGAN critic D_src plus the domain classifier D_cls on a shared trunk."""

    def __init__(self, image_size=128, conv_dim=64, c_dim=5, repeat_num=6):
        super().__init__()
        k = image_size // 2 ** repeat_num
        if k < 1:
            raise ValueError(f"d_repeat_num={repeat_num} halves a {image_size}px image below 1px; use ≤ "
                             f"{image_size.bit_length() - 1}")
        layers = [nn.Conv2d(3, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        dim = conv_dim
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            dim *= 2
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(dim, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(dim, c_dim, k, bias=False)

    def forward(self, x):
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


class StarGAN(Method):
    name = "stargan"
    Config = StarGANConfig

    def __init__(self, cfg: StarGANConfig, info: DataInfo):
        super().__init__(cfg, info)
        self.c_dim = len(info.labels)
        try:
            self.G = Generator(cfg.g_conv_dim, self.c_dim, cfg.g_repeat_num, cfg.g_norm)
        except ValueError as e:
            raise ValueError(f"g_norm: {e}") from None
        self.D = Discriminator(info.image_size, cfg.d_conv_dim, self.c_dim, cfg.d_repeat_num)

    def networks(self):
        return {"G": self.G, "D": self.D}

    def build_optimizers(self):
        c = self.cfg
        return {"G": torch.optim.Adam(self.G.parameters(), c.g_lr, (c.beta1, c.beta2)),
                "D": torch.optim.Adam(self.D.parameters(), c.d_lr, (c.beta1, c.beta2))}

    def lr_factor(self, step, total):
        return linear_decay(step, total, self.cfg.decay_steps)

    # -- labels ---------------------------------------------------------------
    def as_condition(self, label: torch.Tensor) -> torch.Tensor:
        """Attribute vectors pass through; domain indices become one-hot vectors."""
        if self.info.multi_label or label.dim() == 2:
            return label.float()
        return F.one_hot(label.long(), self.c_dim).float()

    def sample_targets(self, label: torch.Tensor) -> torch.Tensor:
        """The official choice: the batch's own labels, shuffled."""
        return label[torch.randperm(label.size(0), device=label.device)]

    def grid_targets(self, label: torch.Tensor) -> list[torch.Tensor]:
        """One target per label for sample grids: an exclusive attribute is set alone in its
        group, a binary one is flipped, a domain is chosen outright."""
        targets = []
        for k, name in enumerate(self.info.labels):
            if not self.info.multi_label:
                targets.append(torch.full_like(label, k))
                continue
            t = label.clone()
            group = next((g for g in self.info.exclusive if name in g), None)
            if group:
                for other in group:
                    t[:, self.info.attributes.index(other)] = 0
                t[:, k] = 1
            else:
                t[:, k] = 1 - t[:, k]
            targets.append(t)
        return targets

    # -- training -------------------------------------------------------------
    def train_step(self, batch, step):
        cfg, opt = self.cfg, self.optimizers()
        x_real = batch["image"].to(self.device)
        label_org = batch["label"].to(self.device)
        label_trg = self.sample_targets(label_org)
        c_org, c_trg = self.as_condition(label_org), self.as_condition(label_trg)
        multi = self.info.multi_label
        if step < cfg.warmup_steps:
            return self.identity_step(x_real, c_org)
        logs = {}

        # Discriminator: L_D = −L_adv + λ_cls·L_cls^r, L_adv with gradient penalty.
        with self.autocast():
            out_src, out_cls = self.D(x_real)
            with torch.no_grad():
                x_fake = self.G(x_real, c_trg)
            fake_src, _ = self.D(x_fake)
            d_loss_real, d_loss_fake = losses.wgan_critic_loss(out_src, fake_src)
            d_loss_cls = losses.classification_loss(out_cls, label_org, multi)
            d_loss_gp = losses.gradient_penalty(lambda x: self.D(x)[0], x_real, x_fake)
        d_loss = d_loss_real + d_loss_fake + cfg.lambda_cls * d_loss_cls + cfg.lambda_gp * d_loss_gp
        opt["D"].zero_grad(set_to_none=True)
        d_loss.backward()
        opt["D"].step()
        logs.update({"D/loss_real": d_loss_real, "D/loss_fake": d_loss_fake, "D/loss_cls": d_loss_cls,
                     "D/loss_gp": d_loss_gp})

        # Generator, every n_critic-th iteration.
        if (step + 1) % cfg.n_critic == 0:
            with self.autocast():
                x_fake = self.G(x_real, c_trg)
                fake_src, fake_cls = self.D(x_fake)
                g_loss_fake = losses.wgan_generator_loss(fake_src)
                g_loss_cls = losses.classification_loss(fake_cls, label_trg, multi)
                x_rec = self.G(x_fake, c_org)
                g_loss_rec = losses.l1(x_real, x_rec)
            g_loss = g_loss_fake + cfg.lambda_rec * g_loss_rec + cfg.lambda_cls * g_loss_cls
            opt["G"].zero_grad(set_to_none=True)
            g_loss.backward()
            opt["G"].step()
            logs.update({"G/loss_fake": g_loss_fake, "G/loss_rec": g_loss_rec, "G/loss_cls": g_loss_cls})
        return {k: v.item() for k, v in logs.items()}

    def identity_step(self, x_real, c_org):
        """Warm-up: G(x, c_org) ≈ x, an autoencoder step with the reconstruction weight."""
        with self.autocast():
            g_loss_id = losses.l1(x_real, self.G(x_real, c_org))
        opt = self.optimizers()["G"]
        opt.zero_grad(set_to_none=True)
        (self.cfg.lambda_rec * g_loss_id).backward()
        opt.step()
        return {"G/loss_id": g_loss_id.item()}

    # -- inference ------------------------------------------------------------
    @torch.no_grad()
    def translate(self, x, target, style=None):
        # Batch norm must use its running statistics here, or an image's output would depend on
        # its batch; instance norm keeps per-image statistics as the official code does.
        was_training = self.G.training
        self.G.train(self.cfg.g_norm == "instance")
        try:
            with self.autocast():
                return self.G(x, self.as_condition(target.to(x.device))).float()
        finally:
            self.G.train(was_training)

    @torch.no_grad()
    def classify(self, x) -> torch.Tensor:
        """D_cls's belief about x's labels: probabilities (attributes) or a domain index."""
        with self.autocast():
            logits = self.D(x)[1].float()
        return torch.sigmoid(logits) if self.info.multi_label else logits.argmax(1)

    @torch.no_grad()
    def sample_grid(self, batch):
        x = batch["image"].to(self.device)
        label = batch["label"].to(self.device)
        columns = [x] + [self.translate(x, t) for t in self.grid_targets(label)]
        return torch.stack(columns, dim=1)  # N × (1 + c) × 3 × H × W
