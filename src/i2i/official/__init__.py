"""Official checkpoints as i2i run directories: `import_checkpoint("stargan", ["G.ckpt", "D.ckpt"], "runs/x")`.

One module per official repository (stargan.py, stargan_v2.py, junyanz.py) reads its files'
state dicts, infers the architecture from their shapes and names the i2i entry of every official
entry. This module checks that mapping both ways (every official entry lands on an i2i entry of
the same shape, every i2i entry of an imported network is filled) and writes the run directory
`i2i train` would: config.yaml, info.yaml, checkpoints/step_N/ (atomic), plus import.yaml, a record
of the source files, the inferred settings and what was not in them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from .. import torchfile
from ..config import RunConfig
from ..errors import I2IError
from ..methods.base import DataInfo, Method, get_method
from .. import rundir

KINDS = ("stargan", "stargan-v2", "cyclegan", "pix2pix")


@dataclass
class Part:
    """One official state dict and where it goes: i2i key = prefix + rename(official key)."""
    source: str                     # file name (and sub-dict) for messages
    state: dict
    prefix: str                     # e.g. "G." or "generator_ema."
    rename: Callable[[str], str] = lambda k: k
    ignore: Callable[[str], str | None] = lambda k: None  # a reason to skip an entry, or None


@dataclass
class Plan:
    """What a kind module infers from the files: the run's config, data info, and the parts."""
    cfg: RunConfig
    info: DataInfo
    parts: list[Part]
    settings: dict                  # inferred (or given) architecture, reported
    notes: list[str] = field(default_factory=list)  # what the files did not hold
    step: int = 0
    files: dict = field(default_factory=dict)       # config key -> (file name in the run, object to save)
    optimizers: dict = field(default_factory=dict)  # optimiser name -> (source, official state dict)


# The files each kind takes, and what they are, for messages
FILES = {"stargan": "200000-G.ckpt [200000-D.ckpt]", "stargan-v2": "100000_nets_ema.ckpt [100000_nets.ckpt]",
         "cyclegan": "latest_net_G_A.pth [latest_net_G_B.pth]", "pix2pix": "latest_net_G.pth"}
WHAT = {"stargan": "a yunjey/stargan G.ckpt or D.ckpt", "stargan-v2": "a StarGAN v2 networks file (…_nets_ema.ckpt)",
        "cyclegan": "a junyanz generator (latest_net_G*.pth)", "pix2pix": "a junyanz generator (latest_net_G*.pth)"}


def identify(state) -> tuple[str, tuple[str, ...]] | None:
    """What an official file is, from its top-level keys and key names: (a description, the kinds
    that import it), or None when it looks like none of them. For the error messages of every kind."""
    if not isinstance(state, dict):
        return None
    keys = {str(k).removeprefix("module.") for k in state}
    if {"generator", "mapping_network", "style_encoder"} <= keys:
        if isinstance(state.get("generator"), dict) and "param_groups" in state["generator"]:
            return "StarGAN v2 optimiser states (…_optims.ckpt)", ()  # no importer takes them
        return ("a StarGAN v2 training file (…_nets.ckpt)" if "discriminator" in keys else
                "a StarGAN v2 networks file (…_nets_ema.ckpt)"), ("stargan-v2",)
    if {"main.0.weight", "conv1.weight", "conv2.weight"} <= keys:
        return "a StarGAN discriminator (yunjey/stargan D.ckpt)", ("stargan",)
    if "main.0.weight" in keys and any(re.fullmatch(r"main\.\d+\.main\.0\.weight", k) for k in keys):
        return "a StarGAN generator (yunjey/stargan G.ckpt)", ("stargan",)
    if "model.1.weight" in keys or "model.model.0.weight" in keys:
        return "a junyanz generator (pytorch-CycleGAN-and-pix2pix latest_net_G*.pth)", ("cyclegan", "pix2pix")
    return None


def another_kind(kind: str, states) -> str | None:
    """A message for the first file that `identify` finds to be another kind's, else None."""
    for name, state in states:
        found = identify(state)
        if found and kind not in found[1]:
            fits = (f"import it with `i2i import {'|'.join(found[1])} {name} ... --out RUN`" if found[1] else
                    "no importer takes it (give the networks file, …_nets_ema.ckpt)")
            return f"{name} is {found[0]}, not {WHAT[kind]}: {fits}"
    return None


