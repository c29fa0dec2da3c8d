import pytest
import torch
from torch import nn

from i2i.nn.unet import UnetGenerator


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_pix2pix_unet_parameter_counts_match_the_official_ones():
    # junyanz prints 54.414 M for unet_256. Batch norm, so only the last transposed conv has a bias:
    # outermost 3,072 + 6,147; 64/128 level 393,600; 128/256 1,573,632; 256/512 6,292,992;
    # 3 dropout levels x 12,584,960; innermost 8,389,632.
    unet_256 = UnetGenerator(3, 3, 8, 64, "batch", dropout=True)
    assert n_params(unet_256) == 54_413_955
    assert sum(isinstance(m, nn.Dropout) for m in unet_256.modules()) == 3
    assert n_params(UnetGenerator(3, 3, 7, 64, "batch", dropout=True)) == 54_413_955 - 12_584_960


def test_five_downs_on_32_pixels_keeps_the_size_and_tanh_range():
    net = UnetGenerator(3, 2, 5, ngf=8)
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 2, 32, 32) and out.abs().max() <= 1
    assert not any(isinstance(m, nn.Dropout) for m in net.modules())  # no ngf*8 middle levels


def test_dropout_is_on_in_train_mode_and_off_in_eval():
    net = UnetGenerator(1, 1, 6, ngf=4)
    x = torch.randn(2, 1, 64, 64)
    assert not torch.equal(net.train()(x), net(x))
    net.eval()
    torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_other_norms_run(norm):
    assert UnetGenerator(3, 3, 5, ngf=4, norm=norm, dropout=False)(torch.randn(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_sizes_not_divisible_by_two_to_the_downs_are_rejected_clearly():
    net = UnetGenerator(3, 3, 5, ngf=4)
    with pytest.raises(ValueError, match="divisible by 32; got 48x48"):
        net(torch.randn(1, 3, 48, 48))
    with pytest.raises(ValueError, match="num_downs"):
        UnetGenerator(3, 3, 4)
