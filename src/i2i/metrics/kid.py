"""KID (Bińkowski et al. 2018): the unbiased estimate of the squared MMD between two feature sets
with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets.

Defaults follow torch-fidelity and the paper: 100 subsets of min(1000, n) features from each set,
drawn without replacement from np.random.RandomState(2020) in torch-fidelity's order, so equal
features give torch-fidelity's subsets (the sums here run in float64). The std is over subsets
(ddof 0, as torch-fidelity). Unbiased means near 0, and possibly below 0, for equal distributions.
"""
from __future__ import annotations

import numpy as np

from ..errors import I2IError


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² of two equal-size samples: within-set means leave out the diagonal (k(x_i, x_i)),
    the cross term averages all m² pairs (x and y are independent)."""
    m = len(x)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / (m * m))


def kid(fa, fb, subsets: int = 100, subset_size: int = 1000, seed: int = 2020) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD² over `subsets` random subsets of min(subset_size, n) features."""
    fa, fb = np.asarray(fa, np.float64), np.asarray(fb, np.float64)
    if fa.ndim != 2 or fb.ndim != 2 or fa.shape[1] != fb.shape[1]:
        raise ValueError(f"KID needs two N x D feature arrays with the same D, got {fa.shape} and {fb.shape}")
    m = min(subset_size, len(fa), len(fb))
    if m < 2:
        raise I2IError(f"KID needs at least 2 images in each set, got {len(fa)} and {len(fb)}; add images")
    rng = np.random.RandomState(seed)
    values = [mmd2_unbiased(fa[rng.choice(len(fa), m, replace=False)], fb[rng.choice(len(fb), m, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))
