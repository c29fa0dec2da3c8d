"""The Method contract: one file per method, found by name."""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ..data.batches import Domains, Plain, Policy, Pools
from ..data.datainfo import DataInfo
from ..data.semi import label_pools
from ..errors import I2IError
from ..nn.reuse import Reuse


@dataclass
class BatchSpec:
    """What a batch policy is built from, besides the dataset."""
    size: int
    seed: int
    mix: bool = False  # joint data: every batch mixes the datasets (data.joint_batches=mixed)
    source: str = ""   # the data spec, for messages


class Method(nn.Module):
    """A GAN method: its networks, its losses and one training iteration.

    Subclasses set `name` and `Config` (a dataclass of the method's hyper-parameters,
    defaults as the official code) and implement the hooks below.
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    domains_only: ClassVar[bool] = False  # True: single-label domains, never attribute vectors
    double_backward: ClassVar[tuple[str, ...]] = ()  # networks a loss differentiates twice (a gradient
                                                     # penalty's or R1's critic), which compile cannot take
    train_defaults: ClassVar[dict] = {}  # TrainConfig values of the official code (e.g. its batch size)
    data_defaults: ClassVar[dict] = {}  # DataConfig values of the official code (e.g. its image size)
    two_domain: ClassVar[bool] = False  # batches are {"A", "B"} image pairs, not labelled images (TwoDomains)
    fit: ClassVar[str] = "squash"  # how the official test path fits a photo to the model's square
    inference_networks: ClassVar[tuple[str, ...]] = ("",)  # state-dict prefixes translate/generate use
                                                           # (a pretrained folder ships these); "": all
    assets: ClassVar[dict[str, str]] = {}  # config field → role of a file the networks read beside their
                                           # weights (StarGAN v2's FAN); a pretrained folder carries it

    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        # the run records how photos are fitted, so trained and imported runs translate alike
        self.cfg, self.info = cfg, dataclasses.replace(info, fit=info.fit or type(self).fit)
        self.amp_dtype: torch.dtype | None = None
        self.fused_optim = False  # train.fused_optim: each Adam/SGD step as one fused kernel
        self.penalty_fp32 = False  # train.penalty_fp32: a gradient penalty's double backward in float32
        self.channels_last = False  # train.channels_last as the runtime resolved it (NHWC activations)
        self._optimizers: dict[str, torch.optim.Optimizer] | None = None
        self.reuse = Reuse()  # forward results kept until their networks change (nn/reuse.py)

    # -- runtime --------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def penalty_precision(self):
        """Where a gradient penalty runs: under the step's autocast, or in float32 (train.penalty_fp32;
        bf16 is less precise for a double backward and, on CPU, slower)."""
        if self.penalty_fp32:
            return torch.autocast(self.device.type, enabled=False)
        return self.autocast()

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._optimizers is None:
            self._optimizers = {k: fused(o) if self.fused_optim else o for k, o in self.build_optimizers().items()}
        return self._optimizers

    # -- hooks ----------------------------------------------------------------
    def asset(self, role: str) -> Path | None:
        """The file of `role` this model reads (None when it has none)."""
        key = next((f for f, r in self.assets.items() if r == role), None)
        value = getattr(self.cfg, key) if key else ""
        return Path(value) if value else None

    def networks(self) -> dict[str, nn.Module]:
        """The networks under their official names (for summaries and checkpoint import)."""
        raise NotImplementedError

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def batch_policy(self, dataset, batch: BatchSpec) -> Policy:
        """Which items make each step's batch (data/batches.py). Default: plain epochs of the
        dataset, or, for joint or partly labelled data, each label set's labelled items in turn."""
        found = label_pools(dataset, semi_supervised=False)
        if found is None:
            return Plain(len(dataset), batch.size, batch.seed)
        return Pools(found[0], batch.size, batch.seed, mix=batch.mix)

    def domains_of(self, dataset, batch: BatchSpec) -> Domains:
        """The items of every domain, for a policy that samples by domain; a clear error for data
        without per-item domains (attribute, joint or partly labelled data)."""
        labels = getattr(dataset, "targets", None)  # a dataset's per-item domains, when it lists them
        if labels is None:
            raise I2IError(f"{self.name} samples by domain but dataset {batch.source} has no domain labels; "
                           "use folders:PATH or shapes with data.domains=circle,square,triangle")
        if label_pools(dataset, semi_supervised=False) is not None:
            raise I2IError(f"{self.name} samples by domain, which joint or partly labelled data do not support")
        return Domains(labels, len(dataset))

    def lr_factor(self, step: int, total: int) -> float:
        """Multiplier on every optimiser's initial learning rate at `step` of `total`."""
        return 1.0

    def schedule(self, step: int, total: int) -> dict[str, dict[str, float]]:
        """What the trainer, and only the trainer, sets on each optimiser (by name) before iteration
        `step`: "lr" as a factor of its initial learning rate; any other group setting (SGD's
        "momentum") as a value. Default: lr_factor for every optimiser."""
        factor = self.lr_factor(step, total)
        return {name: {"lr": factor} for name in self.optimizers()}

    def update(self, loss: torch.Tensor, *names: str) -> None:
        """One update from `loss` of the named optimisers: gradients cleared, backward, each stepped."""
        opts = self.optimizers()
        for name in names:
            opts[name].zero_grad(set_to_none=True)
        loss.backward()
        for name in names:
            opts[name].step()
        self.reuse.changed(names)

    def train_step(self, batch: dict, step: int) -> dict[str, float]:
        raise NotImplementedError

    def sample_grid(self, batch: dict) -> torch.Tensor:
        raise NotImplementedError

    def summary(self) -> dict[str, int]:
        return {k: sum(p.numel() for p in m.parameters()) for k, m in self.networks().items()}


