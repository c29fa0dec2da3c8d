"""Property tests (hypothesis) of the torch transforms in i2i.data.images: shapes, the [-1, 1] range
and exact identities, over random sizes and contents."""
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from i2i.data import images as im

torch.set_num_threads(1)
FAST = settings(max_examples=60, deadline=None, database=None)
side = st.integers(1, 48)
seeds = st.integers(0, 2 ** 31 - 1)


def image(h: int, w: int, seed: int, batch: int = 0) -> torch.Tensor:
    shape = (batch, 3, h, w) if batch else (3, h, w)
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def in_range(t: torch.Tensor) -> bool:
    return bool(t.min() >= -1 and t.max() <= 1)  # exactly: not one ulp past (resize_exact clamps)


@FAST
@given(side, side, side, side, seeds, st.integers(0, 2))
def test_center_crop_shape_range_and_content(h, w, th, tw, seed, batch):
    t = image(h, w, seed, batch)
    out = im.center_crop(t, (th, tw))
    assert out.shape == (*t.shape[:-2], th, tw) and in_range(out)
    if th <= h and tw <= w:  # a window of the input, nothing invented
        top, left = round((h - th) / 2), round((w - tw) / 2)
        assert torch.equal(out, t[..., top:top + th, left:left + tw])
    else:  # the padding is black
        assert (out == -1).sum() >= (th * tw - min(th, h) * min(tw, w)) * 3 * max(batch, 1)


@FAST
@given(side, side, side, side, seeds, st.sampled_from([None, -1.0, 1.0]))
def test_resize_exact_shape_range_and_constants(h, w, th, tw, seed, fill):
    t = image(h, w, seed) if fill is None else torch.full((3, h, w), fill)
    out = im.resize_exact(t, (th, tw))
    assert out.shape == (3, th, tw) and in_range(out)  # antialiased bilinear: convex weights
    if fill is not None:  # a plain image stays plain
        assert torch.allclose(out, torch.full_like(out, fill))


@FAST
@given(side, side, st.integers(1, 32), seeds)
def test_resize_keeps_the_aspect_and_resize_square_is_square(h, w, size, seed):
    t = image(h, w, seed)
    out = im.resize(t, size)
    assert min(out.shape[-2:]) == size
    assert max(out.shape[-2:]) == int(size * max(h, w) / min(h, w))
    sq = im.resize_square(t, size)
    assert sq.shape == (3, size, size) and in_range(sq)
    if max(h, w) <= im.MAX_ASPECT * min(h, w):  # no pre-crop: exactly Resize + CenterCrop
        assert torch.equal(sq, im.center_crop(out, size))


@FAST
@given(side, side, seeds, st.integers(0, 3))
def test_hflip_mirrors_and_twice_is_identity(h, w, seed, batch):
    t = image(h, w, seed, batch)
    f = im.hflip(t)
    assert torch.equal(im.hflip(f), t) and torch.equal(f[..., 0], t[..., -1])


@FAST
@given(side, side, st.integers(1, 24), seeds, st.floats(0.05, 1.0), st.floats(0.5, 2.0))
def test_random_resized_crop_shape_range_and_determinism(h, w, size, seed, lo, r):
    t = image(h, w, seed)
    scale, ratio = (lo, 1.0), (min(r, 1 / r), max(r, 1 / r))

    def crop():
        return im.random_resized_crop(t, size, scale=scale, ratio=ratio, generator=torch.Generator().manual_seed(seed))
    out = crop()
    assert out.shape == (3, size, size) and in_range(out) and torch.equal(out, crop())


@FAST
@given(side, side, seeds)
def test_to_tensor_to_pil_round_trip_is_exact(h, w, seed):
    a = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    t = im.to_tensor(im.Image.fromarray(a, "RGB"))
    assert t.shape == (3, h, w) and in_range(t)
    assert np.array_equal(np.asarray(im.to_pil(t)), a)


@FAST
@given(st.integers(1, 12), st.integers(1, 6), side, side)
def test_make_grid_shape(n, nrow, h, w):
    g = im.make_grid(torch.zeros(n, 3, h, w), nrow=nrow, padding=2)
    if n == 1:
        assert g.shape == (3, h, w)
    else:
        cols = min(nrow, n)
        rows = -(-n // cols)
        assert g.shape == (3, rows * (h + 2) + 2, cols * (w + 2) + 2)
