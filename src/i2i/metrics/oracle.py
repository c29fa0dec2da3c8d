"""Read the shapes world's attributes back from images (no training data, hand-written analysis).

The key is a per-pixel linear unmixing that uses the world's rules (`i2i.data.shapes`):
a pixel is  p = (1 - a) * bg + a * b * o,  with bg a grey background, o the object's bright
colour, a the object coverage and b the stripe brightness (1 bright, DARK in dark bands).
Splitting p into its grey level and its chroma (the part orthogonal to grey) gives
    a * b = chroma(p) . c_hat / |c|        a = 1 - (grey(p) - a * b * grey(o)) / grey(bg)
so coverage a is recovered with dark stripes counting as object, and b exposes the stripes.
Both maps are linear in p, so blur moves mass without changing the area sum_a, and zero-mean
noise averages out: size judged from area stays right under GAN-like degradations.
Shape comes from the angular Fourier spectrum of the radial profile (circle flat, triangle
3rd harmonic, square 4th); size is the circumradius from area via the shape's area formula.
Stripes: the brightness b varies inside the object, beyond noise, with one orientation.
Colour: hue of the most chromatic pixels, nearest palette hue. Images above 64 px are read
at 64 px (area downsampling). See benchmarks/ORACLE.md for measured robustness.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from i2i.data.shapes import BACKGROUNDS, LARGE_THRESHOLD, PALETTE, SHAPES, background_band
from i2i.errors import I2IError

AREA_FACTORS = torch.tensor([math.pi, 2.0, 3.0 * math.sqrt(3.0) / 4.0])  # area / R^2, in SHAPES order
N_ANGLES = 90
MAX_READ_SIZE = 64  # larger images are area-downsampled first: 10x faster at 128 px, same accuracy
GEOMETRY_BLUR = 0.6  # px; geometry is read from a lightly smoothed coverage map
STRIPE_SPREAD, STRIPE_COHERENCE = 0.03, 0.6  # clean stripes: spread ~0.3, coherence ~1


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of N x C x H x W, reflect padding; sigma in pixels."""
    if sigma <= 0:
        return x
    r = max(1, int(math.ceil(3 * sigma)))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype) / sigma) ** 2)
    k = (k / k.sum()).to(x.device)
    n, c, h, w = x.shape
    y = F.pad(x.reshape(n * c, 1, h, w), (r, r, r, r), mode="reflect")[:, 0]
    # shifted sums: much faster on CPU than conv2d with one channel
    y = sum(k[i] * y[:, :, i:i + w] for i in range(2 * r + 1))
    y = sum(k[i] * y[:, i:i + h] for i in range(2 * r + 1))
    return y.reshape(n, c, h, w)


def _dilate(m: torch.Tensor, r: int) -> torch.Tensor:
    """Max filter over a (2r+1)^2 square, separable (a 2-D max_pool is slow at 128+ px)."""
    if r <= 0:
        return m
    m = F.max_pool2d(m, (1, 2 * r + 1), stride=1, padding=(0, r))
    return F.max_pool2d(m, (2 * r + 1, 1), stride=1, padding=(r, 0))


def _erode(m: torch.Tensor, r: int) -> torch.Tensor:
    return -_dilate(-m, r)


def _hue(rgb: torch.Tensor) -> torch.Tensor:
    """Hue in degrees of N x 3 colours (circular hue: equals HSV hue at the palette's primaries and
    secondaries, within ~4 degrees elsewhere; mixing with grey leaves it unchanged)."""
    r, g, b = rgb.unbind(-1)
    return torch.rad2deg(torch.atan2(math.sqrt(3.0) * (g - b), 2 * r - g - b)) % 360.0


