import numpy as np
import pytest
import scipy.linalg

from i2i.metrics.frechet import frechet_distance, frechet_distance_of, gaussian


def reference(mu1, s1, mu2, s2):
    """The textbook formula with a general matrix square root, independent of ours."""
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


def test_one_dimensional_gaussians_have_the_closed_form():
    # for N(m1, a²) and N(m2, b²): (m1 - m2)² + (a - b)²
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)


def test_matches_the_general_formula_on_random_covariances():
    rng = np.random.default_rng(0)
    for d in (2, 8, 32):
        a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        s1, s2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference(mu1, s1, mu2, s2), rel=1e-9)


def test_same_set_is_zero_and_singular_covariances_are_fine():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=(200, 5)), np.zeros((200, 3))], 1)  # 3 dead features
    assert frechet_distance_of(x, x) == pytest.approx(0.0, abs=1e-8)
    y = x + np.array([1.0, 0, 0, 0, 0, 0, 0, 0])
    assert frechet_distance_of(x, y) == pytest.approx(1.0, abs=1e-8)  # a pure shift: ‖Δμ‖²


def test_diagonal_covariances_have_the_closed_form():
    # commuting (diagonal) covariances: ‖μ₁ − μ₂‖² + Σᵢ (√aᵢ − √bᵢ)²
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.1, 3, size=16), rng.uniform(0.1, 3, size=16)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_few_samples_in_many_dimensions_match_the_covariance_formula():
    # fewer samples than dimensions take the sample-space (SVD) path; same value as the D x D one
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(30, 64)), rng.normal(1.0, 2.0, size=(45, 64))
    assert frechet_distance_of(a, b) == pytest.approx(frechet_distance(*gaussian(a), *gaussian(b)), rel=1e-7)
    assert frechet_distance_of(a, a) == pytest.approx(0.0, abs=1e-9)
