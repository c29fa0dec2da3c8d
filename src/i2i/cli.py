"""The `i2i` command line."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .cli_metrics import add_metric_parser, add_weight_options, cmd_metric, eval_protocol
from .cli_tools import TOOLS, add_tool_parsers
from .errors import I2IError
from .tables import (pct, table, format_domain_eval, format_eval, format_generation_eval, format_joint_eval,
                     format_ring_eval, format_two_domain_eval)

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

    t = sub.add_parser("train", help="train a method on a dataset",
                       description="Train METHOD. Options are config keys given as key=value (model, data or "
                                   "train keys; write data.x / train.x / model.x when a name is ambiguous). "
                                   "The run directory receives config.yaml, checkpoints/, samples/ and logs/.")
    t.add_argument("method", help="method name, e.g. stargan")
    t.add_argument("--data", action="append",
                   help="shapes | shapes:paired | shapes:unpaired | shapes:joint | digits | ring | celeba:PATH | "
                        "folders:PATH | paired:PATH | unpaired:PATH (default: the config's, else shapes); "
                        "without --config a built-in world brings its image size. Give --data twice or more "
                        "for joint training (stargan's mask vector), e.g. --data celeba:A --data folders:B")
    t.add_argument("--config", type=Path, help="YAML config file (method, model, data, train sections)")
    t.add_argument("--out", type=Path, help="run directory (default: runs/METHOD)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    t.add_argument("--skip-nonfinite", action="store_true",
                   help="skip a batch whose loss is NaN/Inf (its updates undone, counted) instead of stopping")
    t.add_argument("--skip-bad-images", action="store_true",
                   help="skip images that cannot be read (each named on stderr, the count reported at the end) "
                        "instead of stopping at the first (sets data.skip_bad)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--logger", choices=["tensorboard", "none"],
                   help="TensorBoard event files in RUN/logs besides logs/metrics.jsonl, or none "
                        "(default: the config's train.logger, tensorboard)")
    t.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. steps=1000")

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

    e = sub.add_parser("eval", help="score a trained run with the built-in oracle",
                       description="Shapes runs: translate held-out images to random valid targets and report how "
                                   "often the oracle reads each target and the kept content. Digits runs: draw "
                                   "N samples and report the digits the oracle reads, its confidence and "
                                   "digits-FD beside the real-vs-real floor (InfoGAN: also how well its categorical "
                                   "code classifies held-out digits). Ring runs: modes covered and samples within "
                                   "3σ of a mode.")
    e.add_argument("run", type=Path, help="run directory")
    e.add_argument("-n", type=int, default=None, help="held-out images (shapes, default 500) or samples (digits, "
                                                       "ring: default 1000)")
    e.add_argument("--seed", type=int, default=0, help="seed for the random targets")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--device", default="auto")
    e.add_argument("--protocol", choices=["oracle", "stargan-v2"], default="oracle",
                   help="oracle: the built-in worlds' oracle (default); stargan-v2: FID and LPIPS over every "
                        "ordered domain pair, latent- and reference-guided, as the StarGAN v2 paper")
    e.add_argument("--data", type=Path, default=None,
                   help="stargan-v2 protocol: dataset root with train/<domain>/* and val/<domain>/*")
    e.add_argument("--out", type=Path, default=None,
                   help="stargan-v2 protocol: where outputs and JSON go (default RUN/eval/stargan-v2_<step>)")
    e.add_argument("--modes", default="latent,reference", help="stargan-v2 protocol: latent, reference or both")
    e.add_argument("--num-outs", type=int, default=10, help="stargan-v2 protocol: outputs per source image")
    add_weight_options(e)

    g = sub.add_parser("generate", help="samples of a generative run as a grid",
                       description="Draw N samples from a generative method's run (gan, dcgan, cgan, infogan, "
                                   "wgan, wgan_gp) and write them as one PNG grid; ring runs as a scatter plot.")
    g.add_argument("run", type=Path, help="run directory")
    g.add_argument("-n", type=int, default=None, help="number of samples (default 64; points: 1000 makes a good "
                                                       "plot), or with --traverse columns (default 9)")
    g.add_argument("--seed", type=int, default=0, help="seed of the latent codes")
    g.add_argument("--label", help="conditional methods (cgan): the class to draw, e.g. 7 (default: every class in turn)")
    g.add_argument("--traverse", type=int, nargs="?", const=1, metavar="K",
                   help="infogan: a traversal grid instead of samples; rows are the categorical code's values, "
                        "columns continuous code K (default 1) swept from -2 to 2")
    g.add_argument("--nrow", type=int, default=8, help="samples per grid row")
    g.add_argument("--output", "-o", type=Path, help="output PNG (default: RUN/samples/generated.png)")
    g.add_argument("--device", default="auto")

    sm = sub.add_parser("sample", help="sample grids and style interpolations of a style method's run",
                        description="Write StarGAN v2's kinds of pictures from held-out images of the run's "
                                    "dataset: latent.png (outputs per domain, one latent code per column), "
                                    "reference.png (source x reference matrix), cycle.png ([x | translated | "
                                    "reconstructed]), and interpolation_latent/_reference as PNG and GIF.")
    sm.add_argument("run", type=Path, help="run directory")
    sm.add_argument("--out", type=Path, help="output folder (default: RUN/samples/final)")
    sm.add_argument("--sources", type=int, default=6, help="number of source images")
    sm.add_argument("--seed", type=int, default=0, help="seed of the latent codes and image choice")
    sm.add_argument("--steps", type=int, default=8, help="frames of each interpolation")
    sm.add_argument("--device", default="auto")

    add_metric_parser(sub)
    add_tool_parsers(sub)
    return p


def cmd_train(a) -> int:
    from .config import RunConfig
    from .train.trainer import train
    out = a.out or Path("runs") / a.method
    if a.resume:
        cfg = RunConfig.load(out / "config.yaml") if (out / "config.yaml").is_file() else None
        if cfg is None:
            raise I2IError(f"nothing to resume in {out}: no config.yaml")
        if cfg.method != a.method:
            raise I2IError(f"{out} is a {cfg.method} run, not {a.method}")
    else:
        cfg = RunConfig.load(a.config) if a.config else RunConfig.default(a.method)
        if cfg.method != a.method:
            raise I2IError(f"{a.config} configures {cfg.method}, not {a.method}")
    if a.data:
        if a.resume:
            raise I2IError("--resume continues the run's own data; drop --data")
        cfg.data.spec, cfg.data.joint = a.data[0], a.data[1:]
        if not a.config:  # the world's own image size, unless an override says otherwise
            from .data import WORLD_IMAGE_SIZE
            cfg.data.image_size = WORLD_IMAGE_SIZE.get(a.data[0], cfg.data.image_size)
    cfg.apply_overrides(a.overrides)
    if a.skip_bad_images:
        cfg.data.skip_bad = True
    if a.skip_nonfinite:
        cfg.train.on_nonfinite = "skip"
    if a.logger:
        cfg.train.logger = a.logger
    run = train(cfg, out, resume=a.resume, show_progress=not a.no_progress)
    from .train.distributed import main_process
    if main_process():  # under torchrun, once
        print(f"done: {run}")
    return 0


def cmd_translate(a) -> int:
    from .api import load
    from .data.images import save_image, to_tensor
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
    from .data.align import Aligner
    if a.fit:
        raise I2IError("give --align or --fit, not both: an aligned face is already the model's square")
    fan = a.fan or getattr(t.method.cfg, "fan_path", "") or None
    if a.landmarks is None or fan is None:
        raise I2IError("--align needs --landmarks celeba_lm_mean.npz" + ("" if fan else " and --fan wing.ckpt (this "
                       "run has no FAN of its own)") + " (StarGAN v2's `bash download.sh wing` gets both)")
    return Aligner(fan, a.landmarks, t.image_size)


def cmd_eval(a) -> int:
    from .api import load
    from .data import build
    t = load(a.run, a.device)
    if a.protocol == "stargan-v2":
        return eval_protocol(a, t)
    if t.pretrained:
        raise I2IError(f"{a.run} is a pretrained directory, which does not record its training data; the oracle "
                       "needs the run directory (or use --protocol stargan-v2 --data ROOT)")
    if t.cfg.data.spec == "digits":
        from .metrics.digits import evaluate_generation
        result = evaluate_generation(t.method, n=a.n or 1000, seed=a.seed)
        print(json.dumps(result, indent=2) if a.json else format_generation_eval(result))
        return 0
    if t.cfg.data.spec == "digits:svhn":
        from .metrics.digits import evaluate_transfer
        result = evaluate_transfer(t.method, build(t.cfg.data, "test", train=False))
        rows = [(k.replace("_", " "), pct(v)) for k, v in result.items() if isinstance(v, float)]
        print(json.dumps(result, indent=2) if a.json else table(f"{result['n']} held-out SVHN-like digits", rows))
        return 0
    if t.cfg.data.spec == "ring":
        from .metrics.ring import evaluate_ring
        result = evaluate_ring(t.method, n=a.n or 1000, seed=a.seed)
        print(json.dumps(result, indent=2) if a.json else format_ring_eval(result))
        return 0
    if not t.cfg.data.spec.startswith("shapes"):
        raise I2IError(f"i2i eval has oracles for the built-in worlds only (shapes, digits, ring); {a.run} was "
                       f"trained on {t.cfg.data.spec}")
    from .metrics import translation
    test_set = build(t.cfg.data, "test", train=False)
    if t.method.info.datasets:
        result = translation.evaluate_joint(t.method, test_set, n=a.n or 300, seed=a.seed)
        print(json.dumps(result, indent=2) if a.json else format_joint_eval(result))
    elif t.method.two_domain:
        from .metrics import two_domain
        evaluate = two_domain.evaluate_paired if test_set.paired else two_domain.evaluate_unpaired
        result = evaluate(t.method, test_set, n=a.n or 200)
        print(json.dumps(result, indent=2) if a.json else format_two_domain_eval(result))
    elif t.cfg.data.domains:
        result = translation.evaluate_shapes_domains(t.method, test_set, n=a.n or 500, seed=a.seed)
        print(json.dumps(result, indent=2) if a.json else format_domain_eval(result))
    else:
        result = translation.evaluate_shapes(t.method, test_set, n=a.n or 500, seed=a.seed)
        print(json.dumps(result, indent=2) if a.json else format_eval(result))
    return 0


def cmd_generate(a) -> int:
    import torch

    from .api import load
    from .data.images import make_grid, save_image
    from .methods.base import Generates, Traverses
    n = a.n if a.n is not None else 9 if a.traverse is not None else 64
    if n < 1:
        raise I2IError(f"-n must be at least 1, got {n}")
    t = load(a.run, a.device)
    if a.traverse is not None:
        if not isinstance(t.method, Traverses):
            raise I2IError(f"{a.run} is a {t.method.name} run, which has no latent codes to traverse; drop --traverse")
        try:
            grid = t.method.traverse(a.traverse, n, generator=torch.Generator().manual_seed(a.seed))
        except ValueError as e:
            raise I2IError(str(e)) from None
        out = a.output or a.run / "samples" / f"traverse_code{a.traverse}.png"
        save_image(make_grid(grid.flatten(0, 1).cpu(), nrow=n), out)
        print(f"wrote {out} ({grid.shape[0]} categorical values x {n} values of code {a.traverse})")
        return 0
    cond = None
    if a.label is not None:
        labels = t.method.info.labels
        if not (isinstance(t.method, Generates) and t.method.conditional):
            raise I2IError(f"{a.run} is a {t.method.name} run, which has no class input; drop --label")
        if a.label not in labels:
            raise I2IError(f"unknown label {a.label!r}; this run knows {', '.join(labels)}")
        cond = labels.index(a.label)
    if not isinstance(t.method, Generates):
        raise I2IError(f"{a.run} is a {t.method.name} run, which translates rather than generates; "
                       "use i2i translate")
    x = t.method.generate(n, cond, generator=torch.Generator().manual_seed(a.seed))
    out = a.output or a.run / "samples" / "generated.png"
    if t.method.info.points:
        from .data.ring import scatter
        save_image(scatter(x), out)
    else:
        save_image(make_grid(x.cpu(), nrow=a.nrow), out)
    print(f"wrote {out} ({n} samples)")
    return 0


def cmd_sample(a) -> int:
    import torch

    from . import sampling
    from .api import load
    from .data import build
    from .data.images import make_grid, save_image
    t = load(a.run, a.device)
    if not t.has_style:
        raise I2IError(f"{a.run} is a {t.method.name} run; i2i sample needs a method that takes a style "
                       "(a latent code or a reference image)")
    m, out = t.method, a.out or a.run / "samples" / "final"
    data = build(t.cfg.data, "test", train=False)
    if len(data) < 2 * a.sources:
        raise I2IError(f"the test split has {len(data)} images; use --sources ≤ {len(data) // 2}")
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(a.seed))[:2 * a.sources].tolist()
    items = [data[i] for i in pick]
    x = torch.stack([it["image"] for it in items]).to(m.device)
    y = torch.tensor([int(it["label"]) for it in items], device=m.device)
    x, ref, y, y_ref = x[:a.sources], x[a.sources:], y[:a.sources], y[a.sources:]
    written = [save_image(sampling.latent_grid(m, x, seed=a.seed), out / "latent.png"),
               save_image(sampling.reference_matrix(m, x, ref, y_ref), out / "reference.png"),
               save_image(sampling.cycle_grid(m, x, y, ref, y_ref), out / "cycle.png")]
    codes = torch.randn(2, m.cfg.latent_dim, generator=torch.Generator().manual_seed(a.seed + 1))
    ends = {"latent": [m.latent_style(y_ref, codes[k].expand(len(y_ref), -1)) for k in range(2)],
            "reference": [m.reference_style(ref, y_ref), m.reference_style(ref.roll(1, 0), y_ref.roll(1, 0))]}
    for kind, (s0, s1) in ends.items():
        frames = sampling.interpolation(m, x, y_ref, s0, s1, a.steps)
        grid = make_grid(torch.stack(frames, 1).flatten(0, 1), nrow=len(frames))
        written += [save_image(grid, out / f"interpolation_{kind}.png"),
                    sampling.write_gif(frames, out / f"interpolation_{kind}.gif")]
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


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
    handler = {"train": cmd_train, "translate": cmd_translate, "eval": cmd_eval, "sample": cmd_sample,
               "generate": cmd_generate, "metric": cmd_metric,
               **TOOLS}
    code = run_command(handler[args.command], args)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: end past the teardown that can abort gloo
        from .train.distributed import leave
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


if __name__ == "__main__":
    sys.exit(main())
