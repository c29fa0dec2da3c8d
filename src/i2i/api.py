"""The Python API: load a trained run and translate images with it."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .config import RunConfig
from .data.images import FITS, fit as fit_to, load_image, to_pil, to_tensor
from .errors import I2IError
from .methods.base import DataInfo, Method, Styled, Translates, get_method
from . import rundir
from .train.runtime import pick_amp, pick_device


class Translator:
    """A trained model ready to translate: `t.translate(image, target="red,striped")`."""

    def __init__(self, method: Method, cfg: RunConfig, pretrained: bool = False, untrained=()):
        # pretrained: loaded from a save_pretrained directory, so cfg's data/train are defaults;
        # untrained: inference networks that were never trained (an import's files lacked them)
        self.method, self.cfg, self.pretrained = method, cfg, pretrained
        self.untrained = tuple(untrained)

    @property
    def attributes(self) -> list[str]:
        return list(self.method.info.attributes)

    @property
    def domains(self) -> list[str]:
        return list(self.method.info.domains)

    @property
    def image_size(self) -> int:
        return self.method.info.image_size

    @property
    def fit(self) -> str:
        """How a photo is fitted to the model's square (FITS): as recorded in the run, else as the
        method's official test path does."""
        return self.method.info.fit

    def target_labels(self, x: torch.Tensor, target) -> torch.Tensor:
        """The method's labels for `target`: 'red,striped' / ['red', 'large=0'] / {'large': 0} / a
        domain name / a direction (Translates.parse_target says what each method takes)."""
        if not isinstance(self.method, Translates):
            raise I2IError(f"{self.method.name} does not translate images; it generates them (i2i generate)")
        return self.method.parse_target(x, target)

    @property
    def has_style(self) -> bool:
        """Whether outputs take a style (StarGAN v2): a random latent code or a reference."""
        return isinstance(self.method, Styled)

    @torch.no_grad()
    def translate(self, image, target=None, *, reference=None, seed: int | None = None, n: int = 1,
                  fit: str | None = None):
        """Translate a path, PIL image, HWC uint8 array or CHW/NCHW tensor in [-1, 1];
        returns the same kind (a path input gives a PIL image) at the input's size.

        Style methods take their style from `reference` (an image of any kind above; its
        domain unless `target` names one) or else from `n` random latent codes drawn with
        `seed`, and then return a list of n results when n > 1. `fit` (crop, squash, pad; default
        `self.fit`) is how a photo that is not the model's square is prepared."""
        x, restore = _as_batch(image)
        fit = fit or self.fit
        if fit not in FITS:
            raise I2IError(f"unknown fit {fit!r}; use one of: {', '.join(FITS)}")
        x_in, put_back = fit_to(x, self.image_size, fit)
        x_in = x_in.to(self.method.device)
        if not self.has_style:
            if reference is not None or n != 1:
                raise I2IError(f"{self.method.name} has no style input: a reference or n > 1 needs a method "
                               "that takes a style from a latent code or a reference image")
            outs = [self.method.translate(x_in, self.target_labels(x_in, target))]
        else:
            outs = self._styled(x_in, target, reference, seed, n, fit)
        outs = [restore(put_back(o.cpu())) for o in outs]
        return outs[0] if n == 1 else outs

    def translate_face(self, photo, aligner, target=None, *, reference=None, seed: int | None = None, n: int = 1):
        """A face photo as StarGAN v2's official test path wants it: aligned to the CelebA-HQ crop
        (`aligner`: an i2i.data.align.Aligner at the model's size; a reference path or image is
        aligned too), translated, and each result pasted back into the photo. Returns PIL images
        at the photo's size (a list when n > 1)."""
        from .data.align import paste_back
        if aligner.size != self.image_size:
            raise I2IError(f"the aligner makes {aligner.size} px crops but this model takes {self.image_size} px")
        crop, matrix = aligner.align(photo)
        if reference is not None and not isinstance(reference, torch.Tensor):
            reference = aligner.align(reference)[0]
        outs = self.translate(crop, target, reference=reference, seed=seed, n=n, fit="squash")
        pasted = [Image.fromarray(paste_back(photo, o, matrix)) for o in (outs if n > 1 else [outs])]
        return pasted if n > 1 else pasted[0]

    def _styled(self, x, target, reference, seed, n, fit) -> list[torch.Tensor]:
        if n < 1:
            raise I2IError(f"n must be at least 1, got {n}")
        m = self.method
        if reference is not None:
            ref, _ = _as_batch(reference)
            ref = fit_to(ref, self.image_size, fit)[0].to(m.device)
            y = (self.target_labels(x, target) if target is not None
                 else self.reference_domain(ref, reference).expand(x.size(0)))
            return [m.translate(x, y, m.reference_style(ref.expand(x.size(0), -1, -1, -1), y))] * n
        if target is None:
            raise I2IError(f"name a target domain ({', '.join(self.domains)}) or give a reference image")
        y = self.target_labels(x, target)
        codes = torch.Generator().manual_seed(0 if seed is None else int(seed))
        z = torch.randn(n, 1, m.latent_dim, generator=codes)
        return [m.translate(x, y, m.latent_style(y, z[k].expand(x.size(0), -1))) for k in range(n)]

    def reference_domain(self, ref: torch.Tensor, source=None) -> torch.Tensor:
        """A reference's domain: its folder's name when that is a domain (root/<domain>/x.png),
        else the domain whose discriminator head finds it most real."""
        if isinstance(source, (str, Path)) and Path(source).parent.name in self.domains:
            k = self.domains.index(Path(source).parent.name)
            return torch.tensor([k], device=ref.device)
        if "discriminator" in self.untrained:
            raise I2IError(f"name the reference's domain with --target ({', '.join(self.domains)}): this model's "
                           "discriminator, which would read it, was never trained (imported without …_nets.ckpt)")
        return self.method.judge_domain(ref[:1])

    def save_pretrained(self, out_dir, overwrite: bool = False) -> Path:
        """Write a self-contained directory for inference: config.json (method, model config, data
        info) and model.safetensors with only the networks translate/generate use. Written under a
        temporary name and renamed; an existing non-empty directory is kept unless `overwrite`."""
        m = self.method
        keep = m.inference_networks
        weights = {k: v.detach().cpu().contiguous() for k, v in m.state_dict().items() if k.startswith(keep)}
        model, files = dataclasses.asdict(m.cfg), {}
        for field, role in m.assets.items():  # files the networks read beside their weights travel with them
            path = m.asset(role)
            if path is None:
                continue
            if not path.is_file():
                raise I2IError(f"model.{field} {path} is missing; the pretrained directory needs that file")
            model[field] = role + path.suffix
            files[model[field]] = path
        config = {"i2i_version": _version(), "method": m.name, "model": model, "info": dataclasses.asdict(m.info),
                  "amp": self.cfg.train.amp, "networks": list(keep), "untrained": list(self.untrained)}
        return rundir.write_pretrained(Path(out_dir), weights, config, files, overwrite)


