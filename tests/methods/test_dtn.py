import pytest
import torch

from i2i.methods.base import DataInfo
from i2i.methods.dtn import DTN, DTNConfig, total_variation

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
