"""The shapes world: procedural images of one object on a plain grey background.

Every image is fully described by a `ShapeParams` (shape, colour, stripes, size, centre,
rotation, background), so a generator's output can be checked attribute by attribute
with `i2i.metrics.oracle.ShapesOracle`.

Conventions (the oracle relies on them):
- `size` is the object's circumradius as a fraction of the image side, for every shape
  (so at equal size a triangle covers less area than a circle; "large" is judged on the
  circumradius). Small sizes come from SMALL_RANGE, large ones from LARGE_RANGE.
- Colours are palette hues with jitter; the bright part of an object has saturation in
  SAT_RANGE and value in VALUE_RANGE. Dark stripes are the same colour with value x DARK.
- Backgrounds are pure grey in BACKGROUND_RANGE: every object pixel, dark stripes included,
  has HSV chroma (max - min channel) >= 0.2, so it never blends into any background.
- Stripes are bands of width period/2 (default period: image side / 8), phase-locked to
  the object centre; `stripe_angle` is the direction of the band normal, degrees in [0, 180).
- The background's grey level falls in one of three equal bands of BACKGROUND_RANGE, named by
  BACKGROUNDS (dark_bg, mid_bg, light_bg): a second kind of label, for joint training.
- Rotation is canonical: [0, 120) for triangles (0 = a vertex pointing up), [0, 90) for
  squares (0 = axis aligned), 0 for circles. Image axes: x right, y down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from i2i.errors import I2IError

SHAPES = ("circle", "square", "triangle")
PALETTE = {"red": 0.0, "yellow": 60.0, "green": 120.0, "cyan": 180.0, "blue": 240.0, "magenta": 300.0}
HUE_JITTER = 10.0  # degrees; palette hues are 60 degrees apart, so classes never touch
SAT_RANGE = (0.75, 0.95)
VALUE_RANGE = (0.8, 1.0)
DARK = 0.35  # value factor of the dark stripes
BACKGROUND_RANGE = (0.25, 0.75)
SMALL_RANGE = (0.16, 0.22)
LARGE_RANGE = (0.28, 0.36)
LARGE_THRESHOLD = 0.25  # between the two ranges
MARGIN = 0.04  # min gap between the object's circumcircle and the image border
MIN_SIZE, MAX_SIZE = 32, 256
BACKGROUNDS = ("dark_bg", "mid_bg", "light_bg")  # thirds of BACKGROUND_RANGE, darkest first
ATTRIBUTES = tuple(PALETTE) + ("striped", "large") + SHAPES + BACKGROUNDS


def background_band(grey: torch.Tensor) -> torch.Tensor:
    """Index into BACKGROUNDS of grey levels (values outside the range go to the nearest band)."""
    lo, hi = BACKGROUND_RANGE
    band = ((grey - lo) / (hi - lo) * len(BACKGROUNDS)).floor()
    return band.clamp(0, len(BACKGROUNDS) - 1).long()


@dataclass(frozen=True)
class ShapeParams:
    shape: str
    colour: str
    hue_jitter: float  # degrees added to the palette hue
    striped: bool
    stripe_angle: float  # degrees in [0, 180)
    size: float  # circumradius / image side
    large: bool
    cx: float  # centre, fractions of the image side
    cy: float
    rotation: float  # degrees, canonical range (see module doc)
    background: float  # grey level in [0, 1]
    saturation: float = 0.85
    value: float = 0.9

    @property
    def hue(self) -> float:
        return (PALETTE[self.colour] + self.hue_jitter) % 360.0

    def rgb(self) -> tuple[float, float, float]:
        """Colour of the bright part of the object, in [0, 1]."""
        return tuple(hsv_to_rgb(torch.tensor([self.hue]), torch.tensor([self.saturation]),
                                torch.tensor([self.value]))[0].tolist())


def default_stripe_period(size: int) -> float:
    return size / 8.0


def hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """h in degrees, s and v in [0, 1], all shape (N,). Returns N x 3."""
    k = torch.stack([torch.full_like(h, 5.0), torch.full_like(h, 3.0), torch.full_like(h, 1.0)], -1)
    k = (k + h[:, None] / 60.0) % 6.0
    f = torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)
    return v[:, None] - v[:, None] * s[:, None] * f


def _check_choice(name: str, values, allowed) -> tuple[str, ...]:
    values = tuple(values)
    bad = [x for x in values if x not in allowed]
    if bad or not values:
        raise I2IError(f"{name} must be a non-empty subset of {list(allowed)}, got {list(values)}")
    return values


def sample_params(rng: np.random.Generator, *, shapes=SHAPES, colours=("red", "green", "blue"),
                  p_striped: float = 0.5, p_large: float = 0.5) -> ShapeParams:
    shapes = _check_choice("shapes", shapes, SHAPES)
    colours = _check_choice("colours", colours, PALETTE)
    shape = shapes[rng.integers(len(shapes))]
    colour = colours[rng.integers(len(colours))]
    hue_jitter = rng.uniform(-HUE_JITTER, HUE_JITTER)
    sat, val = rng.uniform(*SAT_RANGE), rng.uniform(*VALUE_RANGE)
    striped = bool(rng.random() < p_striped)
    stripe_angle = rng.uniform(0.0, 180.0)
    large = bool(rng.random() < p_large)
    size = rng.uniform(*(LARGE_RANGE if large else SMALL_RANGE))
    lo, hi = size + MARGIN, 1.0 - size - MARGIN  # fits for any rotation: circumcircle inside
    cx, cy = rng.uniform(lo, hi), rng.uniform(lo, hi)
    rotation = {"circle": 0.0, "square": rng.uniform(0, 90), "triangle": rng.uniform(0, 120)}[shape]
    background = rng.uniform(*BACKGROUND_RANGE)
    return ShapeParams(shape, colour, float(hue_jitter), striped, float(stripe_angle), float(size), large,
                       float(cx), float(cy), float(rotation), float(background), float(sat), float(val))


def _check_size(size: int) -> int:
    if not (isinstance(size, (int, np.integer)) and MIN_SIZE <= size <= MAX_SIZE):
        raise I2IError(f"image size must be an integer in {MIN_SIZE}..{MAX_SIZE}, got {size!r}")
    return int(size)


def _signed_distance(shape: str, x, y, radius, rot) -> torch.Tensor:
    if shape == "circle":
        return torch.sqrt(x * x + y * y) - radius
    if shape == "square":
        u = x * torch.cos(rot) + y * torch.sin(rot)
        v = -x * torch.sin(rot) + y * torch.cos(rot)
        return torch.maximum(u.abs(), v.abs()) - radius / math.sqrt(2.0)
    sd = None
    for k in range(3):  # edge normals point away from the vertices; rot 0 -> flat bottom edge
        a = rot + math.pi / 2 + k * 2 * math.pi / 3
        d = x * torch.cos(a) + y * torch.sin(a)
        sd = d if sd is None else torch.maximum(sd, d)
    return sd - radius / 2.0


def render_batch(params: list[ShapeParams], size: int, *, stripe_period: float | None = None,
                 dark: float = DARK) -> torch.Tensor:
    """Render N images at once: N x 3 x size x size in [-1, 1].

    `dark` is the value factor of the dark stripes (DARK for the world; the label maps of
    i2i.data.shapes_tasks use 0.5).

    Anti-aliasing is analytic: each edge (object outline, stripe border) covers a pixel in
    proportion to its signed distance from the pixel centre, over a 1 px ramp. That is what
    a box-filtered supersample converges to for straight edges, at 1x the cost.
    """
    size = _check_size(size)
    if not params:
        return torch.empty(0, 3, size, size)
    if len(params) > 256:  # bounded memory, and faster than one huge batch
        return torch.cat([render_batch(params[i:i + 256], size, stripe_period=stripe_period, dark=dark)
                          for i in range(0, len(params), 256)])
    period = float(stripe_period) if stripe_period is not None else default_stripe_period(size)
    if period <= 1.0:
        raise I2IError(f"stripe_period must be > 1 px, got {period}")
    f = lambda name: torch.tensor([float(getattr(p, name)) for p in params], dtype=torch.float32)[:, None, None]
    shape_idx = torch.tensor([SHAPES.index(p.shape) for p in params])[:, None, None]
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    x = coords[None, None, :] - f("cx") * size  # pixel units, relative to the object centre
    y = coords[None, :, None] - f("cy") * size
    radius = f("size") * size
    rot = torch.deg2rad(f("rotation"))

    # signed distance to the outline (px, negative inside), computed per shape group
    sd = torch.empty(len(params), size, size)
    for k in range(len(SHAPES)):
        sel = shape_idx[:, 0, 0] == k
        if sel.any():
            sd[sel] = _signed_distance(SHAPES[k], x[sel], y[sel], radius[sel], rot[sel])
    cover = torch.clamp(0.5 - sd, 0.0, 1.0)

    # stripes: bright band where ((t + period/4) mod period) is within period/4 of period/2
    ang = torch.deg2rad(f("stripe_angle"))
    t = x * torch.cos(ang) + y * torch.sin(ang)
    w = torch.remainder(t + period / 4.0, period) - period / 2.0
    bright = torch.clamp(0.5 + (period / 4.0 - w.abs()), 0.0, 1.0)
    striped = f("striped") > 0.5
    bright = torch.where(striped, bright, torch.ones_like(bright))

    rgb = hsv_to_rgb(f("hue")[:, 0, 0], f("saturation")[:, 0, 0], f("value")[:, 0, 0])[:, :, None, None]
    obj = rgb * (dark + (1.0 - dark) * bright[:, None])
    bg = f("background")[:, None]
    img = bg + cover[:, None] * (obj - bg)
    return img * 2.0 - 1.0


def render(p: ShapeParams, size: int, *, stripe_period: float | None = None, dark: float = DARK) -> torch.Tensor:
    """One image, 3 x size x size in [-1, 1]."""
    return render_batch([p], size, stripe_period=stripe_period, dark=dark)[0]


def label_vector(p: ShapeParams, attributes) -> torch.Tensor:
    """0/1 float labels: palette colours (exclusive), "striped", "large", shape names, background bands."""
    out = []
    for a in attributes:
        if a in PALETTE:
            out.append(p.colour == a)
        elif a in SHAPES:
            out.append(p.shape == a)
        elif a in ("striped", "large"):
            out.append(getattr(p, a))
        elif a in BACKGROUNDS:
            out.append(int(background_band(torch.tensor(p.background))) == BACKGROUNDS.index(a))
        else:
            raise I2IError(f"unknown attribute {a!r}; choose from {list(ATTRIBUTES)}")
    return torch.tensor(out, dtype=torch.float32)


class ChunkCache:
    """n images rendered lazily `chunk` at a time and kept as 8-bit, like decoded image files.

    `get(i, render_range)` calls `render_range(lo, hi)` (-> (hi - lo) x 3 x H x W in [-1, 1]) for
    the chunk holding i the first time it is needed; the function is not stored, so the cache
    (and the dataset holding it) pickles for DataLoader workers.
    """

    def __init__(self, n: int, chunk: int = 256):
        self.n, self.chunk = int(n), int(chunk)
        self.chunks: dict[int, torch.Tensor] = {}  # chunk index -> uint8 images

    def __len__(self) -> int:
        return len(self.chunks)

    def get(self, i: int, render_range) -> torch.Tensor:
        c, j = divmod(i, self.chunk)
        if c not in self.chunks:
            imgs = render_range(c * self.chunk, min(self.n, (c + 1) * self.chunk))
            self.chunks[c] = torch.round((imgs + 1.0) * 127.5).clamp(0, 255).to(torch.uint8)
        return self.chunks[c][j].float() / 127.5 - 1.0


class ShapesDataset(torch.utils.data.Dataset):
    """n deterministic images; image i is built from numpy.random.default_rng([seed, split, i]).

    Images are rendered lazily in chunks and cached as 8-bit (like a real image dataset),
    so `dataset[i]["image"]` equals `render(dataset.params(i))` up to 1/255 quantisation.

    Attribute mode (default): "label" is the 0/1 vector of `attributes`.
    Domain mode (`domains`, shape names, e.g. for StarGAN v2): the shapes are the domains,
    colour and stripes are style; "label" is the domain index (0-dim long), `attributes` is [].
    Either way "content" is [shape index in SHAPES, cx, cy, size, background].
    """

    SPLITS = {"train": 0, "test": 1}
    CHUNK = 256

    def __init__(self, n: int, image_size: int = 64, *, attributes=("red", "green", "blue", "striped", "large"),
                 colours=("red", "green", "blue"), seed: int = 0, split: str = "train", stripe_period=None,
                 shapes=SHAPES, p_striped: float = 0.5, p_large: float = 0.5, domains=None):
        if split not in self.SPLITS:
            raise I2IError(f"split must be 'train' or 'test', got {split!r}")
        if int(n) < 1:
            raise I2IError(f"n must be >= 1, got {n}")
        self.n, self.image_size = int(n), _check_size(image_size)
        self.colours = _check_choice("colours", colours, PALETTE)
        if domains is not None:
            self.domains = list(_check_choice("domains", domains, SHAPES))
            if len(set(self.domains)) < len(self.domains):
                raise I2IError(f"domains {self.domains} name a shape twice; list each shape once")
            self.attributes, self.shapes = [], tuple(self.domains)
        else:
            self.domains = []
            self.attributes = list(_check_choice("attributes", attributes, ATTRIBUTES))
            self.shapes = _check_choice("shapes", shapes, SHAPES)
        self._targets: list[int] | None = None
        self._labels: torch.Tensor | None = None
        self.seed, self.split, self.stripe_period = int(seed), split, stripe_period
        self.p_striped, self.p_large = p_striped, p_large
        self._params: dict[int, ShapeParams] = {}
        self._chunks = ChunkCache(self.n, self.CHUNK)

    def __len__(self) -> int:
        return self.n

    def params(self, i: int) -> ShapeParams:
        i = self._index(i)
        if i not in self._params:
            rng = np.random.default_rng([self.seed, self.SPLITS[self.split], i])
            self._params[i] = sample_params(rng, shapes=self.shapes, colours=self.colours,
                                            p_striped=self.p_striped, p_large=self.p_large)
        return self._params[i]

    def _index(self, i) -> int:
        i = int(i)
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} images")
        return i

    def image(self, i: int) -> torch.Tensor:
        return self._chunks.get(self._index(i), self._render_range)

    def _render_range(self, lo: int, hi: int) -> torch.Tensor:
        return render_batch([self.params(k) for k in range(lo, hi)], self.image_size, stripe_period=self.stripe_period)

    @property
    def targets(self) -> list[int] | None:
        """Domain index of every item (domain mode; None otherwise), from the params alone: no rendering."""
        if not self.domains:
            return None
        if self._targets is None:
            self._targets = [self.domains.index(self.params(i).shape) for i in range(self.n)]
        return self._targets

    @property
    def labels(self) -> torch.Tensor:
        """Every item's label (attribute vectors, or domain indices), from the params alone: no rendering."""
        if self._labels is None:
            self._labels = (torch.tensor(self.targets, dtype=torch.long) if self.domains else
                            torch.stack([label_vector(self.params(i), self.attributes) for i in range(self.n)]))
        return self._labels

    def __getitem__(self, i) -> dict:
        i = self._index(i)
        p = self.params(i)
        content = torch.tensor([float(SHAPES.index(p.shape)), p.cx, p.cy, p.size, p.background], dtype=torch.float32)
        label = (torch.tensor(self.domains.index(p.shape), dtype=torch.long) if self.domains
                 else label_vector(p, self.attributes))
        return {"image": self.image(i), "label": label, "params": i, "content": content}
