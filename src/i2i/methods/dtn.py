"""DTN, the Domain Transfer Network (Taigman, Polyak and Wolf, ICLR 2017): unsupervised
cross-domain generation through a fixed feature extractor.

G = g ∘ f maps a source image x_s (SVHN-like digits here) to the target domain (clean digits).
f is trained first, on the source domain's labels, and then kept fixed; g decodes f's features.
D is a 3-way classifier: G(x_s) (class 1), G(x_t) (class 2), a real target x_t (class 3).
    L_D     = −E log D1(G(x_s)) − E log D2(G(x_t)) − E log D3(x_t)
    L_GANG  = −E log D3(G(x_s)) − E log D3(G(x_t))
    L_CONST = E d(f(x_s), f(G(x_s)))          f-constancy: the digit's features survive
    L_TID   = E d₂(x_t, G(x_t))               G is the identity on the target domain
    L_TV    = total variation of G(x_s)       smoothness
    L_G     = L_GANG + α·L_CONST + β·L_TID + γ·L_TV,   d = d₂ = MSE, α = β = 15, γ = 0 (digits)
f has four convolutions (64, 128, 256, 128); a stage of `f_steps` classifier updates on the
source labels opens every run. Target images have one channel; f sees them repeated to three.
Beyond the paper, each off by default (DTNConfig; configs/dtn_digits.yaml turns them on): f's
stage regularised (f_shift, f_dropout, f_weight_decay, f_lr_decay), g decoding both domains in
one batch (g_joint_batch) and g's and D's rates decayed over the transfer stage (lr_decay).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import DataInfo, Method, ReadsCategory, TwoDomains, frozen

SOURCE_FAKE, TARGET_FAKE, TARGET_REAL = 0, 1, 2


@dataclass
class DTNConfig:
    alpha: float = 15.0      # L_CONST
    beta: float = 15.0       # L_TID
    gamma: float = 0.0       # L_TV
    f_steps: int = 1000      # classifier updates that train f before the transfer starts
    lr: float = 2e-4
    f_lr: float = 1e-3
    beta1: float = 0.5
    target_channels: int = 1
    # Regularising f's stage (not in the paper, which trains f on SVHN's 600k images; 0/False =
    # the paper's plain classifier): random translations of the source images by up to f_shift px
    # (edges replicated), dropout on the code before the classifier head, Adam weight decay, and
    # f's learning rate decayed linearly to 0 over its stage (f_lr_decay).
    f_shift: int = 0
    f_dropout: float = 0.0
    f_weight_decay: float = 0.0
    f_lr_decay: bool = False
    # g decodes the source and target codes as one batch (not in the paper): its BatchNorm then
    # normalises G(x_s) in training with the statistics of the mix its running averages hold, the
    # ones translate() uses. False (the paper's separate G(x_s), G(x_t) passes): training
    # normalises each domain by its own batch statistics, and test time by their average.
    g_joint_batch: bool = False
    # g's and D's learning rates fall linearly from lr to 0 over the transfer stage (not in the
    # paper; False: constant lr), so a run ends on a settled G rather than mid-oscillation.
    lr_decay: bool = False


def _block(cin, cout, k, s, p, bn=True, act=None):
    layers = [nn.Conv2d(cin, cout, k, s, p, bias=not bn)]
    return layers + ([nn.BatchNorm2d(cout)] if bn else []) + [act or nn.ReLU(True)]


class Encoder(nn.Module):
    """f: three stride-2 4x4 convs (64, 128, 256) and a last conv over the remaining S/8 grid to a
    128-d code; `head` classifies the code into the source's 10 digits for f's training stage."""

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.body = nn.Sequential(*_block(channels, 64, 4, 2, 1), *_block(64, 128, 4, 2, 1),
                                  *_block(128, 256, 4, 2, 1), nn.Conv2d(256, 128, size // 8), nn.Flatten())
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.body(x)


class Decoder(nn.Module):
    """g: the code back to an image, mirroring f with transposed convs."""

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(128, 256, size // 8, bias=False), nn.BatchNorm2d(256), nn.ReLU(True),
            nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
            nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh())

    def forward(self, code):
        return self.main(code[:, :, None, None])


class Discriminator(nn.Module):
    def __init__(self, channels: int, size: int):
        super().__init__()
        lrelu = lambda: nn.LeakyReLU(0.2, True)
        self.main = nn.Sequential(*_block(channels, 64, 4, 2, 1, bn=False, act=lrelu()),
                                  *_block(64, 128, 4, 2, 1, act=lrelu()), *_block(128, 256, 4, 2, 1, act=lrelu()),
                                  nn.Conv2d(256, 3, size // 8), nn.Flatten())

    def forward(self, x):
        return self.main(x)


class DTN(TwoDomains, ReadsCategory, Method):
    name = "dtn"
    Config = DTNConfig
    train_defaults = {"batch_size": 128}
    one_way = True
    category_supervised = True  # f's head reads the source digit it was trained on
    inference_networks = ("f.", "g.")

    def __init__(self, cfg: DTNConfig, info: DataInfo):
        super().__init__(cfg, info)
        size = info.image_size
        if size % 8 or size < 8:
            raise ValueError(f"DTN's networks halve the image three times; image_size {size} must be a multiple of 8")
        self.f = Encoder(info.channels, size)
        self.g = Decoder(cfg.target_channels, size)
        self.D = Discriminator(cfg.target_channels, size)

    def networks(self):
        return {"f": self.f, "g": self.g, "D": self.D}

    def build_optimizers(self):
        betas = (self.cfg.beta1, 0.999)
        return {"f": torch.optim.Adam(self.f.parameters(), self.cfg.f_lr, weight_decay=self.cfg.f_weight_decay),
                "g": torch.optim.Adam(self.g.parameters(), self.cfg.lr, betas),
                "D": torch.optim.Adam(self.D.parameters(), self.cfg.lr, betas)}

    def lr_factor(self, step: int, total: int) -> float:
        if not self.cfg.lr_decay or step < self.cfg.f_steps:
            return 1.0
        return 1.0 - (step - self.cfg.f_steps) / max(total - self.cfg.f_steps, 1)

    def schedule(self, step: int, total: int):
        """f's own stage decays its rate linearly over f_steps (f_lr_decay)."""
        plan = super().schedule(step, total)
        if self.cfg.f_lr_decay and step < self.cfg.f_steps:
            plan["f"]["lr"] = 1 - step / self.cfg.f_steps
        return plan

    def as_source(self, x):
        """Target-domain images (one channel) as f's input (three)."""
        return x.expand(-1, self.info.channels, -1, -1) if x.size(1) == 1 else x

    def G(self, x):
        return self.g(self.f(self.as_source(x)))

    def train_step(self, batch, step):
        x_s, x_t = batch["A"].to(self.device), batch["B"].to(self.device)
        if step < self.cfg.f_steps:
            return self.f_step(x_s, batch["label_A"].to(self.device), step)
        cfg = self.cfg
        ce = lambda logits, k: F.cross_entropy(logits.float(), torch.full((logits.size(0),), k, device=logits.device))
        self.f.eval()  # fixed: its batch statistics must not drift with G's outputs
        with self.autocast():
            with torch.no_grad():
                code_s = self.f(x_s)
                code_t = self.f(self.as_source(x_t))
            if cfg.g_joint_batch:
                fake_s, fake_t = self.g(torch.cat([code_s, code_t])).split([len(code_s), len(code_t)])
            else:
                fake_s, fake_t = self.g(code_s), self.g(code_t)
            loss_D = (ce(self.D(fake_s.detach()), SOURCE_FAKE) + ce(self.D(fake_t.detach()), TARGET_FAKE)
                      + ce(self.D(x_t), TARGET_REAL))
        self.update(loss_D, "D")
        with frozen(self.D, self.f):
            with self.autocast():
                loss_GANG = ce(self.D(fake_s), TARGET_REAL) + ce(self.D(fake_t), TARGET_REAL)
                loss_CONST = F.mse_loss(self.f(self.as_source(fake_s)).float(), code_s.float())
                loss_TID = F.mse_loss(fake_t.float(), x_t.float())
                loss_TV = total_variation(fake_s.float())
                loss_G = loss_GANG + cfg.alpha * loss_CONST + cfg.beta * loss_TID + cfg.gamma * loss_TV
            self.update(loss_G, "g")
        return {"D/loss": loss_D.item(), "G/loss_GANG": loss_GANG.item(), "G/loss_CONST": loss_CONST.item(),
                "G/loss_TID": loss_TID.item(), "G/loss_TV": loss_TV.item()}

    def f_step(self, x_s, labels, step=0):
        """f's training stage: a digit classifier on the labelled source domain."""
        self.f.train()
        if self.cfg.f_shift:
            x_s = random_shift(x_s, self.cfg.f_shift)
        with self.autocast():
            code = F.dropout(self.f(x_s), self.cfg.f_dropout, training=True)
            loss = F.cross_entropy(self.f.head(code).float(), labels)
        self.update(loss, "f")
        return {"f/loss_cls": loss.item()}

    @torch.no_grad()
    def translate(self, x, target=None, style=None):
        was = self.training
        self.eval()
        try:
            with self.autocast():
                return self.G(x).float()
        finally:
            self.train(was)

    def direction_networks(self, direction):
        return self.f, self.g  # G = g ∘ f

    @torch.no_grad()
    def read_category(self, x):
        """The source digit f's head reads from x (f in eval mode: no dropout)."""
        was = self.training
        self.eval()
        try:
            with self.autocast():
                return self.f.head(self.f(x.to(self.device))).float().argmax(1).cpu()
        finally:
            self.train(was)

    @torch.no_grad()
    def sample_grid(self, batch):
        x_s = batch["A"].to(self.device)
        out = self.translate(x_s).expand(-1, 3, -1, -1)
        return torch.stack([x_s, out], dim=1)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels (B = 1 in the paper's L_TV)."""
    return ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean() + ((x[..., :, 1:] - x[..., :, :-1]) ** 2).mean()


def random_shift(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Each image moved by its own random (dy, dx) in [-max_shift, max_shift]², edges replicated."""
    n, c, h, w = x.shape
    dy, dx = torch.randint(-max_shift, max_shift + 1, (2, n, 1), device=x.device)
    rows = torch.arange(h, device=x.device) + max_shift - dy          # n x h
    cols = torch.arange(w, device=x.device) + max_shift - dx          # n x w
    padded = F.pad(x, [max_shift] * 4, mode="replicate")
    b = torch.arange(n, device=x.device)[:, None, None, None]
    ch = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[b, ch, rows[:, None, :, None], cols[:, None, None, :]]
