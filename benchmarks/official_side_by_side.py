"""The official code beside i2i on the built-in shapes world: same task, config, seed and iterations.

    python benchmarks/official_side_by_side.py --official stargan=PATH stargan_v2=PATH
        [--methods stargan stargan_v2] [--sides official i2i] [--lanes 2] [--n 500] [--out runs/side]

PATH is a checkout of yunjey/stargan or clovaai/stargan-v2; nothing of it is stored here: its
modules are imported from PATH at run time (what it imports but never calls on the training
path, torchvision's save_image, ffmpeg, is stubbed, as in benchmarks/speed.py). Each side trains
in its own process with one thread (--lanes of them at a time):
- official: yunjey's `Solver.train()` (CelebA path: multi-label BCE) or clovaai's `Solver.train()`,
  fed the shapes world through a loader adapter (StarGAN v2: sources shuffled, references two
  images of one random domain, as its ReferenceDataset). clovaai's network widths are constants of
  its core/model.py (first width 2^14 / size, mapping width 512); to run the benchmark config's
  widths they are replaced in the module's text as it is loaded (the file is not changed). Its
  checkpoints are imported with `i2i import`, and scored by the oracle like i2i's.
- i2i: `i2i train` with the same config.
Config values the official code cannot express are listed in the results (`not_official`); the
official side runs without them. Results: benchmarks/results/side_by_side/results.json (written as
each side ends) and a Markdown table beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "side_by_side"
CONFIGS = {"stargan": "configs/stargan_shapes_demo.yaml", "stargan_v2": "configs/stargan_v2_shapes.yaml"}
# what each config sets that the official code has no option for (it runs without them)
NOT_OFFICIAL = {"stargan": ["model.g_norm: batch (official: instance norm)",
                            "model.warmup_steps: 500 (official: none)",
                            "model.decay_steps: linear every step (official: -lr/decay every lr_update_step=1000)",
                            "train.amp, channels_last: speed settings (official: float32)"],
                "stargan_v2": ["model.warmup_steps: 1500 (official: none)",
                               "model.ema_beta: 0.99 (official: 0.999, fixed in its train())",
                               "train.amp, channels_last, resample_convs: speed settings (official: float32)",
                               "sources drawn uniformly (official: class-balanced sampler)"]}


# -- the official code -----------------------------------------------------------------------------
def _stub(names):
    from speed import stub_missing  # benchmarks/speed.py: stand-ins for modules never called here
    stub_missing(names)


def shapes_batches(dataset, batch: int, seed: int):
    """An endless iterable of shuffled (images, labels) batches, re-shuffled per pass as a DataLoader."""
    import torch

    class Loader:
        def __init__(self):
            self.g = torch.Generator().manual_seed(seed)

        def __iter__(self):
            order = torch.randperm(len(dataset), generator=self.g).tolist()
            for k in range(0, len(order) - batch + 1, batch):
                items = [dataset[j] for j in order[k:k + batch]]
                yield (torch.stack([it["image"] for it in items]),
                       torch.stack([torch.as_tensor(it["label"]) for it in items]))
    return Loader()


def reference_batches(dataset, batch: int, seed: int):
    """(x_ref, x_ref2, y): two random images of one random domain per item (clovaai's ReferenceDataset)."""
    import torch
    labels = torch.as_tensor([int(dataset[i]["label"]) for i in range(len(dataset))])
    by_domain = [torch.nonzero(labels == d).flatten() for d in range(int(labels.max()) + 1)]

    class Loader:
        def __init__(self):
            self.g = torch.Generator().manual_seed(seed + 1)

        def __iter__(self):
            for _ in range(len(dataset) // batch):
                y = torch.randint(len(by_domain), (batch,), generator=self.g)
                pick = [by_domain[d][torch.randint(len(by_domain[d]), (2,), generator=self.g)] for d in y.tolist()]
                yield (torch.stack([dataset[int(p[0])]["image"] for p in pick]),
                       torch.stack([dataset[int(p[1])]["image"] for p in pick]), y)
    return Loader()


def official_stargan(path: Path, cfg, work: Path) -> list[Path]:
    import torch
    sys.path.insert(0, str(path))
    _stub(["torchvision", "torchvision.utils"])
    from solver import Solver  # noqa: E402  (yunjey/stargan)
    from i2i.data import build
    m, t = cfg.model, cfg.train
    steps = t.steps
    conf = types.SimpleNamespace(
        c_dim=len(cfg.data.attributes), c2_dim=0, image_size=cfg.data.image_size, g_conv_dim=m.g_conv_dim,
        d_conv_dim=m.d_conv_dim, g_repeat_num=m.g_repeat_num, d_repeat_num=m.d_repeat_num,
        lambda_cls=m.lambda_cls, lambda_rec=m.lambda_rec, lambda_gp=m.lambda_gp, dataset="CelebA",
        batch_size=t.batch_size, num_iters=steps, num_iters_decay=m.decay_steps, g_lr=m.g_lr, d_lr=m.d_lr,
        n_critic=m.n_critic, beta1=m.beta1, beta2=m.beta2, resume_iters=None,
        selected_attrs=list(cfg.data.attributes), test_iters=steps, use_tensorboard=False,
        log_dir=str(work / "logs"), sample_dir=str(work / "samples"), model_save_dir=str(work / "models"),
        result_dir=str(work / "results"), log_step=100, sample_step=10 ** 9, model_save_step=steps,
        lr_update_step=1000)
    for d in ("logs", "samples", "models", "results"):
        (work / d).mkdir(parents=True, exist_ok=True)
    torch.manual_seed(t.seed)
    loader = shapes_batches(build(cfg.data, "train"), t.batch_size, t.seed)
    Solver(loader, None, conf).train()
    return [work / "models" / f"{steps}-G.ckpt", work / "models" / f"{steps}-D.ckpt"]


def _clovaai_model(path: Path, m):
    """core/model.py with the config's widths in place of its constants, loaded as core.model."""
    import importlib.util
    file = path / "core" / "model.py"
    text = file.read_text()
    swaps = {"2**14 // img_size": f"{m.dim_in}", "max_conv_dim=512": f"max_conv_dim={m.max_conv_dim}",
             "nn.Linear(latent_dim, 512)": f"nn.Linear(latent_dim, {m.hidden_dim})",
             "nn.Linear(512, 512)": f"nn.Linear({m.hidden_dim}, {m.hidden_dim})",
             "nn.Linear(512, style_dim)": f"nn.Linear({m.hidden_dim}, style_dim)"}
    for old, new in swaps.items():
        if old not in text:
            raise SystemExit(f"{file}: no `{old}`; this script expects clovaai/stargan-v2 at commit 875b70a")
        text = text.replace(old, new)
    import core  # noqa: F401  (the package, from PATH)
    spec = importlib.util.spec_from_loader("core.model", loader=None, origin=str(file))
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(file)
    sys.modules["core.model"] = module
    exec(compile(text, str(file), "exec"), module.__dict__)


def official_stargan_v2(path: Path, cfg, work: Path) -> list[Path]:
    import torch
    sys.path.insert(0, str(path))
    _stub(["munch", "cv2", "skimage", "skimage.filters", "ffmpeg", "torchvision", "torchvision.utils",
           "torchvision.transforms", "torchvision.datasets", "torchvision.models", "scipy", "scipy.linalg"])
    m, t = cfg.model, cfg.train
    _clovaai_model(path, m)
    from munch import Munch
    from core.solver import Solver  # noqa: E402  (clovaai/stargan-v2)
    from i2i.data import build
    args = Munch(mode="train", img_size=cfg.data.image_size, num_domains=len(cfg.data.domains),
                 latent_dim=m.latent_dim, style_dim=m.style_dim, w_hpf=m.w_hpf, wing_path="",
                 lambda_reg=m.lambda_reg, lambda_sty=m.lambda_sty, lambda_ds=m.lambda_ds, lambda_cyc=m.lambda_cyc,
                 ds_iter=m.ds_iter, lr=m.lr, f_lr=m.f_lr, beta1=m.beta1, beta2=m.beta2, weight_decay=m.weight_decay,
                 resume_iter=0, total_iters=t.steps, batch_size=t.batch_size, val_batch_size=t.batch_size,
                 print_every=100, sample_every=10 ** 9, save_every=t.steps, eval_every=10 ** 9,
                 checkpoint_dir=str(work / "checkpoints"), sample_dir=str(work / "samples"),
                 eval_dir=str(work / "eval"), seed=t.seed)
    torch.manual_seed(t.seed)
    data = build(cfg.data, "train")
    solver = Solver(args)
    loaders = Munch(src=shapes_batches(data, t.batch_size, t.seed), ref=reference_batches(data, t.batch_size, t.seed),
                    val=shapes_batches(data, t.batch_size, t.seed + 2))
    solver.train(loaders)
    ckpt = work / "checkpoints"
    return [ckpt / f"{t.steps:06d}_nets.ckpt", ckpt / f"{t.steps:06d}_nets_ema.ckpt"]


# -- one side in a child process ---------------------------------------------------------------------
def child(method: str, side: str, official: str | None, out: Path, n: int, overrides=()) -> dict:
    import torch
    torch.set_num_threads(1)
    from i2i.api import load
    from i2i.config import RunConfig
    from i2i.data import build
    from i2i.metrics import translation
    from i2i.official import import_checkpoint
    from i2i.train.trainer import train
    cfg = RunConfig.load(ROOT / CONFIGS[method])
    cfg.set("train.threads", 1)
    for kv in overrides:  # one list for both methods: a key the method lacks is skipped
        section, name = kv.split("=", 1)[0].split(".", 1)
        if name in cfg.to_dict().get(section, {}):
            cfg.set(*kv.split("=", 1))
    work = out / f"{method}-{side}"
    start = time.perf_counter()
    if side.split(":")[0] == "i2i":
        train(cfg, work / "run", show_progress=False)
        run = work / "run"
    else:
        files = (official_stargan if method == "stargan" else official_stargan_v2)(Path(official), cfg, work)
        minutes = (time.perf_counter() - start) / 60
        kind = "stargan" if method == "stargan" else "stargan-v2"
        names = ({"attributes": list(cfg.data.attributes)} if method == "stargan" else {"domains": list(cfg.data.domains)})
        run = import_checkpoint(kind, files, work / "run", **names)
    minutes = (time.perf_counter() - start) / 60 if side.startswith("i2i") else minutes
    t = load(run, device="cpu")
    test = build(cfg.data, "test", train=False)
    if method == "stargan":
        scores = translation.evaluate_shapes(t.method, test, n=n)
    else:
        scores = translation.evaluate_shapes_domains(t.method, test, n=n)
    return {"method": method, "side": side, "config": CONFIGS[method], "steps": cfg.train.steps,
            "seed": cfg.train.seed, "train_minutes": round(minutes, 2), "threads": 1,
            "not_official": NOT_OFFICIAL[method] if side.startswith("official") else [],
            "overrides": list(overrides), "scores": scores}


# -- the parent: lanes, results -----------------------------------------------------------------------
def table(results: list[dict]) -> str:
    rows = ["| method | code | iterations | train min (1 thread) | figures |", "|---|---|---|---|---|"]
    for r in results:
        s = r["scores"]
        if r["method"] == "stargan":
            figs = (", ".join(f"{a} {v:.1%}" for a, v in s["target_accuracy_changed"].items())
                    + f"; shape kept {s['shape_kept']:.1%}, centre kept {s['centre_kept']:.1%}")
        else:
            ta, ck = s["translation_accuracy"], s["content_kept_spatial"]
            figs = (f"target shape {ta['latent']:.1%} / {ta['reference']:.1%} (latent / reference)"
                    + f", centre and size kept {ck['latent']:.1%} / {ck['reference']:.1%}"
                    + f", reference colour {s['reference_colour_match']:.1%}, colours over latents {s['latent_colours']:.2f}")
        rows.append(f"| {r['method']} | {r['side']} | {r['steps']} | {r['train_minutes']:.1f} | {figs} |")
    return "\n".join(rows) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--official", nargs="*", default=[], metavar="METHOD=PATH")
    p.add_argument("--methods", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--sides", nargs="*", default=["official", "i2i"], choices=["official", "i2i"])
    p.add_argument("--lanes", type=int, default=2, help="sides trained at once, one thread each")
    p.add_argument("--n", type=int, default=500, help="held-out images scored")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / f"side-{time.strftime('%Y%m%d-%H%M%S')}")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for both sides "
                   "(e.g. train.steps=20 for a smoke run)")
    p.add_argument("--tag", help="names this variant in the results (side 'i2i:TAG'), e.g. with --set")
    p.add_argument("--child", nargs=2, metavar=("METHOD", "SIDE"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    official = dict(o.split("=", 1) for o in a.official)
    if a.child:
        method, side = a.child
        result = child(method, side, official.get(method), a.out, a.n, a.set)
        (a.out / f"{method}-{side}.json").write_text(json.dumps(result, indent=2))
        return
    jobs = [(m, f"{s}:{a.tag}" if a.tag else s) for s in a.sides for m in a.methods]
    missing = sorted({m for m, s in jobs if s.startswith("official") and m not in official})
    if missing:
        raise SystemExit(f"give --official {' '.join(f'{m}=PATH' for m in missing)} (a checkout of the official code)")
    jobs.sort(key=lambda j: (not j[1].startswith("official"), j[0] != "stargan_v2"))  # longest first
    a.out.mkdir(parents=True, exist_ok=True)
    a.results.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    running = []
    saved = a.results / "results.json"
    while jobs or running:
        while jobs and len(running) < a.lanes:
            m, s = jobs.pop(0)
            cmd = [sys.executable, __file__, "--child", m, s, "--out", str(a.out), "--n", str(a.n),
                   "--official", *a.official, "--set", *a.set]
            log = open(a.out / f"{m}-{s}.log", "w")
            running.append(((m, s), subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)))
            print(f"started {m} ({s}); log {a.out / f'{m}-{s}.log'}", flush=True)
        time.sleep(5)
        for job in [j for j in running if j[1].poll() is not None]:
            running.remove(job)
            (m, s), proc = job
            file = a.out / f"{m}-{s}.json"
            if proc.returncode or not file.is_file():
                print(f"{m} ({s}) failed (exit {proc.returncode}); see {a.out / f'{m}-{s}.log'}", flush=True)
                continue
            result = json.loads(file.read_text())
            done = json.loads(saved.read_text()) if saved.is_file() else []  # read again: another run may add
            done = [r for r in done if (r["method"], r["side"]) != (m, s)] + [result]
            saved.write_text(json.dumps(done, indent=2))
            (a.results / "table.md").write_text(table(done))
            print(f"{m} ({s}) done in {result['train_minutes']:.1f} min", flush=True)
    print(table(json.loads(saved.read_text()) if saved.is_file() else []))


if __name__ == "__main__":
    main()
