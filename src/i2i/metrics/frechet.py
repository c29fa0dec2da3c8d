"""The Fréchet distance between two Gaussians fitted to feature sets (FID's formula):
    d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½)
computed in float64, since the matrix square root of a near-singular product loses
precision fast in float32."""
from __future__ import annotations

import numpy as np


def gaussian(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (unbiased) of N x D features, in float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors as an N x D array, got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False)


def _psd_sqrt(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Tr((Σ₁Σ₂)^½) as the sum of √eigenvalues of Σ₁^½ Σ₂ Σ₁^½, which is symmetric PSD with the
    same spectrum: stable for singular covariances (dead ReLU features), where a general
    matrix square root of Σ₁Σ₂ warns and picks up imaginary parts."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    root1 = _psd_sqrt(sigma1)
    middle = np.linalg.eigvalsh(root1 @ sigma2 @ root1)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.clip(middle, 0, None)).sum())


def frechet_distance_of(a, b) -> float:
    """Fréchet distance between two feature sets.

    With fewer samples than dimensions (a small evaluation, 2048-d Inception features), the same
    value comes from the samples: with centred A, B scaled so that Σ₁ = AᵀA, Σ₂ = BᵀB, the
    eigenvalues of Σ₁^½ Σ₂ Σ₁^½ are the squared singular values of A Bᵀ, so the trace term is
    its nuclear norm; an n₁ x n₂ SVD instead of two D x D eigendecompositions."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or max(len(a), len(b)) >= a.shape[-1] or len(a) < 2 or len(b) < 2:
        return frechet_distance(*gaussian(a), *gaussian(b))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    ca, cb = (a - a.mean(0)) / np.sqrt(len(a) - 1), (b - b.mean(0)) / np.sqrt(len(b) - 1)
    diff = a.mean(0) - b.mean(0)
    nuclear = np.linalg.svd(ca @ cb.T, compute_uv=False).sum()
    return float(diff @ diff + (ca * ca).sum() + (cb * cb).sum() - 2 * nuclear)
