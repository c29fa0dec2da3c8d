import dataclasses

import torch

from i2i.data.shapes import render_batch
from i2i.data.shapes_tasks import ShapesPaired, ShapesUnpaired
from i2i.metrics import two_domain


class Restripe:
    """A perfect unpaired translator: re-renders each source with the target's stripes."""

    def __init__(self, data, flip=True):
        self.data, self.flip, self.device = data, flip, torch.device("cpu")

    def translate(self, x, target):
        out = []
        for img, t in zip(x, target):
            src = next(d for d in ("A", "B") if any(torch.equal(img, self.data[i][d]) for i in range(len(self.data))))
            i = next(i for i in range(len(self.data)) if torch.equal(img, self.data[i][src]))
            p = self.data.params(src, i)
            out.append(render_batch([dataclasses.replace(p, striped=bool(t)) if self.flip else p], 32)[0])
        return torch.stack(out)


def test_a_perfect_translator_scores_full_marks_and_the_identity_keeps_content_only():
    data = ShapesUnpaired(12, 32, split="test", train=False)
    r = two_domain.evaluate_unpaired(Restripe(data), data, n=12, batch_size=6)
    assert set(r) == {"task", "n", "plain_to_striped", "striped_to_plain", "mean"}
    assert r["mean"]["target_accuracy"] == 1.0 and r["mean"]["mask_iou"] > 0.9
    assert r["mean"]["shape_kept"] == 1.0 and r["mean"]["centre_shift"] < 0.01
    same = two_domain.evaluate_unpaired(Restripe(data, flip=False), data, n=12, batch_size=6)
    assert same["mean"]["target_accuracy"] == 0.0 and same["mean"]["mask_iou"] > 0.9


def test_mask_iou_and_centroid_see_a_moved_object():
    data = ShapesUnpaired(4, 32, split="test", train=False)
    params = [dataclasses.replace(data.params("A", i), size=0.18, cx=0.4, cy=0.5) for i in range(4)]
    m = two_domain.object_mask(render_batch(params, 32))
    assert (m.flatten(1).sum(1) > 20).all()  # every object is found
    moved = two_domain.object_mask(render_batch([dataclasses.replace(p, cx=0.55) for p in params], 32))
    assert (two_domain.mask_iou(m, moved) < 0.8).all()
    shift = two_domain.centroid(moved) - two_domain.centroid(m)
    assert torch.allclose(shift, torch.tensor([0.15, 0.0]).expand(4, 2), atol=0.02)  # pixel-quantised masks


class Lookup:
    def __init__(self, data):
        self.data, self.device = data, torch.device("cpu")

    def translate(self, a):
        return torch.stack([next(self.data[i]["B"] for i in range(len(self.data)) if torch.equal(self.data[i]["A"], x))
                            for x in a])


def test_paired_scores_of_the_ground_truth():
    data = ShapesPaired(10, 32, split="test")
    r = two_domain.evaluate_paired(Lookup(data), data, n=10, batch_size=5)
    assert r["psnr"]["mean"] == 100.0 and r["ssim"]["mean"] > 0.999 and r["l1"]["mean"] == 0.0
    assert r["attribute_accuracy"]["all"] == r["oracle_on_ground_truth"] == 1.0
