"""FAN, the face-alignment hourglass that StarGAN v2 ships as `wing.ckpt`, and the face masks it
gives the generator's high-pass skip (which adds the encoder's edges back on the face only).

Masks come as [face, inner face], each (N, 1, 256, 256) in [0, 1] whatever the input size: the
generator uses masks[0] at 32 px and masks[1] at 64 and 128 px, resized to the feature map.
"""
import pickle
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import torchfile
from ..errors import I2IError

MASK_SIZE = 256  # FAN always works on 256 px images, so its masks are 256 px too
_HINT = "pass StarGAN v2's wing.ckpt (its download.sh: `bash download.sh wing`) as fan_path, or set w_hpf to 0"


class _CoordConv(nn.Module):
    """A conv that also sees three fixed channels: row and column in [-1, 1], and the radius
    scaled to [0, 1]. Its input must be `size` px square."""

    def __init__(self, size: int, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0):
        super().__init__()
        ramp = torch.arange(size).float() / (size - 1) * 2 - 1
        rows, cols = ramp[:, None].expand(size, size), ramp[None, :].expand(size, size)
        radius = (rows ** 2 + cols ** 2).sqrt()
        # not persistent: the checkpoint has no such entry, but it should follow .to(device)
        self.register_buffer("coords", torch.stack([rows, cols, radius / radius.max()])[None], persistent=False)
        self.conv = nn.Conv2d(cin + 3, cout, kernel, stride, padding)

    def forward(self, x):
        x = torch.cat([x, self.coords.to(x.dtype).expand(x.size(0), -1, -1, -1)], 1)
        return self.conv(x), x[:, -2:]  # the last two coordinate channels, FAN's "boundary" output


