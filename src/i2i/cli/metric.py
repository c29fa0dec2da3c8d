"""`i2i metric`: FID, KID or LPIPS between two image folders (the weight options eval shares)."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import I2IError


def add_weight_options(p) -> None:
    p.add_argument("--inception", type=Path, default=None,
                   help="FID Inception weights (pytorch-fid's pt_inception-2015-12-05-6726825d.pth, or torchvision's "
                        "inception_v3_google-*.pth with --fid-variant imagenet); default $I2I_INCEPTION "
                        "($I2I_INCEPTION_IMAGENET)")
    p.add_argument("--fid-variant", choices=["pytorch-fid", "imagenet"], default="pytorch-fid",
                   help="pytorch-fid: standard FID (default); imagenet: the ImageNet Inception-v3 features the "
                        "StarGAN v2 authors used, to compare with their tables only (not with standard FID)")
    p.add_argument("--lpips-net", choices=["alex", "vgg"], default="alex")
    p.add_argument("--lpips-backbone", type=Path, default=None,
                   help="torchvision AlexNet/VGG16 weights file or a folder holding it; default $I2I_LPIPS_BACKBONE")
    p.add_argument("--lpips-heads", type=Path, default=None,
                   help="LPIPS v0.1 linear heads (alex.pth / vgg.pth) or a folder; default $I2I_LPIPS_HEADS")
    p.add_argument("--allow-random-weights", action="store_true",
                   help="for tests only: compute with random feature networks when no weights file is given")
    p.add_argument("--batch-size", type=int, default=32)


def add(sub) -> None:
    mt = sub.add_parser("metric", help="FID, KID or LPIPS between two image folders",
                        description="FID/KID: Inception features of every image in each folder (cached per folder). "
                                    "LPIPS: mean distance between same-named images of the two folders. "
                                    "Weights load from files you give; nothing is downloaded.")
    mt.add_argument("name", choices=["fid", "kid", "lpips"])
    mt.add_argument("a", type=Path, help="first image folder")
    mt.add_argument("b", type=Path, help="second image folder")
    mt.add_argument("--kid-subset-size", type=int, default=1000)
    mt.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    mt.add_argument("--json", action="store_true")
    mt.add_argument("--device", default="auto")
    add_weight_options(mt)


def inception(a):
    from ..metrics.inception import load_inception
    model = load_inception(a.inception, a.fid_variant, allow_random=a.allow_random_weights, device=_device(a))
    _warn_if_random("Inception", model.weights_id is None or str(model.weights_id).startswith("random"))
    return model


def lpips(a):
    from ..metrics.lpips import load_lpips
    model = load_lpips(a.lpips_net, a.lpips_backbone, a.lpips_heads, allow_random=a.allow_random_weights,
                       device=_device(a))
    _warn_if_random("LPIPS", "random" in model.sources.values())
    return model


def _device(a) -> str:
    from ..train.runtime import pick_device
    return str(pick_device(getattr(a, "device", "auto")))


def _warn_if_random(what: str, random: bool) -> None:
    if random:
        import sys
        print(f"i2i: warning: random {what} weights (--allow-random-weights): its numbers mean nothing",
              file=sys.stderr)


def run(a) -> int:
    """FID / KID between two image folders; LPIPS between the same-named images of two folders."""
    from ..data.files import list_images
    a_dir, b_dir = (Path(p) for p in (a.a, a.b))
    for d in (a_dir, b_dir):
        if not d.is_dir():
            raise I2IError(f"{d} is not a folder; pass two folders of images")
    if a.name == "lpips":
        result = _folder_lpips(lpips(a), a_dir, b_dir, list_images)
    else:
        from ..metrics import fid, kid
        model = inception(a)
        fa = fid.folder_features(a_dir, model, a.batch_size, cache=not a.no_cache)
        fb = fid.folder_features(b_dir, model, a.batch_size, cache=not a.no_cache)
        if a.name == "fid":
            result = {"fid": fid.fid_from_features(fa, fb), "variant": a.fid_variant}
        else:
            mean, std = kid.kid(fa, fb, subset_size=min(a.kid_subset_size, len(fa), len(fb)))
            result = {"kid": mean, "kid_std": std, "variant": a.fid_variant}
        result.update(n_a=len(fa), n_b=len(fb))
    print(json.dumps(result, indent=2) if a.json else
          "  ".join(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}" for k, v in result.items()))
    return 0


def _folder_lpips(model, a_dir: Path, b_dir: Path, list_images) -> dict:
    import torch

    from ..data.images import load_image, to_tensor
    fa = {p.relative_to(a_dir): p for p in list_images(a_dir)}
    fb = {p.relative_to(b_dir): p for p in list_images(b_dir)}
    common = sorted(set(fa) & set(fb))
    if not common:
        raise I2IError(f"no image names in common between {a_dir} and {b_dir}; LPIPS compares same-named images")
    device = next(model.parameters()).device
    values = []
    with torch.no_grad():
        for name in common:
            x, y = (to_tensor(load_image(f[name]))[None].to(device) for f in (fa, fb))
            if x.shape != y.shape:
                raise I2IError(f"{fa[name]} is {tuple(x.shape[-2:])} but {fb[name]} is {tuple(y.shape[-2:])}; "
                               "LPIPS compares images of one size")
            values.append(float(model(x, y)[0]))
    return {"lpips": sum(values) / len(values), "pairs": len(values), "net": model.net}
