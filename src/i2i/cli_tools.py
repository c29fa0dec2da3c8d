"""The CLI's commands around a trained model: `i2i import`, `export`, `serve` and `report`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import I2IError


def add_tool_parsers(sub) -> None:
    b = sub.add_parser("bench", help="run a benchmark of the source checkout: speed",
                       description="Run benchmarks/<SUITE>.py of the source checkout with the arguments that follow, "
                                   "e.g. `i2i bench speed --official stargan=PATH --repeats 3` (`i2i bench speed --help`).")
    b.add_argument("suite", choices=["speed"])
    b.add_argument("args", nargs=argparse.REMAINDER, help="the suite's own options")

    im = sub.add_parser("import", help="make a run directory from an official checkpoint",
                        description="stargan G.ckpt [D.ckpt] (yunjey/stargan); stargan-v2 100000_nets_ema.ckpt "
                                    "[100000_nets.ckpt [100000_optims.ckpt]] (clovaai/stargan-v2; a w_hpf=1 model's "
                                    "files carry their FAN, kept as RUN/fan.ckpt; the optimiser states let "
                                    "`i2i train --resume` continue the official training); cyclegan latest_net_G_A.pth "
                                    "[latest_net_G_B.pth], pix2pix latest_net_G.pth (junyanz). The architecture is "
                                    "read from the weights; RUN/import.yaml records it and what the files lacked.")
    im.add_argument("kind", help="whose checkpoint: one of the official repositories' kinds named above")
    im.add_argument("files", nargs="+", type=Path, help="the official checkpoint file(s)")
    im.add_argument("--out", type=Path, required=True, help="new run directory (never overwritten)")
    im.add_argument("--image-size", type=int, help="stargan without D.ckpt (required: G alone does not fix it; "
                                                   "D.ckpt does); cyclegan, pix2pix (default 256)")
    im.add_argument("--attributes", type=_names, help="stargan: multi-label names in label order (default: CelebA's five)")
    im.add_argument("--domains", type=_names,
                    help="stargan: single-label names (8 labels: RaFD's); stargan-v2: domain names (female,male / "
                         "cat,dog,wild); cyclegan, pix2pix: input,output (default A,B)")
    im.add_argument("--fan", type=Path, help="stargan-v2 with w_hpf > 0 (CelebA-HQ) whose files lack the `fan` "
                                             "entry the official code writes: StarGAN v2's wing.ckpt")
    im.add_argument("--eval", dest="eval_mode", action="store_true", default=None,
                    help="cyclegan, pix2pix: running statistics and no dropout (official --eval)")
    im.add_argument("--dropout", action=argparse.BooleanOptionalAction, default=None,
                    help="pix2pix/cyclegan U-Nets: dropout at test time (not in the weights)")

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

    sv = sub.add_parser("serve", help="a web demo of trained runs (needs the serve extra: pip install 'i2i[serve]')",
                        description="Serve a page to translate an uploaded image (or a built-in sample) with "
                                    "one or more runs. Bound to 127.0.0.1 (this machine only) unless --host says "
                                    "otherwise; 0.0.0.0 serves every network this machine is on.")
    sv.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run or pretrained directories, one model each")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    sv.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    sv.add_argument("--max-upload-mb", type=float, default=10.0, help="largest upload accepted, in MB (default: 10)")
    sv.add_argument("--concurrency", type=int, default=1,
                    help="requests the queue handles at once (default: 1); forward passes still run one at a time")
    sv.add_argument("--device", default="auto")

    rp = sub.add_parser("report", help="write a run's report as one self-contained HTML page",
                        description="Header facts, loss curves from logs/metrics.jsonl, the sample grids over time, "
                                    "the latest evaluation results and the config, in one HTML file that "
                                    "fetches nothing from the network.")
    rp.add_argument("run", type=Path, help="run directory")
    rp.add_argument("--out", "-o", type=Path, help="output HTML file (default: RUN/report.html)")


    s = sub.add_parser("summary", help="parameter counts of a method's networks",
                       description="Build METHOD with the given options and print each network's parameter "
                                   "count under its official name. c_dim=N sets the number of attribute labels "
                                   "(with c2_dim=M: joint training, M domains of a second dataset plus the mask), "
                                   "num_domains=N the number of domains, channels=N the image channels (default 3); "
                                   "img_size is image_size.")
    s.add_argument("method")
    s.add_argument("overrides", nargs="*", metavar="key=value")
    s.add_argument("--json", action="store_true")

    al = sub.add_parser("align", help="align face photos as StarGAN v2's `--mode align` (FAN landmarks)",
                        description="Squash each photo to SIZE x SIZE, find FAN's 98 landmarks, mirror-pad, and warp "
                                    "(Lanczos-4) so the landmarks match the reference layout, as the official "
                                    "code; writes PNGs. A folder is searched recursively and keeps its "
                                    "sub-folders; images without a face are skipped and named.")
    al.add_argument("input", type=Path, help="an image or a folder of images")
    al.add_argument("--out", "-o", type=Path, required=True,
                    help="output folder (for one image, a .png path works too)")
    al.add_argument("--fan", type=Path, required=True, help="StarGAN v2's wing.ckpt")
    al.add_argument("--landmarks", type=Path, required=True, help="StarGAN v2's celeba_lm_mean.npz")
    al.add_argument("--size", type=int, default=256, help="output side, a multiple of 64 (default 256)")
    al.add_argument("--min-peak", type=float, default=0.1,
                    help="no face when the median landmark heatmap peak is below this (default 0.1)")

def _names(s: str) -> list[str]:
    return [v.strip() for v in s.split(",") if v.strip()]


def cmd_import(a) -> int:
    from .official import import_checkpoint, report
    run = import_checkpoint(a.kind, a.files, a.out, image_size=a.image_size, attributes=a.attributes,
                            domains=a.domains, fan=a.fan, eval_mode=a.eval_mode, dropout=a.dropout)
    print("\n".join(report(run)))
    return 0


def cmd_export(a) -> int:
    if not (a.onnx or a.pretrained):
        raise I2IError("say what to export: --onnx FILE and/or --pretrained DIR")
    from .api import load
    if a.pretrained:
        print(f"wrote {load(a.run, 'cpu').save_pretrained(a.pretrained, overwrite=a.overwrite)}")
    if a.onnx:
        from .export import export_onnx
        print(f"wrote {export_onnx(a.run, a.onnx, style=a.style, direction=a.direction, batch=a.batch, opset=a.opset, dynamo=not a.torchscript)}")
    return 0


def cmd_report(a) -> int:
    from .report import write_report
    print(f"wrote {write_report(a.run, a.out)}")
    return 0


def cmd_serve(a) -> int:
    from .serve import serve
    serve(a.runs, host=a.host, port=a.port, max_upload_mb=a.max_upload_mb, concurrency=a.concurrency,
          device=a.device)
    return 0


def cmd_bench(a) -> int:
    import importlib.util
    script = Path(__file__).resolve().parents[2] / "benchmarks" / f"{a.suite}.py"
    if not script.is_file():
        raise I2IError(f"{script} not found: `i2i bench` runs the benchmarks of a source checkout "
                       "(git clone, then pip install -e .)")
    spec = importlib.util.spec_from_file_location(f"i2i_bench_{a.suite}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(a.args)


def cmd_summary(a) -> int:
    from .config import RunConfig
    from .methods.base import DataInfo, get_method
    cfg = RunConfig.default(a.method)
    method = get_method(a.method)
    counts, rest = {}, []
    for pair in a.overrides:
        key, _, value = pair.partition("=")
        if key in ("c_dim", "c2_dim", "num_domains", "channels"):
            if not value.isdigit() or int(value) < 1:
                raise I2IError(f"{key}={value!r} must be a positive integer")
            counts[key] = int(value)
        else:
            rest.append(pair.replace("img_size=", "image_size=", 1) if key == "img_size" else pair)
    cfg.apply_overrides(rest)
    channels = counts.pop("channels", 3)
    if "c2_dim" in counts:  # joint training as the official code's: c_dim attributes + c2_dim domains + mask
        parts = [{"name": "dataset1", "labels": [f"a{i}" for i in range(counts.get("c_dim", 5))], "multi_label": True},
                 {"name": "dataset2", "labels": [f"b{i}" for i in range(counts["c2_dim"])], "multi_label": False}]
        info = DataInfo(cfg.data.image_size, channels, attributes=parts[0]["labels"] + parts[1]["labels"],
                        exclusive=[parts[1]["labels"]], datasets=parts)
    elif "num_domains" in counts or ((method.domains_only or method.two_domain) and "c_dim" not in counts):
        info = DataInfo(cfg.data.image_size, channels, domains=[f"d{i}" for i in range(counts.get("num_domains", 2))])
    else:
        info = DataInfo(cfg.data.image_size, channels, attributes=[f"a{i}" for i in range(counts.get("c_dim", 5))])
    try:
        counts = method(cfg.model, info).summary()
    except ValueError as e:
        raise I2IError(f"{a.method}: {e}") from None
    print(json.dumps(counts) if a.json else "\n".join(f"{k}: {v:,}" for k, v in counts.items()))
    return 0


def cmd_align(a) -> int:
    from .data.align import align_path
    written, skipped = align_path(a.input, a.out, a.fan, a.landmarks, a.size, a.min_peak,
                                  log=lambda line: print(f"i2i: {line}", file=sys.stderr))
    if not written:
        raise I2IError(f"no face aligned under {a.input}: all {len(skipped)} images were skipped")
    total = len(written) + len(skipped)
    where = written[0] if total == 1 else a.out
    print(f"aligned {len(written)} of {total} images into {where}" + (f" ({len(skipped)} skipped)" if skipped else ""))
    return 0


TOOLS = {"bench": cmd_bench, "import": cmd_import, "export": cmd_export, "report": cmd_report, "serve": cmd_serve,
         "summary": cmd_summary, "align": cmd_align}
