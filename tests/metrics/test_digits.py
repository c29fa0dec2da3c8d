import pytest
import torch

from i2i.data.digits import DigitsDataset
from i2i.errors import I2IError
from i2i.metrics.digits import DigitOracle, digit_oracle


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    return digit_oracle(str(tmp_path_factory.mktemp("oracle") / "digits.safetensors"))


def test_oracle_reads_real_digits_it_never_saw(oracle):
    real = DigitsDataset("train", 16)  # the oracle learnt from the held-out split only
    digit, conf = oracle.read(real.images)
    assert (digit == real.labels).float().mean() >= 0.97
    assert (conf >= 0.9).float().mean() >= 0.9


def test_oracle_reads_every_size_and_rgb(oracle):
    for size in (8, 32):
        real = DigitsDataset("train", size)
        assert (oracle.read(real.images)[0] == real.labels).float().mean() >= 0.97
    rgb = DigitsDataset("train", 16).images[:50].expand(-1, 3, -1, -1)
    assert torch.equal(oracle.read(rgb)[0], oracle.read(DigitsDataset("train", 16).images[:50])[0])


def test_digits_fd_floor_is_far_below_noise(oracle):
    real = DigitsDataset("train", 16).images
    floor = oracle.fd(real[:600], real[600:])
    noise = oracle.fd(real[:600], torch.rand(600, 1, 16, 16) * 2 - 1)
    assert 0 < floor < noise / 10


def test_saved_oracle_loads_identically_and_a_bad_file_is_one_error(oracle, tmp_path):
    path = tmp_path / "o.safetensors"
    oracle.save(path)
    x = DigitsDataset("test", 16).images[:20]
    assert torch.equal(DigitOracle.load(path).features(x), oracle.features(x))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(I2IError, match="not a digit-oracle weights file"):
        DigitOracle.load(bad)


def test_matched_accuracy_finds_the_best_one_to_one_matching():
    from i2i.metrics.digits import matched_accuracy
    labels = torch.arange(10).repeat(5)
    relabelled = (labels * 3 + 1) % 10  # a permutation of the class names: perfect once matched
    acc, mapping = matched_accuracy(relabelled, labels)
    assert acc == 1.0 and all(mapping[(d * 3 + 1) % 10] == d for d in range(10))
    merged = labels.clone()
    merged[labels == 9] = 4  # one cluster holds two digits: only one of them can be matched to it
    assert matched_accuracy(merged, labels)[0] == 0.9
