"""`i2i align`: face photos aligned as StarGAN v2's `--mode align`."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import I2IError


def add(sub) -> None:
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


def run(a) -> int:
    from ..data.align import align_path
    written, skipped = align_path(a.input, a.out, a.fan, a.landmarks, a.size, a.min_peak,
                                  log=lambda line: print(f"i2i: {line}", file=sys.stderr))
    if not written:
        raise I2IError(f"no face aligned under {a.input}: all {len(skipped)} images were skipped")
    total = len(written) + len(skipped)
    where = written[0] if total == 1 else a.out
    print(f"aligned {len(written)} of {total} images into {where}" + (f" ({len(skipped)} skipped)" if skipped else ""))
    return 0