# -- capabilities ---------------------------------------------------------------
# A method declares what it can do by subclassing these beside Method (class M(Translates,
# Method)). The API, CLI, export, serve, sampling and metrics ask isinstance(m, Translates) and
# the methods below, never a method's name or a probed attribute.

@dataclass
class ExportGraph:
    """A translation graph for ONNX export: the module to trace, an example input of batch 1 per
    input name (export repeats it to its batch), and what the file's metadata should add."""
    module: nn.Module
    inputs: dict[str, torch.Tensor]
    meta: dict[str, str] = field(default_factory=dict)
    scriptable: bool = True  # False: the TorchScript exporter cannot trace it (say why in `why`)
    why: str = ""


class Generates:
    """Draws new samples from noise."""
    conditional: ClassVar[bool] = False  # generate's `cond` is a class index of info.labels

    def generate(self, n: int, cond=None, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError


class Traverses(Generates):
    """Latent codes with a meaning: a grid sweeping one code, rows per categorical value."""

    def traverse(self, code: int = 1, columns: int = 9, lo: float = -2.0, hi: float = 2.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError


class ReadsCategory:
    """Reads a class index from an image (InfoGAN's Q code, DTN's f digit head)."""
    category_supervised: ClassVar[bool] = False  # True: the index is a label (else matched to one)

    def read_category(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Translates:
    """Image to image: translate(x, target, style) with target as parse_target makes it."""

    def translate(self, x: torch.Tensor, target, style=None) -> torch.Tensor:
        raise NotImplementedError

    def parse_target(self, x: torch.Tensor, target) -> torch.Tensor:
        """The user's target ('red,striped', a domain name, 'AtoB', ...) as translate's labels for x."""
        raise NotImplementedError

    def export_graph(self, style: str, direction: str) -> ExportGraph:
        raise I2IError(f"{self.name} has no translation graph to export")


class ByLabels(Translates):
    """One generator for many labels. Domain data: the target names one domain. Attribute data:
    'red,striped', ['red', 'large=0'] or {'large': 0}; attributes not named keep what classify
    reads from the input (Classifies), and naming one of an exclusive group clears the rest of it. A joint
    model takes one dataset's labels and returns [labels | mask]."""

    def joint_condition(self, labels: torch.Tensor, k: int) -> torch.Tensor:
        raise I2IError(f"{self.name} is not trained jointly on several datasets")

    def parse_target(self, x, target):
        info = self.info
        if isinstance(target, torch.Tensor):
            return target.to(x.device)
        if not info.multi_label:
            return _domain_labels(info.domains, x, target)
        target = _as_named(target)
        if isinstance(self, Classifies):
            labels = (self.classify(x) > 0.5).float()
        else:
            unnamed = [a for a in info.attributes if a not in target]
            if unnamed:
                raise I2IError(f"{self.name} cannot read attributes from an image; name them all ({', '.join(unnamed)})")
            labels = torch.zeros(x.size(0), len(info.attributes), device=x.device)
        for name, value in target.items():
            if name not in info.attributes:
                raise I2IError(f"unknown attribute {name!r}; this model knows: {', '.join(info.attributes)}")
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise I2IError(f"attribute value {name}={value!r} must be 0 or 1") from None
            if v not in (0.0, 1.0):  # nan, inf or 2 would reach G as labels it never saw
                raise I2IError(f"attribute value {name}={value!r} must be 0 or 1")
            k = info.attributes.index(name)
            if v:
                for other in next((g for g in info.exclusive if name in g), []):
                    labels[:, info.attributes.index(other)] = 0
            labels[:, k] = v
        if info.datasets:  # joint training: one dataset's labels, named by the mask vector
            return self.joint_condition(labels, self._label_set(target))
        return labels

    def _label_set(self, target: dict) -> int:
        """The joint dataset whose labels `target` names (one dataset's at a time, as in training)."""
        parts = self.info.datasets
        owner = {name: k for k, d in enumerate(parts) for name in d["labels"]}
        sets = {owner[name] for name in target}
        if len(sets) > 1:
            named = "; ".join(f"{', '.join(n for n in target if owner[n] == k)} from {parts[k]['name']}"
                              for k in sorted(sets))
            raise I2IError(f"name labels of one dataset at a time ({named}): the model was trained on one "
                           "dataset's labels per image")
        return sets.pop()


class Classifies:
    """Reads its labels back from an image (StarGAN's D_cls)."""

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Attribute probabilities (attribute data) or domain indices."""
        raise NotImplementedError


class TwoDomains(Translates):
    """A ↔ B (A → B only when one_way): the target is a direction (AtoB, BtoA) or a domain name;
    none means A → B for a one-way method."""
    two_domain: ClassVar[bool] = True  # batches are {"A", "B"} image pairs (paired or not)
    one_way: ClassVar[bool] = False

    def parse_target(self, x, target):
        domains = self.info.domains
        if isinstance(target, torch.Tensor):
            return target.to(x.device)
        if target is None:
            if not self.one_way:
                raise I2IError(f"name the target domain ({', '.join(domains)}) or a direction (AtoB, BtoA)")
            target = domains[1]
        if target in ("AtoB", "BtoA"):
            target = domains[1 if target == "AtoB" else 0]
        return _domain_labels(domains, x, target)

    def direction_networks(self, direction: str) -> tuple[nn.Module, ...]:
        """The networks, in order, that translate in `direction` (AtoB or BtoA)."""
        raise NotImplementedError

    def per_image_norm(self) -> bool:
        """Whether translate normalises each image by its own statistics (junyanz's test mode)."""
        return False

    def export_graph(self, style, direction):
        from ..nn.inference import inference_copy
        if self.one_way and direction != "AtoB":
            raise I2IError(f"{self.name} translates A → B only; export it with direction=AtoB")
        if direction not in ("AtoB", "BtoA"):
            raise I2IError(f"direction={direction!r}; use AtoB or BtoA")
        nets = self.direction_networks(direction)
        module = nn.Sequential(*(inference_copy(net, self.per_image_norm()) for net in nets))
        s = self.info.image_size
        meta = {} if self.one_way else {"direction": direction}
        return ExportGraph(module, {"image": torch.zeros(1, self.info.channels, s, s)}, meta)


class Styled:
    """Outputs take a style code: from a latent code (latent_style) or a reference image
    (reference_style); judge_domain reads which domain a reference belongs to."""

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def latent_style(self, y, z=None, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def reference_style(self, x_ref, y) -> torch.Tensor:
        raise NotImplementedError

    def judge_domain(self, x) -> torch.Tensor:
        raise NotImplementedError


def _domain_labels(domains: list[str], x: torch.Tensor, target) -> torch.Tensor:
    named = _as_named(target)
    if len(named) != 1:
        raise I2IError(f"name one target domain of: {', '.join(domains)}")
    (name,) = named
    if name not in domains:
        raise I2IError(f"unknown domain {name!r}; this model knows: {', '.join(domains)}")
    return torch.full((x.size(0),), domains.index(name), dtype=torch.long, device=x.device)


def _as_named(target) -> dict:
    """'red,striped' / ['red', 'large=0'] / {'large': 0} / 'smile' as {name: value}."""
    if isinstance(target, str):
        target = [t.strip() for t in target.split(",") if t.strip()]
    if isinstance(target, (list, tuple)):
        pairs = [t.split("=", 1) if "=" in t else (t, "1") for t in target]
        target = {k.strip(): v for k, v in pairs}
    return target


@contextlib.contextmanager
def frozen(*nets: nn.Module):
    """No parameter gradients for `nets` inside (a D while G learns from it): saves the backward
    work into D's weights, which the next D step would discard anyway."""
    params = [p for net in nets for p in net.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def fused(opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """The same optimiser, hyper-parameters and parameter groups, with torch's fused kernel: one
    pass over all parameters per step (StarGAN's D: 31 ms against 150 ms on a 2-core CPU).
    Optimisers without one (RMSprop) are returned as they are."""
    if type(opt) not in (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD):
        return opt
    groups = [{k: v for k, v in g.items() if k not in ("fused", "foreach")} for g in opt.param_groups]
    return type(opt)(groups, fused=True)


def linear_decay(step: int, total: int, decay_steps: int) -> float:
    """1 until the last `decay_steps` steps of `total`, then linearly down to 0 at `total`."""
    return min(1.0, (total - step) / max(1, decay_steps))


def available() -> list[str]:
    from .. import methods
    return sorted(m.name for m in pkgutil.iter_modules(methods.__path__) if m.name != "base")


def get_method(name: str) -> type[Method]:
    """Import `i2i.methods.<name>` and return its Method subclass."""
    if name not in available():
        raise I2IError(f"unknown method {name!r}; available: {', '.join(available())}")
    module = importlib.import_module(f"i2i.methods.{name}")
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, Method) and getattr(obj, "name", None) == name:
            return obj
    raise I2IError(f"module i2i.methods.{name} defines no Method named {name!r}")


def config_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}