class ShapesOracle:
    """Reads shape, colour, stripes, size, centre, rotation and background from shapes-world images."""

    def __init__(self, colours=tuple(PALETTE)):
        colours = tuple(colours)
        if not colours or any(c not in PALETTE for c in colours):
            raise I2IError(f"oracle colours must be palette colours {list(PALETTE)}, got {list(colours)}")
        self.colours = colours
        self.hues = torch.tensor([PALETTE[c] for c in colours])

    @torch.no_grad()
    def read(self, images: torch.Tensor, chunk: int = 256) -> dict[str, torch.Tensor]:
        """images: N x 3 x H x H in [-1, 1]. Returns per-image readings (see module doc of
        i2i.data.shapes for units); "stripe_angle" is only meaningful where "striped"."""
        if images.dim() != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
            raise I2IError(f"oracle expects N x 3 x H x H images, got {tuple(images.shape)}")
        if len(images) == 0 or images.shape[2] < 16:
            raise I2IError(f"oracle needs at least one image of at least 16 px, got {tuple(images.shape)}")
        parts = [self._read(images[i:i + chunk].detach().float().cpu()) for i in range(0, len(images), chunk)]
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    def _read(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.shape[2] > MAX_READ_SIZE:  # readings are relative to the image side
            images = F.interpolate(images, size=(MAX_READ_SIZE, MAX_READ_SIZE), mode="area")
        h = images.shape[2]
        x = (images.clamp(-1, 1) + 1.0) / 2.0
        scale = h / 64.0
        xs = gaussian_blur(x, 0.5 * scale)  # mild denoising, well below the default stripe period

        # background: median of a border ring (objects never touch the border); noise level there
        b = max(1, h // 32)
        ring = torch.cat([x[:, :, :b].flatten(2), x[:, :, -b:].flatten(2),
                          x[:, :, b:-b, :b].flatten(2), x[:, :, b:-b, -b:].flatten(2)], 2)
        bg = ring.median(2).values  # N x 3
        ring_s = torch.cat([xs[:, :, :b].flatten(2), xs[:, :, -b:].flatten(2)], 2)
        noise = 1.4826 * (ring_s - ring_s.median(2, keepdim=True).values).abs().median(2).values.mean(1)
        g = bg.mean(1).clamp_min(0.05)

        # object colour o: mean of the most chromatic pixels (the bright stripes / the body)
        chroma = xs - xs.mean(1, keepdim=True)
        cmag = (chroma * chroma).sum(1).sqrt().flatten(1)
        top = cmag >= 0.8 * cmag.max(1, keepdim=True).values
        o = (xs.flatten(2) * top[:, None]).sum(2) / top.sum(1, keepdim=True).clamp_min(1)  # N x 3
        oc = o - o.mean(1, keepdim=True)
        c_len = oc.norm(dim=1).clamp_min(1e-3)
        c_hat = oc / c_len[:, None]
        ab = (chroma * c_hat[:, :, None, None]).sum(1) / c_len[:, None, None]  # a * b, N x H x W
        a = 1.0 - (xs.mean(1) - ab * o.mean(1)[:, None, None]) / g[:, None, None]

        # geometry on a slightly smoothed coverage: tames noise and the chroma/luma resolution
        # mismatch of JPEG; blur keeps sum(a), so the area is unaffected
        ag = gaussian_blur(a[:, None], GEOMETRY_BLUR)
        mask = (ag > 0.5).float()
        core = _erode(mask, 1)  # drops isolated noise speckles, which would bias the area up
        region = _dilate(core, 1 + max(2, round(3 * scale)))[:, 0]  # where the object may be
        area = (a * region).sum((1, 2))
        w = ag[:, 0].clamp(0, 1) * _dilate(core, 2)[:, 0]
        grid1 = torch.arange(h, dtype=torch.float32) + 0.5
        wsum = w.sum((1, 2)).clamp_min(1e-6)
        cx = (w.sum(1) * grid1).sum(1) / wsum
        cy = (w.sum(2) * grid1).sum(1) / wsum

        # radial profile r(theta) = coverage integrated along rays from the centroid
        theta = torch.arange(N_ANGLES) * (2 * math.pi / N_ANGLES)
        step = 0.5
        radii = torch.arange(1, int(h / 2 / step) + 1) * step - step / 2
        px = cx[:, None, None] + radii * torch.cos(theta)[:, None]
        py = cy[:, None, None] + radii * torch.sin(theta)[:, None]
        grid = torch.stack([px / h * 2 - 1, py / h * 2 - 1], -1)  # N x angles x radii x 2
        ray = F.grid_sample(w[:, None], grid, align_corners=False)[:, 0]
        ray = ray.flip(2).cummax(2).values.flip(2)  # fill holes: coverage never rises outwards
        spec = torch.fft.rfft(ray.sum(2) * step, dim=1)
        mag = spec.abs() / spec[:, :1].abs().clamp_min(1e-6)
        h3, h4 = mag[:, 3], mag[:, 4]  # clean: circle ~0, square h4 ~0.068, triangle h3 ~0.135
        floor = mag[:, [5, 7, 10, 11]].mean(1)  # harmonics no shape has: the noise level
        shape = torch.where(torch.maximum(h3, h4) < 0.015 + 1.5 * floor, 0, torch.where(h3 / 0.135 > h4 / 0.068, 2, 1))
        size = torch.sqrt(area.clamp_min(0) / AREA_FACTORS[shape]) / h
        vertex3 = torch.rad2deg(-torch.angle(spec[:, 3]) / 3)  # direction of a profile peak
        vertex4 = torch.rad2deg(-torch.angle(spec[:, 4]) / 4)
        rotation = torch.where(shape == 2, (vertex3 + 90) % 120, torch.where(shape == 1, (vertex4 - 45) % 90, 0.0))

        # stripes: the brightness b = ab / a varies inside the object (its spread, less the part
        # explained by noise, is clearly above zero) and that variation has one orientation
        # (structure-tensor coherence; noise and JPEG blocks are not coherent)
        inner = (a > 0.8) & (_erode(mask, max(1, round(scale)))[:, 0] > 0.5)
        beta = ab / a.clamp_min(0.5)
        cnt = inner.sum((1, 2)).clamp_min(1)
        mean_b = (beta * inner).sum((1, 2)) / cnt
        var_b = ((beta - mean_b[:, None, None]) ** 2 * inner).sum((1, 2)) / cnt
        spread = (var_b - (1.2 * noise / c_len) ** 2).clamp_min(0).sqrt()
        bp = F.pad(beta[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]  # Scharr (~isotropic), as slices
        dx, dy = bp[:, :, 2:] - bp[:, :, :-2], bp[:, 2:] - bp[:, :-2]
        gx = (3 * dx[:, :-2] + 10 * dx[:, 1:-1] + 3 * dx[:, 2:]) / 32
        gy = (3 * dy[:, :, :-2] + 10 * dy[:, :, 1:-1] + 3 * dy[:, :, 2:]) / 32
        jxx, jyy, jxy = ((v * inner).sum((1, 2)) for v in (gx * gx, gy * gy, gx * gy))
        coherence = torch.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / (jxx + jyy).clamp_min(1e-12)
        striped = (spread > STRIPE_SPREAD) & (coherence > STRIPE_COHERENCE)
        stripe_angle = torch.rad2deg(0.5 * torch.atan2(2 * jxy, jxx - jyy)) % 180.0  # band normal

        hue_dist = (_hue(o)[:, None] - self.hues[None] + 180.0) % 360.0 - 180.0
        return {"shape": shape, "colour": hue_dist.abs().argmin(1), "striped": striped,
                "stripe_angle": stripe_angle, "size": size, "large": size >= LARGE_THRESHOLD,
                "cx": cx / h, "cy": cy / h, "rotation": rotation, "background": g}

    def labels(self, readings: dict[str, torch.Tensor], attributes) -> torch.Tensor:
        cols = []
        for name in attributes:
            if name in SHAPES:
                cols.append(readings["shape"] == SHAPES.index(name))
            elif name in ("striped", "large"):
                cols.append(readings[name].bool())
            elif name in self.colours:
                cols.append(readings["colour"] == self.colours.index(name))
            elif name in BACKGROUNDS:
                cols.append(background_band(readings["background"]) == BACKGROUNDS.index(name))
            else:
                raise I2IError(f"oracle cannot label {name!r}: use {list(self.colours)}, 'striped', 'large', "
                               f"{list(SHAPES)} or {list(BACKGROUNDS)}")
        return torch.stack(cols, 1).float()
