import numpy as np
import pytest
import torch

from i2i.config import DataConfig
from i2i.data import build
from i2i.data.semi import PartlyLabelled, label_pools
from i2i.data.shapes import ShapesDataset
from i2i.errors import I2IError


def shapes(n=40):
    return ShapesDataset(n, 32, attributes=["red", "green", "blue", "striped"])


def test_a_fixed_fraction_keeps_its_labels_the_rest_read_minus_one_with_a_zero_mask():
    ds = PartlyLabelled(shapes(), 0.2)
    assert int(ds.known.sum()) == 8
    assert torch.equal(ds.known, PartlyLabelled(shapes(), 0.2).known)  # the same items every time
    i, j = int(ds.known.nonzero()[0]), int((~ds.known).nonzero()[0])
    assert torch.equal(ds[i]["label"], ds.dataset[i]["label"]) and ds[i]["mask"].tolist() == [1.0]
    assert ds[j]["label"].tolist() == [-1.0] * 4 and ds[j]["mask"].tolist() == [0.0]
    assert ds.attributes == ["red", "green", "blue", "striped"]  # passed through


def test_hidden_labels_are_not_offered_for_domain_balanced_sampling():
    ds = PartlyLabelled(ShapesDataset(10, 32, domains=["circle", "square"]), 0.5)
    assert getattr(ds, "targets", None) is None


def test_build_hides_labels_in_training_only_and_checks_the_fraction():
    cfg = DataConfig(spec="shapes", image_size=32, n_train=20, n_test=5, labelled_fraction=0.5)
    assert isinstance(build(cfg, "train"), PartlyLabelled) and not isinstance(build(cfg, "test"), PartlyLabelled)
    with pytest.raises(I2IError, match="labelled_fraction"):
        build(DataConfig(spec="shapes", image_size=32, n_train=4, labelled_fraction=0.0))
    with pytest.raises(I2IError, match="no labels to hide"):
        build(DataConfig(spec="shapes:unpaired", image_size=32, n_train=4, labelled_fraction=0.5))


def test_pools_supervised_methods_draw_labelled_items_or_one_dataset_at_a_time():
    assert label_pools(shapes(), semi_supervised=False) is None  # all labelled: plain batches
    ds = PartlyLabelled(shapes(), 0.25)
    (pool,), grouping = label_pools(ds, semi_supervised=False)
    assert set(pool.tolist()) == set(ds.known.nonzero().flatten().tolist()) and grouping == [None]
    joint = build(DataConfig(spec="shapes:joint", image_size=32, n_train=10))
    pools, _ = label_pools(joint, semi_supervised=False)
    assert [p.tolist() for p in pools] == [list(range(10)), list(range(10, 20))]


def test_pools_semi_supervised_labelled_items_grouped_by_label_then_the_unlabelled():
    ds = PartlyLabelled(shapes(), 0.5)
    (labelled, unlabelled), (groups, none) = label_pools(ds, semi_supervised=True)
    assert none is None and len(labelled) == 20 and len(unlabelled) == 20
    labels = ds.dataset.labels[torch.from_numpy(labelled)]
    for g in np.unique(groups):  # a group is one label vector
        rows = labels[torch.from_numpy(groups == g)]
        assert (rows == rows[0]).all()
    assert len(np.unique(groups)) == len(torch.unique(labels, dim=0))
    with pytest.raises(I2IError, match="one dataset"):
        label_pools(build(DataConfig(spec="shapes:joint", image_size=32, n_train=10)), semi_supervised=True)
