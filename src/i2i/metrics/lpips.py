"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features", v0.1) in plain
torch: the distance the StarGAN v2 protocol averages to measure diversity.

An ImageNet backbone (AlexNet or VGG16, torchvision's layers and parameter names, so its
released .pth files load as they are) is tapped after five ReLUs; each tap is unit-normalised
over channels, the two images' taps are subtracted and squared, a learned 1x1 head (the v0.1
"lin" layers) weighs the channels, and the spatial means are summed over the taps.
Weights are never downloaded: the caller names the files, or sets I2I_LPIPS_BACKBONE /
I2I_LPIPS_HEADS (a file, or a folder holding the file under its released name).
"""
from __future__ import annotations

import os
import re
from itertools import combinations
from pathlib import Path

import torch
from torch import nn

from .. import torchfile
from ..errors import I2IError

# ImageNet statistics expressed for inputs in [-1, 1] (lpips' ScalingLayer)
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10

BACKBONE_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}
HEAD_FILES = {"alex": "alex.pth", "vgg": "vgg.pth"}
WHERE = ("get the backbone from https://download.pytorch.org/models/{backbone} and the heads ({heads}) "
         "from https://github.com/richzhang/PerceptualSimilarity/tree/master/lpips/weights/v0.1 "
         "(also in the `lpips` pip package, lpips/weights/v0.1/), then pass their paths or set "
         "I2I_LPIPS_BACKBONE / I2I_LPIPS_HEADS; random weights are used only with allow_random=True (tests)")


def _alexnet() -> list[nn.Module]:
    """torchvision's alexnet().features up to its last ReLU (index 11)."""
    return [nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU()]


def _vgg16() -> list[nn.Module]:
    """torchvision's vgg16().features (configuration "D") up to relu5_3 (index 29)."""
    layers, c_in = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c_in, v, 3, 1, 1), nn.ReLU()]
            c_in = v
    return layers


NETS = {  # layers, indices of the tapped ReLUs (alex relu1..5; vgg relu1_2, 2_2, 3_3, 4_3, 5_3), their widths
    "alex": (_alexnet, (1, 4, 7, 9, 11), (64, 192, 384, 256, 256)),
    "vgg": (_vgg16, (3, 8, 15, 22, 29), (64, 128, 256, 512, 512)),
}


class Backbone(nn.Module):
    """The feature stack; state_dict keys are torchvision's (`features.0.weight`, ...)."""

    def __init__(self, net: str):
        super().__init__()
        layers, self.taps, self.channels = NETS[net]
        self.features = nn.Sequential(*layers())

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                taps.append(x)
        return taps


def unit_normalise(f: torch.Tensor) -> torch.Tensor:
    """lpips.normalize_tensor: each pixel's feature vector divided by its length (+1e-10)."""
    return f / (f.pow(2).sum(1, keepdim=True).sqrt() + EPS)


MIN_SIZE = 32


