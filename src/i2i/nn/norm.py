"""Normalisation layers by name, as used by Pix2Pix and CycleGAN (junyanz's ``get_norm_layer``)."""
from typing import Callable

from torch import nn

NORMS = ("batch", "instance", "none")


def _instance(channels: int) -> nn.InstanceNorm2d:
    # No affine and no running stats: each image is normalised by its own statistics in
    # both train and eval, and the layer carries no parameters (CycleGAN's setting).
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def _identity(channels: int) -> nn.Identity:
    return nn.Identity()


def norm_2d(kind: str) -> Callable[[int], nn.Module]:
    """A factory ``channels -> layer`` for "batch", "instance" or "none"."""
    if kind == "batch":
        return nn.BatchNorm2d  # affine, running stats
    if kind == "instance":
        return _instance
    if kind == "none":
        return _identity
    raise ValueError(f"norm must be one of {', '.join(repr(k) for k in NORMS)}; got {kind!r}")


def conv_bias(kind: str) -> bool:
    """Whether a conv feeding this norm carries a bias, by junyanz's rule: only for instance norm.

    Batch norm's shift makes a bias redundant; instance norm here has no shift, so the conv keeps
    one (it is still cancelled by the mean subtraction, but the official counts include it).
    For "none" the rule also gives False, so those convs have no bias, matching the official nets.
    """
    norm_2d(kind)  # validate
    return kind == "instance"
