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
