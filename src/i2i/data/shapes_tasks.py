"""Two-domain tasks in the shapes world, for paired (Pix2Pix) and unpaired (CycleGAN) translation.

Every item is {"A": float 3 x H x W in [-1, 1], "B": likewise, ...}; datasets carry `domains`
(two names), `paired` and `channels`. Items are deterministic per (seed, split, index), rendered
lazily in chunks and cached as 8-bit like ShapesDataset.

- ShapesPaired: A is a semantic label map (black background, the object in its pure palette colour,
  dark stripe bands at half value, with the render's anti-aliased coverage), B is the render of the
  same object with a fixed look (no hue jitter, saturation 0.85, value 0.9, mid-grey background),
  so B is a function of A.
- ShapesUnpaired: A plain objects, B striped objects, otherwise the same distribution; the two
  domains come from independent random streams.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..errors import I2IError
from .shapes import (SHAPES, ChunkCache, ShapeParams, _check_size, render_batch, sample_params)

COLOURS = ("red", "green", "blue")
SPLITS = {"train": 0, "test": 1}
CHUNK = 256
# ShapesPaired: the fixed look of B and the label map's stripe value factor
RENDER_LOOK = dict(hue_jitter=0.0, saturation=0.85, value=0.9, background=0.5)
LABEL_LOOK = dict(hue_jitter=0.0, saturation=1.0, value=1.0, background=0.0)
LABEL_DARK = 0.5
# ShapesUnpaired: seed salts of the two domains' random streams
DOMAIN_SALT = {"A": 1, "B": 2}


def _check(n, split: str) -> int:
    if split not in SPLITS:
        raise I2IError(f"split must be 'train' or 'test', got {split!r}")
    if int(n) < 1:
        raise I2IError(f"n must be >= 1, got {n}")
    return int(n)


def _index(i, n: int) -> int:
    i = int(i)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(f"index {i} out of range for {n} images")
    return i


class ShapesPaired(torch.utils.data.Dataset):
    """n pairs: A = the label map of an object, B = its render (see module doc).

    Pair i comes from numpy.random.default_rng([seed, split, i]) (the draw of ShapesDataset with
    colours red/green/blue and p_striped 0.5). Items: {"A", "B", "params": i}; `params(i)` is B's
    ShapeParams, so `B == render(params(i))` up to 8-bit quantisation.
    """

    domains = ["labels", "render"]
    paired = True
    channels = 3

    def __init__(self, n: int, image_size: int = 32, split: str = "train", seed: int = 0, *,
                 stripe_period: float | None = None):
        self.n, self.split = _check(n, split), split
        self.image_size, self.seed, self.stripe_period = _check_size(image_size), int(seed), stripe_period
        self.domains = list(self.domains)
        self._params: dict[int, ShapeParams] = {}
        self._cache = {"A": ChunkCache(self.n, CHUNK), "B": ChunkCache(self.n, CHUNK)}

    def __len__(self) -> int:
        return self.n

    def params(self, i: int) -> ShapeParams:
        i = _index(i, self.n)
        if i not in self._params:
            rng = np.random.default_rng([self.seed, SPLITS[self.split], i])
            p = sample_params(rng, shapes=SHAPES, colours=COLOURS, p_striped=0.5)
            self._params[i] = dataclasses.replace(p, **RENDER_LOOK)
        return self._params[i]

    def label_params(self, i: int) -> ShapeParams:
        """The params A is rendered from (with dark=LABEL_DARK)."""
        return dataclasses.replace(self.params(i), **LABEL_LOOK)

    def _render_A(self, lo: int, hi: int) -> torch.Tensor:
        return render_batch([self.label_params(k) for k in range(lo, hi)], self.image_size,
                            stripe_period=self.stripe_period, dark=LABEL_DARK)

    def _render_B(self, lo: int, hi: int) -> torch.Tensor:
        return render_batch([self.params(k) for k in range(lo, hi)], self.image_size, stripe_period=self.stripe_period)

    def __getitem__(self, i) -> dict:
        i = _index(i, self.n)
        return {"A": self._cache["A"].get(i, self._render_A), "B": self._cache["B"].get(i, self._render_B),
                "params": i}


class ShapesUnpaired(torch.utils.data.Dataset):
    """Domain A: n plain objects; domain B: n striped objects, drawn independently.

    A_i comes from default_rng([seed, split, 1, i]), B_j from default_rng([seed, split, 2, j]);
    shapes all three, colours red/green/blue, both sizes, grey backgrounds, as ShapesDataset.
    Item i is {"A": A_i, "B": B_j, "index_A": i, "index_B": j} with j drawn from torch's global
    RNG when `train` (as CycleGAN's unaligned loader does) and j = i otherwise.
    `params("A", i)` / `params("B", j)` give the ShapeParams (domain names "plain"/"striped" work too).
    `stripe_angle` (degrees, the band normal) gives every striped object the same stripe direction.
    """

    domains = ["plain", "striped"]
    paired = False
    channels = 3

    def __init__(self, n: int, image_size: int = 32, split: str = "train", seed: int = 0, train: bool = True, *,
                 stripe_period: float | None = None, stripe_angle: float | None = None):
        self.n, self.split = _check(n, split), split
        self.stripe_angle = None if stripe_angle is None else float(stripe_angle) % 180.0
        self.image_size, self.seed, self.stripe_period = _check_size(image_size), int(seed), stripe_period
        self.train = bool(train)
        self.domains = list(self.domains)
        self._params: dict[tuple[str, int], ShapeParams] = {}
        self._cache = {"A": ChunkCache(self.n, CHUNK), "B": ChunkCache(self.n, CHUNK)}

    def __len__(self) -> int:
        return self.n

    def _domain(self, domain: str) -> str:
        if domain in DOMAIN_SALT:
            return domain
        if domain in self.domains:
            return "AB"[self.domains.index(domain)]
        raise I2IError(f"unknown domain {domain!r}; use 'A' ({self.domains[0]}) or 'B' ({self.domains[1]})")

    def params(self, domain: str, i: int) -> ShapeParams:
        d, i = self._domain(domain), _index(i, self.n)
        if (d, i) not in self._params:
            rng = np.random.default_rng([self.seed, SPLITS[self.split], DOMAIN_SALT[d], i])
            p = sample_params(rng, shapes=SHAPES, colours=COLOURS, p_striped=float(d == "B"))
            if self.stripe_angle is not None:  # one stripe direction: the target look has no free choice
                p = dataclasses.replace(p, stripe_angle=self.stripe_angle)
            self._params[d, i] = p
        return self._params[d, i]

    def _render(self, d: str, lo: int, hi: int) -> torch.Tensor:
        return render_batch([self.params(d, k) for k in range(lo, hi)], self.image_size,
                            stripe_period=self.stripe_period)

    def _render_A(self, lo: int, hi: int) -> torch.Tensor:
        return self._render("A", lo, hi)

    def _render_B(self, lo: int, hi: int) -> torch.Tensor:
        return self._render("B", lo, hi)

    def image(self, domain: str, i: int) -> torch.Tensor:
        d, i = self._domain(domain), _index(i, self.n)
        return self._cache[d].get(i, self._render_A if d == "A" else self._render_B)

    def __getitem__(self, i) -> dict:
        i = _index(i, self.n)
        j = int(torch.randint(self.n, ())) if self.train else i
        return {"A": self.image("A", i), "B": self.image("B", j), "index_A": i, "index_B": j}
