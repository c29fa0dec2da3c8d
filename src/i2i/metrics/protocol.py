"""The StarGAN v2 evaluation protocol (Choi et al. 2020; clovaai/stargan-v2, metrics/eval.py).

For every ordered pair of domains (source, target), each validation image of the source is
translated into the target 10 times: in latent mode with 10 random codes through the mapping
network, in reference mode with 10 target-domain validation images through the style encoder.
LPIPS diversity is the mean LPIPS over all pairs of a batch's 10 outputs, averaged over batches;
FID compares the saved outputs with the target domain's training images. Results are written in
the official naming: FID_<step>_<mode>.json and LPIPS_<step>_<mode>.json, keys
"FID_latent/cat2dog", ..., "FID_latent/mean".

Differences from the official script, none of which changes what is measured: references are
drawn from a seeded permutation that wraps around (the official loader drops the last partial
batch and shuffles unseeded), and images are resized with i2i's antialiased bilinear resize.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..data.files import list_images, subdirs
from ..data.images import load_image, resize_exact, save_image, to_tensor
from ..errors import I2IError
from ..rundir import write_text_atomic

MODES = ("latent", "reference")


def split_dirs(data) -> tuple[Path, Path]:
    """The train/ and val/ folders of an AFHQ / CelebA-HQ style root: root/{train,val}/<domain>/*."""
    root = Path(data).expanduser()
    train, val = root / "train", root / "val"
    for d in (train, val):
        if not d.is_dir():
            raise I2IError(f"no {d.name}/ folder in {root}; the StarGAN v2 protocol needs "
                           f"{root}/train/<domain>/* and {root}/val/<domain>/*")
    if subdirs(train) != subdirs(val):
        raise I2IError(f"domain folders differ between {train} {subdirs(train)} and {val} {subdirs(val)}")
    return train, val


class _Folder:
    """A domain's validation images, decoded a batch at a time (val sets hold thousands)."""

    def __init__(self, folder: Path, size: int):
        self.files, self.size = list_images(folder), size
        if not self.files:
            raise I2IError(f"{folder} has no images; the protocol needs validation images in every domain")

    def __len__(self) -> int:
        return len(self.files)

    def load(self, indices) -> torch.Tensor:
        return torch.stack([resize_exact(to_tensor(load_image(self.files[int(i)])), self.size) for i in indices])


class _References:
    """Target-domain validation images in a seeded order that wraps around."""

    def __init__(self, folder: _Folder, generator: torch.Generator):
        self.folder, self.generator, self.order = folder, generator, torch.empty(0, dtype=torch.long)

    def take(self, n: int) -> torch.Tensor:
        while self.order.numel() < n:
            self.order = torch.cat([self.order, torch.randperm(len(self.folder), generator=self.generator)])
        idx, self.order = self.order[:n], self.order[n:]
        return self.folder.load(idx)


def generate_task(method, sources: _Folder, target: int, mode: str, out: Path, lpips_fn,
                  num_outs: int, batch_size: int, generator: torch.Generator, refs: _References | None):
    """Translate `sources` into `target` num_outs times per image, save the PNGs under `out`
    (official names: <image number>_<output number>.png) and return the task's LPIPS."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("[0-9][0-9][0-9][0-9]_[0-9][0-9].png"):  # a previous evaluation's outputs
        old.unlink()
    values = []
    for i in range(0, len(sources), batch_size):
        x = sources.load(range(i, min(i + batch_size, len(sources))))
        y = torch.full((x.size(0),), target, dtype=torch.long)
        group = []
        for j in range(num_outs):
            if mode == "latent":
                z = torch.randn(x.size(0), method.latent_dim, generator=generator)
                s = method.latent_style(y, z)
            else:
                s = method.reference_style(refs.take(x.size(0)), y)
            fake = method.translate(x, y, s).cpu().clamp(-1, 1)
            group.append(fake)
            for k in range(x.size(0)):
                save_image(fake[k], out / f"{i + k + 1:04d}_{j + 1:02d}.png")
        values.append(lpips_fn(group))
    return float(np.mean(values))


def evaluate_stargan_v2(method, data, out_dir, fid_fn, lpips_fn, step: int, modes=MODES, num_outs: int = 10,
                        batch_size: int = 32, seed: int = 0, progress: bool = True) -> dict:
    """Run the protocol for `method` (a StarGAN v2) on `data` (root with train/ and val/).

    fid_fn(real_folder, fake_folder) -> float and lpips_fn(list of N x 3 x H x W batches) -> float
    supply the metrics, so the protocol does not depend on which feature networks are loaded."""
    train, val = split_dirs(data)
    domains = subdirs(val)
    if domains != list(method.info.domains):
        raise I2IError(f"{data} has domains {domains} but the model was trained on {list(method.info.domains)}")
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise I2IError(f"unknown protocol mode(s) {bad}; choose from {', '.join(MODES)}")
    out_dir = Path(out_dir)
    size = method.info.image_size
    images = {d: _Folder(val / d, size) for d in domains}
    tasks = [(s, t) for t in domains for s in domains if s != t]
    results = {}
    for mode in modes:
        generator = torch.Generator().manual_seed(seed)
        lpips, fid = {}, {}
        bar = tqdm(tasks, desc=f"stargan-v2 {mode}", disable=not progress, dynamic_ncols=True)
        for src, trg in bar:
            task = f"{src}2{trg}"
            refs = _References(images[trg], generator) if mode == "reference" else None
            fake_dir = out_dir / mode / task
            lpips[f"LPIPS_{mode}/{task}"] = generate_task(
                method, images[src], domains.index(trg), mode, fake_dir, lpips_fn, num_outs, batch_size,
                generator, refs)
            fid[f"FID_{mode}/{task}"] = fid_fn(train / trg, fake_dir)
        for name, table in (("LPIPS", lpips), ("FID", fid)):
            table[f"{name}_{mode}/mean"] = float(np.mean(list(table.values())))
            write_text_atomic(out_dir / f"{name}_{step:05d}_{mode}.json", json.dumps(table, indent=4) + "\n")
            results.update(table)
    return results
