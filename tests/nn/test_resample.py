"""nn/resample.py: a 3x3 conv beside 2x pooling or upsampling, as one stride-2 conv."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from i2i.nn import resample
from i2i.nn.adain import AdainResBlock
from i2i.nn.resample import conv_then_pool, resample_convs_on, upsample_then_conv, use_resample_convs
from i2i.nn.residual import PreActResBlock


def two_step_pool(conv, x):
    return F.avg_pool2d(conv(x), 2)


def two_step_up(conv, x):
    return conv(F.interpolate(x, scale_factor=2, mode="nearest"))


@pytest.fixture
def always(monkeypatch):
    """The one-conv form at any size, so small tensors can check it."""
    monkeypatch.setattr(resample, "MIN_POSITIONS", 1)


@pytest.mark.parametrize("fused, official", [(conv_then_pool, two_step_pool), (upsample_then_conv, two_step_up)])
@pytest.mark.parametrize("hw", [(8, 8), (6, 10), (7, 9), (2, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_one_conv_equals_the_two_steps_with_their_gradients(always, fused, official, hw, bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 7, 3, 1, 1, bias=bias).double()
    x = torch.randn(2, 5, *hw, dtype=torch.double, requires_grad=True)
    a, b = official(conv, x), fused(conv, x)
    assert a.shape == b.shape
    torch.testing.assert_close(b, a, rtol=0, atol=1e-12)
    grad = torch.randn_like(a)
    ga = torch.autograd.grad(a, [x, *conv.parameters()], grad)
    gb = torch.autograd.grad(b, [x, *conv.parameters()], grad)
    for u, v in zip(ga, gb):
        torch.testing.assert_close(v, u, rtol=0, atol=1e-12)


@pytest.mark.parametrize("fused, official", [(conv_then_pool, two_step_pool), (upsample_then_conv, two_step_up)])
def test_double_backward_matches_as_the_r1_penalty_needs(always, fused, official):
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 4, 3, 1, 1).double()
    x = torch.randn(2, 3, 6, 6, dtype=torch.double, requires_grad=True)

    def penalty(f):
        (g,) = torch.autograd.grad(f(conv, x).pow(2).sum(), x, create_graph=True)
        return torch.autograd.grad(g.pow(2).sum(), list(conv.parameters()))
    for u, v in zip(penalty(official), penalty(fused)):
        torch.testing.assert_close(v, u, rtol=0, atol=1e-10)


def test_two_steps_below_the_threshold_when_off_and_off_cpu():
    conv = nn.Conv2d(2, 2, 3, 1, 1)
    calls = []
    conv.register_forward_hook(lambda *_: calls.append(1))  # the two-step form calls the module
    conv_then_pool(conv, torch.randn(1, 2, 64, 64))  # 32 × 32 = 1024 low-resolution positions
    upsample_then_conv(conv, torch.randn(1, 2, 32, 32))
    assert calls == []
    conv_then_pool(conv, torch.randn(1, 2, 62, 62))  # 961
    upsample_then_conv(conv, torch.randn(1, 2, 31, 31))
    conv_then_pool(conv, torch.randn(1, 2, 64, 64), fuse=False)
    assert len(calls) == 3
    assert resample.pays(torch.empty(1), 4096, True) and not resample.pays(torch.empty(1, device="meta"), 4096, True)


def test_bf16_autocast_stays_within_bf16_rounding_of_the_two_steps():
    torch.manual_seed(2)
    conv = nn.Conv2d(16, 16, 3, 1, 1)
    x = torch.randn(1, 16, 64, 64)
    with torch.autocast("cpu", torch.bfloat16):
        for fused, official in ((conv_then_pool, two_step_pool), (upsample_then_conv, two_step_up)):
            a, b = official(conv, x).float(), fused(conv, x).float()
            assert (a - b).abs().max() < 0.02 * a.abs().max()


def test_the_blocks_switch_forms_without_changing_outputs_or_weights():
    torch.manual_seed(3)
    down = PreActResBlock(4, 8, normalize=True, downsample=True).double()
    up = AdainResBlock(8, 4, style_dim=6, upsample=True).double()
    keys = (list(down.state_dict()), list(up.state_dict()))
    x, s = torch.randn(2, 4, 64, 64, dtype=torch.double), torch.randn(2, 6, dtype=torch.double)
    assert not resample_convs_on(down) and not resample_convs_on(up)  # the official form unless training turns it on
    before = (down(x), up(down(x), s))
    use_resample_convs(nn.ModuleList([down, up]))
    assert resample_convs_on(down) and resample_convs_on(up)
    after = (down(x), up(down(x), s))
    for a, b in zip(before, after):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-10)
    assert (list(down.state_dict()), list(up.state_dict())) == keys
