import torch
import torch.nn.functional as F

from i2i.nn.adain import AdaIN, AdainResBlock, HighPass
from i2i.nn.residual import PreActResBlock


def test_adain_sets_each_channels_scale_and_shift_from_the_style():
    ada = AdaIN(style_dim=2, channels=3)
    with torch.no_grad():
        ada.fc.weight.zero_()
        ada.fc.bias.copy_(torch.tensor([1.0, 0.0, -0.5, 0.0, 2.0, 0.0]))  # γ = (1, 0, −0.5), β = (0, 2, 0)
    x = torch.randn(2, 3, 8, 8) * 5 + 3
    out = ada(x, torch.randn(2, 2))
    norm = (x - x.mean((2, 3), keepdim=True)) / (x.var((2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt()
    expected = torch.tensor([2.0, 1.0, 0.5])[None, :, None, None] * norm + torch.tensor([0.0, 2.0, 0.0])[None, :, None, None]
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=1e-4)


def test_high_pass_removes_constant_images_and_scales_by_one_over_w():
    hpf = HighPass(w_hpf=2.0)
    assert hpf(torch.full((1, 4, 6, 6), 3.0))[..., 1:-1, 1:-1].abs().max() == 0
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    assert hpf(x)[0, 0, 2, 2] == 4.0 and hpf(x)[0, 0, 1, 1] == -0.5


def test_block_shapes_and_the_dropped_shortcut_with_the_high_pass_skip():
    x, s = torch.randn(2, 8, 8, 8), torch.randn(2, 4)
    assert PreActResBlock(8, 16, normalize=True, downsample=True)(x).shape == (2, 16, 4, 4)
    assert AdainResBlock(8, 4, style_dim=4, upsample=True)(x, s).shape == (2, 4, 16, 16)
    block = AdainResBlock(8, 8, style_dim=4, w_hpf=1)
    torch.testing.assert_close(block(x, s), block.residual(x, s))


def test_shortcuts_pool_or_upsample_on_the_narrow_side_and_equal_the_official_order():
    # Official: ResBlk convolves (1x1) then pools; AdainResBlk upsamples then convolves.
    x = torch.randn(2, 8, 8, 8)
    down = PreActResBlock(8, 16, downsample=True)
    torch.testing.assert_close(down.shortcut(x), F.avg_pool2d(down.conv1x1(x), 2), atol=1e-6, rtol=1e-5)
    up = AdainResBlock(8, 4, style_dim=4, upsample=True)
    torch.testing.assert_close(up.shortcut(x), up.conv1x1(F.interpolate(x, scale_factor=2, mode="nearest")),
                               atol=1e-6, rtol=1e-5)