class LPIPS(nn.Module):
    """forward(x, y): (N,) distances between two equal-shaped N x 3 x H x W batches in [-1, 1].

    `sources` says where the weights came from: {"backbone": path or "random", "heads": ...}.
    """

    def __init__(self, net: str = "alex"):
        super().__init__()
        self.net = net
        self.backbone = Backbone(net)
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.backbone.channels)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.sources = {"backbone": "random", "heads": "random"}
        self.requires_grad_(False)
        self.eval()

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The unit-normalised taps of one batch (compute once, compare with many)."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise I2IError(f"LPIPS reads N x 3 x H x W images in [-1, 1], got shape {tuple(x.shape)}")
        if min(x.shape[-2:]) < MIN_SIZE:  # AlexNet's strides leave nothing for its last taps below this
            raise I2IError(f"LPIPS needs images of at least {MIN_SIZE} x {MIN_SIZE} pixels, got "
                           f"{x.shape[-2]} x {x.shape[-1]}")
        return [unit_normalise(f) for f in self.backbone((x - self.shift) / self.scale)]

    def distance(self, fx: list[torch.Tensor], fy: list[torch.Tensor]) -> torch.Tensor:
        """(N,): per tap, the head over squared differences, averaged over pixels; summed over taps."""
        return sum(head((a - b) ** 2).mean((1, 2, 3)) for a, b, head in zip(fx, fy, self.heads))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape:
            raise I2IError(f"LPIPS compares batches of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
        return self.distance(self.features(x), self.features(y))


def _read(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torchfile.load(path)  # never unpickle code
    except Exception as e:
        raise I2IError(f"{path}: not a readable torch weights file ({type(e).__name__}); "
                       "use the released .pth file") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise I2IError(f"{path}: holds no state dict of tensors; use the released .pth file")
    return state


def _check(path: Path, what: str, got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    """One line naming the first keys that are missing, unexpected or of the wrong shape."""
    bad = [f"missing {k}" if k not in got else f"{k} is {list(got[k].shape)}, not {list(v.shape)}"
           for k, v in want.items() if k not in got or got[k].shape != v.shape]
    bad += [f"unexpected {k}" for k in got if k not in want]
    if bad:
        raise I2IError(f"{path}: not {what} ({'; '.join(bad[:3])}{'; ...' if len(bad) > 3 else ''})")


def _load_backbone(model: LPIPS, path: Path) -> None:
    # torchvision's files hold the classifier too; LPIPS needs only the features
    state = {k: v for k, v in _read(path).items() if not k.startswith("classifier.")}
    want = model.backbone.state_dict()
    _check(path, f"a torchvision {model.net} backbone like {BACKBONE_FILES[model.net]}", state, want)
    model.backbone.load_state_dict(state)


# lpips' v0.1 files name head k `lin{k}.model.1.weight` (model.0 is a Dropout, the identity at
# evaluation); StarGAN v2's metrics/lpips_weights.ckpt holds the same AlexNet tensors (checked
# equal) as `lpips_weights.{k}.main.1.weight`.
_STARGAN_KEY = re.compile(r"lpips_weights\.(\d)\.main\.1\.weight")


def _load_heads(model: LPIPS, path: Path) -> None:
    state = {_STARGAN_KEY.sub(r"lin\1.model.1.weight", k): v for k, v in _read(path).items()}
    want = {f"lin{k}.model.1.weight": head.weight for k, head in enumerate(model.heads)}
    _check(path, f"LPIPS v0.1 {model.net} heads like {HEAD_FILES[model.net]}", state, want)
    for k, head in enumerate(model.heads):
        head.weight.copy_(state[f"lin{k}.model.1.weight"])


def _resolve(arg, env: str, name: str) -> Path | None:
    value = arg if arg is not None else os.environ.get(env) or None
    if value is None:
        return None
    path = Path(value).expanduser()
    if path.is_dir():
        path = path / name
    if not path.is_file():
        source = "the argument" if arg is not None else env
        raise I2IError(f"{path}: no such LPIPS weights file (from {source}); expected {name}")
    return path


def load_lpips(net: str = "alex", backbone=None, heads=None, allow_random: bool = False,
               device="cpu") -> LPIPS:
    """An LPIPS model in eval mode with frozen weights.

    backbone / heads: a file path, or a folder holding the released file name; when None, the
    environment variables I2I_LPIPS_BACKBONE / I2I_LPIPS_HEADS. A part with no file is an error
    unless allow_random: then the backbone keeps a seeded random initialisation and the heads
    are ones (lpips' lpips=False baseline), for tests of the plumbing, not for reported numbers.
    """
    net = {"vgg16": "vgg"}.get(net, net)
    if net not in NETS:
        raise I2IError(f"LPIPS net {net!r} is not known; use 'alex' or 'vgg'")
    paths = (_resolve(backbone, "I2I_LPIPS_BACKBONE", BACKBONE_FILES[net]),
             _resolve(heads, "I2I_LPIPS_HEADS", HEAD_FILES[net]))
    if None in paths and not allow_random:
        missing = " and ".join(p for p, path in zip(("backbone", "heads"), paths) if path is None)
        raise I2IError(f"LPIPS ({net}) needs weight files: no {missing} given; "
                       + WHERE.format(backbone=BACKBONE_FILES[net], heads=HEAD_FILES[net]))
    with torch.random.fork_rng(devices=[]):  # random parts are reproducible and leave the caller's RNG alone
        torch.manual_seed(0)
        model = LPIPS(net)
    for head in model.heads:
        nn.init.ones_(head.weight)
    if paths[0] is not None:
        _load_backbone(model, paths[0])
        model.sources["backbone"] = str(paths[0])
    if paths[1] is not None:
        _load_heads(model, paths[1])
        model.sources["heads"] = str(paths[1])
    return model.to(device)


@torch.no_grad()
def lpips_diversity(model: LPIPS, outputs) -> torch.Tensor:
    """Mean LPIPS over all unordered pairs (i < j, K(K-1)/2 of them; 45 for K = 10) of K outputs
    made from the same inputs, per input: StarGAN v2's calculate_lpips_given_images.

    outputs: a sequence of K batches N x 3 x H x W (output k of every input), a K x N x 3 x H x W
    tensor, or a K x 3 x H x W tensor (K outputs of one input, N = 1). Returns (N,).
    The official code reports, per batch, the mean of this over the batch; per task, the mean
    over batches (a short last batch counts as much as a full one).
    """
    if isinstance(outputs, torch.Tensor) and outputs.dim() == 4:
        outputs = outputs.unsqueeze(1)
    if len(outputs) < 2:
        raise I2IError(f"LPIPS diversity needs at least 2 outputs per input, got {len(outputs)}")
    shapes = {tuple(o.shape) for o in outputs}
    if len(shapes) != 1:
        raise I2IError(f"LPIPS diversity needs outputs of one shape, got {sorted(shapes)}")
    device = next(model.parameters()).device
    feats = [model.features(o.to(device)) for o in outputs]  # K backbone passes, not K(K-1)
    pairs = [model.distance(feats[i], feats[j]) for i, j in combinations(range(len(feats)), 2)]
    return torch.stack(pairs).mean(0)
