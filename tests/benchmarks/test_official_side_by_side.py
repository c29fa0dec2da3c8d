"""benchmarks/official_side_by_side.py without the official code (CI has no checkout of it): the
loader adapters that feed the shapes world to the official solvers, and the refusal without PATHs."""
import pytest
import torch

from i2i.config import RunConfig
from i2i.data import build


@pytest.fixture(scope="module")
def side(benchmark_module):
    return benchmark_module("official_side_by_side")


def test_reference_batches_pair_two_images_of_one_domain(side):
    cfg = RunConfig.load(side.ROOT / side.CONFIGS["stargan_v2"])
    cfg.set("data.n_train", 60)
    data = build(cfg.data, "train")
    labels = {i: int(data[i]["label"]) for i in range(len(data))}
    x, x2, y = next(iter(side.reference_batches(data, 4, seed=0)))
    assert x.shape == x2.shape == (4, 3, 32, 32) and y.shape == (4,)
    for k in range(4):  # each pair: two images of the drawn domain
        found = [i for i in labels if torch.equal(data[i]["image"], x[k]) or torch.equal(data[i]["image"], x2[k])]
        assert found and all(labels[i] == int(y[k]) for i in found)


def test_source_batches_are_shuffled_passes_of_image_and_label(side):
    cfg = RunConfig.load(side.ROOT / side.CONFIGS["stargan"])
    cfg.set("data.n_train", 12)
    data = build(cfg.data, "train")
    loader = side.shapes_batches(data, 4, seed=0)
    first, second = list(loader), list(loader)
    assert len(first) == 3 and first[0][0].shape == (4, 3, 64, 64) and first[0][1].shape == (4, 5)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, second))  # a new order each pass


def test_official_paths_are_required(side, tmp_path):
    with pytest.raises(SystemExit, match="give --official stargan=PATH"):
        side.main(["--methods", "stargan", "--out", str(tmp_path / "o"), "--results", str(tmp_path / "r")])
