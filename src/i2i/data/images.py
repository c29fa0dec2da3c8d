"""Image decoding/encoding and small torch transforms. The only place images are read or written.

Tensors are float 3 x H x W (or N x 3 x H x W) with values in [-1, 1].
"""
from __future__ import annotations

import math
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import I2IError

WHITE = (255, 255, 255, 255)


def load_image(path) -> Image.Image:
    """Decode `path` fully into an RGB image, EXIF orientation applied, transparency composited on white."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its pixel limit; treat both as an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()  # force the full decode so truncated files fail here, not later
                return _to_rgb(_exif_transpose(img))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise I2IError(f"cannot read image {path}: too many pixels for Pillow's decompression-bomb limit "
                       f"({Image.MAX_IMAGE_PIXELS}); downscale it, or raise PIL.Image.MAX_IMAGE_PIXELS "
                       "if you trust the file") from None
    except FileNotFoundError:
        raise I2IError(f"cannot read image {path}: no such file; check the path") from None
    except IsADirectoryError:
        raise I2IError(f"cannot read image {path}: it is a directory; pass an image file") from None
    except I2IError:
        raise
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, EOFError... for bad data
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        if isinstance(e, UnidentifiedImageError):
            reason = "not an image format Pillow recognises"
        elif isinstance(e, OSError) and e.strerror:  # e.g. a name too long: say so without the path again
            reason = e.strerror
        if _is_empty(path):
            reason = "the file is empty"
        raise I2IError(f"cannot read image {path}: {reason}; re-create or remove the file") from None


def _is_empty(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size == 0
    except OSError:  # a name the system refuses (too long, a symlink loop) is not an empty file
        return False


def _exif_transpose(img: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block should not make the pixels unreadable
        return img.copy()


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = _high_bit_to_l(img)
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE), rgba).convert("RGB")
    return img.convert("RGB")


def _high_bit_to_l(img: Image.Image) -> Image.Image:
    """16-bit / 32-bit grey to 8-bit L, scaling the full range rather than clipping it."""
    a = np.asarray(img).astype(np.float64)
    if img.mode.startswith("I;16") or (img.mode == "I" and a.max(initial=0) > 255):
        a = a / 257.0  # 65535 -> 255
    elif img.mode == "F" and a.max(initial=0) <= 1.0:
        a = a * 255.0  # float images in [0, 1]
    return Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8), "L")


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL image -> float 3 x H x W in [-1, 1]."""
    a = np.array(img.convert("RGB") if img.mode != "RGB" else img, dtype=np.uint8)
    return torch.from_numpy(a).permute(2, 0, 1).float() / 127.5 - 1.0


