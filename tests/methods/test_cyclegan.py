import pytest
import torch

from i2i import losses
from i2i.methods.base import DataInfo
from i2i.methods.cyclegan import CycleGAN, CycleGANConfig

INFO = DataInfo(32, domains=["plain", "striped"])
TINY = dict(netG="resnet_2blocks", ngf=8, ndf=8, pool_size=3)


def batch(n=2):
    return {"A": torch.rand(n, 3, 32, 32) * 2 - 1, "B": torch.rand(n, 3, 32, 32) * 2 - 1}


def test_official_networks_and_defaults():
    m = CycleGAN(CycleGANConfig(), DataInfo(256, domains=["A", "B"]))
    counts = m.summary()
    assert counts["G_A"] == counts["G_B"] == 11378179 and counts["D_A"] == counts["D_B"] == 2764737
    c = CycleGANConfig()
    assert (c.gan_mode, c.lambda_A, c.lambda_B, c.lambda_identity, c.pool_size) == ("lsgan", 10.0, 10.0, 0.5, 50)


def test_one_step_updates_all_four_networks_with_the_official_terms():
    m = CycleGAN(CycleGANConfig(**TINY), INFO)
    before = {k: [p.clone() for p in net.parameters()] for k, net in m.networks().items()}
    logs = m.train_step(batch(), 0)
    assert set(logs) == {f"G/{k}_{d}" for k in ("G", "cycle", "idt") for d in "AB"} | {"D/D_A", "D/D_B"}
    for k, net in m.networks().items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k
    assert int(m.fake_A_pool.count) == int(m.fake_B_pool.count) == 2


def test_identity_weight_zero_drops_the_term():
    m = CycleGAN(CycleGANConfig(lambda_identity=0.0, **TINY), INFO)
    assert not any("idt" in k for k in m.train_step(batch(), 0))


def test_lsgan_loss_on_known_inputs():
    out = torch.tensor([0.0, 1.0, 3.0])
    assert float(losses.lsgan_loss(out, True)) == pytest.approx((1 + 0 + 4) / 3)
    assert float(losses.lsgan_loss(out, False)) == pytest.approx((0 + 1 + 9) / 3)


def test_translate_picks_the_generator_per_target():
    m = CycleGAN(CycleGANConfig(**TINY), INFO)
    x = batch(4)["A"]
    out = m.translate(x, torch.tensor([1, 0, 1, 0]))
    assert torch.allclose(out[0::2], m.G_A(x[0::2]), atol=1e-5)
    assert torch.allclose(out[1::2], m.G_B(x[1::2]), atol=1e-5)
    grid = m.sample_grid(batch(2))
    assert grid.shape == (2, 6, 3, 32, 32)


def test_the_image_pool_is_saved_with_the_weights():
    m = CycleGAN(CycleGANConfig(**TINY), INFO)
    m.train_step(batch(), 0)
    fresh = CycleGAN(CycleGANConfig(**TINY), INFO)
    fresh.load_state_dict(m.state_dict())
    assert torch.equal(fresh.fake_B_pool.images, m.fake_B_pool.images) and int(fresh.fake_B_pool.count) == 2
