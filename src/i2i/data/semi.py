"""Partly labelled data (data.labelled_fraction) and the label pools batches are drawn from.

A hidden label reads -1 (never a valid attribute value or domain index, so a method that used it
by mistake would fail loudly) and the item's mask is all zero.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import I2IError

LABEL_SEED = 1234  # which items keep their labels: fixed, so every method and seed sees the same ones


class PartlyLabelled(torch.utils.data.Dataset):
    def __init__(self, dataset, fraction: float, seed: int = LABEL_SEED):
        if not 0.0 < fraction <= 1.0:
            raise I2IError(f"data.labelled_fraction={fraction} must be in (0, 1]")
        self.dataset, self.fraction = dataset, fraction
        n = len(dataset)
        self.known = torch.zeros(n, dtype=torch.bool)
        self.known[torch.from_numpy(np.random.default_rng(seed).permutation(n)[:math.ceil(n * fraction)])] = True

    def __getattr__(self, name):  # attributes, domains, datasets, labels ... of the wrapped dataset
        # not `targets`: domain-balanced sampling would read the hidden labels
        if name.startswith("__") or name in ("dataset", "known", "fraction", "targets"):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i) -> dict:
        item = dict(self.dataset[i])
        mask = item.get("mask", torch.ones(1))
        if not self.known[int(i)]:
            item["label"] = torch.full_like(torch.as_tensor(item["label"]), -1)
            mask = torch.zeros_like(mask)
        item["mask"] = mask
        return item

    def label_mask(self) -> torch.Tensor:
        return label_mask(self.dataset) & self.known[:, None]


def label_mask(dataset) -> torch.Tensor:
    """n × label sets (1 outside joint runs): True where an item's labels of that set are known."""
    own = getattr(dataset, "label_mask", None)
    return own() if own else torch.ones(len(dataset), 1, dtype=torch.bool)


def label_pools(dataset, semi_supervised: bool) -> tuple[list[np.ndarray], list[np.ndarray | None]] | None:
    """Item pools that batches cycle through, and per pool the label group of each item (for
    batches of label groups) or None. None overall: plain batches over the whole dataset.

    Supervised methods draw each batch from one label set's labelled items, set after set
    (joint training alternates datasets). Semi-supervised methods (MatchGAN) alternate a batch of
    label groups from the labelled items and, when there are any, a batch of unlabelled ones."""
    mask = label_mask(dataset)
    if not semi_supervised:
        if bool(mask.all()) and mask.shape[1] == 1:
            return None
        pools = [np.flatnonzero(mask[:, k].numpy()) for k in range(mask.shape[1])]
        return pools, [None] * len(pools)
    if mask.shape[1] > 1:
        raise I2IError("semi-supervised training takes one dataset; joint (several datasets) is for stargan")
    known = mask[:, 0].numpy()
    labelled, unlabelled = np.flatnonzero(known), np.flatnonzero(~known)
    labels = getattr(dataset, "labels", None)
    if labels is None:
        raise I2IError("batches of label groups need every item's label without reading the images; "
                       "this dataset does not list them")
    rows = torch.as_tensor(labels)[torch.from_numpy(labelled)]
    groups = torch.unique(rows.reshape(len(rows), -1), dim=0, return_inverse=True)[1].numpy()
    pools, grouping = [labelled], [groups]
    if len(unlabelled):
        pools.append(unlabelled)
        grouping.append(None)
    return pools, grouping
