"""Residual blocks shared by the translation generators."""
from torch import nn


def instance_norm(channels: int, affine: bool = True, running_stats: bool = True) -> nn.InstanceNorm2d:
    # StarGAN's official nets keep running stats but never switch to eval(), so inference
    # still normalises with per-image statistics; we keep the buffers so checkpoints match.
    return nn.InstanceNorm2d(channels, affine=affine, track_running_stats=running_stats)


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
