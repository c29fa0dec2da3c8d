"""InfoGAN (Chen et al., NeurIPS 2016): a GAN whose latent codes must stay readable in its output.

G's input is noise z and a structured code c: here one 10-way categorical code and two
continuous codes, uniform on [−1, 1]. A network Q, sharing D's trunk, predicts c from G(z, c),
and the variational lower bound of the mutual information I(c; G(z, c)) is added to both
players' objectives with weight λ:
    min_{G,Q} max_D  V(D, G) − λ·L_I(G, Q)
    L_I = E[log Q(c | G(z, c))] + H(c)
so D (with Q) and G each minimise their GAN loss plus λ·(cross-entropy of the categorical
code + ½ squared error of each continuous code, a Gaussian of fixed σ 1); H(c) is a constant.
Nothing tells the categorical code about digits: on digits it finds the classes by itself,
scored by matching its values to classes (Hungarian) and reading held-out real digits with Q.

Networks and optimiser as openai/InfoGAN's MNIST experiment: noise 62, G FC 1024 → FC
(S/4)²·128 → deconv 64 → deconv, batch norm and ReLU; D conv 64 → conv 128 → FC 1024 with
LeakyReLU 0.01 and batch norm after the first layer; D's head FC 1, Q's FC 128 → codes; N(0, 0.02)
init; Adam β1 0.5, lr 2e-4 for D (and Q), 1e-3 for G; batch 128; λ 1.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from .base import ReadsCategory, Traverses
from .gan import Adversarial


@dataclass
class InfoGANConfig:
    z_dim: int = 62            # incompressible noise
    categories: int = 10       # values of the categorical code
    continuous: int = 2        # continuous codes, uniform on [−1, 1]
    lambda_info: float = 1.0
    lr_g: float = 1e-3
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999


def _init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Generator(nn.Sequential):
    def __init__(self, in_dim: int, channels: int, size: int):
        if size % 4:
            raise ValueError(f"InfoGAN's networks need an image size divisible by 4, got {size}")
        b = size // 4
        super().__init__(
            nn.Linear(in_dim, 1024), nn.BatchNorm1d(1024), nn.ReLU(True),
            nn.Linear(1024, 128 * b * b), nn.BatchNorm1d(128 * b * b), nn.ReLU(True), nn.Unflatten(1, (128, b, b)),
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(True),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh())


class Discriminator(nn.Module):
    """The shared trunk, D's real/fake logit and Q's code predictions."""

    def __init__(self, channels: int, size: int, code_dim: int):
        super().__init__()
        b = size // 4
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, 64, 4, 2, 1), nn.LeakyReLU(0.01, True),
            nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.01, True), nn.Flatten(),
            nn.Linear(128 * b * b, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(0.01, True))
        self.head = nn.Linear(1024, 1)
        self.Q = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.01, True),
                               nn.Linear(128, code_dim))

    def forward(self, x):
        h = self.trunk(x)
        return self.head(h).flatten(), self.Q(h)


def info_loss(q: torch.Tensor, category: torch.Tensor, continuous: torch.Tensor) -> torch.Tensor:
    """−E[log Q(c | x)] up to a constant: cross-entropy of the categorical code plus ½ squared
    error of each continuous code (Q's outputs after the K logits are the Gaussian means)."""
    k = q.size(1) - continuous.size(1)
    ce = F.cross_entropy(q[:, :k].float(), category)
    return ce + 0.5 * (q[:, k:].float() - continuous).pow(2).sum(1).mean()


class InfoGAN(Traverses, ReadsCategory, Adversarial):
    name = "infogan"
    Config = InfoGANConfig
    train_defaults = {"batch_size": 128}

    def build_networks(self, k: int):
        c, i = self.cfg, self.info
        G = Generator(c.z_dim + c.categories + c.continuous, i.channels, i.image_size)
        D = Discriminator(i.channels, i.image_size, c.categories + c.continuous)
        G.apply(_init)
        D.apply(_init)
        return G, D

    def build_optimizers(self):
        c = self.cfg
        return {"G": torch.optim.Adam(self.G.parameters(), c.lr_g, (c.beta1, c.beta2)),
                "D": torch.optim.Adam(self.D.parameters(), c.lr_d, (c.beta1, c.beta2))}

    def codes(self, n: int, generator=None, device=None):
        """z, the categorical code (indices) and the continuous codes, drawn from their priors."""
        c = self.cfg
        z = torch.rand(n, c.z_dim, generator=generator) * 2 - 1  # the official Uniform(62)
        cat = torch.randint(0, c.categories, (n,), generator=generator)
        cont = torch.rand(n, c.continuous, generator=generator) * 2 - 1
        return z.to(device), cat.to(device), cont.to(device)

    def join(self, z, cat, cont) -> torch.Tensor:
        return torch.cat([z, F.one_hot(cat, self.cfg.categories).to(z.dtype), cont], 1)

    def train_step(self, batch, step):
        x = batch["image"].to(self.device)
        lam = self.cfg.lambda_info
        z, cat, cont = self.codes(x.size(0), device=self.device)
        with self.autocast():
            x_fake = self.G(self.join(z, cat, cont))
            d_real, _ = self.D(x)
            d_fake, q_fake = self.D(x_fake.detach())
            loss_real = losses.nonsaturating_loss(d_real, real=True)
            loss_fake = losses.nonsaturating_loss(d_fake, real=False)
            loss_info_d = info_loss(q_fake, cat, cont)
        self.update(loss_real + loss_fake + lam * loss_info_d, "D")
        with self.autocast():
            d_fake, q_fake = self.D(x_fake)
            loss_g = losses.nonsaturating_loss(d_fake, real=True)
            loss_info_g = info_loss(q_fake, cat, cont)
        self.update(loss_g + lam * loss_info_g, "G")
        return {"D/loss_real": loss_real.item(), "D/loss_fake": loss_fake.item(), "D/loss_info": loss_info_d.item(),
                "G/loss_fake": loss_g.item(), "G/loss_info": loss_info_g.item()}

    # -- sampling and reading the codes ----------------------------------------------------
    def latent(self, n: int, cond, generator):
        z, cat, cont = self.codes(n, generator)
        if cond is not None:
            cat = torch.as_tensor(cond).expand(n).clone()
        return self.join(z, cat, cont)

    @torch.no_grad()
    def read_category(self, x: torch.Tensor) -> torch.Tensor:
        """Q's categorical code for each image. D normalises with the statistics of the batch
        read, as in training, where every batch D sees is all real or all generated; its running
        statistics mix the two, and stop describing real digits when G collapses."""
        D = copy.deepcopy(self.D).train()  # a copy: reading leaves D's running statistics alone
        with self.autocast():
            q = D(x.to(self.device))[1]
        return q[:, :self.cfg.categories].float().argmax(1).cpu()

    @torch.no_grad()
    def traverse(self, code: int = 1, columns: int = 9, lo: float = -2.0, hi: float = 2.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Rows: each value of the categorical code; columns: continuous code `code` (1-based)
        swept from lo to hi, the other codes at 0 and the noise the same everywhere.
        Returns rows x columns x C x H x W."""
        c = self.cfg
        if not 1 <= code <= c.continuous:
            raise ValueError(f"continuous code {code} does not exist; this run has codes 1..{c.continuous}")
        z = self.codes(1, generator)[0].expand(c.categories * columns, -1)
        cat = torch.arange(c.categories).repeat_interleave(columns)
        cont = torch.zeros(c.categories * columns, c.continuous)
        cont[:, code - 1] = torch.linspace(lo, hi, columns).repeat(c.categories)
        return self.from_latent(self.join(z, cat, cont)).unflatten(0, (c.categories, columns))

    @torch.no_grad()
    def sample_grid(self, batch):
        """The first continuous code's traversal: a row per categorical value."""
        return self.traverse(1, 8, generator=torch.Generator().manual_seed(0))
