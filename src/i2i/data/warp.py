"""OpenCV's and scikit-image's image kernels that StarGAN v2's face alignment uses, in numpy:
cv2.resize INTER_LINEAR by exactly 2 (down on uint8, up on floats), skimage's gaussian, and
cv2.warpPerspective with INTER_LANCZOS4 (measured equal in tests/data/test_align.py)."""
from __future__ import annotations

import functools
import math

import numpy as np


def halve_u8(img: np.ndarray) -> np.ndarray:
    """OpenCV's INTER_LINEAR resize of a uint8 image to exactly half size: each output pixel is its
    2 x 2 block's mean, rounded half up (OpenCV takes its area path for an exact 2x)."""
    h, w = img.shape[0] // 2, img.shape[1] // 2
    s = img[:2 * h, :2 * w].astype(np.int32).reshape(h, 2, w, 2, -1).sum((1, 3))
    return ((s + 2) >> 2).astype(np.uint8)


def double(img: np.ndarray) -> np.ndarray:
    """OpenCV's INTER_LINEAR resize of a float image to exactly twice its size: half-pixel centres,
    weights 1/4 and 3/4, edges clamped."""
    def axis(a, ax):
        n = a.shape[ax]
        lo = np.take(a, np.maximum(np.arange(n) - 1, 0), axis=ax)
        hi = np.take(a, np.minimum(np.arange(n) + 1, n - 1), axis=ax)
        even, odd = 0.25 * lo + 0.75 * a, 0.75 * a + 0.25 * hi  # output 2i, 2i+1
        out = np.stack([even, odd], axis=ax + 1)
        return out.reshape(a.shape[:ax] + (2 * n,) + a.shape[ax + 1:])
    return axis(axis(img, 1), 0)


def gaussian(img: np.ndarray, sigma: float) -> np.ndarray:
    """scikit-image's gaussian(img, sigma, channel_axis=-1): uint8 -> [0, 1] floats, then scipy's
    gaussian filter over rows and columns (mode 'nearest', truncate 4)."""
    from scipy.ndimage import gaussian_filter
    return gaussian_filter(img.astype(np.float64) / 255.0, sigma=(sigma, sigma, 0), mode="nearest", truncate=4.0)


# ----------------------------------------------------------------------------- Lanczos-4 warp

INTER_BITS = 5
TAB = 1 << INTER_BITS  # 32 sub-pixel positions per pixel


@functools.lru_cache(maxsize=1)
def lanczos4_table() -> np.ndarray:
    """(32, 8) float32: OpenCV's Lanczos-4 taps for each 1/32-px offset, normalised to sum 1."""
    tab = np.zeros((TAB, 8), np.float32)
    tab[0, 3] = 1.0  # no offset: the pixel itself
    r = math.sqrt(0.5)
    cos_q = np.array([1, r, 0, -r, -1, -r, 0, r])  # cos and sin of i * 45 degrees
    sin_q = np.array([0, r, 1, r, 0, -r, -1, -r])
    alt = np.array([1, -1, 1, -1, 1, -1, 1, -1])
    for i in range(1, TAB):
        x = np.float32(i) * np.float32(1.0 / TAB)
        y0 = -(float(x) + 3) * math.pi / 4
        y = -(x + np.float32(3) - np.arange(8, dtype=np.float32)).astype(np.float64) * math.pi / 4
        # sinc(d) sinc(d / 4) at the tap distances d = -4y / pi, up to a common factor that the
        # normalisation removes: (-1)^i sin(y0 + i pi / 4) / y^2, rounded to float32 per tap
        k = ((alt * cos_q * math.sin(y0) + alt * sin_q * math.cos(y0)) / (y * y)).astype(np.float32)
        total = np.float32(0)
        for v in k:  # summed in float32, in order
            total = np.float32(total + v)
        tab[i] = k * (np.float32(1) / total)
    tab.flags.writeable = False  # cached: shared by every call
    return tab


def warp_perspective(image: np.ndarray, matrix: np.ndarray, out_hw: tuple[int, int],
                     rows_per_chunk: int = 64) -> np.ndarray:
    """OpenCV's warpPerspective(image, matrix, (w, h), INTER_LANCZOS4) with a constant-0 border, for
    an H x W x C float image: `matrix` maps source to output pixel coordinates; each output pixel
    looks up its source point (inverse matrix, evaluated in OpenCV's 64-px column blocks), rounds
    it to 1/32 px, and sums the 8 x 8 pixels around it with Lanczos-4 weights (taps outside the
    image count as 0). Returns float64 H' x W' x C, not clipped."""
    src = np.asarray(image, dtype=np.float64)
    squeeze = src.ndim == 2
    if squeeze:
        src = src[..., None]
    h_src, w_src, ch = src.shape
    h, w = out_hw
    inv = np.linalg.inv(np.asarray(matrix, np.float64)).ravel()
    pad = 8  # zeros around the source: every tap index then lands inside, clamped
    padded = np.zeros((h_src + 2 * pad, w_src + 2 * pad, ch))
    padded[pad:pad + h_src, pad:pad + w_src] = src
    table = lanczos4_table()
    block_h = min(16, h)
    block_w = min(32 * 32 // block_h, w)  # OpenCV's blocks: 16 rows x 64 columns
    cols = np.arange(w)
    x0, dx = cols - cols % block_w, cols % block_w
    out = np.empty((h, w, ch))
    big = float(np.iinfo(np.int32).max)
    for r0 in range(0, h, rows_per_chunk):
        y = np.arange(r0, min(h, r0 + rows_per_chunk))[:, None].astype(np.float64)
        xs, ys, ws = (inv[0] * x0 + inv[1] * y + inv[2], inv[3] * x0 + inv[4] * y + inv[5],
                      inv[6] * x0 + inv[7] * y + inv[8])
        wgt = ws + inv[6] * dx
        with np.errstate(divide="ignore"):
            wgt = np.where(wgt != 0, TAB / np.where(wgt != 0, wgt, 1), 0.0)
        fx = np.clip((xs + inv[0] * dx) * wgt, -big - 1, big)
        fy = np.clip((ys + inv[3] * dx) * wgt, -big - 1, big)
        ix, iy = np.rint(fx).astype(np.int64), np.rint(fy).astype(np.int64)  # cvRound: half to even
        sx, sy = (ix >> INTER_BITS) - 3, (iy >> INTER_BITS) - 3  # first of the 8 taps
        wx, wy = table[ix & (TAB - 1)], table[iy & (TAB - 1)]  # (..., 8) float32 each
        sx = sx.ravel()[:, None] + np.arange(8)
        sy = sy.ravel()[:, None] + np.arange(8)
        colidx = np.clip(sx + pad, 0, padded.shape[1] - 1)
        valid_x = (sx >= 0) & (sx < w_src)
        wx = wx.reshape(-1, 8)
        wy = wy.reshape(-1, 8)
        acc = np.zeros((sx.shape[0], ch))
        for r in range(8):
            rowidx = np.clip(sy[:, r] + pad, 0, padded.shape[0] - 1)
            valid = valid_x & ((sy[:, r] >= 0) & (sy[:, r] < h_src))[:, None]
            taps = (wy[:, r:r + 1] * wx).astype(np.float32)  # OpenCV's 2-D table is float products
            taps = np.where(valid, taps, 0).astype(np.float64)
            acc += np.einsum("pk,pkc->pc", taps, padded[rowidx[:, None], colidx])
        out[r0:r0 + y.shape[0]] = acc.reshape(y.shape[0], w, ch)
    return out[..., 0] if squeeze else out
