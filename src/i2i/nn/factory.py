"""Pix2Pix / CycleGAN networks by their names in junyanz's code (netG, netD options)."""
from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass

import torch
from torch import nn

from .init import normal_init
from .patchgan import NLayerDiscriminator, PixelDiscriminator
from .resnet_generator import ResnetGenerator
from .unet import UnetGenerator


@dataclass
class Options:
    """The options pix2pix and CycleGAN share, under junyanz's names; each method's Config
    subclasses this with its own defaults."""
    netG: str = "resnet_9blocks"   # resnet_<K>blocks | unet_<N>
    netD: str = "basic"            # basic (70x70 PatchGAN) | n_layers | pixel
    n_layers_D: int = 3
    ngf: int = 64
    ndf: int = 64
    norm: str = "instance"         # batch | instance | none
    dropout: bool = False
    init_gain: float = 0.02
    gan_mode: str = "lsgan"        # vanilla | lsgan
    lr: float = 2e-4
    beta1: float = 0.5
    decay_fraction: float = 0.5    # official: 100 epochs constant, then 100 decaying
    eval_mode: bool = False        # official test: train mode, one image at a time (see test_forward)


def build_generator(o: Options, channels: int, image_size: int) -> nn.Module:
    return initialised(generator(o.netG, channels, channels, o.ngf, o.norm, o.dropout, image_size), o.init_gain)


def build_discriminator(o: Options, in_ch: int) -> nn.Module:
    return initialised(discriminator(o.netD, in_ch, o.ndf, o.n_layers_D, o.norm), o.init_gain)


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
