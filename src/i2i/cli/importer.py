"""`i2i import`: a run directory from an official checkpoint."""
from __future__ import annotations

import argparse
from pathlib import Path



def add(sub) -> None:
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


def _names(s: str) -> list[str]:
    return [v.strip() for v in s.split(",") if v.strip()]


def run(a) -> int:
    from ..official import import_checkpoint, report
    run = import_checkpoint(a.kind, a.files, a.out, image_size=a.image_size, attributes=a.attributes,
                            domains=a.domains, fan=a.fan, eval_mode=a.eval_mode, dropout=a.dropout)
    print("\n".join(report(run)))
    return 0
