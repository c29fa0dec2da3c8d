import pytest
import torch
from torch import nn

from i2i.methods.stargan import Discriminator
from i2i.nn import matmul_conv
from i2i.nn.matmul_conv import MatmulConv2d, use_matmul_convs


@pytest.fixture
def any_width(monkeypatch):
    """The GEMM path for narrow layers too, so small tensors can check it."""
    monkeypatch.setattr(matmul_conv, "MIN_REDUCTION", 1)
    monkeypatch.setattr(matmul_conv, "MIN_OUT_CHANNELS", 1)


def pair(**kw):
    ref = nn.Conv2d(**kw)
    mm = MatmulConv2d(**kw)
    mm.load_state_dict(ref.state_dict())
    return ref, mm


@pytest.mark.parametrize("kw, hw", [
    (dict(in_channels=8, out_channels=16, kernel_size=4, stride=2, padding=1), 4),   # StarGAN D's last layers
    (dict(in_channels=8, out_channels=4, kernel_size=3, stride=1, padding=1, bias=False), 2),
    (dict(in_channels=8, out_channels=5, kernel_size=2, bias=False), 2),             # D_cls onto 1×1
    (dict(in_channels=6, out_channels=7, kernel_size=3, stride=1, padding=2, dilation=2), 4),
    (dict(in_channels=5, out_channels=3, kernel_size=(3, 1), stride=(1, 2), padding=(1, 0)), 3),
])
def test_small_maps_match_conv2d_forward_backward_and_double_backward(kw, hw, any_width):
    ref, mm = pair(**kw)
    x = torch.randn(3, kw["in_channels"], hw, hw, dtype=torch.float64)
    assert mm.uses_gemm(x)
    ref, mm = ref.double(), mm.double()
    outs = []
    for net in (ref, mm):
        xi = x.clone().requires_grad_()
        y = net(xi)
        g, = torch.autograd.grad(y.square().sum(), xi, create_graph=True)  # as in a gradient penalty
        g.norm().backward()
        outs.append((y.detach(), xi.grad, *(p.grad for p in net.parameters())))
    for a, b in zip(*outs):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("cin, cout, hw, k, s, p, gemm", [
    (1024, 2048, 4, 4, 2, 1, True),   # StarGAN D at 128 px: the last trunk layer
    (512, 1024, 8, 4, 2, 1, True),
    (256, 512, 16, 4, 2, 1, False),   # 8×8 outputs: oneDNN
    (128, 256, 8, 4, 2, 1, False),    # DCGAN's D: a short reduction (128·16)
    (2048, 1, 2, 3, 1, 1, False),     # a one-channel critic head
    (2048, 5, 2, 2, 1, 0, False),     # D_cls
])
def test_the_gemm_is_picked_for_wide_layers_onto_few_pixels(cin, cout, hw, k, s, p, gemm):
    conv = MatmulConv2d(cin, cout, k, s, p)
    assert conv.uses_gemm(torch.empty(2, cin, hw, hw)) is gemm


def test_large_maps_and_strings_keep_conv2d(any_width):
    ref, mm = pair(in_channels=3, out_channels=4, kernel_size=3, padding="same")
    x = torch.randn(2, 3, 9, 9)
    torch.testing.assert_close(mm(x), ref(x))
    ref, mm = pair(in_channels=3, out_channels=4, kernel_size=3, padding=1)
    torch.testing.assert_close(mm(x), ref(x))  # 81 output positions: the ordinary kernel


def test_switching_keeps_parameters_state_dict_and_outputs(any_width):
    d = Discriminator(image_size=32, conv_dim=4, c_dim=3, repeat_num=3)
    params, keys = list(d.parameters()), list(d.state_dict())
    x = torch.randn(2, 3, 32, 32)
    before = d(x)
    use_matmul_convs(d)
    assert {type(m) for m in d.modules() if isinstance(m, nn.Conv2d)} == {MatmulConv2d}
    assert list(d.parameters()) == params and list(d.state_dict()) == keys
    for a, b in zip(before, d(x)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    use_matmul_convs(d, enabled=False)
    assert {type(m) for m in d.modules() if isinstance(m, nn.Conv2d)} == {nn.Conv2d}


def test_bf16_autocast_stays_close():
    ref, mm = pair(in_channels=256, out_channels=64, kernel_size=4, stride=2, padding=1)
    x = torch.randn(4, 256, 4, 4)
    assert mm.uses_gemm(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        a, b = ref(x), mm(x)
    assert b.dtype == a.dtype == torch.bfloat16
    torch.testing.assert_close(b.float(), a.float(), atol=0.05, rtol=0.02)
