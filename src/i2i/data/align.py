"""Face alignment as StarGAN v2's `main.py --mode align` does it (core/wing.py's FaceAligner), in
numpy and torch, without OpenCV or scikit-image.

For one photo, as the official `align_faces`:
1. squash it to size x size (PIL bilinear, as its transforms.Resize((size, size)));
2. find the 98 WFLW landmarks with FAN (each heatmap's argmax cell centre on its 64 px grid, moved
   a quarter cell towards the higher neighbour, times size // 64);
3. mirror-pad the image by half its size on every side, blending a blurred copy into the padding
   (weight**4 ramps over the outer quarter) so the pad has no hard edges;
4. build a similarity: move the landmarks' mean to the origin, rotate the eyes/mouth x-axis onto
   the reference's, scale by the eye and mouth-corner points (96, 97, 76, 82), move to the
   reference's mean (the reference: celeba_lm_mean.npz's 'mean', a 256 px layout, x size / 256);
5. warp with OpenCV's Lanczos-4 (8 x 8 taps, coordinates quantised to 1/32 px, zero outside) and
   keep the top-left size x size.

Every step equals the official one (measured in tests/data/test_align.py against fixtures that the
official code wrote): identical landmarks, matrices and saved images; the warp within 1e-13 grey
levels of OpenCV's. The input is read as i2i reads images (EXIF orientation applied, transparency
on white), where the official takes PIL's plain convert('RGB').

`Aligner.align` also returns the 3 x 3 matrix from the photo's pixel coordinates (pixel centres at
integers, as OpenCV) to the aligned crop's, so that `paste_back` can put a translated crop back.

No face: the official code aligns whatever it is given. Here an image counts as having no face when
the median over the 98 landmarks of their heatmap peak is below `min_peak` (default 0.1, the level
under which the official mask code, `truncate`, treats heatmap values as empty), or when the
landmarks are degenerate: the matrix is not finite, or its scale is outside [1/16, 16] (the eye and
mouth points crowd within a few pixels of the landmarks' mean, or spread far beyond the image).
The threshold is a heuristic: it could not be checked on the real wing.ckpt here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import I2IError
from .warp import double, gaussian, halve_u8, warp_perspective

N_LANDMARKS = 98
REFERENCE_SIZE = 256  # celeba_lm_mean.npz's landmarks are for 256 px crops
MIN_PEAK = 0.1
MAX_SCALE = 16.0
_HINT = "StarGAN v2's download.sh gets both files: `bash download.sh wing`"


# ----------------------------------------------------------------------------- landmarks

def landmarks_from_heatmaps(heatmaps: torch.Tensor, scale: float) -> np.ndarray:
    """(N, 98, h, w) heatmaps -> (N, 98, 2) float32 (x, y) landmarks, times `scale` (the input's
    size over h). Each is the heatmap's argmax cell centre, moved a quarter cell towards the larger
    of its two neighbours along each axis (cells on the grid's edge are not moved)."""
    hm = heatmaps.detach().float().cpu()
    n, c, h, w = hm.shape
    flat = hm.reshape(n, c, h * w)
    idx = torch.max(flat, 2)[1]  # torch.max's index, as the official, so ties resolve alike
    x, y = idx % w, idx // w
    inner = (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
    xi, yi = x.clamp(1, w - 2), y.clamp(1, h - 2)

    def at(dy, dx):
        return flat.gather(2, ((yi + dy) * w + xi + dx)[..., None])[..., 0]

    shift_x = torch.sign(at(0, 1) - at(0, -1)) * 0.25
    shift_y = torch.sign(at(1, 0) - at(-1, 0)) * 0.25
    px = x.float() + 0.5 + torch.where(inner, shift_x, torch.zeros_like(shift_x))
    py = y.float() + 0.5 + torch.where(inner, shift_y, torch.zeros_like(shift_y))
    return (torch.stack([px, py], -1) * scale).numpy().astype(np.float32)


def load_landmark_mean(path) -> np.ndarray:
    """celeba_lm_mean.npz's 'mean': (98, 2) float32 (x, y) in a 256 px frame."""
    path = Path(path)
    if not path.is_file():
        raise I2IError(f"landmark mean file {path} not found; pass StarGAN v2's celeba_lm_mean.npz ({_HINT})")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception:
        archive = None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise I2IError(f"cannot read landmark mean file {path}: not a .npz archive; "
                       f"pass StarGAN v2's celeba_lm_mean.npz ({_HINT})")
    with archive:
        if "mean" not in archive.files:
            raise I2IError(f"{path} has no 'mean' array (it has {', '.join(archive.files) or 'none'}); "
                           f"pass StarGAN v2's celeba_lm_mean.npz ({_HINT})")
        try:
            mean = np.asarray(archive["mean"])
        except Exception:
            raise I2IError(f"cannot read 'mean' in {path}: not a plain numeric array; "
                           f"pass StarGAN v2's celeba_lm_mean.npz ({_HINT})") from None
    if mean.shape != (N_LANDMARKS, 2) or not np.issubdtype(mean.dtype, np.number) or not np.isfinite(mean).all():
        raise I2IError(f"{path}: 'mean' must be {N_LANDMARKS} x 2 finite numbers (x, y per WFLW landmark), "
                       f"got shape {mean.shape} of {mean.dtype}")
    return mean.astype(np.float32)


# ----------------------------------------------------------------------------- the matrix

def _translation(v) -> np.ndarray:
    t = np.eye(3)
    t[:2, 2] = v
    return t


def _x_axis(lm: np.ndarray) -> np.ndarray:
    """The face's x direction: eye to eye, corrected by the eye-centre-to-mouth direction turned 90°."""
    left = lm[[*range(60, 68), 96]].mean(axis=0)
    right = lm[[*range(68, 76), 97]].mean(axis=0)
    mouth = (lm[76] + lm[82]) * 0.5
    up = (left + right) * 0.5 - mouth
    axis = (right - left) - np.array([up[1], -up[0]])
    return axis / np.linalg.norm(axis)


def transform_matrix(landmarks: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """3 x 3 similarity taking `landmarks` (98 x 2, x y) onto `reference`: centre, rotate, scale,
    move to the reference's centre. float32 in, as the official (its arithmetic follows the dtype)."""
    lm, ref = np.asarray(landmarks), np.asarray(reference)
    a, b = _x_axis(lm), _x_axis(ref)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    cos = np.dot(a, b)
    # the official ran under numpy 1, whose scalar rules made 1 - cos * cos and sin a float64
    sin = math.sqrt(max(0.0, 1.0 - float(cos * cos))) * float(np.sign(a[0] * b[1] - a[1] * b[0]))
    rotate = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    lm_mean, ref_mean = lm.mean(axis=0), ref.mean(axis=0)
    pick = [96, 97, 76, 82]  # pupils and mouth corners
    ratio = np.linalg.norm(ref - ref_mean, axis=1) / np.linalg.norm(lm - lm_mean, axis=1)
    s = ratio[pick].mean()
    scale = np.diag([s, s, 1.0])
    return _translation(ref_mean) @ (scale @ (rotate @ _translation(-lm_mean)))


# ----------------------------------------------------------------------------- mirror padding

def pad_mirror(img: np.ndarray, landmarks: np.ndarray | None = None):
    """Reflect-pad a square H x H x 3 uint8 image by H // 2 on every side (giving 2H x 2H floats)
    and blend a blurred copy (half size, Gaussian sigma H // 100, back up) over the pad with weight
    1 - w**4, w ramping 0 -> 1 over the outer quarter; the image itself is kept as it is.
    Returns (padded float64, landmarks moved by the pad)."""
    h, w = img.shape[:2]
    if h != w or h % 2:
        raise ValueError(f"pad_mirror needs an even square image, got {h} x {w}")
    padded = np.pad(img, ((h // 2, h // 2), (w // 2, w // 2), (0, 0)), mode="reflect")
    blurred = double(gaussian(halve_u8(padded), h // 100)) * 255
    n = padded.shape[0]
    ramp = np.clip(np.arange(n) / (n // 4), 0, 1)
    ramp = np.minimum(ramp, ramp[::-1])
    weight = (np.minimum(ramp[:, None], ramp[None, :]) ** 4)[..., None]
    out = padded * weight + blurred * (1 - weight)
    if landmarks is None:
        return out, None
    return out, (landmarks + np.array([n // 4, n // 4])).astype(np.asarray(landmarks).dtype)


# ----------------------------------------------------------------------------- the aligner

def _as_rgb(image) -> Image.Image:
    from .images import load_image
    if isinstance(image, (str, Path)):
        return load_image(image)
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
        raise I2IError(f"expected an image path, a PIL image or an H x W x 3 uint8 array, got "
                       f"{a.dtype} {a.shape}")
    return Image.fromarray(a)


def _rounded(aligned: np.ndarray) -> np.ndarray:
    """The official's float -> uint8: to [-1, 1] in float32, then save_image's (x+1)/2, clamp, *255 + 0.5."""
    t = torch.from_numpy(np.ascontiguousarray(aligned)).float() / 255 * 2 - 1
    t = ((t + 1) / 2).clamp_(0, 1)
    return t.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).numpy()


@dataclass
class Alignment:
    image: np.ndarray      # size x size x 3 uint8, what the official align_faces saves
    matrix: np.ndarray     # 3 x 3, the photo's pixel coordinates -> the crop's
    landmarks: np.ndarray  # 98 x 2 (x, y) in the photo's pixel coordinates
    aligned: np.ndarray    # size x size x 3 float64 in [0, 255]-ish, before rounding
    peak: float            # median of the 98 heatmap peaks


class Aligner:
    """StarGAN v2's face aligner. fan_path: wing.ckpt; landmark_mean_path: celeba_lm_mean.npz;
    size: the crop's side, a multiple of 64 (the official code handles multiples of 256; the
    reference is scaled by size / 256, which equals its size // 256 there)."""

    def __init__(self, fan_path, landmark_mean_path, size: int = 256, min_peak: float = MIN_PEAK,
                 device: str = "cpu"):
        from ..nn.fan import FAN
        if not isinstance(size, int) or size < 64 or size % 64:
            raise I2IError(f"align size must be a positive multiple of 64 (e.g. 256), got {size}")
        if not Path(fan_path).is_file():
            raise I2IError(f"FAN weights {fan_path} not found; pass StarGAN v2's wing.ckpt ({_HINT})")
        self.reference = load_landmark_mean(landmark_mean_path) * np.float32(size / REFERENCE_SIZE)
        self.fan = FAN.from_file(fan_path).to(device)
        self.size, self.min_peak, self.device = size, min_peak, device

    def run(self, image, name: str | None = None) -> Alignment:
        """Align one photo (a path, a PIL image or an H x W x 3 uint8 array); everything measured."""
        if name is None:
            name = str(image) if isinstance(image, (str, Path)) else "the image"
        photo = _as_rgb(image)
        s = self.size
        squashed = photo.resize((s, s), Image.BILINEAR) if photo.size != (s, s) else photo
        x = torch.from_numpy(np.array(squashed, np.uint8)).permute(2, 0, 1).float().div(255)
        x = x.sub(0.5).div(0.5)[None]  # ToTensor, Normalize(0.5, 0.5) as align_faces
        heatmaps = self.fan.get_heatmap(x.to(self.device), b_preprocess=False).cpu()
        peak = float(heatmaps.amax((2, 3))[0].median())
        if not peak >= self.min_peak:
            raise I2IError(f"no face found in {name}: the landmark heatmaps peak at {peak:.3f} (median of 98), "
                           f"below {self.min_peak}; crop the photo closer to the face")
        landmarks = landmarks_from_heatmaps(heatmaps, s // heatmaps.shape[-1])[0]
        pixels = ((x[0].permute(1, 2, 0).numpy() * 0.5 + 0.5) * 255).astype(np.uint8)  # truncated, as the official
        padded, lm_padded = pad_mirror(pixels, landmarks.copy())
        with np.errstate(divide="ignore", invalid="ignore"):  # landmarks on one point: judged below
            m = transform_matrix(lm_padded.astype(np.float32), self.reference)
        scale = float(np.sqrt(abs(np.linalg.det(m[:2, :2])))) if np.isfinite(m).all() else float("nan")
        if not 1 / MAX_SCALE <= scale <= MAX_SCALE:
            raise I2IError(f"no face found in {name}: the landmarks are degenerate (similarity scale "
                           f"{scale:.3g}, outside [1/{MAX_SCALE:g}, {MAX_SCALE:g}])")
        aligned = warp_perspective(padded, m, (s, s))
        w, h = photo.size
        squash = np.array([[s / w, 0, 0.5 * s / w - 0.5], [0, s / h, 0.5 * s / h - 0.5], [0, 0, 1.0]])
        to_crop = m @ _translation([s // 2, s // 2]) @ squash
        inv = np.linalg.inv(squash)
        in_photo = landmarks.astype(np.float64) @ inv[:2, :2].T + inv[:2, 2]
        return Alignment(_rounded(aligned), to_crop, in_photo, aligned, peak)

    def align(self, image, name: str | None = None):
        """-> (size x size x 3 uint8 aligned crop, 3 x 3 matrix from the photo's pixel coordinates to
        the crop's). Raises I2IError (one line) when no face is found."""
        a = self.run(image, name)
        return a.image, a.matrix


# ----------------------------------------------------------------------------- paste back

def crop_mask(size: int, feather: float = 0.125, margin: float = 3.0) -> np.ndarray:
    """size x size in [0, 1]: 0 within `margin` px of the crop's edge (where Lanczos' zero border
    rings), rising smoothly to 1 over `feather` x size px."""
    c = np.arange(size) + 0.5
    edge = np.minimum(c, size - c)
    t = np.clip((edge - margin) / max(feather * size, 1e-6), 0, 1)
    ramp = t * t * (3 - 2 * t)  # smoothstep: no kink where the blend starts or ends
    return np.minimum(ramp[:, None], ramp[None, :])


def paste_back(photo, crop, matrix, feather: float = 0.125) -> np.ndarray:
    """Warp `crop` (an aligned crop, e.g. translated, of the size the matrix was made for) back into
    `photo` with the inverse of `matrix` (Lanczos-4) and blend it in through a soft mask that fades
    over the crop's outer `feather` part, so there is no seam. Returns the photo's H x W x 3 uint8."""
    base = np.asarray(_as_rgb(photo), np.float64)
    patch = np.asarray(_as_rgb(crop), np.float64)
    if patch.shape[0] != patch.shape[1]:
        raise I2IError(f"the crop must be square (the aligned crop's size), got {patch.shape[1]} x {patch.shape[0]}")
    matrix = np.asarray(matrix, np.float64)
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-12:
        raise I2IError("paste_back needs the 3 x 3 invertible matrix that Aligner.align returned")
    back = np.linalg.inv(matrix)  # crop -> photo
    h, w = base.shape[:2]
    y0, y1, x0, x1 = 0, h, 0, w
    if not back[2, :2].any():  # affine (as Aligner's): work only on the crop's footprint in the photo
        n = patch.shape[0]
        corners = back[:2] @ np.array([[0, n - 1, 0, n - 1], [0, 0, n - 1, n - 1], [1, 1, 1, 1.0]]) / back[2, 2]
        x0, y0 = (max(0, int(np.floor(v)) - 8) for v in corners.min(1))
        x1, y1 = min(w, int(np.ceil(corners[0].max())) + 9), min(h, int(np.ceil(corners[1].max())) + 9)
        if x0 >= x1 or y0 >= y1:
            return np.round(base).astype(np.uint8)
    back = _translation([-x0, -y0]) @ back
    hw = (y1 - y0, x1 - x0)
    warped = np.clip(warp_perspective(patch, back, hw), 0, 255)
    mask = np.clip(warp_perspective(crop_mask(patch.shape[0], feather), back, hw), 0, 1)[..., None]
    out = base.copy()
    out[y0:y1, x0:x1] = base[y0:y1, x0:x1] * (1 - mask) + warped * mask
    return np.round(out).astype(np.uint8)


# ----------------------------------------------------------------------------- files

def align_path(src, out, fan_path, landmark_mean_path, size: int = 256, min_peak: float = MIN_PEAK,
               log=print) -> tuple[list[Path], list[str]]:
    """Align a file or every image under a folder (recursively) into `out` as PNGs: a file gives
    out/<stem>.png (or `out` itself when it ends in .png), a folder keeps its sub-folders. Images
    without a face or that cannot be read are skipped in a folder (one line each through `log`)
    and raise for a single file. Returns (written paths, skip lines)."""
    from .files import list_images
    src, out = Path(src), Path(out)
    if not src.exists():
        raise I2IError(f"{src} does not exist; pass an image or a folder of images")
    if src.is_dir():
        files = list_images(src)
        if not files:
            raise I2IError(f"no images (.jpg, .jpeg, .png, .bmp, .webp) under {src}")
        targets = [out / f.relative_to(src).with_suffix(".png") for f in files]
    else:
        files = [src]
        targets = [out if out.suffix.lower() == ".png" else out / (src.stem + ".png")]
    aligner = Aligner(fan_path, landmark_mean_path, size, min_peak)
    written, skipped = [], []
    for f, t in zip(files, targets):
        try:
            image, _ = aligner.align(f, name=str(f))
        except I2IError as e:
            if not src.is_dir():
                raise
            skipped.append(str(e))
            log(f"skipped: {e}")
            continue
        t.parent.mkdir(parents=True, exist_ok=True)
        try:
            Image.fromarray(image).save(t, format="PNG")
        except OSError as e:
            raise I2IError(f"cannot write {t}: {e.strerror or e}; check the folder is writable") from None
        written.append(t)
    return written, skipped
