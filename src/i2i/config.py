"""Typed run configuration: dataclasses, YAML round trip and `key=value` overrides."""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import I2IError
from .methods.base import get_method


@dataclass
class DataConfig:
    spec: str = "shapes"               # shapes | shapes:paired | shapes:unpaired | digits | ring | celeba:PATH
                                       # | folders:PATH | paired:PATH | unpaired:PATH
    image_size: int = 128
    attributes: list[str] = field(default_factory=list)  # empty: the layout's default
    n_train: int = 20_000              # built-in worlds only (shapes, shapes:paired/unpaired, ring)
    n_test: int = 500                  # built-in worlds; CelebA keeps the official 1,999
    crop: int = 178                    # CelebA centre crop before resizing
    stripe_period: float = 0.0         # shapes: stripe period in px (0: the world's default)
    stripe_angle: float = -1.0         # shapes:unpaired: one stripe direction in degrees (< 0: random)
    domains: list[str] = field(default_factory=list)  # shapes: shape names as domains; folders, digits: a subset
    random_crop_prob: float = 0.0      # folders, training: P(random resized crop) as StarGAN v2 (0.5)
    joint: list[str] = field(default_factory=list)  # more datasets trained jointly with spec (StarGAN's
                                       # mask vector), e.g. [folders:/data/rafd]; shapes:joint is built in
    joint_batches: str = "alternate"   # joint runs: alternate datasets batch by batch (official), or
                                       # mixed: each batch half of each (for a batch-norm G)
    labelled_fraction: float = 1.0     # training items that keep their labels (fixed choice); the rest
                                       # are unlabelled (MatchGAN uses them, StarGAN skips them)
    skip_bad: bool = False             # celeba, folders, paired, unpaired: skip unreadable images (each
                                       # reported and counted) instead of stopping at the first


@dataclass
class TrainConfig:
    steps: int = 200_000
    batch_size: int = 16
    seed: int = 0
    log_every: int = 10
    sample_every: int = 1_000
    save_every: int = 10_000
    amp: str = "auto"                  # auto | bf16 | fp16 | none
    channels_last: bool | None = None  # NHWC activations; auto (None): on where the networks have resampling
                                       # conv blocks (StarGAN v2's: 1.2-1.4x on CPU), off elsewhere (slower)
    compile: str = "auto"              # torch.compile of the method's networks (not those a loss differentiates
                                       # twice: Method.double_backward): on | off | auto
                                       # (auto: on for runs of ≥ 20,000 steps, where a C++ compiler or
                                       # triton is there; compiling takes minutes, then steps are faster)
    fused_optim: bool = True           # Adam/SGD steps as torch's fused kernel (same update, one pass)
    matmul_convs: bool = True          # CPU: wide convolutions onto ≤ 16 output pixels as one GEMM
                                       # (faster than oneDNN there; same weights)
    resample_convs: bool = True        # CPU: a 3x3 conv beside 2x pooling/upsampling (StarGAN v2's blocks)
                                       # as one stride-2 conv at the low resolution (same weights)
    penalty_fp32: bool = False         # under bf16/fp16 autocast, a gradient penalty's double backward in
                                       # float32 (docs/speed.md)
    device: str = "auto"               # auto | cpu | cuda | cuda:N
    num_workers: int = -1              # DataLoader workers; -1: none on CPU, up to 8 per GPU process
    threads: int = 0                   # torch intra-op threads on CPU (0: torch's default)
    logger: str = "tensorboard"        # tensorboard | none
    on_nonfinite: str = "stop"         # stop: a NaN/Inf loss ends the run, the last good checkpoint kept;
                                       # skip: that batch's updates are undone and counted (skipped_steps)

    @classmethod
    def reference(cls, **values) -> "TrainConfig":
        """The reference setting: every speed option off (float32, no autocast, no channels_last, no
        compile, plain optimiser steps, the official conv layouts), as the training-parity tests run
        against the official code (docs/parity.md)."""
        return cls(**{**REFERENCE, **values})


REFERENCE = {"amp": "none", "channels_last": False, "compile": "off", "fused_optim": False,
             "matmul_convs": False, "resample_convs": False, "penalty_fp32": False}
MOVED = {("model", "gp_fp32"): ("train", "penalty_fp32")}  # options that moved, as configs of older runs have them


def moved_options(d: dict) -> dict:
    """A config mapping with every moved option under its new name."""
    d = {k: dict(v) if isinstance(v, dict) else v for k, v in d.items()}
    for (old_section, old), (new_section, new) in MOVED.items():
        if isinstance(d.get(old_section), dict) and old in d[old_section]:
            value = d[old_section].pop(old)
            d.setdefault(new_section, {})
            if isinstance(d[new_section], dict):
                d[new_section].setdefault(new, value)
    return d


