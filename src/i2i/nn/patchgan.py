"""PatchGAN discriminators of Pix2Pix/CycleGAN (Isola et al. 2017), after junyanz's
``NLayerDiscriminator`` (70x70 PatchGAN at n_layers=3) and ``PixelDiscriminator`` (1x1 PixelGAN)."""
from torch import nn

from i2i.nn.norm import conv_bias, norm_2d

_KERNEL = 4


def _strides(n_layers: int) -> list[int]:
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    # n_layers stride-2 convs, then a stride-1 conv and the stride-1 1-channel output conv.
    return [2] * n_layers + [1, 1]


def receptive_field(n_layers: int) -> int:
    """Side of the input patch that one output of NLayerDiscriminator sees (16, 34, 70 for 1, 2, 3)."""
    field = 1
    for stride in reversed(_strides(n_layers)):
        field = field * stride + _KERNEL - stride
    return field


class NLayerDiscriminator(nn.Module):
    """C64-C128-C256-C512 (widths capped at 8·ndf) then a 1-channel conv; all 4x4 convs, padding 1.
    The first conv has no norm; LeakyReLU 0.2; no sigmoid (the loss decides)."""

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        make_norm, bias = norm_2d(norm), conv_bias(norm)
        strides = _strides(n_layers)
        widths = [ndf * min(2**n, 8) for n in range(n_layers + 1)]
        layers = [nn.Conv2d(in_ch, ndf, _KERNEL, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        for prev, cur, stride in zip(widths, widths[1:], strides[1:]):
            layers += [nn.Conv2d(prev, cur, _KERNEL, stride=stride, padding=1, bias=bias),
                       make_norm(cur), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(widths[-1], 1, _KERNEL, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PixelGAN: three 1x1 convs (ndf, 2·ndf, 1), so each output judges a single pixel."""

    def __init__(self, in_ch: int, ndf: int = 64, norm: str = "batch"):
        super().__init__()
        make_norm, bias = norm_2d(norm), conv_bias(norm)
        # Unlike the PatchGAN, the output conv follows the norm rule too (no bias for batch norm).
        self.net = nn.Sequential(
            nn.Conv2d(in_ch, ndf, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, 2 * ndf, 1, bias=bias), make_norm(2 * ndf), nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * ndf, 1, 1, bias=bias),
        )

    def forward(self, x):
        return self.net(x)
