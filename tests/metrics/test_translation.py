import torch

from i2i.data.shapes import ShapesDataset
from i2i.methods.base import DataInfo
from i2i.metrics.translation import evaluate_shapes

ATTRS = ["red", "green", "blue", "striped", "large"]


class Identity:
    """A 'translator' that returns its input: it keeps all content and reaches no change."""
    info = DataInfo(64, attributes=ATTRS, exclusive=[["red", "green", "blue"]])
    device = torch.device("cpu")

    def translate(self, x, target, style=None):
        return x


def test_breakdown_separates_set_cleared_and_size_changes():
    r = evaluate_shapes(Identity(), ShapesDataset(60, 64, split="test"), n=60, batch_size=30)
    assert r["oracle_on_sources"] == 1.0
    for a in ATTRS:
        assert r["target_accuracy_changed"][a] == 0.0
    assert set(r["target_accuracy_set"]) == {"striped", "large"}  # binary attributes only
    assert r["target_accuracy_set"]["striped"] == 0.0 and r["target_accuracy_cleared"]["large"] == 0.0
    for part in ("shape_kept_by_size_change", "centre_kept_by_size_change"):
        assert r[part] == {"size_kept": 1.0, "size_changed": 1.0}
    assert 0.0 < r["target_accuracy"]["striped"] < 1.0  # reached exactly where the target kept the source's


def test_breakdown_without_a_size_attribute_has_no_size_changed_cases():
    class NoSize(Identity):
        info = DataInfo(64, attributes=ATTRS[:4], exclusive=[["red", "green", "blue"]])
    r = evaluate_shapes(NoSize(), ShapesDataset(20, 64, attributes=ATTRS[:4], split="test"), n=20)
    assert r["shape_kept_by_size_change"]["size_kept"] == 1.0
    assert r["shape_kept_by_size_change"]["size_changed"] is None  # nothing to average: null in JSON, not NaN


def test_a_classifier_that_always_agrees_with_the_target_is_reported_as_fooled():
    class Fooled(Identity):
        """Changes nothing, yet its classifier reads whatever was asked for: G fooling D_cls."""
        def translate(self, x, target, style=None):
            self.last_target = target
            return x

        def classify(self, x):
            return self.last_target

    r = evaluate_shapes(Fooled(), ShapesDataset(40, 64, split="test"), n=40, batch_size=20)
    assert r["classifier_accuracy_changed"] == {a: 1.0 for a in ATTRS}
    assert all(r["target_accuracy_changed"][a] == 0.0 for a in ATTRS)
    assert evaluate_shapes(Identity(), ShapesDataset(20, 64, split="test"), n=20)["classifier_accuracy_changed"] is None
