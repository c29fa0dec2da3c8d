import pytest
import torch
from torch import nn

from i2i.nn.patchgan import NLayerDiscriminator, PixelDiscriminator, receptive_field


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_patchgan_parameter_counts_match_the_official_ones():
    # CycleGAN (instance norm, every conv biased) prints 2.765 M:
    # 3,136 + 131,200 + 524,544 + 2,097,664 + 8,193.
    assert n_params(NLayerDiscriminator(3, 64, 3, "instance")) == 2_764_737
    # Pix2Pix (batch norm, conditional input of 6 channels) prints 2.769 M:
    # 6,208 + (131,072 + 256) + (524,288 + 512) + (2,097,152 + 1,024) + 8,193.
    assert n_params(NLayerDiscriminator(6, 64, 3, "batch")) == 2_768_705


@pytest.mark.parametrize("n_layers,field", [(1, 16), (2, 34), (3, 70)])
def test_receptive_field(n_layers, field):
    assert receptive_field(n_layers) == field


def test_receptive_field_by_gradient_of_one_output():
    x = torch.randn(1, 1, 96, 96, requires_grad=True)
    net = NLayerDiscriminator(1, ndf=4, n_layers=2, norm="none")
    net(x)[0, 0, 5, 5].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    assert rows.max() - rows.min() + 1 <= receptive_field(2)


def test_70x70_patchgan_on_256_pixels_gives_a_30x30_map():
    assert NLayerDiscriminator(3, ndf=8)(torch.randn(1, 3, 256, 256)).shape == (1, 1, 30, 30)


def test_widths_cap_at_eight_ndf_and_n_layers_must_be_positive():
    convs = [m for m in NLayerDiscriminator(3, ndf=2, n_layers=5, norm="none").modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [2, 4, 8, 16, 16, 16, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 2, 2, 1, 1]
    with pytest.raises(ValueError, match="n_layers"):
        NLayerDiscriminator(3, n_layers=0)


def test_pixel_discriminator_judges_each_pixel():
    net = PixelDiscriminator(6, ndf=64)
    # 6*64+64 + 64*128 + 2*128 (batch norm) + 128*1, only the first conv biased.
    assert n_params(net) == 448 + 8_192 + 256 + 128
    assert n_params(PixelDiscriminator(6, ndf=64, norm="instance")) == 448 + 8_320 + 129
    x = torch.randn(2, 6, 8, 8)
    net.eval()
    out = net(x)
    assert out.shape == (2, 1, 8, 8)
    x2 = x.clone()
    x2[..., 3, 4] += 1
    changed = (net(x2) != out)[0, 0]
    assert changed.nonzero().tolist() == [[3, 4]]
