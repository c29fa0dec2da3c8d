import itertools

import numpy as np
import pytest

from i2i.metrics.kid import kid, mmd2_unbiased


def direct_mmd2(x, y):
    """The unbiased MMD² written out pair by pair, as in Gretton et al. (2012), eq. 3."""
    m, d = len(x), x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.3, 1.2, size=(12, 5))
    assert mmd2_unbiased(x, y) == pytest.approx(direct_mmd2(x, y), rel=1e-10)


def test_subsets_of_everything_give_the_full_estimate():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(15, 4)), rng.normal(1.0, 1.0, size=(15, 4))
    mean, std = kid(x, y, subsets=5)  # subset size min(1000, 15): each subset is all of it
    assert mean == pytest.approx(direct_mmd2(x, y), rel=1e-10) and std == pytest.approx(0.0, abs=1e-12)


def test_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same, same_std = kid(a, b, subsets=20, subset_size=200)
    shifted, _ = kid(a, b + 0.5, subsets=20, subset_size=200)
    assert shifted > 0.1
    assert abs(same) < 0.02 * shifted and same_std > 0


def test_seeded():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(50, 8)), rng.normal(size=(60, 8))
    assert kid(a, b, subsets=10, subset_size=20) == kid(a, b, subsets=10, subset_size=20)
    assert kid(a, b, subsets=10, subset_size=20, seed=1) != kid(a, b, subsets=10, subset_size=20)
