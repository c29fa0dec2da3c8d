"""WGAN (Arjovsky et al., ICML 2017): the critic estimates the Wasserstein-1 distance.

    max_{‖f‖_L ≤ 1}  E[f(x)] − E[f(G(z))]          G minimises −E[f(G(z))]
The Lipschitz bound is kept by clipping every critic weight to [−c, c] after each update
(c = 0.01), with RMSprop at lr 5e-5 and n_critic = 5 critic updates per G update — 100 for
the first 25 G updates and every 500th, so the critic is near its optimum when G needs it.
Networks are DCGAN's. One trainer step is one critic update; G updates when its turn comes.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import losses
from .base import DataInfo
from .dcgan import DCGAN, DCGANConfig


@dataclass
class WGANConfig(DCGANConfig):
    lr: float = 5e-5
    clip: float = 0.01
    n_critic: int = 5
    n_critic_warm: int = 100   # critic updates before G updates 0-24 and every 500th


class WGAN(DCGAN):
    name = "wgan"
    Config = WGANConfig
    train_defaults = {"batch_size": 64}

    def __init__(self, cfg: WGANConfig, info: DataInfo):
        super().__init__(cfg, info)
        # The schedule's position, saved with the weights so a resumed run keeps its turn.
        self.register_buffer("g_updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("critic_updates", torch.zeros((), dtype=torch.long))

    def build_optimizers(self):
        return {k: torch.optim.RMSprop(net.parameters(), self.cfg.lr) for k, net in self.networks().items()}

    def critic_turns(self) -> int:
        """Critic updates due before the next G update."""
        k = int(self.g_updates)
        return self.cfg.n_critic_warm if k < 25 or k % 500 == 0 else self.cfg.n_critic

    def penalty(self, x_real, x_fake) -> dict[str, torch.Tensor]:
        return {}

    @torch.no_grad()
    def after_critic_step(self) -> None:
        for p in self.D.parameters():
            p.clamp_(-self.cfg.clip, self.cfg.clip)

    def train_step(self, batch, step):
        x = batch["image"].to(self.device)
        z = torch.randn(x.size(0), self.cfg.z_dim, device=self.device)
        with self.autocast():
            x_fake = self.G(z).detach()
            loss_real, loss_fake = losses.wgan_critic_loss(self.D(x), self.D(x_fake))
            extra = self.penalty(x, x_fake)
        self.update(loss_real + loss_fake + sum(extra.values()), "D")
        self.after_critic_step()
        logs = {"D/loss_real": loss_real.item(), "D/loss_fake": loss_fake.item(),
                "D/wasserstein": -(loss_real + loss_fake).item(), **{f"D/{k}": v.item() for k, v in extra.items()}}
        self.critic_updates += 1
        if int(self.critic_updates) >= self.critic_turns():
            z = torch.randn(x.size(0), self.cfg.z_dim, device=self.device)
            with self.autocast():
                loss_g = losses.wgan_generator_loss(self.D(self.G(z)))
            self.update(loss_g, "G")
            self.g_updates += 1
            self.critic_updates.zero_()
            logs["G/loss_fake"] = loss_g.item()
        return logs
