import pytest
import torch

from i2i.errors import I2IError
from i2i.methods.base import DataInfo, get_method
from i2i.methods.matchgan import MatchGAN, MatchGANConfig, match_pairs, valid_combinations
from i2i.methods.stargan import StarGAN, StarGANConfig

ATTRS = ["red", "green", "blue", "striped", "large"]
INFO = DataInfo(16, attributes=ATTRS, exclusive=[["red", "green", "blue"]])


def tiny(**kw):
    cfg = MatchGANConfig(**{"g_conv_dim": 8, "d_conv_dim": 8, "g_repeat_num": 1, "d_repeat_num": 3, "n_critic": 1, **kw})
    return MatchGAN(cfg, INFO)


def grouped_batch(labelled=True):
    combos = valid_combinations(INFO)[:4]
    label = combos.repeat_interleave(4, 0) if labelled else torch.full((16, 5), -1.0)
    return {"image": torch.rand(16, 3, 16, 16) * 2 - 1, "label": label,
            "mask": torch.full((16, 1), float(labelled))}


def test_d_is_stargans_plus_the_match_head():
    info = DataInfo(128, attributes=[f"a{i}" for i in range(5)])
    star, match = StarGAN(StarGANConfig(), info).summary(), MatchGAN(MatchGANConfig(), info).summary()
    assert match["G"] == star["G"] == 8_430_528
    assert match["D"] - star["D"] == 2048 * 2 * 2 * 2 * 2 == 32_768  # conv3: 2·2048 channels → 2, 2x2 kernel, no bias
    assert get_method("matchgan") is MatchGAN and MatchGANConfig().lambda_match == 0.5


def test_pairs_are_eight_positive_within_groups_and_eight_negative_across():
    first, second, same = match_pairs(16)
    group = lambda i: i // 4
    assert len(same) == 16 and int(same.sum()) == 8
    for a, b, s in zip(first.tolist(), second.tolist(), same.tolist()):
        assert a != b and (group(a) == group(b)) == bool(s)
    with pytest.raises(ValueError, match="G ≥ 3"):
        match_pairs(8)  # two groups: the second negative rotation would pair a group with itself


def test_valid_combinations_one_colour_binary_attributes_free():
    combos = valid_combinations(INFO)
    assert combos.shape == (12, 5) and (combos[:, :3].sum(1) == 1).all()
    assert len(torch.unique(combos, dim=0)) == 12
    assert valid_combinations(INFO, empty_groups=True).shape == (16, 5)  # no colour allowed too (official CelebA)
    assert torch.equal(valid_combinations(DataInfo(16, domains=["a", "b"])), torch.eye(2))


def test_targets_four_distinct_combinations_each_meets_every_source_group():
    m = tiny()
    target, _ = m.sample_targets(torch.zeros(16, 5))
    by_position = target.view(4, 4, 5)  # source group × position in group × label
    assert all(torch.equal(by_position[g], by_position[0]) for g in range(4))  # image p gets combination p mod 4
    assert len(torch.unique(by_position[0], dim=0)) == 4
    assert any((target == c).all(1).any() for c in valid_combinations(INFO))


def test_labelled_and_unlabelled_iterations_use_the_terms_each_allows():
    m = tiny()
    assert set(m.train_step(grouped_batch(True), 0)) == {
        "D/loss_real", "D/loss_fake", "D/loss_cls", "D/loss_gp", "D/loss_match",
        "G/loss_fake", "G/loss_rec", "G/loss_cls", "G/loss_match"}
    assert set(m.train_step(grouped_batch(False), 1)) == {
        "D/loss_real", "D/loss_fake", "D/loss_gp", "G/loss_fake", "G/loss_cls", "G/loss_match"}


def test_the_match_head_learns_only_from_labelled_real_pairs():
    m = tiny(n_critic=2)
    head = m.D.conv3.weight.clone()
    m.train_step(grouped_batch(False), 0)  # unlabelled D step: no match term
    assert torch.equal(head, m.D.conv3.weight)
    m.train_step(grouped_batch(True), 2)
    assert not torch.equal(head, m.D.conv3.weight)


def test_batches_must_be_grouped_and_not_mixed():
    m = tiny()
    b = grouped_batch(True)
    b["label"] = b["label"][torch.randperm(16, generator=torch.Generator().manual_seed(3))]
    with pytest.raises(I2IError, match="groups of 4"):
        m.train_step(b, 0)
    b = grouped_batch(True)
    b["mask"][0] = 0
    with pytest.raises(I2IError, match="all labelled or all unlabelled"):
        m.train_step(b, 0)


def test_joint_data_is_refused():
    parts = [{"name": "a", "labels": ["x"], "multi_label": True}, {"name": "b", "labels": ["y"], "multi_label": True}]
    with pytest.raises(ValueError, match="one dataset"):
        MatchGAN(MatchGANConfig(), DataInfo(128, attributes=["x", "y"], datasets=parts))
