import pytest
import torch
import torch.nn.functional as F

from i2i.methods.base import DataInfo
from i2i.methods.infogan import InfoGAN, InfoGANConfig, info_loss


def tiny(size=16) -> InfoGAN:
    torch.manual_seed(0)
    return InfoGAN(InfoGANConfig(), DataInfo(size, channels=1, domains=list("0123456789")))


def test_networks_as_the_official_mnist_model():
    m = tiny(28)
    x = m.G(m.latent(4, None, torch.Generator().manual_seed(0)))
    assert x.shape == (4, 1, 28, 28) and x.abs().max() <= 1
    d, q = m.D(x)
    assert d.shape == (4,) and q.shape == (4, 10 + 2)
    assert m.G[0].in_features == 62 + 10 + 2 and m.G[3].out_features == 7 * 7 * 128
    assert m.D.Q[0].in_features == 1024 and m.D.Q[0].out_features == 128  # Q shares D's trunk
    groups = m.optimizers()
    assert groups["G"].param_groups[0]["lr"] == 1e-3 and groups["D"].param_groups[0]["lr"] == 2e-4
    assert {id(p) for p in m.D.Q.parameters()} <= {id(p) for p in groups["D"].param_groups[0]["params"]}


def test_info_loss_is_the_cross_entropy_it_claims():
    q = torch.randn(5, 12)
    cat, cont = torch.tensor([0, 3, 9, 9, 1]), torch.rand(5, 2) * 2 - 1
    exact = torch.cat([q[:, :10], cont], 1)  # continuous means right: only the cross-entropy is left
    assert info_loss(exact, cat, cont) == pytest.approx(float(F.cross_entropy(q[:, :10], cat)), abs=1e-6)
    off = torch.cat([q[:, :10], cont + torch.tensor([1.0, 2.0])], 1)  # Gaussian NLL, σ 1: ½(1 + 4)
    assert info_loss(off, cat, cont) == pytest.approx(float(F.cross_entropy(q[:, :10], cat)) + 2.5, abs=1e-5)


def test_one_step_updates_generator_discriminator_and_q():
    m = tiny()
    before = {k: [p.clone() for p in net.parameters()] for k, net in {**m.networks(), "Q": m.D.Q}.items()}
    logs = m.train_step({"image": torch.rand(8, 1, 16, 16) * 2 - 1, "label": torch.zeros(8)}, 0)
    assert set(logs) == {"D/loss_real", "D/loss_fake", "D/loss_info", "G/loss_fake", "G/loss_info"}
    for k, net in {**m.networks(), "Q": m.D.Q}.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k


def test_traverse_rows_are_categories_and_columns_sweep_one_code():
    m = tiny()
    m.train_step({"image": torch.rand(8, 1, 16, 16) * 2 - 1, "label": torch.zeros(8)}, 0)
    grid = m.traverse(2, 5, generator=torch.Generator().manual_seed(0))
    assert grid.shape == (10, 5, 1, 16, 16)
    assert not torch.allclose(grid[0, 0], grid[0, -1]) and not torch.allclose(grid[0, 0], grid[1, 0])
    with pytest.raises(ValueError, match="code 3"):
        m.traverse(3)
    assert m.read_category(torch.rand(7, 1, 16, 16)).shape == (7,)
    before = [b.clone() for b in m.D.buffers()]
    m.read_category(torch.rand(7, 1, 16, 16))
    assert all(torch.equal(a, b) for a, b in zip(before, m.D.buffers()))  # running statistics untouched


def test_parameter_counts_follow_the_official_layers_at_28px():
    # every official layer has a bias; batch norm has a scale and a shift
    g = (74 * 1024 + 1024) + 2 * 1024 + (1024 * 6272 + 6272) + 2 * 6272 + (128 * 64 * 16 + 64) + 2 * 64 + (64 * 16 + 1)
    trunk = (16 * 64 + 64) + (64 * 128 * 16 + 128) + 2 * 128 + (6272 * 1024 + 1024) + 2 * 1024
    d = trunk + (1024 + 1) + (1024 * 128 + 128) + 2 * 128 + (128 * 12 + 12)
    assert tiny(28).summary() == {"G": g, "D": d}
