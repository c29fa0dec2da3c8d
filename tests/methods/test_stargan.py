import pytest
import torch

from i2i.methods.base import DataInfo, available, get_method
from i2i.methods.stargan import StarGAN, StarGANConfig

OFFICIAL = [  # (image_size, c_dim, G, D) measured on yunjey/stargan
    (128, 5, 8_430_528, 44_762_048),
    (128, 8, 8_439_936, 44_786_624),
    (256, 5, 8_430_528, 44_884_928),
]


@pytest.mark.parametrize("size,c,g,d", OFFICIAL)
def test_parameter_counts_equal_the_official_code(size, c, g, d):
    m = StarGAN(StarGANConfig(), DataInfo(size, attributes=[f"a{i}" for i in range(c)]))
    assert m.summary() == {"G": g, "D": d}


def test_joint_celeba_rafd_generator_count():
    # Joint training feeds 15 labels (5 + 8 + a 2-way mask) to G; D classifies the 13 real ones.
    g = StarGAN(StarGANConfig(), DataInfo(128, attributes=[f"a{i}" for i in range(15)])).G
    assert sum(p.numel() for p in g.parameters()) == 8_461_888


def test_registry_finds_stargan_by_name():
    assert "stargan" in available()
    assert get_method("stargan") is StarGAN


def tiny(attrs=("red", "green", "blue", "striped", "large"), domains=(), g_norm="instance"):
    cfg = StarGANConfig(g_conv_dim=8, d_conv_dim=8, g_repeat_num=1, d_repeat_num=3, n_critic=2, g_norm=g_norm)
    info = DataInfo(16, attributes=list(attrs), domains=list(domains), exclusive=[["red", "green", "blue"]] if attrs else [])
    return StarGAN(cfg, info)


def test_shapes_and_patch_outputs():
    m = tiny()
    x = torch.randn(2, 3, 16, 16)
    assert m.G(x, torch.ones(2, 5)).shape == x.shape
    src, cls = m.D(x)
    assert src.shape == (2, 1, 2, 2) and cls.shape == (2, 5)


def test_train_step_updates_d_every_step_and_g_every_n_critic():
    m = tiny()
    batch = {"image": torch.rand(4, 3, 16, 16) * 2 - 1, "label": torch.randint(0, 2, (4, 5)).float()}
    g0 = [p.clone() for p in m.G.parameters()]
    logs = m.train_step(batch, step=0)
    assert set(logs) == {"D/loss_real", "D/loss_fake", "D/loss_cls", "D/loss_gp"}
    assert all(torch.equal(a, b) for a, b in zip(g0, m.G.parameters()))
    logs = m.train_step(batch, step=1)
    assert {"G/loss_fake", "G/loss_rec", "G/loss_cls"} <= set(logs)
    assert not all(torch.equal(a, b) for a, b in zip(g0, m.G.parameters()))


def test_single_label_domains_use_one_hot_conditions():
    m = tiny(attrs=(), domains=("a", "b", "c"))
    batch = {"image": torch.rand(4, 3, 16, 16) * 2 - 1, "label": torch.tensor([0, 1, 2, 1])}
    assert all(torch.isfinite(torch.tensor(v)) for v in m.train_step(batch, 1).values())
    assert m.sample_grid(batch).shape == (4, 4, 3, 16, 16)


def test_grid_targets_set_one_colour_and_flip_binary_attributes():
    m = tiny()
    label = torch.tensor([[1.0, 0, 0, 1, 0]])
    targets = [t[0].tolist() for t in m.grid_targets(label)]
    assert targets == [[1, 0, 0, 1, 0], [0, 1, 0, 1, 0], [0, 0, 1, 1, 0], [1, 0, 0, 0, 0], [1, 0, 0, 1, 1]]


def test_lr_decays_linearly_to_zero_over_the_last_decay_steps():
    m = tiny()
    m.cfg.decay_steps = 100
    assert m.lr_factor(0, 200) == 1.0 and m.lr_factor(100, 200) == 1.0
    assert m.lr_factor(150, 200) == pytest.approx(0.5) and m.lr_factor(200, 200) == 0.0


def test_warmup_trains_g_alone_to_reconstruct_its_input():
    m = tiny()
    m.cfg.warmup_steps = 2
    batch = {"image": torch.rand(4, 3, 16, 16) * 2 - 1, "label": torch.randint(0, 2, (4, 5)).float()}
    d0 = [p.clone() for p in m.D.parameters()]
    assert set(m.train_step(batch, step=1)) == {"G/loss_id"}
    assert all(torch.equal(a, b) for a, b in zip(d0, m.D.parameters()))
    assert "D/loss_gp" in m.train_step(batch, step=2)


def test_batch_norm_generator_keeps_the_official_parameter_count():
    info = DataInfo(128, attributes=[f"a{i}" for i in range(5)])
    assert StarGAN(StarGANConfig(g_norm="batch"), info).summary() == {"G": 8_430_528, "D": 44_762_048}
    with pytest.raises(ValueError, match="g_norm"):
        StarGAN(StarGANConfig(g_norm="layer"), info)


def test_batch_norm_translation_does_not_depend_on_the_batch():
    m = tiny(g_norm="batch")
    batch = {"image": torch.rand(8, 3, 16, 16) * 2 - 1, "label": torch.randint(0, 2, (8, 5)).float()}
    for step in range(4):
        m.train_step(batch, step)
    x, t = batch["image"], torch.ones(8, 5)
    assert m.G.training  # translate switches to running statistics and back
    alone = m.translate(x[:1], t[:1])
    assert torch.allclose(m.translate(x, t)[:1], alone, atol=1e-5) and m.G.training
    # instance norm (official) keeps per-image statistics, so it is batch-independent as is
    m2 = tiny()
    assert torch.allclose(m2.translate(x, t)[:1], m2.translate(x[:1], t[:1]), atol=1e-5)
