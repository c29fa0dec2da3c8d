"""Convolutions with few output positions as one matrix product, on CPU.

A discriminator's last layers map a few pixels to many channels (StarGAN's D at 128 px:
1024 → 2048 channels onto 2×2). oneDNN runs these 2–4× slower than unfold + one GEMM on a
CPU, forward, backward and in the gradient penalty's double backward alike (measured in
docs/speed.md). The parameters are nn.Conv2d's own, so weights, checkpoints and the official
state-dict names are unchanged; only the kernel differs, equal up to float rounding.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MAX_POSITIONS = 16  # output positions (H·W) up to which the GEMM wins; 8×8 outputs favour oneDNN


class MatmulConv2d(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or self.groups != 1 or self.padding_mode != "zeros" \
                or isinstance(self.padding, str) or x.dim() != 4:
            return super().forward(x)
        n, _, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel_size, self.stride, self.padding, self.dilation
        ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if ho * wo > MAX_POSITIONS:
            return super().forward(x)
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)  # N × C·k·k × L
        cols = cols.transpose(1, 2).reshape(n * ho * wo, -1)
        weight = self.weight.reshape(self.out_channels, -1).t()
        y = cols @ weight if self.bias is None else torch.addmm(self.bias, cols, weight)
        return y.reshape(n, ho, wo, -1).permute(0, 3, 1, 2)


def use_matmul_convs(module: nn.Module, enabled: bool = True) -> nn.Module:
    """Switch every plain Conv2d in `module` to MatmulConv2d (or back). The subclass holds no
    state of its own, so switching the class keeps parameters, hooks and optimisers."""
    new, old = (MatmulConv2d, nn.Conv2d) if enabled else (nn.Conv2d, MatmulConv2d)
    for m in module.modules():
        if type(m) is old:
            m.__class__ = new
    return module
