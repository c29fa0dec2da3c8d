"""The Python API: load a trained run and translate images with it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image

from .config import RunConfig
from .data.images import load_image, resize_exact, to_pil, to_tensor
from .errors import I2IError
from .methods.base import DataInfo, Method, get_method
from .train import checkpoint
from .train.runtime import pick_amp, pick_device


class Translator:
    """A trained model ready to translate: `t.translate(image, target="red,striped")`."""

    def __init__(self, method: Method, cfg: RunConfig):
        self.method, self.cfg = method, cfg

    @property
    def attributes(self) -> list[str]:
        return list(self.method.info.attributes)

    @property
    def domains(self) -> list[str]:
        return list(self.method.info.domains)

    @property
    def image_size(self) -> int:
        return self.method.info.image_size

    def target_labels(self, x: torch.Tensor, target) -> torch.Tensor:
        """Turn 'red,striped' / ['red', 'large=0'] / {'large': 0} / a domain name into labels.

        Attributes not named keep what D's classifier reads from the input, so naming one
        attribute changes only that one; naming a colour clears the rest of its group."""
        info = self.method.info
        if isinstance(target, torch.Tensor):
            return target.to(x.device)
        if isinstance(target, str):
            target = [t.strip() for t in target.split(",") if t.strip()]
        if isinstance(target, (list, tuple)):
            pairs = [t.split("=", 1) if "=" in t else (t, "1") for t in target]
            target = {k.strip(): v for k, v in pairs}
        if not info.multi_label:
            if len(target) != 1:
                raise I2IError(f"name one target domain of: {', '.join(info.domains)}")
            (name,) = target
            if name not in info.domains:
                raise I2IError(f"unknown domain {name!r}; this model knows: {', '.join(info.domains)}")
            return torch.full((x.size(0),), info.domains.index(name), dtype=torch.long, device=x.device)
        labels = (self.method.classify(x) > 0.5).float()
        for name, value in target.items():
            if name not in info.attributes:
                raise I2IError(f"unknown attribute {name!r}; this model knows: {', '.join(info.attributes)}")
            try:
                v = float(value)
            except ValueError:
                raise I2IError(f"attribute value {name}={value!r} must be 0 or 1") from None
            k = info.attributes.index(name)
            if v:
                for other in next((g for g in info.exclusive if name in g), []):
                    labels[:, info.attributes.index(other)] = 0
            labels[:, k] = v
        return labels

    @torch.no_grad()
    def translate(self, image, target):
        """Translate a path, PIL image, HWC uint8 array or CHW/NCHW tensor in [-1, 1];
        returns the same kind (a path input gives a PIL image) at the input's size."""
        x, restore = _as_batch(image)
        h, w = x.shape[-2:]
        size = self.image_size
        x_in = resize_exact(x, size).to(self.method.device)
        out = self.method.translate(x_in, self.target_labels(x_in, target)).cpu()
        out = resize_exact(out, (h, w))
        return restore(out.clamp(-1, 1))


def _as_batch(image):
    if isinstance(image, (str, Path)):
        return to_tensor(load_image(image))[None], lambda t: to_pil(t[0])
    if isinstance(image, Image.Image):
        return to_tensor(image.convert("RGB"))[None], lambda t: to_pil(t[0])
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise I2IError(f"expected an H×W×3 array, got shape {image.shape}")
        t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 127.5 - 1
        return t[None], lambda o: ((o[0].permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
    if isinstance(image, torch.Tensor):
        if image.dim() == 3:
            return image[None].float(), lambda o: o[0]
        return image.float(), lambda o: o
    raise I2IError(f"cannot translate a {type(image).__name__}; give a path, PIL image, array or tensor")


def load(run_dir, device: str = "auto") -> Translator:
    """A Translator from a run directory (its latest checkpoint)."""
    run_dir = Path(run_dir)
    path = checkpoint.find(run_dir)
    cfg = RunConfig.load(run_dir / "config.yaml")
    info_file = run_dir / "info.yaml"
    if not info_file.is_file():
        raise I2IError(f"{info_file} is missing; this run directory was not written by i2i train")
    info = DataInfo(**yaml.safe_load(info_file.read_text()))
    dev = pick_device(device)
    method = get_method(cfg.method)(cfg.model, info)
    checkpoint.load_into(method, checkpoint.load_weights(path), str(path))
    method.to(dev)
    method.amp_dtype = pick_amp(cfg.train.amp, dev)
    return Translator(method, cfg)
