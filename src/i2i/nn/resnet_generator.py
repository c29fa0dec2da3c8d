"""CycleGAN's ResNet generator (Johnson et al. 2016 style), after junyanz's ``ResnetGenerator``:
c7s1-ngf, two stride-2 downsamplings, n residual blocks at 4·ngf, two transposed-conv
upsamplings, c7s1-out with tanh."""
from torch import nn

from i2i.nn.norm import conv_bias, norm_2d

_PADS = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d}


def _padded_conv3(dim: int, padding: str, bias: bool) -> list[nn.Module]:
    if padding == "zero":
        return [nn.Conv2d(dim, dim, 3, padding=1, bias=bias)]
    if padding not in _PADS:
        raise ValueError(f"padding must be 'reflect', 'replicate' or 'zero'; got {padding!r}")
    return [_PADS[padding](1), nn.Conv2d(dim, dim, 3, padding=0, bias=bias)]


class ResnetBlock(nn.Module):
    """pad-conv3-norm-ReLU-[dropout 0.5]-pad-conv3-norm plus an identity skip."""

    def __init__(self, dim: int, norm: str = "instance", dropout: bool = False, padding: str = "reflect"):
        super().__init__()
        make_norm, bias = norm_2d(norm), conv_bias(norm)
        layers = [*_padded_conv3(dim, padding, bias), make_norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [*_padded_conv3(dim, padding, bias), make_norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """The resnet_9blocks / resnet_6blocks generator; keeps H×W when they are multiples of 4."""

    def __init__(self, in_ch: int, out_ch: int, ngf: int = 64, norm: str = "instance",
                 dropout: bool = False, n_blocks: int = 9, padding: str = "reflect"):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        make_norm, bias = norm_2d(norm), conv_bias(norm)
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7, padding=0, bias=bias),
                  make_norm(ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias), make_norm(2 * c), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, norm, dropout, padding) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                       make_norm(c // 2), nn.ReLU(True)]
        # The last conv always has a bias: no norm follows it.
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)
