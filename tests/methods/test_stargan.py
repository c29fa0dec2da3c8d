import copy

import pytest
import torch

from i2i import losses
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


CELEBA_RAFD = [{"name": "celeba", "labels": [f"c{i}" for i in range(5)], "multi_label": True},
               {"name": "rafd", "labels": [f"e{i}" for i in range(8)], "multi_label": False}]


def joint_info(size=128, parts=CELEBA_RAFD):
    labels = [a for d in parts for a in d["labels"]]
    return DataInfo(size, attributes=labels, datasets=parts,
                    exclusive=[d["labels"] for d in parts if not d["multi_label"]])


def test_joint_celeba_rafd_counts_equal_the_official_code():
    # G reads 15 labels (5 + 8 + the 2-way mask); D classifies the 13 real ones.
    m = StarGAN(StarGANConfig(), joint_info())
    assert m.mask_dim == 2 and m.summary() == {"G": 8_461_888, "D": 44_827_584}


def tiny_joint():
    parts = [{"name": "colours", "labels": ["red", "green", "blue"], "multi_label": True},
             {"name": "moods", "labels": ["calm", "angry"], "multi_label": False}]
    cfg = StarGANConfig(g_conv_dim=8, d_conv_dim=8, g_repeat_num=1, d_repeat_num=3, n_critic=1)
    return StarGAN(cfg, joint_info(16, parts))


def test_the_condition_is_labels_then_mask_and_a_joint_model_needs_the_mask():
    m = tiny_joint()
    label, mask = torch.tensor([[0, 1.0, 0, 0, 0]]), torch.tensor([[1.0, 0]])
    assert m.as_condition(label, mask).tolist() == [[0, 1, 0, 0, 0, 1, 0]]
    with pytest.raises(ValueError, match="mask"):
        m.as_condition(label)
    # dataset 1's labels on any image: the other slice zeroed, the mask naming dataset 1
    assert m.joint_condition(torch.tensor([[1.0, 0, 0, 0, 1]]), 1).tolist() == [[0, 0, 0, 0, 1, 0, 1]]


def test_only_the_known_slice_of_the_classifier_is_trained():
    m = tiny_joint()
    logits = torch.zeros(2, 5, requires_grad=True)
    label = torch.tensor([[1.0, 0, 0, 0, 0], [0, 0, 0, 0, 1]])  # row 0: colours; row 1: mood "angry"
    mask = torch.tensor([[1.0, 0], [0, 1]])
    loss = m.classification_loss(logits, label, mask)
    loss.backward()
    g = logits.grad
    assert (g[0, 3:] == 0).all() and (g[1, :3] == 0).all() and (g[0, :3] != 0).all() and (g[1, 3:] != 0).all()
    # BCE summed over the colour slice (3·log 2) plus softmax CE over the moods (log 2)
    assert float(loss.detach()) == pytest.approx(4 * torch.log(torch.tensor(2.0)).item(), rel=1e-5)


def test_a_joint_step_trains_on_each_datasets_batches():
    m = tiny_joint()
    for k, label in enumerate([torch.tensor([[1.0, 0, 0, 0, 0]] * 4), torch.tensor([[0, 0, 0, 1.0, 0]] * 4)]):
        mask = torch.zeros(4, 2)
        mask[:, k] = 1
        logs = m.train_step({"image": torch.rand(4, 3, 16, 16) * 2 - 1, "label": label, "mask": mask}, k)
        assert {"D/loss_cls", "G/loss_cls", "G/loss_rec"} <= set(logs) and all(map(torch.isfinite, map(torch.tensor, logs.values())))
    grid = m.sample_grid({"image": torch.rand(2, 3, 16, 16), "label": label[:2], "mask": mask[:2]})
    assert grid.shape == (2, 1 + 5, 3, 16, 16)


def test_stargan_refuses_unlabelled_images():
    from i2i.errors import I2IError
    m = tiny()
    batch = {"image": torch.rand(4, 3, 16, 16), "label": torch.full((4, 5), -1.0), "mask": torch.zeros(4, 1)}
    with pytest.raises(I2IError, match="labelled images only"):
        m.train_step(batch, 0)


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


