import pytest
import torch
from torch import nn

from i2i.nn.init import he_init, normal_init
from i2i.nn.norm import conv_bias, norm_2d


def test_the_three_norms_and_which_convs_keep_a_bias():
    batch = norm_2d("batch")(8)
    assert isinstance(batch, nn.BatchNorm2d) and batch.affine and batch.track_running_stats
    inst = norm_2d("instance")(8)
    assert isinstance(inst, nn.InstanceNorm2d) and not inst.affine and not inst.track_running_stats
    assert sum(p.numel() for p in inst.parameters()) == 0 and len(list(inst.buffers())) == 0
    assert isinstance(norm_2d("none")(8), nn.Identity)
    # junyanz: a bias only in front of instance norm, so "none" convs have none either.
    assert [conv_bias(k) for k in ("batch", "instance", "none")] == [False, True, False]


def test_instance_norm_uses_per_image_statistics_in_eval_too():
    x = torch.randn(2, 3, 5, 5) * 4 + 7
    out = norm_2d("instance")(3).eval()(x)
    torch.testing.assert_close(out.mean((2, 3)), torch.zeros(2, 3), atol=1e-5, rtol=0)


@pytest.mark.parametrize("fn", [norm_2d, conv_bias])
def test_an_unknown_norm_names_the_allowed_ones(fn):
    with pytest.raises(ValueError, match="'batch', 'instance', 'none'.*'layer'"):
        fn("layer")


def test_normal_init_matches_junyanz():
    net = nn.Sequential(nn.Conv2d(256, 256, 3), nn.BatchNorm2d(256), nn.ConvTranspose2d(256, 8, 3),
                        nn.Linear(4, 4), nn.InstanceNorm2d(4))
    net.apply(normal_init)
    conv, bn, up, fc = net[0], net[1], net[2], net[3]
    assert abs(conv.weight.std().item() - 0.02) < 5e-4 and abs(conv.weight.mean().item()) < 5e-4
    assert abs(bn.weight.mean().item() - 1.0) < 0.01 and abs(bn.weight.std().item() - 0.02) < 0.005
    assert abs(up.weight.std().item() - 0.02) < 1e-3
    assert all(m.bias.abs().max() == 0 for m in (conv, bn, up, fc))


def test_normal_init_takes_another_gain_and_leaves_he_init_alone():
    conv = nn.Conv2d(128, 128, 3)
    normal_init(conv, gain=0.1)
    assert abs(conv.weight.std().item() - 0.1) < 2e-3
    he_init(conv)
    assert abs(conv.weight.std().item() - (2 / (128 * 9)) ** 0.5) < 2e-3
