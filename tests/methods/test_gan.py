import pytest
import torch
from torch import nn

from i2i.methods.base import DataInfo
from i2i.methods.gan import GAN, GANConfig
from i2i.nn.mlp import Maxout
from i2i.train.trainer import apply_schedule

DIGITS = list("0123456789")


def tiny(**kw) -> GAN:
    torch.manual_seed(0)
    return GAN(GANConfig(z_dim=8, g_hidden=[32, 32], d_units=16, d_pieces=3, **kw), DataInfo(16, channels=1, domains=DIGITS))


def test_official_mnist_networks():
    """goodfeli/adversarial mnist.yaml: G 100-1200-1200-784, D maxout 240x5 twice, one output."""
    m = GAN(GANConfig(), DataInfo(28, channels=1, domains=DIGITS))
    assert m.summary() == {"G": 100 * 1200 + 1200 + 1200 * 1200 + 1200 + 1200 * 784 + 784,
                           "D": 784 * 1200 + 1200 + 240 * 1200 + 1200 + 240 + 1}
    x = m.G(torch.randn(3, 100))
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1 and m.D(x).shape == (3,)
    drops = [l.p for l in m.D.modules() if isinstance(l, nn.Dropout)]
    assert drops == pytest.approx([0.2, 0.5, 0.5])


def test_maxout_is_the_max_over_pieces():
    unit = Maxout(4, 3, 5)
    x = torch.randn(6, 4)
    assert torch.equal(unit(x), unit.linear(x).view(6, 3, 5).max(-1).values)


def test_one_step_updates_both_networks_and_follows_the_official_schedule():
    m = tiny(momentum_steps=10)
    before = {k: [p.clone() for p in net.parameters()] for k, net in m.networks().items()}
    apply_schedule(m.optimizers(), m.schedule(5, 100))  # as the trainer runs it: schedule, then step
    logs = m.train_step({"image": torch.rand(6, 1, 16, 16) * 2 - 1, "label": torch.zeros(6)}, 5)
    assert set(logs) == {"D/loss_real", "D/loss_fake", "G/loss_fake"}
    for k, net in m.networks().items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k
    assert m.optimizers()["G"].param_groups[0]["momentum"] == pytest.approx(0.6)  # halfway 0.5 -> 0.7
    assert m.lr_factor(1000, 0) == pytest.approx(1.000004 ** -1000)
    assert m.lr_factor(10 ** 8, 0) == pytest.approx(1e-6 / 0.1)  # the floor


def test_points_need_no_image_shape():
    torch.manual_seed(0)
    m = GAN(GANConfig(z_dim=2, g_hidden=[16], d_units=8), DataInfo(0, channels=1, points=2, domains=["a"]))
    m.train_step({"image": torch.randn(5, 2), "label": torch.zeros(5)}, 0)
    assert m.generate(7).shape == (7, 2)
    assert m.sample_grid({}).shape[:3] == (1, 1, 3)  # a scatter plot