def test_lr_update_step_reproduces_the_official_schedule_as_written():
    """yunjey's solver.py, replayed: after iteration i+1, when (i+1) % lr_update_step == 0 and
    i+1 > num_iters - num_iters_decay, g_lr -= g_lr0 / num_iters_decay. The lr of each iteration
    equals lr0 * lr_factor(i); with the official defaults the run ends at 99.9% of lr0."""
    m = tiny()
    for total, decay, every in ((200, 100, 10), (250, 120, 7), (50, 80, 1)):
        m.cfg.decay_steps, m.cfg.lr_update_step = decay, every
        lr = 1.0
        for i in range(total):
            assert m.lr_factor(i, total) == pytest.approx(lr, abs=1e-12), (total, decay, every, i)
            if (i + 1) % every == 0 and (i + 1) > total - decay:
                lr -= 1.0 / decay
    m.cfg.decay_steps, m.cfg.lr_update_step = 100_000, 1000
    assert m.lr_factor(199_999, 200_000) == pytest.approx(0.99901)  # the last iteration's
    assert m.lr_factor(200_000, 200_000) == pytest.approx(0.999)
    m.cfg.lr_update_step = 0  # the paper's decay, i2i's default
    assert m.lr_factor(199_999, 200_000) == pytest.approx(1e-5)


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


def test_gp_fp32_under_bf16_takes_a_float32_penalty_and_leaves_d_trainable():
    torch.manual_seed(0)
    batch = {"image": torch.rand(4, 3, 16, 16) * 2 - 1, "label": torch.randint(0, 2, (4, 5)).float()}
    logs = {}
    for gp_fp32 in (False, True):
        torch.manual_seed(0)
        m = tiny()
        m.penalty_fp32 = gp_fp32
        m.amp_dtype = torch.bfloat16
        logs[gp_fp32] = [m.train_step(batch, step=s) for s in range(2)]  # step 1 updates G with D frozen
        assert all(p.requires_grad for p in m.D.parameters())
    # the same losses but for bf16 rounding in the penalty
    assert logs[True][0]["D/loss_gp"] == pytest.approx(logs[False][0]["D/loss_gp"], rel=0.05, abs=1e-3)
    assert logs[True][0]["D/loss_real"] == logs[False][0]["D/loss_real"]


def test_a_g_step_reuses_the_d_steps_fake_and_gets_the_gradient_of_a_fresh_pass():
    torch.manual_seed(0)
    m = tiny()
    batch = {"image": torch.rand(4, 3, 16, 16) * 2 - 1, "label": torch.randint(0, 2, (4, 5)).float()}
    m.train_step(batch, step=0)  # D only
    calls, seen = [], {}
    m.G.register_forward_hook(lambda mod, inp, out: calls.append((inp[0].detach(), inp[1])))

    def before_g_update(opt, *_):  # G's gradient and weights, just before its update
        seen["grads"] = [p.grad.clone() for p in m.G.parameters()]
        seen["G"] = copy.deepcopy(m.G)
    m.optimizers()["G"].register_step_pre_hook(before_g_update)
    logs = m.train_step(batch, step=1)
    assert len(calls) == 2  # G(x, c_trg) once for both D and G, then the way back: not three passes

    # L_G from fresh passes of the same G through the updated D.
    (x_real, c_trg), (_, c_org) = calls
    G = seen["G"]
    x_fake = G(x_real, c_trg)
    fake_src, fake_cls = m.D(x_fake)
    label_trg = c_trg  # single-label slices and binary attributes: the condition is the label
    terms = {"G/loss_fake": losses.wgan_generator_loss(fake_src), "G/loss_rec": losses.l1(x_real, G(x_fake, c_org)),
             "G/loss_cls": m.classification_loss(fake_cls, label_trg, None)}
    assert {k: pytest.approx(v.item(), rel=1e-6) for k, v in terms.items()} == {k: logs[k] for k in terms}
    m.weighted(terms).backward()
    for p, g in zip(G.parameters(), seen["grads"]):
        assert torch.allclose(p.grad, g, rtol=1e-5, atol=1e-7)
