import pickle

import numpy as np
import pytest
import torch

from i2i import data
from i2i.config import DataConfig
from i2i.data.shapes import DARK, PALETTE, ShapesDataset, hsv_to_rgb, render, render_batch, sample_params
from i2i.data.shapes_tasks import LABEL_DARK, ShapesPaired, ShapesUnpaired
from i2i.errors import I2IError
from i2i.metrics.oracle import ShapesOracle

torch.set_num_threads(1)
Q = 1 / 127.5 + 1e-5  # 8-bit cache quantisation


def test_render_dark_keyword_defaults_to_the_world():
    ps = [sample_params(np.random.default_rng(i), p_striped=1.0) for i in range(4)]
    assert torch.equal(render_batch(ps, 32), render_batch(ps, 32, dark=DARK))
    assert not torch.equal(render_batch(ps, 32), render_batch(ps, 32, dark=0.5))


def test_paired_items_and_determinism():
    ds = ShapesPaired(20, 32)
    assert ds.domains == ["labels", "render"] and ds.paired is True and ds.channels == 3 and len(ds) == 20
    item = ds[3]
    assert set(item) == {"A", "B", "params"} and item["params"] == 3
    assert item["A"].shape == item["B"].shape == (3, 32, 32) and item["A"].dtype == torch.float32
    again = pickle.loads(pickle.dumps(ShapesPaired(20, 32)))[3]
    assert torch.equal(again["A"], item["A"]) and torch.equal(again["B"], item["B"])
    assert not torch.equal(ShapesPaired(20, 32, split="test")[3]["B"], item["B"])
    assert not torch.equal(ShapesPaired(20, 32, seed=1)[3]["B"], item["B"])
    assert torch.equal(ds[-1]["B"], ds[19]["B"])
    with pytest.raises(IndexError):
        ds[20]


def test_paired_b_is_a_render_of_its_params_and_a_is_its_label_map():
    ds = ShapesPaired(40, 32)
    ps = [ds.params(i) for i in range(40)]
    assert {p.colour for p in ps} == {"red", "green", "blue"}
    assert {p.shape for p in ps} == {"circle", "square", "triangle"}
    assert {p.striped for p in ps} == {False, True}
    assert all((p.hue_jitter, p.saturation, p.value, p.background) == (0.0, 0.85, 0.9, 0.5) for p in ps)
    for i in range(40):
        item = ds[i]
        assert (item["B"] - render(ps[i], 32)).abs().max() <= Q
        assert (item["A"] - render(ds.label_params(i), 32, dark=LABEL_DARK)).abs().max() <= Q
        for img, bg in ((item["A"], -1.0), (item["B"], 0.0)):  # corners are background
            assert torch.allclose(img[:, [0, 0, -1, -1], [0, -1, 0, -1]], torch.full((3, 4), bg), atol=Q)


def test_paired_label_map_colours():
    ds = ShapesPaired(60, 32)
    for i in range(60):
        p, a = ds.params(i), ds[i]["A"]
        pure = hsv_to_rgb(torch.tensor([PALETTE[p.colour]]), torch.tensor([1.0]), torch.tensor([1.0]))[0] * 2 - 1
        cx, cy = int(p.cx * 32), int(p.cy * 32)
        centre = a[:, cy - 1:cy + 2, cx - 1:cx + 2].reshape(3, -1).T  # a few pixels at the object centre
        dark = (pure + 1) * LABEL_DARK - 1
        for px in centre:  # each is the pure colour, a dark band, or an anti-aliased mix of the two
            t = ((px - dark) @ (pure - dark) / ((pure - dark) @ (pure - dark))).item()
            assert -0.01 <= t <= 1.01 and torch.allclose(px, dark + t * (pure - dark), atol=2 * Q)
        if not p.striped:
            assert torch.allclose(a[:, cy, cx], pure, atol=Q)


