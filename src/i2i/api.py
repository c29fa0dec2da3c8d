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
        attribute changes only that one; naming a colour clears the rest of its group. A joint
        model takes the labels of one of its datasets and returns [labels | mask]."""
        info = self.method.info
        if isinstance(target, torch.Tensor):
            return target.to(x.device)
        if target is None and self.method.two_domain:  # a one-way method (pix2pix) needs no target
            if not self.method.one_way:
                raise I2IError(f"name the target domain ({', '.join(info.domains)}) or a direction (AtoB, BtoA)")
            target = info.domains[1]
        if self.method.two_domain and target in ("AtoB", "BtoA"):
            target = info.domains[1 if target == "AtoB" else 0]
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
        if info.datasets:  # joint training: one dataset's labels, named by the mask vector
            return self.method.joint_condition(labels, self._label_set(target))
        return labels

    def _label_set(self, target: dict) -> int:
        """The joint dataset whose labels `target` names (one dataset's at a time, as in training)."""
        parts = self.method.info.datasets
        owner = {name: k for k, d in enumerate(parts) for name in d["labels"]}
        sets = {owner[name] for name in target}
        if len(sets) > 1:
            named = "; ".join(f"{', '.join(n for n in target if owner[n] == k)} from {parts[k]['name']}" for k in sorted(sets))
            raise I2IError(f"name labels of one dataset at a time ({named}): the model was trained on one "
                           "dataset's labels per image")
        return sets.pop()

    @property
    def has_style(self) -> bool:
        """Whether outputs take a style (StarGAN v2): a random latent code or a reference."""
        return hasattr(self.method, "reference_style")

    @torch.no_grad()
    def translate(self, image, target=None, *, reference=None, seed: int | None = None, n: int = 1):
        """Translate a path, PIL image, HWC uint8 array or CHW/NCHW tensor in [-1, 1];
        returns the same kind (a path input gives a PIL image) at the input's size.

        Style methods take their style from `reference` (an image of any kind above; its
        domain unless `target` names one) or else from `n` random latent codes drawn with
        `seed`, and then return a list of n results when n > 1."""
        x, restore = _as_batch(image)
        h, w = x.shape[-2:]
        x_in = resize_exact(x, self.image_size).to(self.method.device)
        if not self.has_style:
            if reference is not None or n != 1:
                raise I2IError(f"{self.method.name} has no style input: a reference or n > 1 needs a style "
                               "method such as stargan_v2")
            outs = [self.method.translate(x_in, self.target_labels(x_in, target))]
        else:
            outs = self._styled(x_in, target, reference, seed, n)
        outs = [restore(resize_exact(o.cpu(), (h, w)).clamp(-1, 1)) for o in outs]
        return outs[0] if n == 1 else outs

    def _styled(self, x, target, reference, seed, n) -> list[torch.Tensor]:
        if n < 1:
            raise I2IError(f"n must be at least 1, got {n}")
        m = self.method
        if reference is not None:
            ref, _ = _as_batch(reference)
            ref = resize_exact(ref, self.image_size).to(m.device)
            y = (self.target_labels(x, target) if target is not None
                 else self.reference_domain(ref, reference).expand(x.size(0)))
            return [m.translate(x, y, m.reference_style(ref.expand(x.size(0), -1, -1, -1), y))] * n
        if target is None:
            raise I2IError(f"name a target domain ({', '.join(self.domains)}) or give a reference image")
        y = self.target_labels(x, target)
        codes = torch.Generator().manual_seed(0 if seed is None else int(seed))
        z = torch.randn(n, 1, m.cfg.latent_dim, generator=codes)
        return [m.translate(x, y, m.latent_style(y, z[k].expand(x.size(0), -1))) for k in range(n)]

    def reference_domain(self, ref: torch.Tensor, source=None) -> torch.Tensor:
        """A reference's domain: its folder's name when that is a domain (root/<domain>/x.png),
        else the domain whose discriminator head finds it most real."""
        if isinstance(source, (str, Path)) and Path(source).parent.name in self.domains:
            k = self.domains.index(Path(source).parent.name)
            return torch.tensor([k], device=ref.device)
        return self.method.judge_domain(ref[:1])

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
