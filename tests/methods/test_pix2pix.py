import pytest
import torch

from i2i import losses
from i2i.methods.base import DataInfo
from i2i.methods.pix2pix import Pix2Pix, Pix2PixConfig

INFO = DataInfo(32, domains=["labels", "render"])
TINY = dict(netG="unet_32", ngf=8, ndf=8)


def batch(n=2):
    return {"A": torch.rand(n, 3, 32, 32) * 2 - 1, "B": torch.rand(n, 3, 32, 32) * 2 - 1}


def test_official_networks_and_defaults():
    m = Pix2Pix(Pix2PixConfig(), DataInfo(256, domains=["A", "B"]))
    assert m.summary() == {"G": 54413955, "D": 2768705}  # junyanz prints 54.414 M and 2.769 M
    assert m.D.model[0].in_channels == 6  # D sees the (input, output) pair
    c = Pix2PixConfig()
    assert (c.gan_mode, c.lambda_L1, c.lr, c.beta1, c.norm, c.dropout) == ("vanilla", 100.0, 2e-4, 0.5, "batch", True)
    assert Pix2Pix.train_defaults["batch_size"] == 1


def test_one_step_updates_both_and_logs_the_paper_terms():
    m = Pix2Pix(Pix2PixConfig(**TINY), INFO)
    before = {k: [p.clone() for p in net.parameters()] for k, net in m.networks().items()}
    logs = m.train_step(batch(), 0)
    assert set(logs) == {"D/loss_real", "D/loss_fake", "G/loss_GAN", "G/loss_L1"}
    for k, net in m.networks().items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k
    assert all(p.requires_grad for p in m.D.parameters())  # unfrozen after G's step


def test_generator_loss_is_gan_plus_lambda_l1():
    m = Pix2Pix(Pix2PixConfig(**TINY), INFO)
    b = batch()
    logs = m.train_step(b, 0)
    assert logs["G/loss_L1"] > 0.1  # a fresh G is far from B
    out = torch.tensor([[0.3, -2.0]])
    assert losses.gan_loss(out, True, "vanilla") == pytest.approx(float(torch.nn.functional.softplus(-out).mean()))


def test_official_test_mode_is_train_mode_one_image_at_a_time_and_leaves_statistics_alone():
    # unet_64 has one ngf·8 block with dropout (num_downs − 5 of them, as the official U-Net)
    m = Pix2Pix(Pix2PixConfig(netG="unet_64", ngf=8, ndf=8), DataInfo(64, domains=["A", "B"]))
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    m.train_step({"A": x, "B": x.flip(3)}, 0)
    stats = [b.clone() for b in m.G.buffers()]
    torch.manual_seed(1)
    a = m.translate(x)
    torch.manual_seed(2)
    b = m.translate(x)
    assert not torch.equal(a, b)  # dropout is on, as in junyanz's test.py without --eval
    assert all(torch.equal(s, t) for s, t in zip(stats, m.G.buffers()))
    m.cfg.eval_mode = True
    assert torch.equal(m.translate(x), m.translate(x))


def test_direction_swaps_the_roles_and_a_bad_one_is_named():
    m = Pix2Pix(Pix2PixConfig(direction="BtoA", **TINY), INFO)
    b = batch()
    a_in, b_out = m.pair(b)
    assert torch.equal(a_in, b["B"]) and torch.equal(b_out, b["A"])
    with pytest.raises(ValueError, match="direction"):
        Pix2Pix(Pix2PixConfig(direction="sideways", **TINY), INFO)


def test_learning_rate_is_constant_for_half_the_run_then_falls_linearly():
    m = Pix2Pix(Pix2PixConfig(**TINY), INFO)
    assert [m.lr_factor(s, 100) for s in (0, 49, 50, 75, 99)] == [1.0, 1.0, 1.0, 0.5, 0.02]