def test_unpaired_domains_items_and_random_b():
    ds = ShapesUnpaired(30, 32)
    assert ds.domains == ["plain", "striped"] and ds.paired is False and ds.channels == 3 and ds.train
    assert not any(ds.params("A", i).striped for i in range(30)) and all(ds.params("B", i).striped for i in range(30))
    assert ds.params("plain", 4) == ds.params("A", 4) and ds.params("striped", 4) == ds.params("B", 4)
    assert sum(ds.params("A", i).shape == ds.params("B", i).shape for i in range(30)) < 25  # independent streams
    assert {ds.params("B", i).colour for i in range(30)} == {"red", "green", "blue"}
    torch.manual_seed(0)
    items = [ds[5] for _ in range(20)]
    assert all(set(it) == {"A", "B", "index_A", "index_B"} and it["index_A"] == 5 for it in items)
    js = [it["index_B"] for it in items]
    assert len(set(js)) > 5
    torch.manual_seed(0)
    assert [ds[5]["index_B"] for _ in range(20)] == js
    for it in items[:3]:
        assert torch.equal(it["B"], ds.image("B", it["index_B"])) and torch.equal(it["A"], ds.image("A", 5))
        assert (it["B"] - render(ds.params("B", it["index_B"]), 32)).abs().max() <= Q
    test = ShapesUnpaired(30, 32, split="test", train=False)
    assert [test[i]["index_B"] for i in range(30)] == list(range(30))
    assert torch.equal(test[7]["B"], ShapesUnpaired(30, 32, split="test", train=False)[7]["B"])
    with pytest.raises(I2IError, match="domain"):
        ds.params("C", 0)


def test_oracle_reads_plain_a_and_striped_b_at_32px():
    ds = ShapesUnpaired(300, 32, split="test", train=False)
    a = ShapesOracle().read(torch.stack([ds.image("A", i) for i in range(300)]))["striped"]
    b = ShapesOracle().read(torch.stack([ds.image("B", i) for i in range(300)]))["striped"]
    assert (~a).float().mean() >= 0.95 and b.float().mean() >= 0.95  # measured: 100% and 100%


def test_build_shapes_tasks():
    cfg = DataConfig(spec="shapes:paired", image_size=32, n_train=12, n_test=5)
    train, test = data.build(cfg, "train", train=True), data.build(cfg, "test", train=False)
    assert isinstance(train, ShapesPaired) and (len(train), len(test)) == (12, 5) and test.split == "test"
    assert data.info(train, 32).domains == ["labels", "render"]
    cfg = DataConfig(spec="shapes:unpaired", image_size=32, n_train=12, n_test=5)
    train, test = data.build(cfg, "train", train=True), data.build(cfg, "test", train=False)
    assert isinstance(train, ShapesUnpaired) and train.train and not test.train and len(test) == 5
    assert data.info(test, 32).domains == ["plain", "striped"]
    plain = data.build(DataConfig(image_size=32, n_train=12))
    assert type(plain) is ShapesDataset and plain.attributes == ["red", "green", "blue", "striped", "large"]
    with pytest.raises(I2IError, match="shapes:paired"):
        data.build(DataConfig(spec="shapes:pairs", image_size=32, n_train=4))
    with pytest.raises(I2IError, match="data.attributes"):
        data.build(DataConfig(spec="shapes:unpaired", image_size=32, n_train=4, attributes=["red"]))


def test_unpaired_stripe_angle_fixes_the_direction_of_every_stripe():
    cfg = DataConfig(spec="shapes:unpaired", image_size=32, n_train=40, stripe_angle=90)
    ds = data.build(cfg, "train", train=False)
    assert {ds.params("B", i).stripe_angle for i in range(40)} == {90.0}
    read = ShapesOracle().read(torch.stack([ds.image("B", i) for i in range(40)]))
    assert read["striped"].all()
    random = data.build(DataConfig(spec="shapes:unpaired", image_size=32, n_train=40), "train", train=False)
    assert len({random.params("B", i).stripe_angle for i in range(40)}) == 40
