import math

import torch

from i2i.data.ring import RADIUS, SIGMA, RingDataset, modes, scatter
from i2i.metrics.ring import read


def test_eight_modes_on_a_ring_and_fixed_splits():
    m = modes()
    assert m.shape == (8, 2) and torch.allclose(m.norm(dim=1), torch.full((8,), RADIUS))
    train = RingDataset(4000, "train")
    assert torch.equal(train.images, RingDataset(4000, "train").images)
    assert not torch.equal(train.images[:100], RingDataset(100, "test").images)
    mode, dist = read(train.images)
    assert torch.equal(mode, train.labels)
    # a 2-D Gaussian keeps 1 − exp(−9/2) = 98.9% of its mass within 3σ
    assert abs(float((dist <= 3).float().mean()) - (1 - math.exp(-4.5))) < 0.01
    assert train[0]["image"].shape == (2,) and train.points == 2


def test_scatter_marks_samples():
    empty, full = scatter(torch.empty(0, 2)), scatter(modes() + SIGMA)
    assert empty.shape == (3, 256, 256) and (empty != full).any()
