"""FID: Inception pool3 features of two image sets, and the Fréchet distance of their Gaussians.

Features of a folder are cached. The cache is one .npz file per (folder, variant, weights) in a
cache directory (default: $I2I_CACHE_DIR, else $XDG_CACHE_HOME/i2i/features, else
~/.cache/i2i/features; never inside the image folder), named after the folder and a hash of
(absolute folder path, variant, weights id). It stores the features and a key over every image's
relative path, size and mtime: when any file is added, removed or changed, the features are
recomputed and the entry replaced. Only plain arrays are written; loads use allow_pickle=False.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import torch

from ..data.files import EXTENSIONS, list_images
from ..data.images import load_image, to_tensor
from ..errors import I2IError
from .frechet import frechet_distance_of


def _items(images):
    """Yield [N x] 3 x H x W tensors from a tensor, or an iterable of tensors / {'image': tensor} dicts."""
    if torch.is_tensor(images):
        yield images
        return
    for it in images:
        yield it["image"] if isinstance(it, dict) else it


@torch.no_grad()
def features(images, model, batch_size: int = 50) -> np.ndarray:
    """N x 2048 float64 pool3 features of images in [-1, 1] (a tensor, or an iterable of images or
    batches, of any sizes: each is resized to 299 on its own, then they run in batches)."""
    device = next(model.parameters()).device
    out, pending = [], []

    def run():
        x = torch.cat(pending)
        pending.clear()
        out.extend(model.pool3(x[i:i + batch_size]).double().cpu() for i in range(0, len(x), batch_size))

    for x in _items(images):
        x = torch.as_tensor(x)
        for i in range(0, len(x) if x.dim() == 4 else 1, batch_size):  # big tensors: resize a batch at a time
            pending.append(model.prepare((x[i:i + batch_size] if x.dim() == 4 else x).to(device)))
            if sum(len(p) for p in pending) >= batch_size:
                run()
    if pending:
        run()
    if not out:
        raise I2IError("no images to compute Inception features of")
    return torch.cat(out).numpy()


def cache_dir() -> Path:
    env = os.environ.get("I2I_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "i2i" / "features"


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def folder_features(folder, model, batch_size: int = 50, cache=True) -> np.ndarray:
    """Features of every image under `folder` (recursive, sorted; decoded by i2i's own decoder).
    cache: True for cache_dir(), a directory path, or False for none (also when the model's
    weights_id is None: weights of unknown identity)."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise I2IError(f"image folder {folder} does not exist; check the path")
    files = list_images(folder)
    if not files:
        raise I2IError(f"{folder} has no images ({', '.join(sorted(EXTENSIONS))}); add images to it")
    if not cache or model.weights_id is None:
        return features((to_tensor(load_image(p)) for p in files), model, batch_size)

    stats = [(p.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns) for p in files for st in [p.stat()]]
    key = _digest(stats)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", folder.name)[:40]
    entry = (cache_dir() if cache is True else Path(cache).expanduser()) / \
        f"{name}-{model.variant}-{_digest(str(folder), model.variant, model.weights_id)[:16]}.npz"
    try:
        with np.load(entry, allow_pickle=False) as z:
            if str(z["key"]) == key:
                return z["features"].astype(np.float64)
    except (OSError, KeyError, ValueError):  # absent, or unreadable: recompute and replace it
        pass
    f = features((to_tensor(load_image(p)) for p in files), model, batch_size)
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        small = f.astype(np.float32)  # a float32 network's features: stored exactly in half the space
        with open(tmp, "wb") as fh:
            np.savez(fh, features=small if np.array_equal(small, f) else f, key=np.array(key),
                     folder=np.array(str(folder)))
        os.replace(tmp, entry)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise I2IError(f"cannot write the feature cache {entry}: {e}; pass cache=False or set I2I_CACHE_DIR") from None
    return f


def fid_from_features(fa, fb) -> float:
    """FID between two N x D feature sets (float64 mean and covariance)."""
    if min(len(fa), len(fb)) < 2:
        raise I2IError(f"FID needs at least 2 images in each set, got {len(fa)} and {len(fb)}; add images")
    return frechet_distance_of(fa, fb)


def fid(folder_a, folder_b, model, batch_size: int = 50, cache=True) -> float:
    """FID between the images of two folders."""
    return fid_from_features(folder_features(folder_a, model, batch_size, cache),
                             folder_features(folder_b, model, batch_size, cache))
