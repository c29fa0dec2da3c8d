import pytest
import torch
from torch import nn

from i2i.methods.base import DataInfo
from i2i.methods.dcgan import DCGAN, DCGANConfig


def tiny(size=16, channels=1, **kw) -> DCGAN:
    torch.manual_seed(0)
    return DCGAN(DCGANConfig(z_dim=8, ngf=8, ndf=8, **kw), DataInfo(size, channels=channels, domains=list("0123456789")))


@pytest.mark.parametrize("size,channels", [(16, 1), (32, 1), (64, 3)])
def test_output_shapes(size, channels):
    m = tiny(size, channels)
    x = m.G(torch.randn(5, 8))
    assert x.shape == (5, channels, size, size) and x.abs().max() <= 1  # tanh output
    assert m.D(x).shape == (5,)


def test_paper_guidelines_hold():
    m = tiny(32)
    convs = [l for l in m.modules() if isinstance(l, (nn.Conv2d, nn.ConvTranspose2d))]
    assert not any(isinstance(l, (nn.MaxPool2d, nn.AvgPool2d, nn.Linear)) for l in m.modules())
    assert all(abs(float(c.weight.std()) - 0.02) < 0.005 for c in convs if c.weight.numel() > 2000)
    g, d = list(m.G.main), list(m.D.main)
    assert isinstance(g[-1], nn.Tanh) and not isinstance(g[-2], nn.BatchNorm2d)  # no BN on G's output
    assert isinstance(d[1], nn.LeakyReLU) and d[1].negative_slope == 0.2  # no BN on D's input layer
    assert sum(isinstance(l, nn.BatchNorm2d) for l in m.modules()) > 0


def test_one_step_updates_both_networks():
    m = tiny()
    before = {k: [p.clone() for p in net.parameters()] for k, net in m.networks().items()}
    logs = m.train_step({"image": torch.rand(6, 1, 16, 16) * 2 - 1, "label": torch.zeros(6)}, 0)
    assert set(logs) == {"D/loss_real", "D/loss_fake", "G/loss_fake"}
    for k, net in m.networks().items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k


def test_generate_is_seeded_and_independent_of_batch_composition():
    m = tiny()
    m.train_step({"image": torch.rand(6, 1, 16, 16) * 2 - 1, "label": torch.zeros(6)}, 0)
    a = m.generate(6, generator=torch.Generator().manual_seed(3))
    b = m.generate(6, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (6, 1, 16, 16)
    assert torch.allclose(m.generate(2, generator=torch.Generator().manual_seed(3)), a[:2], atol=1e-6)
    assert m.G.training  # generate() puts batch norm back as it found it
    assert m.sample_grid({}).shape == (8, 8, 1, 16, 16)


def tiny_cgan(size=16):
    from i2i.methods.cgan import CGAN
    torch.manual_seed(0)
    return CGAN(DCGANConfig(z_dim=8, ngf=8, ndf=8), DataInfo(size, channels=1, domains=list("0123456789")))


def test_cgan_feeds_the_condition_to_both_networks():
    m = tiny_cgan()
    assert m.G.main[0].in_channels == 8 + 10 and m.D.main[0].in_channels == 1 + 10
    batch = {"image": torch.rand(6, 1, 16, 16) * 2 - 1, "label": torch.arange(6)}
    assert set(m.train_step(batch, 0)) == {"D/loss_real", "D/loss_fake", "G/loss_fake"}
    g = torch.Generator().manual_seed(1)
    z = m.latent(4, 7, g)
    assert torch.equal(z[:, 8:].argmax(1), torch.full((4,), 7))  # the requested class, one-hot
    a, b = m.generate(4, 7, torch.Generator().manual_seed(1)), m.generate(4, 3, torch.Generator().manual_seed(1))
    assert a.shape == (4, 1, 16, 16) and not torch.allclose(a, b)  # same noise, another class
    assert m.sample_grid({}).shape == (10, 8, 1, 16, 16)


def test_cgan_refuses_attribute_labels():
    from i2i.methods.cgan import CGAN
    with pytest.raises(ValueError, match="single-label"):
        CGAN(DCGANConfig(), DataInfo(16, channels=1, attributes=["a", "b"]))
