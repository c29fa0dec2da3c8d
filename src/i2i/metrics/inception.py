"""Inception-v3 feature networks for FID and KID, in plain torch (no torchvision).

Two variants, one network with its pooling choices as parameters:

- ``pytorch-fid`` (the default): the FID Inception of TF's 2015 graph as ported by pytorch-fid
  (weights ``pt_inception-2015-12-05-6726825d.pth``: torchvision's Inception3 layout with 1008
  classes, no aux head). As in pytorch-fid, the pools inside blocks A, C and E_1 leave the
  padding out of the average (TF's behaviour) and the last block (E_2) max-pools. Its numbers
  are comparable with pytorch-fid's and, through it, with TF FID.
- ``imagenet``: torchvision's ImageNet Inception-v3 (``inception_v3_google-0cc3c7bd.pth``; its
  AuxLogits weights are accepted and ignored), with torchvision's blocks, as the StarGAN v2
  authors' evaluation code (clovaai/stargan-v2, metrics/fid.py) uses it. Its FID is NOT
  comparable with standard FID: other weights, other pooling, other input scaling.

Input: i2i images, N x 3 x H x W in [-1, 1] (clamped to it, as writing them to a file would).
Both reference pipelines start from torchvision's ToTensor, i.e. [0, 1], so we map x -> (x+1)/2,
then, as the reference does:
- pytorch-fid: bilinear resize to 299 x 299 (align_corners=False, no antialiasing), then
  2x - 1 back to [-1, 1] (what the TF graph expects);
- imagenet: resize to 299 x 299, then (x - mean) / std with ImageNet's mean and std, and no
  torchvision ``transform_input`` (StarGAN v2 calls the blocks directly, bypassing the model's
  forward). Their loader resizes 8-bit PIL images (bilinear, antialiased); we resize the float
  tensor with antialiased bilinear, which differs only by the 8-bit rounding. Their loader
  also first resizes to img_size (256) before 299: resize to that size first to mimic it.
Output: the 2048-d pool3 features (global average pool after Mixed_7c).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import torchfile
from ..errors import I2IError


@dataclass(frozen=True)
class Variant:
    env: str
    file: str
    url: str
    classes: int
    tf_pools: bool  # TF-FID's pooling: averages without padding, max pool in the last block
    ignored: tuple = ()  # key prefixes in the official file that the feature network does not use


VARIANTS = {
    "pytorch-fid": Variant(
        "I2I_INCEPTION", "pt_inception-2015-12-05-6726825d.pth",
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
        classes=1008, tf_pools=True),
    "imagenet": Variant(
        "I2I_INCEPTION_IMAGENET", "inception_v3_google-0cc3c7bd.pth",
        "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
        classes=1000, tf_pools=False, ignored=("AuxLogits.",)),
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _cat(*branches):
    return torch.cat(branches, 1)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int, pool):
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        return _cat(self.branch1x1(x),
                    self.branch5x5_2(self.branch5x5_1(x)),
                    self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                    self.branch_pool(self.pool(x)))


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        return _cat(self.branch3x3(x),
                    self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                    F.max_pool2d(x, kernel_size=3, stride=2))


class InceptionC(nn.Module):
    def __init__(self, cin: int, channels_7x7: int, pool):
        super().__init__()
        c7, row, col = channels_7x7, dict(kernel_size=(1, 7), padding=(0, 3)), dict(kernel_size=(7, 1), padding=(3, 0))
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, **row)
        self.branch7x7_3 = BasicConv2d(c7, 192, **col)
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, **row)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, **row)
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for i in range(1, 6):
            d = getattr(self, f"branch7x7dbl_{i}")(d)
        return _cat(self.branch1x1(x), b7, d, self.branch_pool(self.pool(x)))


class InceptionD(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return _cat(self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, kernel_size=3, stride=2))


class InceptionE(nn.Module):
    def __init__(self, cin: int, pool):
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return _cat(self.branch1x1(x),
                    self.branch3x3_2a(b3), self.branch3x3_2b(b3),
                    self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d),
                    self.branch_pool(self.pool(x)))


class FIDInception(nn.Module):
    """Inception-v3 up to pool3. Parameter names are those of the official weights files, so
    their state dicts load with strict=True (fc included, though features never use it).
    `weights_id` names the weights for feature caches: load_inception sets it (the file's SHA-256,
    or "random-..."); None, as built here, means features of this model are never cached."""

    def __init__(self, variant: str = "pytorch-fid"):
        super().__init__()
        spec = _spec(variant)
        self.variant, self.weights_id = variant, None
        avg = partial(F.avg_pool2d, kernel_size=3, stride=1, padding=1, count_include_pad=not spec.tf_pools)
        last = partial(F.max_pool2d, kernel_size=3, stride=1, padding=1) if spec.tf_pools else avg
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, 32, avg)
        self.Mixed_5c = InceptionA(256, 64, avg)
        self.Mixed_5d = InceptionA(288, 64, avg)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128, avg)
        self.Mixed_6c = InceptionC(768, 160, avg)
        self.Mixed_6d = InceptionC(768, 160, avg)
        self.Mixed_6e = InceptionC(768, 192, avg)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, avg)
        self.Mixed_7c = InceptionE(2048, last)
        self.fc = nn.Linear(2048, spec.classes)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """[N x] 3 x H x W in [-1, 1] -> N x 3 x 299 x 299, scaled as the variant's reference does."""
        x = x[None] if x.dim() == 3 else x
        if x.dim() != 4 or x.shape[1] != 3:
            raise I2IError(f"Inception features need N x 3 x H x W images in [-1, 1], got shape {tuple(x.shape)}")
        x = (x.to(self.mean).clamp(-1, 1) + 1) / 2  # [0, 1], where both references start
        if self.variant == "pytorch-fid":
            return 2 * F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) - 1
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False, antialias=True)
        return (x - self.mean) / self.std

    def pool3(self, x: torch.Tensor) -> torch.Tensor:
        """Prepared N x 3 x 299 x 299 input -> N x 2048 features."""
        for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"):
            x = getattr(self, name)(x)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, kernel_size=3, stride=2)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool3(self.prepare(x))


