"""Training throughput, peak memory and single-image latency of i2i's StarGAN, StarGAN v2 and
CycleGAN at their official configs, on random data, per precision setting; with --official PATH
also the official StarGAN (yunjey/stargan) or StarGAN v2 (clovaai/stargan-v2) training
iteration from the user's checkout, at the same config, and the ratio.

    python benchmarks/speed.py [--configs stargan-128 ...] [--settings fp32 bf16 ...]
                               [--repeats 3] [--official stargan=PATH stargan_v2=PATH]
                               [--pair bf16-cl]   # that setting and the official code, unit by unit

--device cuda (the default where a GPU is present) runs both sides on the GPU: the images are
made there, cuDNN picks its kernels for the fixed sizes (cudnn.benchmark, as the official mains
set it), every timed unit ends with a synchronize, and the peak GPU memory is recorded.

Every measurement runs in a fresh child process (so peak RSS is that measurement's own), one
after another, with all cores; --pair runs one setting and the official code in one process,
alternating their timed units, which keeps the ratio fair when the machine's load changes
(their peak RSS is then the pair's). What one timed unit is:
  stargan     one n_critic cycle: n_critic D updates and one G update, the official schedule;
              timed as one D-only step and one D+G step, cycle = (n_critic − 1)·t_D + t_DG
  stargan_v2  one iteration: D latent, D ref, G latent, G ref, EMA (images = sources)
  cyclegan    one iteration: the G_A/G_B update, then the D_A/D_B update (batch 1)
Nothing of the official code is stored here: its modules are imported from PATH at run time,
with stand-ins only for libraries it imports but never uses on this path (torchvision, munch…).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "speed"
CELEBA = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]

# name: method, official config (None: the method's defaults), image size, batch size. StarGAN v2
# at 256 px: the official batch is 8, but one official iteration at batch 2 takes ~90 s on a
# 2-core CPU, so batch 1 here (--batch stargan_v2-256=8 for the official one on a bigger machine).
CONFIGS = {
    "stargan-128": dict(method="stargan", config=None, size=128, batch=16),
    "stargan_v2-256": dict(method="stargan_v2", config="configs/stargan_v2_afhq.yaml", size=256, batch=1),
    "stargan_v2-64": dict(method="stargan_v2", config="configs/stargan_v2_afhq.yaml", size=64, batch=8),
    "cyclegan-256": dict(method="cyclegan", config="configs/cyclegan_official.yaml", size=256, batch=1),
}
# Config overrides on top of each method's defaults, applied as the trainer applies them. "fp32"
# and "bf16" switch off the kernel and layout choices (fused optimisers, GEMM convolutions on
# small maps, one-conv resampling, StarGAN v2's channels_last) to show what each adds. "default"
# is the library as a user gets it, with train.compile off unless a setting turns it on (auto
# would compile here, as the official configs' runs are long).
PLAIN = {"train.fused_optim": False, "train.matmul_convs": False, "train.resample_convs": False,
         "train.channels_last": False}
SETTINGS = {
    "fp32": {"train.amp": "none", **PLAIN},
    "bf16": {"train.amp": "bf16", **PLAIN},
    "bf16-cl": {**PLAIN, "train.amp": "bf16", "train.channels_last": True},
    "bf16-fused": {**PLAIN, "train.amp": "bf16", "train.fused_optim": True},
    "default": {},
    "default-fp32": {"train.amp": "none"},
    "default-cl": {"train.channels_last": True},
    "default-nocl": {"train.channels_last": False},
    "default-gp32": {"train.penalty_fp32": True},
    "default-compile": {"train.compile": "on"},
    "default-noresample": {"train.resample_convs": False},
    "default-noresample-compile": {"train.resample_convs": False, "train.compile": "on"},
    "default-cl-compile": {"train.channels_last": True, "train.compile": "on"},
}
DEFAULT_SETTINGS = ["fp32", "bf16", "bf16-fused", "default"]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# -- measurement helpers (run in the child) ----------------------------------------------------
def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def sync() -> None:
    """Wait for queued GPU work, so a host clock times what was launched (a no-op on CPU)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def timed(fn) -> float:
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def run_units(unit, warmup: int, repeats: int) -> list[float]:
    """Seconds of each timed unit after `warmup` untimed ones."""
    for _ in range(warmup):
        unit()
    return [unit() for _ in range(repeats)]


