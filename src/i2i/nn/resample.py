"""A 3x3 convolution beside a 2x resampling, as one convolution at the low resolution.

2x2 average pooling after a 3x3 conv, and a 3x3 conv after nearest 2x upsampling, are both
linear maps whose every output reads a 4x4 window of the low-resolution side. So each equals a
single 4x4 convolution with stride 2 (transposed, for upsampling) whose kernel is the 3x3 kernel
summed over the 2x2 box: 16 taps at the low resolution instead of 9 at the high one, 44% of the
multiply-adds. The parameters stay the conv's own (names, shapes, checkpoints); outputs and
gradients equal the two-step form up to float rounding. StarGAN v2's ResBlk and AdaIN block
have this shape in their residual branch.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

# Measured per layer on CPU (docs/speed.md): the one-conv form wins from about 1024 positions on
# the low-resolution side of the batch; below that, making the 4x4 kernel and oneDNN's stride-2
# kernel for wide layers cost more than the saved multiply-adds.
MIN_POSITIONS = 1024


def box_kernel(weight: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """The 3x3 kernel convolved with a 2x2 box of `scale`s: out × in × 4 × 4. Each 4-tap row is
    (w0, w0 + w1, w1 + w2, w2), so the 4x4 kernel is P·w·Pᵀ; as one GEMM against P ⊗ P it takes a
    quarter of the time of summing shifted copies. In fp32 even under autocast: the convolution
    rounds the summed kernel once, as it rounds the 3x3 one."""
    p = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=weight.dtype, device=weight.device)
    out, inp = weight.shape[:2]
    with torch.autocast(weight.device.type, enabled=False):
        return (weight.reshape(out * inp, 9) @ (scale * torch.kron(p, p)).t()).view(out, inp, 4, 4)


def pays(x: torch.Tensor, low_positions: int, enabled: bool) -> bool:
    return enabled and x.device.type == "cpu" and low_positions >= MIN_POSITIONS


def conv_then_pool(conv: nn.Conv2d, x: torch.Tensor, fuse: bool = True) -> torch.Tensor:
    """F.avg_pool2d(conv(x), 2), as one stride-2 conv where that pays."""
    if not pays(x, x.size(0) * (x.size(2) // 2) * (x.size(3) // 2), fuse):
        return F.avg_pool2d(conv(x), 2)
    return F.conv2d(x, box_kernel(conv.weight, 0.25), conv.bias, stride=2, padding=1)  # ¼: the pooling's mean


def upsample_then_conv(conv: nn.Conv2d, x: torch.Tensor, fuse: bool = True) -> torch.Tensor:
    """conv(F.interpolate(x, scale_factor=2, mode="nearest")), as one transposed conv where that pays."""
    if not pays(x, x.size(0) * x.size(2) * x.size(3), fuse):
        return conv(F.interpolate(x, scale_factor=2, mode="nearest"))
    kernel = box_kernel(conv.weight).flip(2, 3).transpose(0, 1)  # in × out, as conv_transpose2d wants
    return F.conv_transpose2d(x, kernel, conv.bias, stride=2, padding=1)


FORMS = {"pool": conv_then_pool, "upsample": upsample_then_conv}


def use_resample_convs(module: nn.Module, enabled: bool = True) -> nn.Module:
    """Switch the one-conv form on or off in every block of `module` that states such parts
    (`resampled_convs = {part: (conv, "pool" | "upsample")}`): on, the part is bound on the
    instance to its one-conv form; off, the block's own two-step method shows again."""
    for m in module.modules():
        for part, (conv, kind) in getattr(type(m), "resampled_convs", {}).items():
            if enabled:
                setattr(m, part, functools.partial(FORMS[kind], getattr(m, conv)))
            else:
                m.__dict__.pop(part, None)
    return module


def resample_convs_on(m: nn.Module) -> bool:
    """Whether block m runs its resampled convs in the one-conv form."""
    return any(part in m.__dict__ for part in getattr(type(m), "resampled_convs", {}))
