import pytest
import torch

from i2i.methods.base import DataInfo
from i2i.methods.dtn import DTN, DTNConfig, total_variation
from i2i.train.trainer import apply_schedule

INFO = DataInfo(16, channels=3, domains=["svhn", "digits"])


def batch(n=4):
    return {"A": torch.rand(n, 3, 16, 16) * 2 - 1, "label_A": torch.arange(n) % 10, "B": torch.rand(n, 1, 16, 16) * 2 - 1}


def test_total_variation_on_known_images():
    flat = torch.zeros(1, 1, 4, 4)
    assert float(total_variation(flat)) == 0.0
    stripes = torch.tensor([[0.0, 1.0, 0.0, 1.0]]).expand(4, 4)[None, None]  # every horizontal step differs by 1
    assert float(total_variation(stripes)) == pytest.approx(1.0)


def test_f_trains_first_then_stays_fixed_while_g_and_d_learn():
    m = DTN(DTNConfig(f_steps=1), INFO)
    f0 = [p.clone() for p in m.f.parameters()]
    assert set(m.train_step(batch(), 0)) == {"f/loss_cls"}
    f1 = [p.clone() for p in m.f.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(f0, f1))
    g0, d0 = [p.clone() for p in m.g.parameters()], [p.clone() for p in m.D.parameters()]
    logs = m.train_step(batch(), 1)
    assert set(logs) == {"D/loss", "G/loss_GANG", "G/loss_CONST", "G/loss_TID", "G/loss_TV"}
    assert all(torch.equal(a, b) for a, b in zip(f1, m.f.parameters()))  # f is fixed after its stage
    assert any(not torch.equal(a, b) for a, b in zip(g0, m.g.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, m.D.parameters()))


def test_shapes_and_the_three_way_discriminator():
    m = DTN(DTNConfig(), INFO)
    x = batch()
    out = m.translate(x["A"])
    assert out.shape == (4, 1, 16, 16) and out.abs().max() <= 1
    assert m.translate(x["B"]).shape == (4, 1, 16, 16)  # target images go through f as three channels
    assert m.D(out).shape == (4, 3)
    with pytest.raises(ValueError, match="multiple of 8"):
        DTN(DTNConfig(), DataInfo(12, channels=3, domains=["svhn", "digits"]))


def test_svhn_to_digits_pairs_disjoint_halves():
    from i2i.data.digits import SVHNToDigits
    d = SVHNToDigits("test", 16, train=False)
    item = d[3]
    assert item["A"].shape == (3, 16, 16) and item["B"].shape == (1, 16, 16) and 0 <= int(item["label_A"]) <= 9
    assert d.domains == ["svhn", "digits"] and not d.paired


def test_random_shift_moves_each_image_and_replicates_edges():
    from i2i.methods.dtn import random_shift
    x = torch.arange(16.0).view(1, 1, 4, 4).repeat(64, 2, 1, 1)
    torch.manual_seed(0)
    y = random_shift(x, 1)
    assert y.shape == x.shape and torch.equal(y[:, 0], y[:, 1])  # one shift for all channels of an image
    assert torch.equal(random_shift(x, 0), x)
    moved = [i for i in range(64) if not torch.equal(y[i], x[i])]
    assert 40 < len(moved) < 64  # 8 of 9 shifts move the image
    for i in moved:  # every output is a shifted copy of the input, borders repeated
        ok = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                p = torch.nn.functional.pad(x[i:i + 1], [1] * 4, mode="replicate")[0]
                ok.append(torch.equal(y[i], p[:, 1 - dy:5 - dy, 1 - dx:5 - dx]))
        assert sum(ok) == 1


def test_f_stage_regularisers_change_f_but_not_the_paper_default():
    cfg = DTNConfig(f_steps=1, f_shift=2, f_dropout=0.5, f_weight_decay=1e-2)
    m = DTN(cfg, INFO)
    assert m.optimizers()["f"].param_groups[0]["weight_decay"] == 1e-2
    assert DTN(DTNConfig(), INFO).optimizers()["f"].param_groups[0]["weight_decay"] == 0.0
    f0 = [p.clone() for p in m.f.parameters()]
    logs = m.train_step(batch(8), 0)
    assert set(logs) == {"f/loss_cls"} and logs["f/loss_cls"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(f0, m.f.parameters()))


def test_f_lr_decay_is_linear_over_fs_stage():
    m = DTN(DTNConfig(f_steps=4, f_lr=1e-3, f_lr_decay=True), INFO)
    for step in range(4):  # as the trainer runs it: the method's schedule, then its step
        apply_schedule(m.optimizers(), m.schedule(step, 10))
        m.train_step(batch(), step)
        assert m.optimizers()["f"].param_groups[0]["lr"] == pytest.approx(1e-3 * (1 - step / 4))
    plain = DTN(DTNConfig(f_steps=4, f_lr=1e-3), INFO)
    apply_schedule(plain.optimizers(), plain.schedule(3, 10))
    plain.train_step(batch(), 3)
    assert plain.optimizers()["f"].param_groups[0]["lr"] == 1e-3


def test_g_joint_batch_decodes_both_domains_with_one_set_of_batch_statistics():
    torch.manual_seed(0)
    m = DTN(DTNConfig(f_steps=0, g_joint_batch=True), INFO)
    seen = []
    m.g.main[1].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[0]))
    logs = m.train_step(batch(4), 0)
    assert seen == [8]  # one pass over 4 source and 4 target codes
    assert set(logs) == {"D/loss", "G/loss_GANG", "G/loss_CONST", "G/loss_TID", "G/loss_TV"}
    assert all(v == v for v in logs.values())
    seen.clear()
    m2 = DTN(DTNConfig(f_steps=0), INFO)
    m2.g.main[1].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[0]))
    m2.train_step(batch(4), 0)
    assert seen == [4, 4]  # the paper's separate passes


def test_lr_decay_falls_linearly_over_the_transfer_stage_only():
    m = DTN(DTNConfig(f_steps=100, lr_decay=True), INFO)
    assert m.lr_factor(0, 300) == 1.0 and m.lr_factor(99, 300) == 1.0  # f's stage keeps its rate
    assert m.lr_factor(100, 300) == 1.0
    assert m.lr_factor(200, 300) == pytest.approx(0.5)
    assert m.lr_factor(299, 300) == pytest.approx(0.005)
    assert DTN(DTNConfig(f_steps=100), INFO).lr_factor(200, 300) == 1.0  # the paper's constant rate