class _ConvBlock(nn.Module):
    """Pre-activation block (BN-ReLU-conv3 three times, out/2, out/4, out/4 wide) whose three
    outputs are concatenated, plus a skip that is BN-ReLU-conv1 when the width changes."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout // 2, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout // 2)
        self.conv2 = nn.Conv2d(cout // 2, cout // 4, 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout // 4)
        self.conv3 = nn.Conv2d(cout // 4, cout // 4, 3, 1, 1, bias=False)
        self.downsample = None
        if cin != cout:
            self.downsample = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(True), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        a = self.conv1(F.relu(self.bn1(x)))
        b = self.conv2(F.relu(self.bn2(a)))
        c = self.conv3(F.relu(self.bn3(b)))
        return torch.cat([a, b, c], 1) + (x if self.downsample is None else self.downsample(x))


class _HourGlass(nn.Module):
    """Coordinate conv at 64 px, then a recursive hourglass of 256-wide ConvBlocks: at each level
    a full-resolution branch (b1) plus a half-resolution branch (b2, the next level or b2_plus at
    the bottom, b3) upsampled back. Module names match the checkpoint."""

    def __init__(self, depth: int = 4, size: int = 64):
        super().__init__()
        self.depth = depth
        self.coordconv = _CoordConv(size, 256, 256, 1)
        self._build(depth)

    def _build(self, level):  # registration order kept as in the checkpoint
        self.add_module(f"b1_{level}", _ConvBlock(256, 256))
        self.add_module(f"b2_{level}", _ConvBlock(256, 256))
        if level > 1:
            self._build(level - 1)
        else:
            self.add_module(f"b2_plus_{level}", _ConvBlock(256, 256))
        self.add_module(f"b3_{level}", _ConvBlock(256, 256))

    def _level(self, level, x):
        low = getattr(self, f"b2_{level}")(F.avg_pool2d(x, 2))
        low = self._level(level - 1, low) if level > 1 else getattr(self, f"b2_plus_{level}")(low)
        low = getattr(self, f"b3_{level}")(low)
        return getattr(self, f"b1_{level}")(x) + F.interpolate(low, scale_factor=2, mode="nearest")

    def forward(self, x):
        x, boundary = self.coordconv(x)
        return self._level(self.depth, x), boundary


class FAN(nn.Module):
    """One-hourglass FAN for the 98 WFLW landmarks (+1 boundary map), as in StarGAN v2.
    forward takes (N, 3, 256, 256) images in [0, 1] and returns ([heatmaps (N, 99, 64, 64)],
    [boundary channels]); get_heatmap is what the generator needs."""

    def __init__(self):
        super().__init__()
        self.conv1 = _CoordConv(256, 3, 64, 7, 2, 3)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = _ConvBlock(64, 128)
        self.conv3 = _ConvBlock(128, 128)
        self.conv4 = _ConvBlock(128, 256)
        self.m0 = _HourGlass()
        self.top_m_0 = _ConvBlock(256, 256)
        self.conv_last0 = nn.Conv2d(256, 256, 1)
        self.bn_end0 = nn.BatchNorm2d(256)
        self.l0 = nn.Conv2d(256, 99, 1)

    def forward(self, x):
        x, _ = self.conv1(x)
        x = F.avg_pool2d(self.conv2(F.relu(self.bn1(x))), 2)
        x, boundary = self.m0(self.conv4(self.conv3(x)))
        x = F.relu(self.bn_end0(self.conv_last0(self.top_m_0(x))))
        return [self.l0(x)], [boundary]

    @torch.no_grad()
    def get_heatmap(self, x: Tensor, b_preprocess: bool = True):
        """x: images in [-1, 1], any size. With b_preprocess, the two masks (face, inner face),
        each (N, 1, 256, 256) in [0, 1]; without, the raw 98 landmark heatmaps (N, 98, 64, 64)."""
        x = F.interpolate(x, size=256, mode="bilinear")
        heatmaps = self(x * 0.5 + 0.5)[0][-1][:, :-1]  # drop the boundary map
        if not b_preprocess:
            return heatmaps
        return _face_masks(F.interpolate(heatmaps, size=MASK_SIZE, mode="bilinear", align_corners=True))

    @classmethod
    def from_file(cls, path) -> "FAN":
        """Load StarGAN v2's wing.ckpt ({'state_dict': ...}; a bare state dict works too), in eval
        mode and frozen. Like the official loader, entries the model lacks are ignored."""
        try:
            ckpt = torchfile.load(path)
        except Exception as e:
            # torch's own text for a refused pickle suggests weights_only=False, which we never do
            reason = ("not a PyTorch weights file, or one holding more than tensors and plain values"
                      if isinstance(e, pickle.UnpicklingError) else (str(e).splitlines() or [type(e).__name__])[0])
            raise I2IError(f"cannot read FAN weights {path}: {reason}; {_HINT}") from None
        weights = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
        return cls.from_state(weights if isinstance(weights, dict) else {}, path)

    @classmethod
    def from_state(cls, weights: dict, source) -> "FAN":
        """FAN from a state dict (wing.ckpt's, or the `fan` entry of a StarGAN v2 checkpoint), in
        eval mode and frozen; `source` names it in errors."""
        fan = cls()
        own = fan.state_dict()
        # BatchNorm counters are absent from files saved by old PyTorch and do not matter here
        missing = [k for k in own if k not in weights and not k.endswith("num_batches_tracked")]
        wrong = [k for k in own if k in weights and
                 (not torch.is_tensor(weights[k]) or weights[k].shape != own[k].shape)]
        if missing or wrong:
            detail = (f"{len(missing)} of {len(own)} entries missing (e.g. {missing[0]})" if missing else
                      f"wrong shape for {wrong[0]}")
            raise I2IError(f"{source} is not a StarGAN v2 FAN checkpoint: {detail}; {_HINT}")
        own.update({k: weights[k] for k in own if k in weights})
        fan.load_state_dict(own)
        return fan.eval().requires_grad_(False)


def _up(h: Tensor, n: int) -> Tensor:
    """Move heatmaps up n rows (down if negative), wrapping around."""
    return torch.roll(h, -n, dims=2)


def _face_masks(h: Tensor):
    """98 WFLW landmark heatmaps (N, 98, 256, 256) → (face, inner face), each (N, 1, 256, 256).
    Each landmark's blob is cleaned and min-max scaled, some parts are moved and sharpened by a
    power so the masks cover the face's features, and the blobs are summed."""
    h = torch.where(h < 0.1, torch.zeros_like(h), h)
    flat = h.flatten(2)
    low, high = flat.amin(2, keepdim=True), flat.amax(2, keepdim=True)
    h = ((flat - low) / (high - low + 1e-6)).view_as(h)
    # WFLW indices: 0-32 jaw line, 33-50 eyebrows, 51-54 nose bridge, 55-59 nostrils,
    # 60-75 eyes, 76-87 outer lips, 88-95 inner lips, 96-97 pupils
    h[:, 8:25] = h[:, 8:25] ** 3
    h[:, 33:51] = _up(h[:, 33:51], -7) ** 2
    h[:, 55:60] = _up(h[:, 55:60], 8) ** 4
    h[:, 77:82] = _up(h[:, 77:82], -8) ** 4
    h[:, 83:88] = _up(h[:, 83:88], 8) ** 4
    h[:, 88:96] = _up(h[:, 88:96], -2) ** 3
    # the jaw near the ears, the outer eyebrow ends and the mouth corners are dropped
    h[:, [*range(8), *range(25, 34), 46, 76, 82]] = 0
    h[:, 52:55] = _up(h[:, 52:55], 4)
    eyes = h[:, 60:76]
    h[:, 60:76] = _up(eyes, -8) ** 3 + _up(eyes, -24)
    face = h.sum(1, keepdim=True)
    inner = torch.cat([h[:, 51:76], h[:, 96:]], 1).sum(1, keepdim=True)  # no jaw, eyebrows or mouth
    return face.nan_to_num(0.0).clamp(0, 1), inner.nan_to_num(0.0).clamp(0, 1)


class MaskProvider:
    """Gives the generator's high-pass skip its masks for a batch x in [-1, 1]: [face, inner
    face], each (N, 1, 256, 256); None means no masks (the skip is off).
    Providers are plain objects, not modules: they stay out of the generator's checkpoints and
    its train()/eval() switches."""

    def __call__(self, x: Tensor) -> list[Tensor] | None:
        raise NotImplementedError


class FANMasks(MaskProvider):
    """Face masks from a pretrained FAN (always run frozen in eval mode)."""

    def __init__(self, fan: FAN):
        self.fan = fan.eval().requires_grad_(False)

    def __call__(self, x):
        if self.fan.l0.weight.device != x.device:  # follow the batch, since no module owns us
            self.fan.to(x.device)
        return [m.to(x.dtype) for m in self.fan.get_heatmap(x.float())]


class OnesMasks(MaskProvider):
    """All-ones masks, for w_hpf > 0 without FAN weights: the skip then passes every edge."""

    def __init__(self):
        warnings.warn("w_hpf > 0 but no FAN weights: the high-pass skip uses all-ones masks, so it passes "
                      "every edge of the image, not only the face's; to mask it to the face, "
                      "pass StarGAN v2's wing.ckpt as fan_path", stacklevel=2)

    def __call__(self, x):
        return [x.new_ones(x.size(0), 1, MASK_SIZE, MASK_SIZE) for _ in range(2)]


def mask_provider(w_hpf: float, fan_path: str | None) -> MaskProvider | None:
    """None when the high-pass skip is off (the generator has it only for w_hpf > 0), FAN masks
    when fan_path is given, else all-ones masks (with a warning)."""
    if w_hpf <= 0:
        return None
    return FANMasks(FAN.from_file(fan_path)) if fan_path else OnesMasks()
