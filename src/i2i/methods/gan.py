"""GAN (Goodfellow et al., NeurIPS 2014): a generator and a discriminator in a minimax game.

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))]
D takes one step on V, then G one step; G maximises log D(G(z)) instead of minimising
log(1 − D(G(z))), the paper's advice for strong gradients early on (the non-saturating loss).
Networks as the paper's MNIST code (goodfeli/adversarial, mnist.yaml): G is an MLP with two
ReLU layers of 1,200 on z ~ N(0, I) of 100 dimensions; D has two maxout layers of 240 units
× 5 pieces, dropout (keep 0.8 on its input, 0.5 after), and one logit. SGD with lr 0.1
decaying ×1/1.000004 per update (floor 1e-6) and momentum 0.5 rising linearly to 0.7, batch 100.
G's output is tanh rather than sigmoid, since i2i's images are in [−1, 1].

`Adversarial`, the game without GAN's networks and optimiser, is the family's base: GAN,
DCGAN (and through it cGAN, WGAN, WGAN-GP) and InfoGAN bring their networks
(`build_networks`) and optimisers, and change the step where their paper does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from .. import losses
from ..nn.mlp import Flat, Maxout, mlp
from .base import DataInfo, Generates, Method


@dataclass
class GANConfig:
    z_dim: int = 100
    g_hidden: list[int] = field(default_factory=lambda: [1200, 1200])
    d_units: int = 240
    d_pieces: int = 5
    d_layers: int = 2
    d_input_dropout: float = 0.2
    d_dropout: float = 0.5
    lr: float = 0.1
    lr_decay: float = 1.000004   # lr divided by this after every update
    min_lr: float = 1e-6
    momentum: float = 0.5
    final_momentum: float = 0.7
    momentum_steps: int = 125_000  # updates to reach final_momentum (250 epochs of 50,000 / 100)


class Adversarial(Generates, Method):
    """G and D, one D step then one G step on the non-saturating loss, and sampling."""
    inference_networks = ("G.",)

    def __init__(self, cfg, info: DataInfo):
        super().__init__(cfg, info)
        self.G, self.D = self.build_networks(self.condition_dim())

    def sample_shape(self) -> tuple[int, ...]:
        i = self.info
        return (i.points,) if i.points else (i.channels, i.image_size, i.image_size)

    def build_networks(self, k: int) -> tuple[nn.Module, nn.Module]:
        """(G, D) for this data; k extra inputs (a condition) on both."""
        raise NotImplementedError

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

    def train_step(self, batch, step):
        x, c = batch["image"].to(self.device), self.condition(batch["label"].to(self.device))
        z = torch.randn(x.size(0), self.cfg.z_dim, device=self.device)
        with self.autocast():
            x_fake = self.G(self.g_input(z, c))
            loss_real = losses.nonsaturating_loss(self.D(self.d_input(x, c)), real=True)
            loss_fake = losses.nonsaturating_loss(self.D(self.d_input(x_fake.detach(), c)), real=False)
        self.update(loss_real + loss_fake, "D")
        with self.autocast():
            loss_g = losses.nonsaturating_loss(self.D(self.d_input(x_fake, c)), real=True)
        self.update(loss_g, "G")
        return {"D/loss_real": loss_real.item(), "D/loss_fake": loss_fake.item(), "G/loss_fake": loss_g.item()}

    # -- sampling ---------------------------------------------------------------
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
        """8 x 8 samples from the same 64 latent codes at every call (points: 1,000 in a plot)."""
        g = torch.Generator().manual_seed(0)
        if self.info.points:
            from ..data.ring import scatter
            return scatter(self.generate(1000, generator=g))[None, None]
        return self.generate(64, generator=g).unflatten(0, (8, 8))


class GAN(Adversarial):
    name = "gan"
    Config = GANConfig
    train_defaults: ClassVar[dict] = {"batch_size": 100}

    def build_networks(self, k: int) -> tuple[nn.Module, nn.Module]:
        """Goodfellow's MLPs; k extra inputs (a condition) on both."""
        c, shape = self.cfg, self.sample_shape()
        n = int(torch.Size(shape).numel())
        G = mlp(c.z_dim + k, list(c.g_hidden), n, nn.Tanh() if not self.info.points else None)
        layers, dim = [], n + k
        for i in range(c.d_layers):
            layers += [nn.Dropout(c.d_input_dropout if i == 0 else c.d_dropout), Maxout(dim, c.d_units, c.d_pieces)]
            dim = c.d_units
        D = nn.Sequential(*layers, nn.Dropout(c.d_dropout), nn.Linear(dim, 1))
        for net, r in ((G, 0.05), (D, 0.005)):  # the official uniform(−irange, irange) init
            for m in net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.uniform_(m.weight, -r, r)
                    nn.init.zeros_(m.bias)
        return (G, Flat(D)) if self.info.points else (Flat(G, shape), Flat(D))

    def build_optimizers(self):
        return {k: torch.optim.SGD(net.parameters(), self.cfg.lr, momentum=self.cfg.momentum)
                for k, net in self.networks().items()}

    def lr_factor(self, step: int, total: int) -> float:
        return max(self.cfg.lr_decay ** -step, self.cfg.min_lr / self.cfg.lr)

    def schedule(self, step: int, total: int):
        """The official MomentumAdjustor beside the decay: momentum rises linearly to its final value."""
        c = self.cfg
        m = c.momentum + (c.final_momentum - c.momentum) * min(1.0, step / max(c.momentum_steps, 1))
        return {name: {**values, "momentum": m} for name, values in super().schedule(step, total).items()}
