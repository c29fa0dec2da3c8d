import numpy as np
import pytest
import torch

from i2i.data.shapes import (BACKGROUND_RANGE, DARK, LARGE_RANGE, PALETTE, SAT_RANGE, SHAPES, SMALL_RANGE,
                             VALUE_RANGE, ShapeParams, ShapesDataset, hsv_to_rgb, render, render_batch,
                             sample_params)
from i2i.errors import I2IError

torch.set_num_threads(1)


def test_determinism_and_range():
    a, b = ShapesDataset(20, 48, seed=3), ShapesDataset(20, 48, seed=3)
    for i in (0, 7, 19):
        assert torch.equal(a[i]["image"], b[i]["image"]) and torch.equal(a[i]["label"], b[i]["label"])
        assert a.params(i) == b.params(i)
    p = a.params(5)
    assert torch.equal(render(p, 64), render(p, 64))
    assert not torch.equal(ShapesDataset(4, 48, seed=4)[0]["image"], a[0]["image"])


@pytest.mark.parametrize("size", [32, 57, 64, 256])
def test_image_shape_and_values(size):
    imgs = render_batch([sample_params(np.random.default_rng(i), colours=tuple(PALETTE)) for i in range(6)], size)
    assert imgs.shape == (6, 3, size, size) and imgs.dtype == torch.float32
    assert imgs.min() >= -1.0 and imgs.max() <= 1.0
    assert imgs.std() > 0.1
    assert render_batch([], size).shape == (0, 3, size, size)


@pytest.mark.parametrize("bad", [31, 257, 64.0, 0])
def test_bad_size(bad):
    with pytest.raises(I2IError):
        render(sample_params(np.random.default_rng(0)), bad)


def test_sampled_params_follow_the_rules():
    rng = np.random.default_rng(0)
    for _ in range(500):
        p = sample_params(rng, colours=tuple(PALETTE))
        lo, hi = LARGE_RANGE if p.large else SMALL_RANGE
        assert lo <= p.size <= hi
        assert p.size < p.cx < 1 - p.size and p.size < p.cy < 1 - p.size  # circumcircle inside
        assert abs(p.hue_jitter) <= 10 and 0 <= p.stripe_angle < 180
        assert BACKGROUND_RANGE[0] <= p.background <= BACKGROUND_RANGE[1]
        assert p.rotation == 0 if p.shape == "circle" else 0 <= p.rotation < (90 if p.shape == "square" else 120)


def test_every_colour_stands_out_from_every_background():
    # worst cases: least saturated / darkest colours (and their dark stripes) against any grey
    h = torch.tensor([PALETTE[c] + j for c in PALETTE for j in (-10.0, 0.0, 10.0)])
    for s in SAT_RANGE:
        for v in (VALUE_RANGE[0], VALUE_RANGE[0] * DARK):
            rgb = hsv_to_rgb(h, torch.full_like(h, s), torch.full_like(h, v))
            chroma = rgb.max(1).values - rgb.min(1).values  # HSV chroma; grey has none
            assert chroma.min() >= 0.2


def test_labels_match_params():
    attrs = ["red", "green", "blue", "striped", "large", "circle", "square", "triangle"]
    ds = ShapesDataset(60, 32, attributes=attrs, seed=1)
    for i in range(len(ds)):
        item, p = ds[i], ds.params(i)
        lab = item["label"]
        assert lab[:3].sum() == 1 and lab[5:].sum() == 1  # exclusive colours, exclusive shapes
        assert lab[attrs.index(p.colour)] == 1 and lab[attrs.index(p.shape)] == 1
        assert lab[3] == p.striped and lab[4] == p.large
        assert item["params"] == i
        assert torch.allclose(item["content"], torch.tensor([SHAPES.index(p.shape), p.cx, p.cy, p.size, p.background]))
        assert item["image"].shape == (3, 32, 32)