def to_pil(t: torch.Tensor) -> Image.Image:
    """float [1 x] 3 x H x W (or 1 x H x W grey) in [-1, 1] -> RGB PIL image; values are clamped."""
    t = t.detach().cpu()
    if t.dim() == 4 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 3 or t.shape[0] not in (1, 3):
        raise I2IError(f"expected a 3 x H x W image tensor, got shape {tuple(t.shape)}")
    t = t.float().expand(3, -1, -1)
    a = ((t.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(np.ascontiguousarray(a), "RGB")


def save_image(t: torch.Tensor, path, nrow: int = 8) -> Path:
    """Write a 3 x H x W image (or N x 3 x H x W, tiled with make_grid) atomically.

    The format follows the extension (.png, .jpg, ...); PNG when there is none Pillow knows.
    """
    path = Path(path)
    if t.dim() == 4 and t.shape[0] > 1:
        t = make_grid(t, nrow=nrow)
    img = to_pil(t)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    # short, so that a 255-byte name still gets a temporary one; unique per process and thread
    tmp = path.with_name(f".{path.name[:32]}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(tmp, format=fmt)
        os.replace(tmp, path)
    except (OSError, ValueError, KeyError) as e:
        tmp.unlink(missing_ok=True)
        raise I2IError(f"cannot write image {path}: {e}; check the folder exists and is writable") from None
    return path


def make_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """Tile N x 3 x H x W into one 3 x H' x W' image, `nrow` per row (like torchvision's make_grid)."""
    if images.dim() == 3:
        images = images[None]
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise I2IError(f"make_grid expects N x 3 x H x W images, got shape {tuple(images.shape)}")
    images = images.expand(-1, 3, -1, -1)
    n, _, h, w = images.shape
    if n == 1:
        return images[0].clone()
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    sh, sw = h + padding, w + padding
    grid = images.new_full((3, rows * sh + padding, cols * sw + padding), pad_value)
    for k in range(n):
        y, x = divmod(k, cols)
        grid[:, y * sh + padding:y * sh + padding + h, x * sw + padding:x * sw + padding + w] = images[k]
    return grid


# ---- transforms: each takes and returns a [N x] 3 x H x W tensor --------------------------------------

def compose(*fns):
    """Chain transforms left to right."""
    def run(t):
        for f in fns:
            t = f(t)
        return t
    return run


def _pair(size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))


def center_crop(t: torch.Tensor, size) -> torch.Tensor:
    """Central size x size (or (h, w)) patch; pads with black first if the image is smaller (as torchvision)."""
    th, tw = _pair(size)
    h, w = t.shape[-2:]
    if th > h or tw > w:
        px, py = max(tw - w, 0), max(th - h, 0)
        t = F.pad(t, (px // 2, (px + 1) // 2, py // 2, (py + 1) // 2), value=-1.0)
        h, w = t.shape[-2:]
    top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
    return t[..., top:top + th, left:left + tw]


def resize_exact(t: torch.Tensor, size) -> torch.Tensor:
    """Resize to size x size (or (h, w)), antialiased bilinear."""
    size = _pair(size)
    if tuple(t.shape[-2:]) == size:
        return t
    x = t[None] if t.dim() == 3 else t
    # clamped: the antialiasing filter's float rounding can step one ulp past ±1 (found by fuzzing)
    x = F.interpolate(x.float(), size=size, mode="bilinear", antialias=True, align_corners=False).clamp_(-1, 1)
    return x[0] if t.dim() == 3 else x


def resize(t: torch.Tensor, size: int) -> torch.Tensor:
    """Shorter side to `size`, aspect kept (as torchvision.transforms.Resize(int))."""
    h, w = t.shape[-2:]
    if h <= w:
        return resize_exact(t, (size, int(size * w / h)))
    return resize_exact(t, (int(size * h / w), size))


FITS = {"crop": "the centre square (side: the shorter side) resized to the model's size; the translated "
                "square is pasted back, the rest of the photo kept",
        "squash": "the whole image resized to the model's square, its aspect changed, and back",
        "pad": "padded to a square by repeating its edge pixels, resized; the padding is cut off the output"}


def fit(x: torch.Tensor, size: int, how: str):
    """Prepare a batch (N, 3, H, W) for a model that sees size x size images: (the model's input,
    put_back(output) -> the output at H x W). `how` is one of FITS."""
    h, w = x.shape[-2:]
    if how == "squash":
        return resize_exact(x, size), lambda o: resize_exact(o, (h, w)).clamp(-1, 1)
    side = min(h, w) if how == "crop" else max(h, w)
    top, left = int(round(abs(h - side) / 2.0)), int(round(abs(w - side) / 2.0))  # torchvision's centre
    if how == "crop":
        def put_back(o):
            out = x.to(o.dtype).clone()
            out[..., top:top + side, left:left + side] = resize_exact(o, side).clamp(-1, 1)
            return out
        return resize_exact(x[..., top:top + side, left:left + side], size), put_back
    if how == "pad":
        square = F.pad(x, (left, side - w - left, top, side - h - top), mode="replicate")
        return (resize_exact(square, size),
                lambda o: resize_exact(o, side).clamp(-1, 1)[..., top:top + h, left:left + w])
    raise I2IError(f"unknown fit {how!r}; use one of: {', '.join(FITS)}")


MAX_ASPECT = 4  # resize_square pre-crops longer images to this aspect ratio


def resize_square(t: torch.Tensor, size: int) -> torch.Tensor:
    """Shorter side to `size`, then the central size x size patch (Resize + CenterCrop). An image
    more than MAX_ASPECT times longer than wide (or wider than long) is centre-cropped to that
    aspect first: the crop is all that is kept, and a 1 x 4000 image no longer becomes a
    512000 x 128 tensor on the way."""
    h, w = t.shape[-2:]
    if max(h, w) > MAX_ASPECT * min(h, w):
        t = center_crop(t, (min(h, MAX_ASPECT * w), min(w, MAX_ASPECT * h)))
    return center_crop(resize(t, size), size)


def hflip(t: torch.Tensor) -> torch.Tensor:
    return t.flip(-1)


def random_flip(t: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> torch.Tensor:
    return hflip(t) if torch.rand((), generator=generator).item() < p else t


def random_resized_crop(t: torch.Tensor, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), p: float = 1.0,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """With probability p, a random crop of area `scale` and aspect `ratio` (torchvision's sampling);
    always resized to `size` (int: square)."""
    if torch.rand((), generator=generator).item() >= p:
        return resize_exact(t, size)
    h, w = t.shape[-2:]
    area = h * w
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))

    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand((), generator=generator).item()

    for _ in range(10):
        target = area * uniform(*scale)
        aspect = math.exp(uniform(*log_ratio))
        cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            top = int(torch.randint(0, h - ch + 1, (), generator=generator))
            left = int(torch.randint(0, w - cw + 1, (), generator=generator))
            return resize_exact(t[..., top:top + ch, left:left + cw], size)
    # fallback: the whole image cropped to the nearest allowed aspect (as torchvision)
    r = w / h
    cw, ch = (w, int(round(w / min(ratio)))) if r < min(ratio) else \
        (int(round(h * max(ratio))), h) if r > max(ratio) else (w, h)
    return resize_exact(center_crop(t, (ch, cw)), size)