def read_state(path, kind: str | None = None) -> dict:
    """torch.load(weights_only=True) of a user's file, or a one-line error (`kind`: the files to name)."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*") if p.suffix in (".ckpt", ".pth", ".pt"))
        raise I2IError(f"{path} is a directory; give the checkpoint file(s) in it"
                       + (f": {FILES[kind]}" if kind in FILES else "")
                       + (f" (it holds {', '.join(found[:6])}{', …' if len(found) > 6 else ''})" if found else ""))
    if not path.is_file():
        raise I2IError(f"checkpoint {path} does not exist")
    try:
        state = torchfile.load(path)
    except Exception as e:  # weights_only refuses pickled code; torch's hint to disable it is not for us
        raise I2IError(f"cannot read {path}: {_unreadable(path, e)}") from None
    if not isinstance(state, dict):
        raise I2IError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def _unreadable(path: Path, e: Exception) -> str:
    """Why torch.load failed, in our words (torch's zip reader speaks of miniz and central directories)."""
    with open(path, "rb") as f:
        head = f.read(2)
    if not head:
        return "it is empty (0 bytes): truncated, not a complete PyTorch file"
    if head != b"PK" and head[:1] != b"\x80":  # torch.save writes a zip, or before torch 1.6 a pickle
        return "it is not a PyTorch file (torch.save's format)"
    if isinstance(e, pickle.UnpicklingError):
        return "it holds more than tensors and plain values (or is no PyTorch file)"
    return "it is truncated or damaged, not a complete PyTorch file (copy or download it again)"


def tensors(state, source: str) -> dict[str, torch.Tensor]:
    """A flat state dict with DataParallel's 'module.' prefix removed."""
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise I2IError(f"{source} is not a state dict of tensors (a network's state_dict())")
    return {k.removeprefix("module."): v for k, v in state.items()}


def step_of(path) -> int:
    """The iteration in an official file name (200000-G.ckpt, 100000_nets_ema.ckpt), else 0."""
    m = re.match(r"(\d+)[-_]", Path(path).name)
    return int(m.group(1)) if m else 0


def count(state: dict, pattern: str) -> int:
    """How many distinct values the (\\d+) group of `pattern` takes over the keys."""
    rx = re.compile(pattern)
    return len({m.group(1) for k in state if (m := rx.fullmatch(k))})


def need(state: dict, key: str, source: str, what: str) -> torch.Tensor:
    if key not in state:
        raise I2IError(f"{source} has no entry {key!r}: it is not {what}")
    return state[key]


def model_config(method: str, image_size: int, model: dict, data: dict | None = None) -> RunConfig:
    cfg = RunConfig.default(method)
    cfg.set("train.amp", "none")  # float32, so translations reproduce the official outputs (amp=auto: faster)
    cfg.set("data.image_size", image_size)
    for k, v in (data or {}).items():
        cfg.set(f"data.{k}", v)
    for k, v in model.items():
        cfg.set(f"model.{k}", v)
    return cfg


def build(plan: Plan) -> Method:
    """The i2i method with every part's weights in place (other networks keep their own init)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # networks the files lack (a discriminator) are initialised reproducibly
        try:
            method = get_method(plan.cfg.method)(plan.cfg.model, plan.info)
        except ValueError as e:
            raise I2IError(f"cannot build {plan.cfg.method} for {plan.parts[0].source}: {e}") from None
    own = method.state_dict()
    for part in plan.parts:
        transfer(own, part, plan.cfg.method)
    method.load_state_dict(own)
    return method


def transfer(own: dict[str, torch.Tensor], part: Part, method: str) -> None:
    """Put every entry of `part` on its i2i key (same shape), then require every i2i entry under
    part.prefix to have been filled (batch-norm counters of old files excepted)."""
    filled = set()
    for key, value in part.state.items():
        if part.ignore(key):
            continue
        new = part.prefix + part.rename(key)
        if new not in own:
            raise I2IError(f"{part.source}: entry {key!r} has no counterpart in i2i's {method} (no {new}); "
                           f"is this file of another method or architecture?")
        if tuple(value.shape) != tuple(own[new].shape):
            raise I2IError(f"{part.source}: entry {key!r} has shape {tuple(value.shape)} but i2i's {new} "
                           f"has {tuple(own[new].shape)}; the file does not match the inferred architecture")
        own[new] = value.to(own[new].dtype)
        filled.add(new)
    for key in own:
        if key.startswith(part.prefix) and key not in filled:
            if key.endswith("num_batches_tracked"):  # absent from files of old PyTorch; unused at inference
                own[key] = torch.zeros_like(own[key])
                continue
            raise I2IError(f"{part.source}: no entry for i2i's {key}; the file lacks part of the network "
                           f"(truncated, or another architecture)")


def describe(files) -> list[dict]:
    out = []
    for f in files:
        digest = hashlib.sha256(Path(f).read_bytes()).hexdigest()
        out.append({"file": str(Path(f).resolve()), "sha256": digest})
    return out


def plan_for(kind: str, files: list, **options) -> Plan:
    """Read the files and infer the run (nothing is written)."""
    if kind not in KINDS:
        raise I2IError(f"unknown checkpoint kind {kind!r}; use one of: {', '.join(KINDS)}")
    if not files:
        raise I2IError(f"name the {kind} checkpoint file(s) to import")
    if kind == "stargan":
        from . import stargan as module
    elif kind == "stargan-v2":
        from . import stargan_v2 as module
    else:
        from . import junyanz as module
    options = {k: v for k, v in options.items() if v is not None}  # None: not given (the CLI's unset flags)
    known = [k for k in inspect.signature(module.plan).parameters if k not in ("states", "kind")]
    for k in options:
        if k not in known:
            raise I2IError(f"{kind} takes no option {k!r}; its options: {', '.join(known)}")
    if module.__name__.endswith("junyanz"):
        options["kind"] = kind
    states = [(Path(f).name, read_state(f, kind)) for f in files]
    try:
        plan = module.plan(states, **options)
    except I2IError:  # a file of another kind: say which, and its importer
        other = another_kind(kind, states)
        if other:
            raise I2IError(other) from None
        raise
    plan.step = max(step_of(f) for f in files)
    return plan


def import_checkpoint(kind: str, files, out, **options) -> Path:
    """Write run directory `out` from official checkpoint `files` of `kind` (stargan, stargan-v2,
    cyclegan, pix2pix). Options are the kind module's plan() keywords (names, sizes, FAN file);
    what was inferred is in out/import.yaml. Returns `out`."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise I2IError(f"{out} already exists and is not empty; choose a new --out (an import never overwrites)")
    files = [Path(f) for f in ([files] if isinstance(files, (str, Path)) else files)]
    plan = plan_for(kind, files, **options)
    method = build(plan)
    # inference networks the files lacked, randomly initialised: i2i.load reads this while the run's
    # checkpoint is still step `step` (training the run on trains them)
    untrained = [p.rstrip(".") for p in method.inference_networks if p and all(q.prefix != p for q in plan.parts)]
    record = {"kind": kind, "sources": describe(files), "method": plan.cfg.method, "settings": plan.settings,
              "notes": plan.notes, "step": plan.step, "untrained": untrained}
    optimizers = load_optimizers(method, plan.optimizers)
    out.mkdir(parents=True, exist_ok=True)
    for key, (name, obj) in plan.files.items():  # weights the run keeps beside its checkpoints (FAN)
        torch.save(obj, out / name)
        plan.cfg.set(key, str((out / name).resolve()))
    rundir.write_run(out, plan.cfg.to_dict(), dataclasses.asdict(method.info))
    rundir.write_import(out, record)
    # the state file holds what `i2i train` writes: step, RNG, (fresh) optimiser states
    state = {"step": plan.step, "torch_rng": torch.get_rng_state(), "cuda_rng": [],
             "optimizers": optimizers}
    rundir.save(out, plan.step, method.state_dict(), state)
    return out


def load_optimizers(method: Method, official: dict) -> dict:
    """The run's optimiser states: the official ones where given, fresh ones otherwise. Official
    states number parameters in the official state dict's order (`keys`, buffers skipped); each is
    moved to i2i's parameter of that name, its moments' shapes checked, so training resumes exactly."""
    out = {}
    networks = method.networks()
    for name, opt in method.optimizers().items():
        if name in official:
            source, state, keys = official[name]
            params = dict(networks[name].named_parameters())
            order = [k for k in keys if k in params]
            ours = {id(p): i for i, p in enumerate(p for g in opt.param_groups for p in g["params"])}
            try:
                groups = state["param_groups"]
                if len(groups) != 1 or not len(groups[0]["params"]) == len(order) == len(ours):
                    raise I2IError(f"{source} steps {sum(len(g['params']) for g in groups)} parameters in "
                                   f"{len(groups)} groups; i2i's {name} has {len(ours)} in one")
                moments = {ours[id(params[order[j]])]: m for j, m in state["state"].items()}
            except (KeyError, TypeError, IndexError, AttributeError):
                raise I2IError(f"{source} is not an Adam state of {name} (state / param_groups)") from None
            for key, p in params.items():
                m = moments.get(ours[id(p)], {}).get("exp_avg")
                if m is not None and tuple(m.shape) != tuple(p.shape):
                    raise I2IError(f"{source}: the moments of {key} have shape {tuple(m.shape)} but i2i's has "
                                   f"{tuple(p.shape)}; the file belongs to another model")
            opt.load_state_dict({"state": moments, "param_groups": [{**groups[0], "params": list(range(len(ours)))}]})
        out[name] = opt.state_dict()
    return out


def report(run) -> list[str]:
    """Lines telling what an import inferred and what its files lacked (from run/import.yaml)."""
    record = rundir.read_import(run)
    settings = ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in record["settings"].items())
    return [f"imported {record['kind']} into {run} as {record['method']}: {settings}",
            *(f"note: {n}" for n in record["notes"])]
