"""`i2i translate`: one image through a trained run."""
from __future__ import annotations

from pathlib import Path

from ..errors import I2IError


def add(sub) -> None:
    tr = sub.add_parser("translate", help="translate one image with a trained run",
                        description="Translate an image of any size; the output has the input's size.")
    tr.add_argument("run", type=Path, help="run directory")
    tr.add_argument("--input", "-i", type=Path, required=True, help="input image")
    tr.add_argument("--target", "-t",
                    help="attributes to set, e.g. red,striped or large=0 (others keep what D reads from the "
                         "input), or a domain name; optional with --reference")
    tr.add_argument("--reference", "-r", type=Path,
                    help="style methods: take the style from this image (and its domain, unless --target)")
    tr.add_argument("--direction", "-d", choices=["AtoB", "BtoA"],
                    help="two-domain methods (cyclegan, opgan; pix2pix: AtoB only): which way to translate")
    tr.add_argument("--seed", type=int, default=0, help="style methods: seed of the random latent codes")
    tr.add_argument("-n", type=int, default=1, help="style methods: number of outputs, one latent code each; "
                                                    "with n > 1 the outputs are OUTPUT's name + _0, _1, …")
    tr.add_argument("--fit", choices=["crop", "squash", "pad"],  # data.images.FITS (not imported: no torch yet)
                    help="how a photo that is not the model's square is prepared; the output always has the "
                         "photo's size. crop: the centre square, translated and pasted back; squash: the whole "
                         "photo resized to the square and back; pad: padded to a square with its edge pixels, "
                         "the padding cut off after. Default: the run's record, the method's official test path "
                         "(stargan, matchgan: "
                         "crop, as its CelebA CenterCrop(178); stargan_v2: squash, its Resize of an aligned "
                         "face; junyanz's methods: squash, their Resize to 286 without the random crop)")
    tr.add_argument("--align", action="store_true",
                    help="a face photo (StarGAN v2): align it as `i2i align` does, translate the aligned crop "
                         "(and an aligned reference), paste the result back into the photo; needs --landmarks")
    tr.add_argument("--landmarks", type=Path, help="with --align: StarGAN v2's celeba_lm_mean.npz")
    tr.add_argument("--fan", type=Path, help="with --align: StarGAN v2's wing.ckpt (default: the run's own FAN, "
                                             "which w_hpf=1 runs carry)")
    tr.add_argument("--output", "-o", type=Path, required=True, help="output PNG")
    tr.add_argument("--device", default="auto")


def run(a) -> int:
    from ..api import load
    from ..data.images import save_image, to_tensor
    t = load(a.run, a.device)
    if a.direction:
        if not t.method.two_domain:
            raise I2IError(f"{a.run} is a {t.method.name} run; --direction is for two-domain methods (use --target)")
        if a.target is not None:
            raise I2IError("give --direction or --target, not both")
        a.target = t.domains[1 if a.direction == "AtoB" else 0]
    if a.target is None and a.reference is None and not t.method.two_domain:
        raise I2IError("give --target (or, for style methods, --reference)")
    if a.align:
        out = t.translate_face(a.input, _aligner(a, t), a.target, reference=a.reference, seed=a.seed, n=a.n)
    else:
        out = t.translate(a.input, a.target, reference=a.reference, seed=a.seed, n=a.n, fit=a.fit)
    outs = out if isinstance(out, list) else [out]
    paths = [a.output] if len(outs) == 1 else [a.output.with_name(f"{a.output.stem}_{k}{a.output.suffix}")
                                               for k in range(len(outs))]
    for img, path in zip(outs, paths):
        save_image(to_tensor(img), path)
    print(f"wrote {', '.join(map(str, paths))} ({outs[0].size[0]}×{outs[0].size[1]})")
    return 0


def _aligner(a, t):
    """translate --align: the face aligner at the model's size, its FAN from --fan or the run."""
    from ..data.align import Aligner
    if a.fit:
        raise I2IError("give --align or --fit, not both: an aligned face is already the model's square")
    fan = a.fan or t.method.asset("fan")
    if a.landmarks is None or fan is None:
        raise I2IError("--align needs --landmarks celeba_lm_mean.npz" + ("" if fan else " and --fan wing.ckpt (this "
                       "run has no FAN of its own)") + " (StarGAN v2's `bash download.sh wing` gets both)")
    return Aligner(fan, a.landmarks, t.image_size)