def _spec(variant: str) -> Variant:
    if variant not in VARIANTS:
        raise I2IError(f"unknown Inception variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return VARIANTS[variant]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _shape(v):
    return tuple(v.shape) if torch.is_tensor(v) else type(v).__name__


def _fit(model: FIDInception, state: dict, path: Path) -> dict:
    """The file's state dict as the model needs it, or one line on the first keys that do not fit."""
    spec, own = _spec(model.variant), model.state_dict()
    state = {k: v for k, v in state.items() if not k.startswith(spec.ignored)}
    for k, v in own.items():  # old files predate BatchNorm's counter; it does not affect eval
        if k.endswith("num_batches_tracked"):
            state.setdefault(k, v)
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} is {_shape(state[k])}, expected {_shape(v)}" for k, v in own.items()
              if k in state and _shape(state[k]) != _shape(v)]
    if not (missing or unexpected or shapes):
        return state
    problems = [f"{what} {', '.join(ks[:3])}" + (f" (+{len(ks) - 3} more)" if len(ks) > 3 else "")
                for what, ks in (("missing", missing), ("unexpected", unexpected), ("shape of", shapes)) if ks]
    fc = _shape(state.get("fc.weight"))
    other = [n for n, s in VARIANTS.items() if n != model.variant and fc == (s.classes, 2048)]
    hint = f"; it looks like the {other[0]!r} weights: pass variant={other[0]!r}" if other else ""
    raise I2IError(f"Inception weights {path} do not fit the {model.variant!r} network: {'; '.join(problems)}"
                   f"{hint}; use {spec.file} from {spec.url}")


def load_inception(path=None, variant: str = "pytorch-fid", allow_random: bool = False,
                   device="cpu") -> FIDInception:
    """The feature network in eval mode, weights from `path` or the variant's environment variable
    (I2I_INCEPTION for pytorch-fid, I2I_INCEPTION_IMAGENET for imagenet). Without a file it raises,
    since FID from random weights means nothing; allow_random=True (tests only) gives a fixed
    random initialisation instead."""
    spec = _spec(variant)
    path = path or os.environ.get(spec.env)
    if path:
        path = Path(path).expanduser()
        if not path.is_file():
            raise I2IError(f"Inception weights file {path} does not exist; download {spec.url} "
                           f"and pass its path or set {spec.env}")
        try:
            state = torchfile.load(path)
        except Exception as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise I2IError(f"cannot read Inception weights {path}: {reason}; use {spec.file} from {spec.url}") from None
        if not isinstance(state, dict):
            raise I2IError(f"Inception weights {path} hold a {type(state).__name__}, not a state dict; "
                           f"use {spec.file} from {spec.url}")
        model = FIDInception(variant)
        model.load_state_dict(_fit(model, state, path), strict=True)
        model.weights_id = _sha256(path)
    elif allow_random:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = FIDInception(variant)
        model.weights_id = f"random-seed0-torch{torch.__version__}"
    else:
        raise I2IError(f"no Inception weights for the {variant!r} variant: download {spec.url} and pass its path "
                       f"or set {spec.env}=/path/to/{spec.file}; i2i never computes FID/KID with random weights")
    return model.eval().requires_grad_(False).to(device)