def latency(fn, n: int = 5) -> float:
    with torch.no_grad():
        fn()
        fn()
        return statistics.median(timed(fn) for _ in range(n))


# -- i2i -----------------------------------------------------------------------------------
def i2i_case(spec: dict, setting: str, device: torch.device):
    """(method, batch maker, timed unit -> (seconds, images), latency fn)."""
    from i2i.config import RunConfig
    from i2i.methods.base import DataInfo, get_method
    from i2i.train.runtime import apply_runtime

    name, size, bs = spec["method"], spec["size"], spec["batch"]
    cfg = RunConfig.load(ROOT / spec["config"]) if spec["config"] else RunConfig.default(name)
    for key, value in {"train.compile": "off", **SETTINGS[setting]}.items():
        cfg.set(key, value)
    if name == "stargan":
        info = DataInfo(size, attributes=CELEBA, exclusive=[CELEBA[:3]])
    elif name == "stargan_v2":
        info = DataInfo(size, domains=["cat", "dog", "wild"])
    else:
        info = DataInfo(size, domains=["A", "B"])
    method = get_method(name)(cfg.model, info).to(device)
    apply_runtime(method, cfg.train, device)
    method.optimizers()
    method.train()
    fmt = torch.channels_last if method.channels_last else torch.contiguous_format

    def img(n):
        return (torch.rand(n, 3, size, size, device=device) * 2 - 1).contiguous(memory_format=fmt)

    if name == "stargan":
        def batch():
            return {"image": img(bs), "label": celeba_labels(bs, device)}
        n_critic = cfg.model.n_critic

        def unit():
            t_d = timed(lambda: method.train_step(batch(), 0))
            t_dg = timed(lambda: method.train_step(batch(), n_critic - 1))
            return (n_critic - 1) * t_d + t_dg, n_critic * bs, {"t_D": t_d, "t_DG": t_dg}
        x1, target = img(1), batch()["label"][:1]
    elif name == "stargan_v2":
        def batch():
            y = torch.randint(3, (bs,), device=device)
            y_ref = torch.randint(3, (bs,), device=device)
            return {"image": img(3 * bs), "label": torch.cat([y, y_ref, y_ref])}

        def unit():
            return timed(lambda: method.train_step(batch(), 0)), bs, {}
        x1, target = img(1), torch.tensor([1], device=device)
    else:
        def unit():
            return timed(lambda: method.train_step({"A": img(bs), "B": img(bs)}, 0)), bs, {}
        x1, target = img(1), torch.tensor([1], device=device)
    return unit, lambda: method.translate(x1, target)


def celeba_labels(n: int, device: torch.device) -> torch.Tensor:
    """StarGAN's 5 CelebA labels: one of 3 hair colours, then Male and Young."""
    hair = torch.nn.functional.one_hot(torch.randint(3, (n,), device=device), 3).float()
    return torch.cat([hair, torch.randint(2, (n, 2), device=device).float()], 1)


