"""junyanz/pytorch-CycleGAN-and-pix2pix checkpoints: `latest_net_G.pth` (or `_G_A` / `_G_B`),
state dicts of models/networks.py's ResnetGenerator or UnetGenerator.

i2i's generators (nn/resnet_generator.py, nn/unet.py) keep the official module layout
(model.N, model.N.conv_block.M; model.model.1.model.3...), so the mapping is official key →
"G." / "G_A." / "G_B." + key, each shape checked. Inferred from the weights: netG
(resnet_<K>blocks from the residual blocks, unet_<2^downs> from the nesting depth), ngf, the norm
(batch: affine scales with running statistics; instance: no norm entries but conv biases; none:
neither) and, for ResNets, dropout (it shifts the second conv's index). InstanceNorm running
statistics in files of 2018's code (track_running_stats=True) are skipped, as the official
load_networks drops them. Unknowable from weights: the image size, and dropout in a U-Net.

CycleGAN: G_A and G_B make a two-way cyclegan run. One generator alone (the official pretrained
downloads) makes a one-way run of i2i's pix2pix method, which holds one junyanz generator and
translates A → B only, as the official `--model test` does.
"""
from __future__ import annotations

import re

from ..errors import I2IError
from ..methods.base import DataInfo
from . import Part, Plan, model_config, tensors

_STATS = ("running_mean", "running_var", "num_batches_tracked")


def _convs(sd: dict, pattern: str) -> list[int]:
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for k, v in sd.items() if (m := rx.fullmatch(k)) and v.dim() == 4})


def _norm(sd: dict, first_conv: str) -> str:
    if any(k.endswith("running_mean") and k.removesuffix("running_mean") + "weight" in sd for k in sd):
        return "batch"  # junyanz's BatchNorm is affine and keeps running statistics
    return "instance" if first_conv + ".bias" in sd else "none"  # convs carry a bias only before instance norm


def _old_instance_stats(sd: dict):
    """Skip InstanceNorm buffers (a norm with statistics but no scale), as load_networks does."""
    def ignore(key):
        if key.endswith(_STATS) and key.rsplit(".", 1)[0] + ".weight" not in sd:
            return "InstanceNorm statistics of 2018's code; the official loader drops them"
        return None
    return ignore


def generator(name: str, sd: dict) -> dict:
    """The architecture of one official generator state dict."""
    if "model.model.0.weight" in sd:  # U-Net: the outermost block's down conv
        downs, p = 1, "model.model.1"
        while f"{p}.model.1.weight" in sd:
            downs += 1
            p += ".model.3"
        w = sd["model.model.0.weight"]
        out_ch = sd["model.model.3.weight"].shape[1] if "model.model.3.weight" in sd else None
        return {"netG": f"unet_{2 ** downs}", "ngf": w.shape[0], "norm": _norm(sd, "model.model.0"),
                "dropout": None, "in": w.shape[1], "out": out_ch}
    w = sd.get("model.1.weight")
    if w is None or w.dim() != 4 or w.shape[-1] != 7:
        raise I2IError(f"{name} is not a junyanz generator (ResnetGenerator or UnetGenerator state dict): "
                       "it has neither model.1.weight (7x7) nor model.model.0.weight")
    blocks = sorted({int(m.group(1)) for k in sd if (m := re.fullmatch(r"model\.(\d+)\.conv_block\.\d+\.weight", k))})
    dropout = False
    if blocks:
        convs = _convs(sd, rf"model\.{blocks[0]}\.conv_block\.(\d+)\.weight")
        if convs[:1] == [0]:
            raise I2IError(f"{name} uses zero-padded residual blocks (padding_type='zero'); i2i builds them "
                           "reflect-padded only")
        dropout = convs == [1, 6]  # [pad, conv, norm, relu, dropout, pad, conv, norm]
    last = max(_convs(sd, r"model\.(\d+)\.weight"))
    return {"netG": f"resnet_{len(blocks)}blocks", "ngf": w.shape[0], "norm": _norm(sd, "model.1"),
            "dropout": dropout, "in": w.shape[1], "out": sd[f"model.{last}.weight"].shape[0]}


def plan(states, kind: str, image_size: int | None = None, domains=None, eval_mode: bool = False,
         dropout: bool | None = None) -> Plan:
    if kind == "pix2pix" and len(states) != 1 or len(states) > 2:
        raise I2IError(f"{kind} takes " + ("one file (latest_net_G.pth)" if kind == "pix2pix" else
                                           "latest_net_G_A.pth [latest_net_G_B.pth]") + f"; got {len(states)}")
    gens = [(name, tensors(sd, name)) for name, sd in states]
    arch = [generator(name, sd) for name, sd in gens]
    if len(arch) == 2 and arch[0] != arch[1]:
        raise I2IError(f"{gens[0][0]} and {gens[1][0]} are different architectures ({arch[0]} vs {arch[1]})")
    a, name = arch[0], gens[0][0]
    if (a["in"], a["out"]) != (3, 3):
        raise I2IError(f"{name} maps {a['in']} to {a['out']} channels; i2i's pix2pix and cyclegan translate RGB "
                       "images (3 to 3)")
    notes = []
    if a["dropout"] is None:  # U-Net dropout has no weights: the official default of each model
        a["dropout"] = (kind == "pix2pix") if dropout is None else dropout
    elif dropout is not None and dropout != a["dropout"]:
        raise I2IError(f"{name}'s residual blocks are built {'with' if a['dropout'] else 'without'} dropout; "
                       "leave out the dropout option")
    n = int(a["netG"].split("_")[1]) if a["netG"].startswith("unet") else 4
    image_size = image_size or (256 if 256 % n == 0 else n)
    if image_size % n:
        raise I2IError(f"{a['netG']} needs an image size that is a multiple of {n}, not {image_size}")
    names = list(domains) if domains else ["A", "B"]
    if len(names) != 2:
        raise I2IError(f"name the two domains (input, output), got {len(names)}: {', '.join(names)}")
    two_way = kind == "cyclegan" and len(gens) == 2
    method = "cyclegan" if two_way else "pix2pix"
    model = {k: a[k] for k in ("netG", "ngf", "norm", "dropout")} | {"eval_mode": bool(eval_mode)}
    if kind == "cyclegan":
        model["gan_mode"] = "lsgan"
    if not two_way and kind == "cyclegan":
        notes.append(f"one generator: a one-way run ({names[0]} → {names[1]}) of i2i's pix2pix method, as the "
                     "official --model test; give latest_net_G_A.pth and latest_net_G_B.pth for a two-way run")
    if not eval_mode and (a["norm"] == "batch" or a["dropout"]):
        notes.append("eval_mode off (the official test default): batch norm uses each image's own statistics and "
                     "dropout stays on; eval_mode=True uses the running statistics and no dropout (official --eval)")
    notes.append("the discriminator(s) are not in the files: randomly initialised (translation does not use them)")
    prefixes = ["G_A.", "G_B."] if two_way else ["G."]
    parts = [Part(n_, sd, p, ignore=_old_instance_stats(sd)) for (n_, sd), p in zip(gens, prefixes)]
    settings = {"method": method, "image_size": image_size, "domains": names, **model}
    cfg = model_config(method, image_size, model)
    return Plan(cfg, DataInfo(image_size, domains=names), parts, settings, notes)
