import pytest
import torch

from i2i.data.shapes import ShapesDataset
from i2i.methods.base import Classifies, DataInfo, Styled
from i2i.metrics.translation import evaluate_shapes, evaluate_shapes_domains

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
    class Fooled(Identity, Classifies):
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


DOMAINS = ["circle", "square", "triangle"]


class KeepsInput:
    """No style input (like StarGAN): returns its input, so it keeps all content and never
    reaches another shape."""
    info = DataInfo(32, domains=DOMAINS)
    device = torch.device("cpu")

    def translate(self, x, target, style=None):
        return x


class CopiesStyleImage(KeepsInput, Styled):
    """A styled method whose 'style' is an image of the target shape, returned as the output:
    it reaches every target and takes the reference's colour and stripes, keeping no content."""

    def __init__(self, pool):
        self.pool = pool  # held-out images of every shape, other seeds

    def latent_style(self, y, generator=None):
        picks = []
        for d in y.tolist():
            ids = [i for i, t in enumerate(self.pool.targets) if t == d]
            picks.append(self.pool[ids[int(torch.randint(len(ids), (1,), generator=generator))]]["image"])
        return torch.stack(picks)

    def reference_style(self, ref, y):
        return ref

    def translate(self, x, target, style=None):
        return style


def test_domain_eval_of_a_method_that_keeps_its_input():
    r = evaluate_shapes_domains(KeepsInput(), ShapesDataset(30, 32, domains=DOMAINS, split="test"), n=30, batch_size=15)
    assert r["translation_accuracy"] == {"latent": 0.0, "reference": None}
    assert r["content_kept"]["latent"] == 1.0 and r["content_kept_spatial"]["latent"] == 1.0
    assert r["content_kept_by_part"]["latent"] == {"centre": 1.0, "size": 1.0, "background": 1.0}
    assert r["latent_colours"] == 1.0 and r["reference_colour_match"] is None
    for d, shares in r["latent_read_as"].items():  # every output is read as its source, another shape
        assert shares[d] == 0.0 and sum(shares.values()) == pytest.approx(1.0)


def test_domain_eval_of_a_method_that_outputs_its_style_image():
    pool = ShapesDataset(60, 32, domains=DOMAINS, split="test", seed=7)
    r = evaluate_shapes_domains(CopiesStyleImage(pool), ShapesDataset(20, 32, domains=DOMAINS, split="test"),
                                n=20, n_latent=4, batch_size=10)
    assert r["translation_accuracy"] == {"latent": 1.0, "reference": 1.0}
    assert r["reference_colour_match"] == 1.0 and r["reference_stripes_match"] == 1.0
    assert r["latent_colours"] > 1.5  # four random images rarely share one colour
    assert r["content_kept_spatial"]["reference"] < 0.5  # another image's position and size


COLOURS, BANDS = ["red", "green", "blue"], ["dark_bg", "mid_bg", "light_bg"]


class JointIdentity:
    """A joint model (two label sets, mask vector) that returns its input."""
    from i2i.methods.stargan import StarGAN
    info = DataInfo(32, attributes=COLOURS + BANDS, exclusive=[COLOURS, BANDS],
                    datasets=[{"name": "shapes-colours", "labels": COLOURS, "multi_label": True},
                              {"name": "shapes-backgrounds", "labels": BANDS, "multi_label": True}])
    device, c_dim, mask_dim = torch.device("cpu"), 6, 2
    label_slices, joint_condition = StarGAN.label_slices, StarGAN.joint_condition

    def translate(self, x, target, style=None):
        assert target.shape[1] == 8 and (target[:, 6:].sum(1) == 1).all()  # [labels | one-hot mask]
        return x


def test_joint_evaluation_translates_every_dataset_with_each_label_set():
    from i2i.config import DataConfig
    from i2i.data import build
    from i2i.metrics.translation import evaluate_joint
    test = build(DataConfig(spec="shapes:joint", image_size=32, n_test=30), "test")
    r = evaluate_joint(JointIdentity(), test, n=30, batch_size=15)
    assert r["n"] == 30 and list(r["label_sets"]) == ["shapes-colours", "shapes-backgrounds"]
    for s in r["label_sets"].values():
        assert s["reached_when_changed"] == 0.0  # nothing changes...
        assert s["others_kept"] == 1.0 and s["shape_kept"] == 1.0 and s["centre_kept"] == 1.0  # ...so all is kept
        assert 0.1 < s["reached"] < 0.6  # reached only where the random target equals the source (~1/3)
        assert set(s["reached_by_source"]) == {"shapes-colours", "shapes-backgrounds"}