# -- the official code -----------------------------------------------------------------------
class _Stub(types.ModuleType):
    """A module the official code imports but never calls on the training path."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub(f"{self.__name__}.{name}")

    def __call__(self, *args, **kwargs):
        return self


def stub_missing(names: list[str]) -> list[str]:
    import importlib.util
    stubbed = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            sys.modules[name] = _Stub(name)
            stubbed.append(name)
    if "munch" in stubbed:  # used for real: a dict with attribute access
        class Munch(dict):
            __getattr__ = dict.__getitem__
            __setattr__ = dict.__setitem__
        sys.modules["munch"].Munch = Munch
    return stubbed


def official_stargan(path: Path, spec: dict, device: torch.device):
    """yunjey/stargan solver.py's train() iteration with its G, D, gradient_penalty and
    classification_loss (CelebA, 5 attributes, n_critic 5)."""
    sys.path.insert(0, str(path))
    stubbed = stub_missing(["torchvision", "torchvision.utils"])
    import model as their_model
    import solver as their_solver
    size, bs, n_critic = spec["size"], spec["batch"], 5
    G = their_model.Generator(64, 5, 6).to(device)
    D = their_model.Discriminator(size, 64, 5, 6).to(device)
    g_opt = torch.optim.Adam(G.parameters(), 1e-4, [0.5, 0.999])
    d_opt = torch.optim.Adam(D.parameters(), 1e-4, [0.5, 0.999])
    this = types.SimpleNamespace(device=device)
    gp = lambda y, x: their_solver.Solver.gradient_penalty(this, y, x)  # noqa: E731
    cls_loss = lambda l, t: their_solver.Solver.classification_loss(this, l, t, "CelebA")  # noqa: E731

    def iteration(i):  # solver.py train(), steps 1-3, line for line
        x_real, label_org = torch.rand(bs, 3, size, size, device=device) * 2 - 1, celeba_labels(bs, device)
        label_trg = label_org[torch.randperm(label_org.size(0), device=device)]
        c_org, c_trg = label_org.clone(), label_trg.clone()
        out_src, out_cls = D(x_real)
        d_loss_real = -torch.mean(out_src)
        d_loss_cls = cls_loss(out_cls, label_org)
        x_fake = G(x_real, c_trg)
        out_src, out_cls = D(x_fake.detach())
        d_loss_fake = torch.mean(out_src)
        alpha = torch.rand(x_real.size(0), 1, 1, 1, device=device)
        x_hat = (alpha * x_real.data + (1 - alpha) * x_fake.data).requires_grad_(True)
        out_src, _ = D(x_hat)
        d_loss_gp = gp(out_src, x_hat)
        d_loss = d_loss_real + d_loss_fake + 1.0 * d_loss_cls + 10.0 * d_loss_gp
        g_opt.zero_grad(), d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        [v.item() for v in (d_loss_real, d_loss_fake, d_loss_cls, d_loss_gp)]
        if (i + 1) % n_critic == 0:
            x_fake = G(x_real, c_trg)
            out_src, out_cls = D(x_fake)
            g_loss_fake = -torch.mean(out_src)
            g_loss_cls = cls_loss(out_cls, label_trg)
            x_reconst = G(x_fake, c_org)
            g_loss_rec = torch.mean(torch.abs(x_real - x_reconst))
            g_loss = g_loss_fake + 10.0 * g_loss_rec + 1.0 * g_loss_cls
            g_opt.zero_grad(), d_opt.zero_grad()
            g_loss.backward()
            g_opt.step()
            [v.item() for v in (g_loss_fake, g_loss_rec, g_loss_cls)]

    def unit():
        t_d, t_dg = timed(lambda: iteration(0)), timed(lambda: iteration(n_critic - 1))
        return (n_critic - 1) * t_d + t_dg, n_critic * bs, {"t_D": t_d, "t_DG": t_dg}
    x1, c1 = torch.rand(1, 3, size, size, device=device) * 2 - 1, torch.tensor([[1.0, 0, 0, 1, 0]], device=device)
    return unit, lambda: G(x1, c1), stubbed


def official_stargan_v2(path: Path, spec: dict, device: torch.device):
    """clovaai/stargan-v2 core/solver.py's train() iteration with its build_model, compute_d_loss,
    compute_g_loss and moving_average (AFHQ: 3 domains, w_hpf 0, λ_ds 2)."""
    sys.path.insert(0, str(path))
    stubbed = stub_missing(["munch", "cv2", "skimage", "skimage.filters", "ffmpeg", "torchvision",
                            "torchvision.utils", "torchvision.transforms", "torchvision.datasets",
                            "torchvision.models", "scipy"])
    from core import solver as their_solver
    from core import utils as their_utils
    from munch import Munch
    size, bs = spec["size"], spec["batch"]
    args = Munch(img_size=size, num_domains=3, latent_dim=16, style_dim=64, w_hpf=0.0, lambda_reg=1.0,
                 lambda_sty=1.0, lambda_ds=2.0, lambda_cyc=1.0, ds_iter=100000, lr=1e-4, f_lr=1e-6,
                 beta1=0.0, beta2=0.99, weight_decay=1e-4)
    nets, nets_ema = their_solver.build_model(args)
    for net in nets.values():
        net.apply(their_utils.he_init)
    for net in (*nets.values(), *nets_ema.values()):
        net.to(device)
    optims = Munch({k: torch.optim.Adam(params=net.parameters(), lr=args.f_lr if k == "mapping_network" else args.lr,
                                        betas=[args.beta1, args.beta2], weight_decay=args.weight_decay)
                    for k, net in nets.items()})

    def reset_grad():
        for o in optims.values():
            o.zero_grad()

    def iteration():  # core/solver.py train(), line for line (masks None: w_hpf 0)
        x_real, x_ref, x_ref2 = (torch.rand(bs, 3, size, size, device=device) * 2 - 1 for _ in range(3))
        y_org, y_trg = torch.randint(3, (bs,), device=device), torch.randint(3, (bs,), device=device)
        z_trg, z_trg2 = torch.randn(bs, 16, device=device), torch.randn(bs, 16, device=device)
        d_loss, _ = their_solver.compute_d_loss(nets, args, x_real, y_org, y_trg, z_trg=z_trg, masks=None)
        reset_grad()
        d_loss.backward()
        optims.discriminator.step()
        d_loss, _ = their_solver.compute_d_loss(nets, args, x_real, y_org, y_trg, x_ref=x_ref, masks=None)
        reset_grad()
        d_loss.backward()
        optims.discriminator.step()
        g_loss, _ = their_solver.compute_g_loss(nets, args, x_real, y_org, y_trg, z_trgs=[z_trg, z_trg2], masks=None)
        reset_grad()
        g_loss.backward()
        optims.generator.step()
        optims.mapping_network.step()
        optims.style_encoder.step()
        g_loss, _ = their_solver.compute_g_loss(nets, args, x_real, y_org, y_trg, x_refs=[x_ref, x_ref2], masks=None)
        reset_grad()
        g_loss.backward()
        optims.generator.step()
        for k in ("generator", "mapping_network", "style_encoder"):
            their_solver.moving_average(nets[k], nets_ema[k], beta=0.999)

    def unit():
        return timed(iteration), bs, {}
    x1, y1, z1 = torch.rand(1, 3, size, size, device=device) * 2 - 1, torch.tensor([1], device=device), torch.randn(1, 16, device=device)
    return unit, lambda: nets_ema.generator(x1, nets_ema.mapping_network(z1, y1)), stubbed


# -- child: one measurement ----------------------------------------------------------------------
def build_case(spec: dict, setting: str, official: str | None, device: torch.device):
    """(timed unit, single-image translation, extra facts) of one setting."""
    if setting != "official":
        return (*i2i_case(spec, setting, device), {})
    build = official_stargan if spec["method"] == "stargan" else official_stargan_v2
    unit, translate, stubbed = build(Path(official), spec, device)
    return unit, translate, {"stubbed_imports": stubbed}


def measure(job: dict) -> list[dict]:
    """One row per setting of the job; several settings take their timed units in turn (round
    robin), so a change in the machine's load hits them alike."""
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    device = torch.device(job.get("device", "cpu"))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed sizes; both official mains set it too
    spec = {**CONFIGS[job["config"]], "batch": job["batch"], "size": job["size"]}
    settings = job["setting"] if isinstance(job["setting"], list) else [job["setting"]]
    before = rss_mb()
    cases = [build_case(spec, s, job["official"], device) for s in settings]
    warm = []
    for unit, _, _ in cases:
        start = time.perf_counter()
        for _ in range(job["warmup"]):
            unit()
        warm.append(round(time.perf_counter() - start, 2))
    units = [[] for _ in cases]
    for _ in range(job["repeats"]):
        for k, (unit, _, _) in enumerate(cases):
            units[k].append(unit())
    rows = []
    for setting, (_, translate, extra), done, w in zip(settings, cases, units, warm):
        rates = [n / s for s, n, _ in done]
        rows.append({"config": job["config"], "setting": setting, "batch": spec["batch"], "size": spec["size"],
                     "images_per_unit": done[0][1], "unit_s": [round(s, 3) for s, _, _ in done],
                     "parts_s": [{k: round(v, 3) for k, v in p.items()} for _, _, p in done],
                     "img_per_s": {"median": statistics.median(rates), "min": min(rates), "max": max(rates)},
                     "latency_ms": round(latency(translate) * 1000, 1), "warmup_s": w, **extra})
    for row in rows:  # one process: the peak covers every case in it
        row.update(peak_rss_mb=round(peak_mb(), 1), rss_growth_mb=round(peak_mb() - before, 1), device=str(device))
        if device.type == "cuda":
            row["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        if len(rows) > 1:
            row["interleaved_with"] = [s for s in settings if s != row["setting"]]
    return rows


# -- parent ------------------------------------------------------------------------------------
def run_child(job: dict) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": str(job["threads"]), "MKL_NUM_THREADS": str(job["threads"])}
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(job)], capture_output=True,
                          text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        names = job["setting"] if isinstance(job["setting"], list) else [job["setting"]]
        return [{"config": job["config"], "setting": n, "error": proc.stderr.strip().splitlines()[-1:]} for n in names]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    lines = ["| config | setting | img/s median (min–max) | vs official | latency ms | peak MB (RSS, or GPU) |",
             "|---|---|---|---|---|---|"]
    def group(r):  # an interleaved row is compared with the official row of its own process
        return r["config"], "interleaved_with" in r
    official = {group(r): r["img_per_s"]["median"] for r in rows if r["setting"] == "official" and "error" not in r}
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['config']} | {r['setting']} | failed: {' '.join(r['error'])} | | | |")
            continue
        s = r["img_per_s"]
        ratio = f"{s['median'] / official[group(r)]:.2f}×" if group(r) in official else ""
        name = r["setting"] + (" (interleaved)" if "interleaved_with" in r else "")
        lines.append(f"| {r['config'].split('-')[0]} {r['size']} px b{r['batch']} | {name} | {s['median']:.3f} ({s['min']:.3f}–{s['max']:.3f}) "
                     f"| {ratio} | {r['latency_ms']} | {r.get('peak_gpu_mb', r['peak_rss_mb']):.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--settings", nargs="*", default=DEFAULT_SETTINGS, choices=list(SETTINGS))
    p.add_argument("--pair", choices=list(SETTINGS), help="also time this setting and the official code in one "
                   "process, unit by unit in turn (a fair ratio on a machine whose load changes)")
    p.add_argument("--official", nargs="*", default=[], metavar="METHOD=PATH",
                   help="stargan=PATH (yunjey/stargan) and/or stargan_v2=PATH (clovaai/stargan-v2) checkouts")
    p.add_argument("--repeats", type=int, default=3, help="timed units per measurement (median, min, max)")
    p.add_argument("--warmup", type=int, default=1, help="untimed units first")
    p.add_argument("--batch", nargs="*", default=[], metavar="CONFIG=N", help="batch size overrides")
    p.add_argument("--size", nargs="*", default=[], metavar="CONFIG=N", help="image size overrides (smoke tests)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="auto", help="cpu, cuda or cuda:N; auto: cuda where a GPU is present")
    p.add_argument("--out", type=Path, default=OUT / "results.json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(measure(json.loads(a.child))))
        return 0
    official = dict(o.split("=", 1) for o in a.official)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        p.error(f"--device {device}, but torch sees no CUDA device; use --device cpu")
    for field, pairs in (("batch", a.batch), ("size", a.size)):
        for key, value in (b.split("=", 1) for b in pairs):
            CONFIGS[key][field] = int(value)
    rows, load_before = [], os.getloadavg()
    for config in a.configs:
        method = CONFIGS[config]["method"]
        jobs = list(a.settings) + (["official"] if method in official and not a.pair else [])
        if a.pair and method in official:
            jobs.append([a.pair, "official"])
        for setting in jobs:
            job = {"config": config, "setting": setting, "repeats": a.repeats, "warmup": a.warmup,
                   "threads": a.threads, "official": official.get(method), "device": device,
                   "batch": CONFIGS[config]["batch"], "size": CONFIGS[config]["size"]}
            load = os.getloadavg()
            for row in run_child(job):
                row["load_before"] = [round(x, 2) for x in load]
                rows.append(row)
                print(json.dumps(row), flush=True)
    from i2i.train.runtime import cpu_bf16_units
    machine = {"cpu": cpu_name(), "bf16_units": cpu_bf16_units(), "cores": os.cpu_count(),
               "threads": a.threads, "torch": torch.__version__, "device": device}
    if device.startswith("cuda"):
        machine.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                       cudnn=torch.backends.cudnn.version())
    report = {"machine": machine,
              "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
              "repeats": a.repeats, "warmup": a.warmup, "rows": rows, "table": table(rows)}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2))
    print(report["table"])
    print(f"load average before {load_before}, after {report['loadavg_after']}; written {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
