"""Pix2Pix's U-Net generator (Isola et al. 2017), after junyanz's ``UnetGenerator``: nested
skip-connection blocks, each a stride-2 4x4 conv down, the inner block, a stride-2 4x4
transposed conv up, and a concat of its input with its output."""
from __future__ import annotations

import torch
from torch import nn

from i2i.nn.norm import conv_bias, norm_2d


class UnetSkipBlock(nn.Module):
    """One U-Net level. ``outer`` channels in/out, ``inner`` channels after the down conv.

    innermost: LReLU-down-ReLU-up-norm (no norm at the bottleneck);
    intermediate: LReLU-down-norm-[sub]-ReLU-up-norm-[dropout 0.5];
    outermost: down-[sub]-ReLU-up(with bias)-tanh, and no concat.
    """

    def __init__(self, outer: int, inner: int, sub: UnetSkipBlock | None = None, in_ch: int | None = None,
                 outermost: bool = False, norm: str = "batch", dropout: bool = False):
        super().__init__()
        self.outermost = outermost
        make_norm, bias = norm_2d(norm), conv_bias(norm)
        down = nn.Conv2d(outer if in_ch is None else in_ch, inner, 4, stride=2, padding=1, bias=bias)
        if outermost:
            up = nn.ConvTranspose2d(2 * inner, outer, 4, stride=2, padding=1)
            layers = [down, sub, nn.ReLU(True), up, nn.Tanh()]
        elif sub is None:
            up = nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, make_norm(outer)]
        else:
            up = nn.ConvTranspose2d(2 * inner, outer, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down, make_norm(inner), sub, nn.ReLU(True), up, make_norm(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        # The in-place LeakyReLU that opens self.model rewrites x, so the skip carries LReLU(x),
        # as in junyanz's code; the parent's ReLU right after the concat makes that equal to ReLU(x).
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """unet_256 is num_downs=8, unet_128 num_downs=7; H and W must be multiples of 2**num_downs.

    The num_downs - 5 innermost-but-one levels all have ngf*8 channels and carry the dropout.
    """

    def __init__(self, in_ch: int, out_ch: int, num_downs: int, ngf: int = 64, norm: str = "batch",
                 dropout: bool = True):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be >= 5 (the U-Net has 5 fixed levels), got {num_downs}")
        self.num_downs = num_downs
        block = UnetSkipBlock(ngf * 8, ngf * 8, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(ngf * 8, ngf * 8, block, norm=norm, dropout=dropout)
        for mult in (4, 2, 1):
            block = UnetSkipBlock(ngf * mult, ngf * mult * 2, block, norm=norm)
        self.model = UnetSkipBlock(out_ch, ngf, block, in_ch=in_ch, outermost=True, norm=norm)

    def forward(self, x):
        step = 2**self.num_downs
        h, w = x.shape[-2:]
        if h % step or w % step:
            raise ValueError(f"UnetGenerator with num_downs={self.num_downs} needs H and W divisible by "
                             f"{step}; got {h}x{w} (use fewer downs for smaller images)")
        return self.model(x)
