"""Pix2Pix / CycleGAN networks by their names in junyanz's code (netG, netD options)."""
from __future__ import annotations

import contextlib
import math
import re

import torch
from torch import nn

from .init import normal_init
from .patchgan import NLayerDiscriminator, PixelDiscriminator
from .resnet_generator import ResnetGenerator
from .unet import UnetGenerator


def generator(name: str, in_ch: int, out_ch: int, ngf: int, norm: str, dropout: bool, image_size: int) -> nn.Module:
    """"resnet_<K>blocks" (K residual blocks at ¼ resolution) or "unet_<N>" (log2 N downsamplings,
    so unet_256 reaches 1x1 on 256 px images; the image side must be a multiple of N)."""
    if m := re.fullmatch(r"resnet_(\d+)blocks", name):
        return ResnetGenerator(in_ch, out_ch, ngf, norm, dropout, int(m.group(1)))
    if m := re.fullmatch(r"unet_(\d+)", name):
        n = int(m.group(1))
        downs = int(math.log2(n)) if n > 1 else 0
        if 2 ** downs != n or downs < 2:
            raise ValueError(f"netG={name}: N must be a power of two ≥ 4")
        if image_size % n:
            raise ValueError(f"netG={name} halves the image {downs} times; image_size {image_size} is not a "
                             f"multiple of {n} (use unet_{2 ** int(math.log2(image_size & -image_size))} or less)")
        return UnetGenerator(in_ch, out_ch, downs, ngf, norm, dropout)
    raise ValueError(f"netG={name!r}; use resnet_9blocks, resnet_6blocks or unet_<N> (e.g. unet_256, unet_128)")


def discriminator(name: str, in_ch: int, ndf: int, n_layers: int, norm: str) -> nn.Module:
    """"basic" (the 70x70 PatchGAN), "n_layers" (PatchGAN with n_layers_D) or "pixel" (1x1 PixelGAN)."""
    if name == "basic":
        return NLayerDiscriminator(in_ch, ndf, 3, norm)
    if name == "n_layers":
        return NLayerDiscriminator(in_ch, ndf, n_layers, norm)
    if name == "pixel":
        return PixelDiscriminator(in_ch, ndf, norm)
    raise ValueError(f"netD={name!r}; use basic, n_layers or pixel")


def initialised(net: nn.Module, gain: float) -> nn.Module:
    """junyanz's init_type 'normal': N(0, gain) weights, batch-norm scales N(1, gain)."""
    net.apply(lambda m: normal_init(m, gain))
    return net


@torch.no_grad()
def test_forward(net: nn.Module, x: torch.Tensor, eval_mode: bool) -> torch.Tensor:
    """The official test: G in train mode on one image at a time (batch norm uses that image's
    statistics, dropout stays on), with the running statistics put back afterwards. eval_mode:
    the running statistics and no dropout, for models trained at batch sizes above one."""
    with _training(net, not eval_mode):
        if eval_mode:
            return net(x)
        with _kept_buffers(net):
            return torch.cat([net(x[i:i + 1]) for i in range(x.size(0))])


@contextlib.contextmanager
def _training(net: nn.Module, mode: bool):
    was = net.training
    net.train(mode)
    try:
        yield
    finally:
        net.train(was)


@contextlib.contextmanager
def _kept_buffers(net: nn.Module):
    saved = [b.clone() for b in net.buffers()]
    try:
        yield
    finally:
        for b, s in zip(net.buffers(), saved):
            b.copy_(s)
