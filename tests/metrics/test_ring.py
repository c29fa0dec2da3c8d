import torch

from i2i.data.ring import RingDataset, modes
from i2i.metrics.ring import evaluate_ring


class Sampler:
    def __init__(self, points):
        self.points = points

    def generate(self, n, cond=None, generator=None):
        return self.points[:n]


def test_real_data_covers_every_mode():
    r = evaluate_ring(Sampler(RingDataset(1000, "test").images))
    assert r["modes_covered"] == 8 and r["high_quality_share"] > 0.97


def test_a_collapsed_or_blurred_generator_is_caught():
    collapsed = evaluate_ring(Sampler(modes()[2].expand(1000, 2) + 0.01 * torch.randn(1000, 2)))
    assert collapsed["modes_covered"] == 1 and collapsed["mode_share"][2] > 0.9
    blurred = evaluate_ring(Sampler(RingDataset(1000, "test").images + 0.2 * torch.randn(1000, 2)))
    assert blurred["modes_covered"] <= 8 and blurred["high_quality_share"] < 0.2
