"""ONNX export: one graph per translation, images in [-1, 1] at the model's image size S.

The graphs (N, the batch, is a dynamic axis unless export_onnx's batch fixes it):
    stargan, matchgan   image [N,3,S,S] float, labels [N,L] float: the full target attribute
                        vector in the order of metadata `labels` (joint runs: [labels | mask]);
                        a domain-label model takes domain [N] int64 instead
    stargan_v2          style="latent":    image, z [N,latent_dim] float, domain [N] int64
                        style="reference": image, reference [N,3,S,S] float, domain [N] int64
                        style="code":      image, style [N,style_dim] float (the generator alone)
    cyclegan, opgan     image; direction="AtoB" exports G_A, "BtoA" G_B
    pix2pix, dtn        image
and one output, `output` [N,C,S,S]. Resizing to S and reading unnamed attributes from the input
(Translator.target_labels) stay outside the graph. The networks are the ones translate() runs,
normalised the same way: per-image statistics where translate uses them (StarGAN's instance
norm, the official pix2pix/CycleGAN test mode), running statistics otherwise. Test-time dropout
(pix2pix's noise) is left out: the graph is deterministic, its output dropout's mean.
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .errors import I2IError
from .nn.fan import MASK_SIZE

STYLES = ("latent", "reference", "code")


def export_onnx(source, path, *, style: str = "latent", direction: str = "AtoB", batch: int | None = None,
                opset: int | None = None, dynamo: bool = True) -> Path:
    """Write the translation graph of `source` (a Translator, or a run or pretrained directory)
    to `path` (written under a temporary name, then renamed) and return the path. batch: None
    gives a dynamic batch axis, an int a fixed batch of that size.

    dynamo=True (torch's default) uses the torch.export-based exporter; dynamo=False the older
    TorchScript one, about ten times faster on small models but unable to trace StarGAN v2's
    high-pass skip (w_hpf > 0)."""
    try:
        import onnx
    except ImportError:
        raise I2IError("ONNX export needs the onnx package: pip install 'i2i[export]'") from None
    if not hasattr(source, "method"):
        from .api import load
        source = load(source, device="cpu")
    m = source.method
    graph, inputs = _graph(m, style, direction)
    if not dynamo and getattr(graph, "masks", False):
        raise I2IError(f"{m.name} with w_hpf={m.cfg.w_hpf}: the TorchScript exporter cannot trace the high-pass "
                       "skip; export with dynamo=True")
    if batch is not None and batch < 1:
        raise I2IError(f"batch={batch}; give a positive batch size, or None for a dynamic batch axis")
    # a dynamic axis needs an example batch above 1 (torch.export fixes sizes 0 and 1)
    example = {name: _example(m, kind, batch or 2) for name, kind in inputs.items()}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        _trace(graph, example, tmp, batch, opset, dynamo, m.name)
        model = onnx.load(str(tmp))
        for key, value in _metadata(m, example, batch, style, direction).items():
            prop = model.metadata_props.add()
            prop.key, prop.value = key, value
        onnx.save(model, str(tmp))
        os.replace(tmp, path)
    except OSError as e:
        raise I2IError(f"could not write {path}: {e.strerror or e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _trace(graph, example: dict, file: Path, batch, opset, dynamo: bool, name: str) -> None:
    kw = {"opset_version": opset} if opset else {}
    if dynamo:
        kw.update(external_data=False,
                  dynamic_shapes=None if batch else tuple({0: torch.export.Dim("batch", min=1)} for _ in example))
    else:
        kw.update(dynamic_axes=None if batch else {k: {0: "batch"} for k in (*example, "output")})
    try:
        with _quiet():
            torch.onnx.export(graph, tuple(example.values()), str(file), input_names=list(example),
                              output_names=["output"], dynamo=dynamo, verbose=False, **kw)
    except OSError:
        raise
    except Exception as e:  # torch's exporters raise many kinds; name the method and the first line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise I2IError(f"torch.onnx could not export {name}: {first}") from None


@contextlib.contextmanager
def _quiet():
    """Without the exporters' notes (deprecation, training-mode ops, torchvision's absent ops)."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def _metadata(m, example: dict, batch, style: str, direction: str) -> dict[str, str]:
    """What a user of the file needs: its inputs' shapes, the label order, the value range."""
    shapes = {k: f"[{', '.join(map(str, [batch or 'N', *t.shape[1:]]))}] {str(t.dtype).removeprefix('torch.')}"
              for k, t in example.items()}
    meta = {"i2i_method": m.name, "inputs": json.dumps(shapes), "labels": json.dumps(list(m.info.labels)),
            "range": "[-1, 1]"}
    if m.name == "stargan_v2":
        meta["style"] = style
    if m.two_domain and not m.one_way:
        meta["direction"] = direction
    return meta


