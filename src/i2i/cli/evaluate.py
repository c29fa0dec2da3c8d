"""`i2i eval`: score a run with the built-in oracle, or the StarGAN v2 protocol."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import I2IError
from .tables import format_domain_eval, format_eval, format_generation_eval, format_joint_eval, format_ring_eval, format_two_domain_eval, pct, table
from .metric import add_weight_options, inception, lpips


def add(sub) -> None:
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


def run(a) -> int:
    from ..api import load
    from ..data import build
    t = load(a.run, a.device)
    if a.protocol == "stargan-v2":
        return eval_protocol(a, t)
    if t.pretrained:
        raise I2IError(f"{a.run} is a pretrained directory, which does not record its training data; the oracle "
                       "needs the run directory (or use --protocol stargan-v2 --data ROOT)")
    if t.cfg.data.spec == "digits":
        from ..metrics.digits import evaluate_generation
        result = evaluate_generation(t.method, n=a.n or 1000, seed=a.seed)
        print(json.dumps(result, indent=2) if a.json else format_generation_eval(result))
        return 0
    if t.cfg.data.spec == "digits:svhn":
        from ..metrics.digits import evaluate_transfer
        result = evaluate_transfer(t.method, build(t.cfg.data, "test", train=False))
        rows = [(k.replace("_", " "), pct(v)) for k, v in result.items() if isinstance(v, float)]
        print(json.dumps(result, indent=2) if a.json else table(f"{result['n']} held-out SVHN-like digits", rows))
        return 0
    if t.cfg.data.spec == "ring":
        from ..metrics.ring import evaluate_ring
        result = evaluate_ring(t.method, n=a.n or 1000, seed=a.seed)
        print(json.dumps(result, indent=2) if a.json else format_ring_eval(result))
        return 0
    if not t.cfg.data.spec.startswith("shapes"):
        raise I2IError(f"i2i eval has oracles for the built-in worlds only (shapes, digits, ring); {a.run} was "
                       f"trained on {t.cfg.data.spec}")
    from ..metrics import translation
    test_set = build(t.cfg.data, "test", train=False)
    if t.method.info.datasets:
        result = translation.evaluate_joint(t.method, test_set, n=a.n or 300, seed=a.seed)
        print(json.dumps(result, indent=2) if a.json else format_joint_eval(result))
    elif t.method.two_domain:
        from ..metrics import two_domain
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


def eval_protocol(a, t) -> int:
    """`i2i eval RUN --protocol stargan-v2 --data ROOT`: FID and LPIPS per task, JSON in the official names."""
    from ..metrics import fid
    from ..metrics.lpips import lpips_diversity
    from ..metrics.protocol import evaluate_stargan_v2
    from .. import rundir
    if not t.has_style:
        raise I2IError(f"the stargan-v2 protocol needs a style method (stargan_v2); {a.run} is {t.method.name}")
    if a.data is None:
        raise I2IError("--protocol stargan-v2 needs --data ROOT with ROOT/train/<domain>/* and ROOT/val/<domain>/*")
    step = 0 if t.pretrained else int(rundir.find(a.run).name.removeprefix("step_"))
    out = a.out or Path(a.run) / "eval" / f"stargan-v2_{step:07d}"
    inception_net, lpips_net = inception(a), lpips(a)
    modes = a.modes.split(",")

    def fid_fn(real, fake):
        return fid.fid_from_features(fid.folder_features(real, inception_net, a.batch_size),
                                     fid.folder_features(fake, inception_net, a.batch_size, cache=False))

    def lpips_fn(group):
        return float(lpips_diversity(lpips_net, [g.to(next(lpips_net.parameters()).device) for g in group]).mean())

    t.method.eval()
    result = evaluate_stargan_v2(t.method, a.data, out, fid_fn, lpips_fn, step, modes=modes,
                                 num_outs=a.num_outs, batch_size=a.batch_size, seed=a.seed)
    if a.json:
        print(json.dumps(result, indent=2))
    else:
        from .tables import table
        for mode in modes:
            tasks = sorted({k.split("/", 1)[1] for k in result if k.startswith(f"FID_{mode}/")},
                           key=lambda s: (s == "mean", s))
            rows = [("task", "FID", "LPIPS")] + [(task, f"{result[f'FID_{mode}/{task}']:.2f}", f"{result[f'LPIPS_{mode}/{task}']:.4f}")
                    for task in tasks]
            print(table(f"StarGAN v2 protocol, {mode}-guided (step {step}): FID, LPIPS", rows))
        print(f"outputs and JSON: {out}")
    return 0