def test_dataset_image_is_the_8bit_render():
    ds = ShapesDataset(300, 64, seed=2)
    for i in (0, 299):
        assert (ds[i]["image"] - render(ds.params(i), 64)).abs().max() <= 1 / 127.5 + 1e-6


def test_splits_are_disjoint():
    tr, te = ShapesDataset(300, 32, split="train"), ShapesDataset(300, 32, split="test")
    key = lambda p: (p.cx, p.cy, p.size)
    assert not {key(tr.params(i)) for i in range(300)} & {key(te.params(i)) for i in range(300)}
    assert not torch.equal(tr[0]["image"], te[0]["image"])


def test_options_and_errors():
    ds = ShapesDataset(50, 32, colours=("yellow", "cyan"), attributes=("yellow", "cyan"), shapes=("square",),
                       p_striped=1.0, p_large=0.0)
    for i in range(50):
        p = ds.params(i)
        assert p.colour in ("yellow", "cyan") and p.shape == "square" and p.striped and not p.large
    for kwargs in ({"attributes": ("purple",)}, {"colours": ("red", "grey")}, {"split": "val"}, {"image_size": 16}):
        with pytest.raises(I2IError):
            ShapesDataset(4, **kwargs)
    with pytest.raises(IndexError):
        ds[50]


def test_stripes_scale_with_image_size():
    p = ShapeParams("square", "blue", 0.0, True, 0.0, 0.3, True, 0.5, 0.5, 0.0, 0.5)
    for size in (32, 64, 128):
        img = (render(p, size) + 1) / 2
        row = img[2, size // 2, int(size * 0.35):int(size * 0.65)]  # across vertical bands
        period = size / 8
        dark = (row < 0.5).float()
        # half the object is dark band, and bands flip every period/2 px
        assert 0.3 < dark.mean() < 0.7
        flips = (dark[1:] != dark[:-1]).sum().item()
        assert abs(flips - len(row) / (period / 2)) <= 2
    wide = render(p, 64, stripe_period=32)
    assert not torch.equal(wide, render(p, 64))



def test_domain_mode_labels_are_shape_indices():
    ds = ShapesDataset(40, 32, colours=tuple(PALETTE), domains=("triangle", "circle"), seed=3)
    assert ds.domains == ["triangle", "circle"] and ds.attributes == []
    targets = ds.targets
    assert len(targets) == 40 and set(targets) == {0, 1} and not ds._chunks  # no image rendered
    for i in range(len(ds)):
        item, p = ds[i], ds.params(i)
        assert item["label"].dtype == torch.long and item["label"].dim() == 0
        assert item["label"] == targets[i] == ds.domains.index(p.shape)
    assert len({ds.params(i).colour for i in range(40)}) > 3  # colours are style, drawn from the whole palette
    assert ShapesDataset(4, 32).targets is None  # attribute mode has no domains
    for bad in (("hexagon",), ("circle", "circle"), ()):
        with pytest.raises(I2IError, match="domains"):
            ShapesDataset(4, 32, domains=bad)


def test_background_bands_are_thirds_of_the_range_and_the_oracle_reads_them():
    from i2i.data.shapes import BACKGROUNDS, background_band
    from i2i.metrics.oracle import ShapesOracle
    assert background_band(torch.tensor([0.25, 0.41, 0.42, 0.58, 0.59, 0.9])).tolist() == [0, 0, 1, 1, 2, 2]  # edges at 0.4167 and 0.5833
    ds = ShapesDataset(120, 32, attributes=list(BACKGROUNDS), split="test")
    labels = ds.labels
    assert torch.equal(labels.sum(1), torch.ones(120)) and (labels.sum(0) > 20).all()  # one band each, all used
    images = torch.stack([ds[i]["image"] for i in range(120)])
    read = ShapesOracle().labels(ShapesOracle().read(images), BACKGROUNDS)
    assert (read == labels).all(1).float().mean() >= 0.97
