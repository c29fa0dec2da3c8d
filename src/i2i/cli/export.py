"""`i2i export`: ONNX, or a self-contained pretrained directory."""
from __future__ import annotations

from pathlib import Path

from ..errors import I2IError


def add(sub) -> None:
    ex = sub.add_parser("export", help="export a run as ONNX or as a self-contained pretrained directory",
                        description="--onnx: one graph (images N x 3 x S x S in [-1, 1], dynamic batch), checked by "
                                    "onnxruntime in the tests. --pretrained: config.json + model.safetensors with "
                                    "the inference networks only, loadable with i2i.load(DIR).")
    ex.add_argument("run", type=Path, help="run directory or pretrained directory")
    ex.add_argument("--onnx", type=Path, help="write an ONNX model here")
    ex.add_argument("--pretrained", type=Path, help="write a pretrained directory here")
    ex.add_argument("--overwrite", action="store_true", help="replace an existing pretrained directory")
    ex.add_argument("--style", choices=["latent", "reference", "code"], default="latent",
                    help="stargan_v2: the graph's style input (z + domain, a reference image + domain, or a code)")
    ex.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB", help="cyclegan: which generator")
    ex.add_argument("--batch", type=int, default=None, help="fix the batch size (default: dynamic)")
    ex.add_argument("--opset", type=int, default=None)
    ex.add_argument("--torchscript", action="store_true", help="use the TorchScript exporter (faster, fewer models)")


def run(a) -> int:
    if not (a.onnx or a.pretrained):
        raise I2IError("say what to export: --onnx FILE and/or --pretrained DIR")
    from ..api import load
    if a.pretrained:
        print(f"wrote {load(a.run, 'cpu').save_pretrained(a.pretrained, overwrite=a.overwrite)}")
    if a.onnx:
        from ..tools.export import export_onnx
        print(f"wrote {export_onnx(a.run, a.onnx, style=a.style, direction=a.direction, batch=a.batch, opset=a.opset, dynamo=not a.torchscript)}")
    return 0
