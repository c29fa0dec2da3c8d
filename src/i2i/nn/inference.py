"""Frozen copies of networks as translate runs them, for export graphs."""
from __future__ import annotations

import copy

import torch.nn.functional as F
from torch import nn


class PerImageNorm(nn.Module):
    """Batch or instance norm as translate runs them in train mode on one image at a time:
    normalised by that image's own statistics, with the layer's affine parameters."""

    def __init__(self, norm: nn.Module):
        super().__init__()
        self.weight, self.bias, self.eps = norm.weight, norm.bias, norm.eps

    def forward(self, x):
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


def inference_copy(net: nn.Module, per_image: bool = False) -> nn.Module:
    """A frozen CPU float copy in eval mode (no dropout); per_image: norms use each image's statistics."""
    net = copy.deepcopy(net).cpu().float().eval().requires_grad_(False)
    if per_image:
        for parent in list(net.modules()):
            for key, child in parent.named_children():
                if isinstance(child, (nn.BatchNorm2d, nn.InstanceNorm2d)):
                    setattr(parent, key, PerImageNorm(child))
    return net
