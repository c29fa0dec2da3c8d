"""Residual blocks shared by the translation generators."""
import math

import torch.nn.functional as F
from torch import nn


_INV_SQRT2 = 1 / math.sqrt(2)


def instance_norm(channels: int, affine: bool = True, running_stats: bool = True) -> nn.InstanceNorm2d:
    # StarGAN's official nets keep running stats but never switch to eval(), so inference
    # still normalises with per-image statistics; we keep the buffers so checkpoints match.
    return nn.InstanceNorm2d(channels, affine=affine, track_running_stats=running_stats)


def norm_layer(kind: str):
    """A norm factory by name: "instance" (StarGAN's official choice) or "batch"."""
    if kind == "instance":
        return instance_norm
    if kind == "batch":
        return nn.BatchNorm2d
    raise ValueError(f"norm must be 'instance' or 'batch', got {kind!r}")


class ResidualBlock(nn.Module):
    """conv3-norm-ReLU-conv3-norm with an identity skip (StarGAN's bottleneck block)."""

    def __init__(self, channels: int, norm=instance_norm, bias: bool = False):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=bias), norm(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=bias), norm(channels),
        )

    def forward(self, x):
        return x + self.main(x)


class PreActResBlock(nn.Module):
    """StarGAN v2's ResBlk: [IN] → LReLU → conv3 → [avgpool] → [IN] → LReLU → conv3, plus a
    shortcut (1x1 conv when the width changes, then avgpool), summed and scaled by 1/√2 so the
    variance stays one."""

    def __init__(self, dim_in: int, dim_out: int, normalize: bool = False, downsample: bool = False):
        super().__init__()
        self.downsample = downsample
        self.norm1 = nn.InstanceNorm2d(dim_in, affine=True) if normalize else nn.Identity()
        self.conv1 = nn.Conv2d(dim_in, dim_in, 3, 1, 1)
        self.norm2 = nn.InstanceNorm2d(dim_in, affine=True) if normalize else nn.Identity()
        self.conv2 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False) if dim_in != dim_out else None
        self.actv = nn.LeakyReLU(0.2)

    # a 3x3 conv beside a 2x resampling: a part the speed layer may run in one conv (nn/resample.py)
    resampled_convs = {"conv1_pooled": ("conv1", "pool")}

    def conv1_pooled(self, x):
        return F.avg_pool2d(self.conv1(x), 2)

    def shortcut(self, x):
        # The official code convolves, then pools. A bias-free 1x1 conv and 2x2 average pooling
        # commute (both linear), so pooling first gives the same result with the conv on a
        # quarter of the pixels.
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        return self.conv1x1(x) if self.conv1x1 is not None else x

    def residual(self, x):
        x = self.actv(self.norm1(x))
        x = self.conv1_pooled(x) if self.downsample else self.conv1(x)
        return self.conv2(self.actv(self.norm2(x)))

    def forward(self, x):
        return (self.shortcut(x) + self.residual(x)) * _INV_SQRT2
