import pytest
import torch
from torch import nn

from i2i.nn.resnet_generator import ResnetBlock, ResnetGenerator


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_cyclegan_generator_parameter_counts_match_the_official_ones():
    # junyanz prints 11.378 M for resnet_9blocks (instance norm, so every conv has a bias):
    # c7s1-64 9,472 + d128 73,856 + d256 295,168 + 9 blocks x 1,180,160 + u128 295,040
    # + u64 73,792 + c7s1-3 9,411.
    assert n_params(ResnetGenerator(3, 3, 64, "instance", dropout=False, n_blocks=9)) == 11_378_179
    assert n_params(ResnetGenerator(3, 3, 64, "instance", dropout=False, n_blocks=6)) == 7_837_699
    assert n_params(ResnetBlock(256)) == 1_180_160


def test_layer_order_follows_junyanz():
    net = ResnetGenerator(3, 3, ngf=8, n_blocks=2)
    kinds = [type(m).__name__ for m in net.model]
    assert kinds == ["ReflectionPad2d", "Conv2d", "InstanceNorm2d", "ReLU",
                     "Conv2d", "InstanceNorm2d", "ReLU", "Conv2d", "InstanceNorm2d", "ReLU",
                     "ResnetBlock", "ResnetBlock",
                     "ConvTranspose2d", "InstanceNorm2d", "ReLU", "ConvTranspose2d", "InstanceNorm2d", "ReLU",
                     "ReflectionPad2d", "Conv2d", "Tanh"]
    ups = [m for m in net.model if isinstance(m, nn.ConvTranspose2d)]
    assert all(u.output_padding == (1, 1) and u.kernel_size == (3, 3) for u in ups)


@pytest.mark.parametrize("size", [32, 64])
def test_keeps_height_and_width_and_stays_in_tanh_range(size):
    out = ResnetGenerator(3, 2, ngf=8, n_blocks=2)(torch.randn(2, 3, size, size))
    assert out.shape == (2, 2, size, size) and out.abs().max() <= 1


@pytest.mark.parametrize("norm,padding", [("batch", "zero"), ("none", "replicate")])
def test_other_norms_and_paddings(norm, padding):
    net = ResnetGenerator(1, 1, ngf=4, norm=norm, dropout=True, n_blocks=1, padding=padding)
    assert net(torch.randn(2, 1, 16, 16)).shape == (2, 1, 16, 16)
    has_norm = any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in net.modules())
    assert has_norm == (norm == "batch")
    assert all(c.bias is None for c in list(net.modules())[:-3] if isinstance(c, nn.Conv2d))
    assert sum(isinstance(m, nn.Dropout) for m in net.modules()) == 1


def test_unknown_padding_is_rejected():
    with pytest.raises(ValueError, match="padding"):
        ResnetBlock(4, padding="circular")
