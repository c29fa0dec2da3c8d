"""The `i2i` command line: a module per command, each with its parser (`add`) and handler (`run`)."""
from __future__ import annotations

import argparse
import os
import sys

from ..errors import I2IError
from . import align, bench, evaluate, export, generate, importer, metric, report, sample, serve, summary, train, translate

COMMANDS = {"train": train, "translate": translate, "eval": evaluate, "generate": generate, "sample": sample,
            "metric": metric, "bench": bench, "import": importer, "export": export, "serve": serve, "report": report,
            "summary": summary, "align": align}  # in the order of `i2i --help`

EPILOG = """examples:
  i2i train stargan --data shapes --out runs/shapes steps=20000 image_size=64
  i2i train stargan --data celeba:/data/celeba --out runs/celeba
  i2i train stargan --out runs/shapes --resume
  i2i translate runs/shapes --input in.png --target red,striped --output out.png
  i2i eval runs/shapes --json
  i2i report runs/shapes            # runs/shapes/report.html: losses, samples over time, evaluations, config
  i2i eval runs/afhq --protocol stargan-v2 --data /data/afhq --inception pt_inception-2015-12-05-6726825d.pth \
      --lpips-backbone alexnet-owt-7be5be79.pth --lpips-heads alex.pth
  i2i import stargan 200000-G.ckpt 200000-D.ckpt --out runs/celeba-official
  i2i export runs/afhq --onnx afhq.onnx --style reference
  i2i metric fid real/ fake/ --inception pt_inception-2015-12-05-6726825d.pth
  i2i summary stargan image_size=128 c_dim=5 --json
  i2i train stargan --data celeba:/data/celeba --data folders:/data/rafd --out runs/joint
  i2i summary stargan image_size=128 c_dim=5 c2_dim=8
  i2i train dcgan --data digits image_size=32 --out runs/dcgan
  i2i generate runs/dcgan -n 64 -o digits.png
  i2i serve runs/shapes runs/afhq --port 7860"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="i2i", description="GAN image-to-image translation and generation.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"i2i {__import__('i2i').__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS.values():
        command.add(sub)
    return p


def main(argv=None) -> int:
    if hasattr(sys.stdout, "reconfigure"):  # a file name that is not UTF-8 is printed escaped, not a traceback
        sys.stdout.reconfigure(errors="backslashreplace")
    p = parser()
    # key=value overrides may come after options too, which argparse's positionals don't allow.
    args, extra = p.parse_known_args(argv)
    bad = [e for e in extra if e.startswith("-") or "=" not in e or not hasattr(args, "overrides")]
    if bad:
        p.error(f"unrecognized arguments: {' '.join(bad)}")
    if extra:
        args.overrides += extra
    code = run_command(COMMANDS[args.command].run, args)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: end past the teardown that can abort gloo
        from ..train.distributed import leave
        leave(code)
    return code


def run_command(handler, args) -> int:
    try:
        return handler(args)
    except I2IError as e:
        print(f"i2i: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("i2i: interrupted", file=sys.stderr)
        return 130
