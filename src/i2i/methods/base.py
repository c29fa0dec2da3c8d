"""The Method contract: one file per method, found by name."""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from ..errors import I2IError


@dataclass
class DataInfo:
    """What a method needs to know about its data to build its networks."""
    image_size: int
    channels: int = 3
    points: int = 0    # > 0: the data are vectors of this length (the ring world), not images
    attributes: list[str] = field(default_factory=list)   # multi-label attribute names
    domains: list[str] = field(default_factory=list)      # single-label domain names
    exclusive: list[list[str]] = field(default_factory=list)  # attribute groups with exactly one set
    datasets: list[dict] = field(default_factory=list)  # joint runs: {name, labels, multi_label} per dataset,
                                                        # in the order of `attributes`
    fit: str = ""  # how translate fits a photo to the model's square (data.images.FITS); "": the method's

    @property
    def labels(self) -> list[str]:
        return self.attributes or self.domains

    @property
    def multi_label(self) -> bool:
        return bool(self.attributes)


class Method(nn.Module):
    """A GAN method: its networks, its losses and one training iteration.

    Subclasses set `name` and `Config` (a dataclass of the method's hyper-parameters,
    defaults as the official code) and implement the hooks below.
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    balanced_sampling: ClassVar[bool] = False  # sources drawn class-balanced (needs per-item domain labels)
    reference_pairs: ClassVar[bool] = False  # batches are [sources | references | same-domain references]
    domains_only: ClassVar[bool] = False  # True: single-label domains, never attribute vectors
    compilable: ClassVar[tuple[str, ...]] = ()  # networks train.compile may take: none inside a double
                                                # backward (a gradient penalty's or R1's critic)
    train_defaults: ClassVar[dict] = {}  # TrainConfig values of the official code (e.g. its batch size)
    data_defaults: ClassVar[dict] = {}  # DataConfig values of the official code (e.g. its image size)
    two_domain: ClassVar[bool] = False  # batches are {"A", "B"} image pairs (paired or not), not labelled images
    one_way: ClassVar[bool] = False  # two-domain methods that only translate A → B (pix2pix, DTN)
    semi_supervised: ClassVar[bool] = False  # learns from unlabelled items too (MatchGAN)
    fit: ClassVar[str] = "squash"  # how the official test path fits a photo to the model's square

    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        # the run records how photos are fitted, so trained and imported runs translate alike
        self.cfg, self.info = cfg, dataclasses.replace(info, fit=info.fit or type(self).fit)
        self.amp_dtype: torch.dtype | None = None
        self.fused_optim = False  # train.fused_optim: each Adam/SGD step as one fused kernel
        self._optimizers: dict[str, torch.optim.Optimizer] | None = None

    # -- runtime --------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._optimizers is None:
            self._optimizers = {k: fused(o) if self.fused_optim else o for k, o in self.build_optimizers().items()}
        return self._optimizers

    # -- hooks ----------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        """The networks under their official names (for summaries and checkpoint import)."""
        raise NotImplementedError

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def lr_factor(self, step: int, total: int) -> float:
        """Multiplier on every optimiser's initial learning rate at `step` of `total`."""
        return 1.0

    def train_step(self, batch: dict, step: int) -> dict[str, float]:
        raise NotImplementedError

    def translate(self, x: torch.Tensor, target: torch.Tensor, style=None) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} does not translate images")

    def generate(self, n: int, cond=None, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} does not generate images")

    def sample_grid(self, batch: dict) -> torch.Tensor:
        raise NotImplementedError

    def summary(self) -> dict[str, int]:
        return {k: sum(p.numel() for p in m.parameters()) for k, m in self.networks().items()}


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
