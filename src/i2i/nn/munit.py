"""MUNIT's networks (Huang et al., ECCV 2018), as NVlabs/MUNIT's networks.py builds them.

Every conv block is reflect-pad → conv (with bias, also before a norm) → norm → activation.
Per domain one auto-encoder: a content encoder (instance norm), a style encoder (no norm, global
pooling to a style code), and a decoder whose residual blocks take AdaIN parameters from an MLP
of the style code, then upsamples with layer norm. The discriminator is multi-scale (LSGAN).
Official edges2shoes sizes (dim 64, style 8, MLP 256, 2 downsamplings, 4 residual blocks): a
generator has 15,026,187 parameters, a discriminator (3 scales, 4 layers) 8,271,171.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    """MUNIT's layer norm: per sample over (C, H, W), the *unbiased* std with eps added to it (not
    inside the root), then a per-channel affine with γ ~ U[0, 1) and β = 0."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.rand(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        flat = x.flatten(1)
        mean = flat.mean(1).view(-1, 1, 1, 1)
        std = flat.std(1).view(-1, 1, 1, 1)
        return (x - mean) / (std + self.eps) * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)


class AdaIN(nn.Module):
    """Instance norm (biased variance, eps inside the root) whose scale and shift are set per
    sample from outside: `params` is (B, 2C), shift first, then scale (used as is, not 1 + γ)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.channels, self.eps = channels, eps
        self.params: torch.Tensor | None = None

    def forward(self, x):
        if self.params is None:
            raise RuntimeError("AdaIN parameters are unset: decode through Generator.decode")
        shift, scale = self.params[:, :self.channels], self.params[:, self.channels:]
        x = F.instance_norm(x, eps=self.eps)
        return x * scale[:, :, None, None] + shift[:, :, None, None]


def block(c_in, c_out, k, stride, norm="none", act="relu"):
    pad = (k - 1) // 2 if stride == 1 else 1
    layers = [nn.ReflectionPad2d(pad), nn.Conv2d(c_in, c_out, k, stride)]
    layers += {"in": [nn.InstanceNorm2d(c_out)], "ln": [LayerNorm(c_out)], "adain": [AdaIN(c_out)],
               "none": []}[norm]
    layers += {"relu": [nn.ReLU()], "lrelu": [nn.LeakyReLU(0.2)], "tanh": [nn.Tanh()], "none": []}[act]
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    def __init__(self, dim: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(block(dim, dim, 3, 1, norm), block(dim, dim, 3, 1, norm, act="none"))

    def forward(self, x):
        return x + self.body(x)


def content_encoder(dim: int, n_down: int, n_res: int) -> nn.Sequential:
    layers = [block(3, dim, 7, 1, "in")]
    for _ in range(n_down):
        layers.append(block(dim, dim * 2, 4, 2, "in"))
        dim *= 2
    return nn.Sequential(*layers, *(ResBlock(dim, "in") for _ in range(n_res)))


def style_encoder(dim: int, style_dim: int, n_down: int = 4) -> nn.Sequential:
    """Two doubling downsamplings, then the rest at that width; no norm (it would remove the style)."""
    layers = [block(3, dim, 7, 1)]
    for k in range(n_down):
        c_out = dim * 2 if k < 2 else dim
        layers.append(block(dim, c_out, 4, 2))
        dim = c_out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1))


def decoder(dim: int, n_up: int, n_res: int) -> nn.Sequential:
    layers: list[nn.Module] = [ResBlock(dim, "adain") for _ in range(n_res)]
    for _ in range(n_up):
        layers += [nn.Upsample(scale_factor=2), block(dim, dim // 2, 5, 1, "ln")]
        dim //= 2
    return nn.Sequential(*layers, block(dim, 3, 7, 1, act="tanh"))


def mlp(c_in: int, c_out: int, width: int, n_blk: int = 3) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(c_in, width), nn.ReLU()]
    for _ in range(n_blk - 2):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, c_out))


class Generator(nn.Module):
    """One domain's auto-encoder (AdaINGen): encode(x) = (content, style), decode(content, style)."""

    def __init__(self, dim=64, style_dim=8, mlp_dim=256, n_down=2, n_res=4):
        super().__init__()
        self.enc_style = style_encoder(dim, style_dim)
        self.enc_content = content_encoder(dim, n_down, n_res)
        self.dec = decoder(dim * 2 ** n_down, n_down, n_res)
        self.adains = [m for m in self.dec.modules() if isinstance(m, AdaIN)]  # in module order, as assigned
        self.mlp = mlp(style_dim, sum(2 * m.channels for m in self.adains), mlp_dim)

    def encode(self, x):
        return self.enc_content(x), self.enc_style(x).flatten(1)

    def decode(self, content, style):
        params = self.mlp(style.flatten(1))
        for m in self.adains:
            m.params, params = params[:, :2 * m.channels], params[:, 2 * m.channels:]
        try:
            return self.dec(content)
        finally:
            for m in self.adains:
                m.params = None

    def forward(self, x, style):
        """x re-rendered in `style` (the content of x decoded by this domain's decoder)."""
        return self.decode(self.enc_content(x), style)


class Discriminator(nn.Module):
    """MsImageDis: `num_scales` independent patch critics, each on a 2x average-pooled copy of the
    previous scale's input (count_include_pad=False); forward returns one map per scale."""

    def __init__(self, dim=64, n_layer=4, num_scales=3):
        super().__init__()
        self.cnns = nn.ModuleList(self._scale(dim, n_layer) for _ in range(num_scales))
        self.down = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    @staticmethod
    def _scale(dim, n_layer):
        layers = [block(3, dim, 4, 2, act="lrelu")]
        for _ in range(n_layer - 1):
            layers.append(block(dim, dim * 2, 4, 2, act="lrelu"))
            dim *= 2
        return nn.Sequential(*layers, nn.Conv2d(dim, 1, 1))

    def forward(self, x):
        outs = []
        for k, cnn in enumerate(self.cnns):
            if k:
                x = self.down(x)
            outs.append(cnn(x))
        return outs


def munit_init(gen: nn.Module, dis: nn.Module) -> None:
    """The official init: Kaiming normal (fan in, a = 0) on every conv and linear layer, biases 0;
    then the discriminators again with N(0, 0.02). Layer norms keep γ ~ U[0, 1), β = 0."""
    for net, how in ((gen, "kaiming"), (dis, "gaussian")):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if how == "kaiming":
                    nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
                else:
                    nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)


def min_image_size(n_layer: int, num_scales: int) -> int:
    """The smallest input whose last scale still has ≥ 2 pixels before each stride-2 conv (the
    reflect padding of 1 needs them)."""
    return 2 ** (n_layer + num_scales - 1)


class Translation(nn.Module):
    """The export graph: image (source domain) → target domain, the style given or encoded from a
    reference of the target domain."""

    def __init__(self, source: Generator, target: Generator, by_reference: bool):
        super().__init__()
        self.source, self.target, self.by_reference = source, target, by_reference

    def forward(self, image, guide):
        s = self.target.enc_style(guide).flatten(1) if self.by_reference else guide
        return self.target.decode(self.source.enc_content(image), s)