def _version() -> str:
    from . import __version__
    return __version__


def _as_batch(image):
    if isinstance(image, (str, Path)):
        return to_tensor(load_image(image))[None], lambda t: to_pil(t[0])
    if isinstance(image, Image.Image):
        return to_tensor(image.convert("RGB"))[None], lambda t: to_pil(t[0])
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise I2IError(f"expected an H×W×3 array, got shape {image.shape}")
        # np.array copies: arrays from PIL are read-only, and torch warns on those
        t = torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 127.5 - 1
        return t[None], lambda o: ((o[0].permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
    if isinstance(image, torch.Tensor):
        if image.dim() == 3:
            return image[None].float(), lambda o: o[0]
        return image.float(), lambda o: o
    raise I2IError(f"cannot translate a {type(image).__name__}; give a path, PIL image, array or tensor")


def load(run_dir, device: str = "auto") -> Translator:
    """A Translator from a run directory (its latest checkpoint) or a save_pretrained directory."""
    run_dir = Path(run_dir)
    if rundir.is_pretrained(run_dir):
        return _load_pretrained(run_dir, device)
    path = rundir.find(run_dir)
    cfg = RunConfig.load(run_dir / rundir.CONFIG)
    try:
        info = DataInfo(**rundir.read_info(run_dir))
    except TypeError as e:
        raise I2IError(f"{run_dir / rundir.INFO} is damaged ({type(e).__name__}); restore it, or the run "
                       "directory, from a copy") from None
    method = _build(cfg, info, path)
    rundir.load_into(method, rundir.load_weights(path), str(path))
    return _ready(method, cfg, device, untrained=_untrained(run_dir, path))


def _untrained(run_dir: Path, path: Path) -> list[str]:
    """The inference networks an import left randomly initialised (import.yaml's `untrained`), while
    the checkpoint loaded is the imported one; training the run on trains them."""
    record = rundir.read_import(run_dir)
    if record is None:
        return []
    try:
        step, untrained = record.get("step"), [str(n) for n in record.get("untrained") or []]
    except TypeError:
        raise I2IError(f"{run_dir / rundir.IMPORT} is damaged; restore it, or the run directory, from a copy") from None
    return untrained if isinstance(step, int) and path.name == f"step_{step:07d}" else []


def _build(cfg: RunConfig, info: DataInfo, source) -> Method:
    try:
        return get_method(cfg.method)(cfg.model, info)
    except ValueError as e:  # a config the method's networks cannot be built from
        raise I2IError(f"{source}: {e}") from None


def _ready(method: Method, cfg: RunConfig, device: str, pretrained: bool = False, untrained=()) -> Translator:
    dev = pick_device(device)
    method.to(dev)
    method.amp_dtype = pick_amp(cfg.train.amp, dev)  # the plain kernels: official outputs to 1e-5
    return Translator(method, cfg, pretrained, untrained)


def _load_pretrained(root: Path, device: str) -> Translator:
    """A Translator from config.json + model.safetensors; data/train settings are not needed."""
    file = root / rundir.PRETRAINED
    config = rundir.read_pretrained(root)
    name, model = config["method"], config["model"]
    try:
        info = DataInfo(**config["info"])
        untrained = [str(n) for n in config.get("untrained", [])]  # absent from directories of older i2i
    except (ValueError, TypeError) as e:
        raise I2IError(f"{file} is not an i2i pretrained config ({type(e).__name__}: {e}); "
                       "write one with Translator.save_pretrained") from None
    for field in get_method(name).assets:  # kept in the folder, named relative to it
        if model.get(field):
            model = {**model, field: str(root / model[field])}
    cfg = RunConfig.from_dict({"method": name, "model": model, "train": {"amp": config.get("amp", "auto")}}, str(file))
    method = _build(cfg, info, file)
    weights = rundir.load_weights(root / rundir.WEIGHTS)
    keep = tuple(config.get("networks", method.inference_networks))
    built = method.state_dict()
    lost = [k for k in built if k.startswith(keep) and k not in weights]
    if lost:
        raise I2IError(f"{root / rundir.WEIGHTS} lacks {len(lost)} weights (e.g. {lost[0]}); "
                       "write the directory again with save_pretrained")
    # the networks left out (the critics training needs) keep their initial weights
    rundir.load_into(method, {**built, **weights}, str(root / rundir.WEIGHTS))
    return _ready(method, cfg, device, pretrained=True, untrained=untrained)