def _graph(m, style: str, direction: str) -> tuple[nn.Module, dict[str, str]]:
    """The module to trace and its inputs (name → kind, for the example tensors)."""
    name = m.name
    if name in ("stargan", "matchgan"):
        g = _inference_copy(m.G, per_image=m.cfg.g_norm == "instance")
        if m.info.multi_label:
            return _Conditioned(g, None), {"image": "image", "labels": "labels"}
        return _Conditioned(g, len(m.info.domains)), {"image": "image", "domain": "domain"}
    if name == "stargan_v2":
        if style not in STYLES:
            raise I2IError(f"style={style!r}; use one of {', '.join(STYLES)}")
        if m.cfg.w_hpf > 0 and m.cfg.fan_path:
            raise I2IError(f"{name} with w_hpf={m.cfg.w_hpf} takes its high-pass masks from FAN face landmarks, "
                           "which are not exported; export a model trained with w_hpf=0")
        g = _inference_copy(m.generator_ema, per_image=False)
        encoder = {"latent": m.mapping_network_ema, "reference": m.style_encoder_ema, "code": None}[style]
        inputs = {"image": "image", **{"latent": {"z": "z", "domain": "domain"},
                                       "reference": {"reference": "image", "domain": "domain"},
                                       "code": {"style": "style"}}[style]}
        enc = None if encoder is None else _inference_copy(encoder, per_image=False)
        return _Styled(g, enc, m.cfg.w_hpf > 0), inputs
    if m.two_domain:
        per_image = not getattr(m.cfg, "eval_mode", True)  # DTN has no test mode: running statistics
        if m.one_way and direction != "AtoB":
            raise I2IError(f"{name} translates A → B only; export it with direction=AtoB")
        if direction not in ("AtoB", "BtoA"):
            raise I2IError(f"direction={direction!r}; use AtoB or BtoA")
        nets = ((m.f, m.g) if name == "dtn" else (m.G,) if m.one_way else
                (m.G_A if direction == "AtoB" else m.G_B,))  # DTN: G = g ∘ f
        return nn.Sequential(*(_inference_copy(net, per_image) for net in nets)), {"image": "image"}
    raise I2IError(f"{name} does not translate images, so it has no translation graph to export")


def _example(m, kind: str, n: int) -> torch.Tensor:
    s = m.info.image_size
    return {"image": lambda: torch.zeros(n, m.info.channels, s, s),
            "labels": lambda: torch.zeros(n, m.c_dim + m.mask_dim),
            "domain": lambda: torch.zeros(n, dtype=torch.long),
            "z": lambda: torch.zeros(n, m.cfg.latent_dim),
            "style": lambda: torch.zeros(n, m.cfg.style_dim)}[kind]()


class _PerImageNorm(nn.Module):
    """Batch or instance norm as translate runs them in train mode on one image at a time:
    normalised by that image's own statistics, with the layer's affine parameters."""

    def __init__(self, norm: nn.Module):
        super().__init__()
        self.weight, self.bias, self.eps = norm.weight, norm.bias, norm.eps

    def forward(self, x):
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


def _inference_copy(net: nn.Module, per_image: bool) -> nn.Module:
    """A frozen CPU float copy in eval mode (no dropout); per_image: norms use each image's statistics."""
    net = copy.deepcopy(net).cpu().float().eval().requires_grad_(False)
    if per_image:
        for parent in list(net.modules()):
            for key, child in parent.named_children():
                if isinstance(child, (nn.BatchNorm2d, nn.InstanceNorm2d)):
                    setattr(parent, key, _PerImageNorm(child))
    return net


class _Conditioned(nn.Module):
    """StarGAN's G(x, c); a domain-label model turns the domain index into c's one-hot vector."""

    def __init__(self, g: nn.Module, domains: int | None):
        super().__init__()
        self.g = g
        if domains:
            self.register_buffer("one_hot", torch.eye(domains))

    def forward(self, image, labels):
        c = self.one_hot[labels] if hasattr(self, "one_hot") else labels
        return self.g(image, c)


class _Styled(nn.Module):
    """StarGAN v2's G(x, s) with s from the mapping network (z, domain), the style encoder
    (reference, domain) or given; w_hpf > 0 without FAN weights: all-ones masks, as translate."""

    def __init__(self, g: nn.Module, encoder: nn.Module | None, masks: bool):
        super().__init__()
        self.g, self.encoder, self.masks = g, encoder, masks

    def forward(self, image, guide, domain=None):
        s = guide if self.encoder is None else self.encoder(guide, domain)
        masks = [image.new_ones(image.size(0), 1, MASK_SIZE, MASK_SIZE)] * 2 if self.masks else None
        return self.g(image, s, masks)
