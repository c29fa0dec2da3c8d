"""Style injection: adaptive instance normalisation and the AdaIN residual block (StarGAN v2)."""
import math

import torch
import torch.nn.functional as F
from torch import nn



class AdaIN(nn.Module):
    """(1 + γ(s))·IN(x) + β(s): the style code sets each channel's scale and shift."""

    def __init__(self, style_dim: int, channels: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.fc = nn.Linear(style_dim, channels * 2)

    def forward(self, x, s):
        gamma, beta = self.fc(s)[:, :, None, None].chunk(2, dim=1)
        return (1 + gamma) * self.norm(x) + beta


class AdainResBlock(nn.Module):
    """AdaIN → LReLU → [nearest ×2] → conv3 → AdaIN → LReLU → conv3. With the high-pass skip
    (w_hpf > 0) the shortcut is dropped: the encoder's high frequencies carry the identity."""

    def __init__(self, dim_in: int, dim_out: int, style_dim: int = 64, w_hpf: float = 0, upsample: bool = False):
        super().__init__()
        self.w_hpf, self.upsample = w_hpf, upsample
        self.norm1 = AdaIN(style_dim, dim_in)
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.norm2 = AdaIN(style_dim, dim_out)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
        self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False) if dim_in != dim_out else None
        self.actv = nn.LeakyReLU(0.2)

    # a 3x3 conv beside a 2x resampling: a part the speed layer may run in one conv (nn/resample.py)
    resampled_convs = {"upsampled_conv1": ("conv1", "upsample")}

    def upsampled_conv1(self, x):
        return self.conv1(F.interpolate(x, scale_factor=2, mode="nearest"))

    def shortcut(self, x):
        # Official order: upsample, then the 1x1 conv. Nearest upsampling copies pixels and a
        # 1x1 conv acts per pixel, so converting first is the same result on a quarter of the pixels.
        if self.conv1x1 is not None:
            x = self.conv1x1(x)
        return F.interpolate(x, scale_factor=2, mode="nearest") if self.upsample else x

    def residual(self, x, s):
        x = self.actv(self.norm1(x, s))
        x = self.upsampled_conv1(x) if self.upsample else self.conv1(x)
        return self.conv2(self.actv(self.norm2(x, s)))

    def forward(self, x, s):
        out = self.residual(x, s)
        if self.w_hpf == 0:
            out = (out + self.shortcut(x)) / math.sqrt(2)
        return out


class HighPass(nn.Module):
    """A 3x3 Laplacian-like filter per channel, scaled by 1/w_hpf."""

    def __init__(self, w_hpf: float):
        super().__init__()
        kernel = torch.full((3, 3), -1.0)
        kernel[1, 1] = 8.0
        self.register_buffer("filter", kernel / w_hpf)  # official name: checkpoints load as is

    def forward(self, x):
        c = x.size(1)
        return F.conv2d(x, self.filter.to(x.dtype).expand(c, 1, 3, 3), padding=1, groups=c)
