import torch
from torch import nn

from i2i.methods.base import DataInfo
from i2i.methods.wgan import WGAN, WGANConfig
from i2i.methods.wgan_gp import WGANGP, WGANGPConfig

INFO = DataInfo(16, channels=1, domains=list("0123456789"))


def batch(n=6):
    return {"image": torch.rand(n, 1, 16, 16) * 2 - 1, "label": torch.zeros(n)}


def test_clipping_keeps_every_critic_weight_within_c():
    torch.manual_seed(0)
    m = WGAN(WGANConfig(z_dim=8, ngf=8, ndf=8, lr=0.5, clip=0.01), INFO)  # a large lr pushes weights out
    m.train_step(batch(), 0)
    assert max(float(p.abs().max()) for p in m.D.parameters()) <= 0.01
    assert isinstance(m.optimizers()["D"], torch.optim.RMSprop)


def test_generator_waits_for_the_critic_warm_up_then_n_critic():
    torch.manual_seed(0)
    m = WGAN(WGANConfig(z_dim=8, ngf=8, ndf=8, n_critic=2, n_critic_warm=4), INFO)
    g_steps = [s for s in range(4 * 25 + 6) if "G/loss_fake" in m.train_step(batch(2), s)]
    assert g_steps[:2] == [3, 7]               # 4 critic updates before each of the first 25
    assert g_steps[25:27] == [4 * 25 + 1, 4 * 25 + 3]  # then every 2nd
    assert int(m.g_updates) == len(g_steps)


def test_schedule_position_is_saved_with_the_weights():
    torch.manual_seed(0)
    m = WGAN(WGANConfig(z_dim=8, ngf=8, ndf=8, n_critic_warm=3), INFO)
    for s in range(5):
        m.train_step(batch(2), s)
    state = m.state_dict()
    assert int(state["g_updates"]) == 1 and int(state["critic_updates"]) == 2
    fresh = WGAN(WGANConfig(z_dim=8, ngf=8, ndf=8, n_critic_warm=3), INFO)
    fresh.load_state_dict(state)
    assert int(fresh.g_updates) == 1 and int(fresh.critic_updates) == 2


def test_wgan_gp_critic_has_no_batch_norm_and_logs_the_penalty():
    torch.manual_seed(0)
    m = WGANGP(WGANGPConfig(z_dim=8, ngf=8, ndf=8), INFO)
    assert not any(isinstance(l, nn.BatchNorm2d) for l in m.D.modules())
    logs = [m.train_step(batch(), s) for s in range(5)]
    assert all("D/gp" in l for l in logs) and "G/loss_fake" in logs[4] and "G/loss_fake" not in logs[3]
    assert max(float(p.abs().max()) for p in m.D.parameters()) > 0.01  # no clipping
    opt = m.optimizers()["D"]
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["betas"] == (0.0, 0.9) and opt.defaults["lr"] == 1e-4


def test_wgan_gp_linear_decay_and_toy_networks_for_points():
    assert WGANGP(WGANGPConfig(), INFO).lr_factor(30, 40) == 1.0
    m = WGANGP(WGANGPConfig(z_dim=2, mlp_dim=16, linear_decay=True), DataInfo(0, 1, points=2, domains=["a"]))
    assert m.lr_factor(30, 40) == 0.25
    assert [l.out_features for l in m.G if isinstance(l, nn.Linear)] == [16, 16, 16, 2]
    logs = m.train_step({"image": torch.randn(8, 2), "label": torch.zeros(8)}, 0)
    assert "D/gp" in logs and m.generate(5).shape == (5, 2)
