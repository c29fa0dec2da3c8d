"""ONNX export: one graph per translation, images in [-1, 1] at the model's image size S.

Each method that translates says what its graph is (Translates.export_graph): its networks as
translate() runs them and normalises them (per-image statistics where translate uses them,
running statistics otherwise), without test-time dropout, so the graph is deterministic. Inputs
are the image [N,C,S,S] and what the method needs beside it (target labels or a domain index,
a latent code, a reference, a style code); N, the batch, is a dynamic axis unless export_onnx's
batch fixes it; the one output is `output` [N,C,S,S]. Resizing to S and reading unnamed
attributes from the input (Translates.parse_target) stay outside the graph. The file's metadata
names the method, the inputs' shapes, the label order and the value range.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from pathlib import Path

import torch

from ..errors import I2IError
from ..methods.base import Translates


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
    from ..api import Translator, load
    if not isinstance(source, Translator):
        source = load(source, device="cpu")
    m = source.method
    if not isinstance(m, Translates):
        raise I2IError(f"{m.name} does not translate images, so it has no translation graph to export")
    graph = m.export_graph(style, direction)
    if not dynamo and not graph.scriptable:
        raise I2IError(f"{graph.why}; export with dynamo=True")
    if batch is not None and batch < 1:
        raise I2IError(f"batch={batch}; give a positive batch size, or None for a dynamic batch axis")
    # a dynamic axis needs an example batch above 1 (torch.export fixes sizes 0 and 1)
    example = {name: t.expand(batch or 2, *t.shape[1:]).contiguous() for name, t in graph.inputs.items()}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        _trace(graph.module, example, tmp, batch, opset, dynamo, m.name)
        model = onnx.load(str(tmp))
        for key, value in _metadata(m, example, batch, graph.meta).items():
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


def _metadata(m, example: dict, batch, extra: dict[str, str]) -> dict[str, str]:
    """What a user of the file needs: its inputs' shapes, the label order, the value range."""
    shapes = {k: f"[{', '.join(map(str, [batch or 'N', *t.shape[1:]]))}] {str(t.dtype).removeprefix('torch.')}"
              for k, t in example.items()}
    meta = {"i2i_method": m.name, "inputs": json.dumps(shapes), "labels": json.dumps(list(m.info.labels)),
            "range": "[-1, 1]"}
    return {**meta, **extra}