@dataclass
class RunConfig:
    method: str
    model: typing.Any
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    SECTIONS = ("model", "data", "train")

    @classmethod
    def default(cls, method: str) -> "RunConfig":
        m = get_method(method)
        return cls(method, m.Config(), data=DataConfig(**m.data_defaults), train=TrainConfig(**m.train_defaults))

    def to_dict(self) -> dict:
        return {"method": self.method, **{s: dataclasses.asdict(getattr(self, s)) for s in self.SECTIONS}}

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "RunConfig":
        if not isinstance(d, dict) or "method" not in d:
            raise I2IError(f"{source}: expected a mapping with a 'method' key")
        unknown = set(d) - {"method", *cls.SECTIONS}
        if unknown:
            raise I2IError(f"{source}: unknown section(s) {sorted(unknown)}; expected method, model, data, train")
        cfg = cls.default(d["method"])
        d = moved_options(d)
        for section in cls.SECTIONS:
            if not isinstance(d.get(section) or {}, dict):
                raise I2IError(f"{source}: section {section!r} must be a mapping of key: value, "
                               f"not a {type(d[section]).__name__}")
            for key, value in (d.get(section) or {}).items():
                cfg.set(f"{section}.{key}", value, source)
        return cfg

    def save(self, path: Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def load(cls, path: Path) -> "RunConfig":
        try:
            d = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise I2IError(f"cannot read config {path}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise I2IError(f"config {path} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None
        except (yaml.YAMLError, RecursionError) as e:  # RecursionError: nesting too deep for the parser
            raise I2IError(f"config {path} is not valid YAML: {str(e).splitlines()[0]}") from None
        return cls.from_dict(d, str(path))

    # -- overrides ------------------------------------------------------------
    def _resolve(self, key: str) -> tuple[str, str]:
        if "." in key:
            section, name = key.split(".", 1)
            if section not in self.SECTIONS:
                raise I2IError(f"unknown config section in {key!r}; use model., data. or train.")
            return section, name
        hits = [s for s in self.SECTIONS if name_in(getattr(self, s), key)]
        if len(hits) == 1:
            return hits[0], key
        if len(hits) > 1:
            raise I2IError(f"{key!r} is ambiguous; write {' or '.join(f'{s}.{key}' for s in hits)}")
        every = [f.name for s in self.SECTIONS for f in dataclasses.fields(getattr(self, s))]
        near = difflib.get_close_matches(key, every, n=3)
        raise I2IError(f"unknown option {key!r}" + (f"; did you mean {', '.join(near)}?" if near else
                                                     f"; see `i2i train {self.method} --help`"))

    def set(self, key: str, value, source: str = "override") -> None:
        section, name = self._resolve(key)
        obj = getattr(self, section)
        if not name_in(obj, name):
            near = difflib.get_close_matches(name, [f.name for f in dataclasses.fields(obj)], n=3)
            raise I2IError(f"{source}: unknown option {section}.{name}" + (f"; did you mean {', '.join(near)}?" if near else ""))
        hint = typing.get_type_hints(type(obj))[name]
        setattr(obj, name, coerce(value, hint, f"{section}.{name}"))

    def apply_overrides(self, pairs: list[str]) -> None:
        for pair in pairs:
            if "=" not in pair:
                raise I2IError(f"override {pair!r} is not key=value")
            key, raw = pair.split("=", 1)
            section, name = self._resolve(key.strip())
            hint = typing.get_type_hints(type(getattr(self, section))).get(name)
            if hint in (str, list[str]):  # text as typed: YAML would read 007 as 7 and on as True
                value = _unquote(raw) if hint is str else _items(raw)
            else:
                try:
                    value = yaml.safe_load(raw) if raw else ""
                except (yaml.YAMLError, RecursionError):  # not YAML (or nested too deep): the plain string
                    value = raw
            self.set(f"{section}.{name}", value)


def _unquote(raw: str) -> str:
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw


def _items(raw: str) -> list[str]:
    """'a,b', '[a, b]' or "['a', 'b']" as a list of the names typed."""
    items = (_unquote(v.strip()) for v in raw.strip().removeprefix("[").removesuffix("]").split(","))
    return [v for v in items if v]


def name_in(obj, key: str) -> bool:
    return any(f.name == key for f in dataclasses.fields(obj))


def coerce(value, hint, key: str):
    """Convert a YAML/CLI value to the field's type, or say which value is wrong."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint):  # X | None: None is auto
        if value is None or isinstance(value, str) and value.lower() in ("auto", "none", "null"):
            return None
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return coerce(value, hint, key)
    try:
        if origin is list:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            (inner,) = typing.get_args(hint) or (str,)
            return [coerce(v, inner, key) for v in value]
        if hint is bool:
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.lower() in ("true", "yes", "1")
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise ValueError
        if hint is int:
            if isinstance(value, float) and not value.is_integer() or isinstance(value, bool):
                raise ValueError
            return int(value)
        if hint is float:
            return float(value)
        if hint is str:
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    name = getattr(hint, "__name__", str(hint))
    raise I2IError(f"{key}={value!r} is not a valid {name}")
