"""Wide convolutions onto few output pixels as one matrix product, on CPU.

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

# Where the GEMM won in per-layer timings (docs/speed.md): ≤ 16 output pixels (8×8 favours
# oneDNN), a long reduction (in_channels·k·k ≥ 4096) and ≥ 64 output channels (a 1-channel
# critic head or a 5-class D_cls is faster in oneDNN).
MAX_POSITIONS = 16
MIN_REDUCTION = 4096
MIN_OUT_CHANNELS = 64


class MatmulConv2d(nn.Conv2d):
    def output_size(self, h: int, w: int) -> tuple[int, int]:
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel_size, self.stride, self.padding, self.dilation
        return (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1

    def gemm_output(self, x: torch.Tensor) -> tuple[int, int] | None:
        """The output size when this call should run as a GEMM, else None."""
        if x.device.type != "cpu" or self.groups != 1 or self.padding_mode != "zeros" \
                or isinstance(self.padding, str) or x.dim() != 4:
            return None
        ho, wo = self.output_size(*x.shape[2:])
        wide = self.out_channels >= MIN_OUT_CHANNELS and \
            self.in_channels * self.kernel_size[0] * self.kernel_size[1] >= MIN_REDUCTION
        return (ho, wo) if wide and ho * wo <= MAX_POSITIONS else None

    def uses_gemm(self, x: torch.Tensor) -> bool:
        return self.gemm_output(x) is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self.gemm_output(x)
        if size is None:
            return super().forward(x)
        (ho, wo), n = size, x.shape[0]
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)  # N × C·k·k × L
        cols = cols.transpose(1, 2).reshape(n * ho * wo, -1)
        weight = self.weight.reshape(self.out_channels, -1).t()
        y = cols @ weight if self.bias is None else torch.addmm(self.bias, cols, weight)
        return y.reshape(n, ho, wo, -1).permute(0, 3, 1, 2)


def use_matmul_convs(module: nn.Module, enabled: bool = True) -> nn.Module:
    """Switch every plain Conv2d in `module` to MatmulConv2d (or back), which picks its kernel
    per call from the shapes. The subclass holds no state of its own, so switching the class
    keeps parameters, hooks and optimisers."""
    new, old = (MatmulConv2d, nn.Conv2d) if enabled else (nn.Conv2d, MatmulConv2d)
    for m in module.modules():
        if type(m) is old:
            m.__class__ = new
    return module
