import numpy as np
import pytest
import torch

from i2i.config import DataConfig
from i2i.data import build, info
from i2i.data.digits import N_TRAIN, DigitsDataset, split_indices
from i2i.errors import I2IError


def test_split_is_fixed_disjoint_and_complete():
    train, test = split_indices("train"), split_indices("test")
    assert len(train) == N_TRAIN and len(test) == 1797 - N_TRAIN
    assert not set(train) & set(test)
    assert np.array_equal(train, split_indices("train"))  # the same every call


@pytest.mark.parametrize("size", [8, 16, 32])
def test_images_are_one_channel_in_range(size):
    d = DigitsDataset("train", size)
    item = d[0]
    assert item["image"].shape == (1, size, size) and item["label"].dtype == torch.int64
    assert d.images.min() >= -1 and d.images.max() <= 1 and d.images.max() > 0.9  # white ink on black
    assert sorted(set(d.targets)) == list(range(10))


def test_a_digit_subset_and_bad_input():
    d = DigitsDataset("test", 16, digits=["3", "7"])
    assert set(d.targets) == {3, 7}
    with pytest.raises(I2IError, match="not digits"):
        DigitsDataset("test", 16, digits=["x"])
    with pytest.raises(I2IError, match="8, 16, 32"):
        DigitsDataset("test", 28)


def test_built_from_a_config_with_one_channel_info():
    d = build(DataConfig(spec="digits", image_size=32), "train")
    meta = info(d, 32)
    assert len(d) == N_TRAIN and meta.channels == 1 and meta.domains == [str(i) for i in range(10)]


def test_svhn_like_digits_are_coloured_cluttered_and_from_disjoint_halves():
    from i2i.data.digits import SVHNLikeDigits
    a, b = SVHNLikeDigits("train", 16, half=0), SVHNLikeDigits("train", 16, half=1)
    assert a.images.shape == (600, 3, 16, 16) and len(b) == 600 and a.channels == 3
    assert -1 <= float(a.images.min()) and float(a.images.max()) <= 1
    assert torch.equal(a.images, SVHNLikeDigits("train", 16, half=0).images)  # deterministic
    clean = DigitsDataset("train", 16)
    assert torch.equal(torch.cat([a.labels, b.labels]).sort().values, clean.labels.sort().values)
    assert (a.images.std((2, 3)).mean(1) > 0.1).all()  # never a flat image
    colours = a.images.mean((2, 3))
    assert colours.std(0).min() > 0.2  # backgrounds and inks vary per image
    # the digit is still there: luminance follows the clean digit, in one polarity or the other
    lum = (a.images * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1).flatten(1)
    ink = clean.images[0::2, 0].flatten(1)
    lum, ink = lum - lum.mean(1, keepdim=True), ink - ink.mean(1, keepdim=True)
    corr = (lum * ink).sum(1) / (lum.norm(dim=1) * ink.norm(dim=1))
    assert float(corr.abs().min()) > 0.5 and (corr > 0).any() and (corr < 0).any()  # measured: mean 0.875, min 0.687
    with pytest.raises(I2IError, match="half"):
        SVHNLikeDigits("train", 16, half=2)
