"""MatchGAN (Sun, Bhattarai and Kim, ACCV 2020): StarGAN made semi-supervised by a pair task.

D gets a match head: the trunk features of two images, concatenated, classified as "same label"
or not. Labelled batches come as label groups (4 groups × 4 images); pairs inside a group are
positive, pairs across groups negative (8 of each per 16 images). D learns the task on real
labelled images; G must pass it with its outputs grouped by their target labels, which are
drawn from the valid label combinations (label-space augmentation), so G is told "these four
must look alike in their labels" on unlabelled images too.
    labelled:   L_D = −L_adv + λ_cls·L_cls^r + λ_gp·L_gp + λ_match·L_match^r
                L_G =  L_adv + λ_cls·L_cls^f + λ_rec·L_rec + λ_match·L_match^f
    unlabelled: L_D = −L_adv + λ_gp·L_gp;   L_G = L_adv + λ_cls·L_cls^f + λ_match·L_match^f
Labelled and unlabelled iterations alternate (the trainer's batches do, when
data.labelled_fraction < 1). Networks and defaults follow the official code
(justin941208/MatchGAN): StarGAN's, λ_match 0.5.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.batches import Pools
from ..data.semi import label_pools
from .. import losses
from ..errors import I2IError
from .base import DataInfo
from .stargan import Discriminator, StarGAN, StarGANConfig

GROUP_SIZE = 4  # images per label group (the official batch of 16 holds 4 groups)


@dataclass
class MatchGANConfig(StarGANConfig):
    lambda_match: float = 0.5
    empty_groups: bool = False  # targets may leave an exclusive group empty (official CelebA code: no hair colour)


class MatchDiscriminator(Discriminator):
    """StarGAN's D plus conv3, the match head over two images' concatenated trunk features."""

    def __init__(self, image_size=128, conv_dim=64, c_dim=5, repeat_num=6):
        super().__init__(image_size, conv_dim, c_dim, repeat_num)
        dim, k = self.conv1.in_channels, self.conv2.kernel_size
        self.conv3 = nn.Conv2d(2 * dim, 2, k, bias=False)

    def match(self, x: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """Logits (different, same) for the pairs (x[first[i]], x[second[i]]); the trunk runs once
        per image (D has no normalisation, so features do not depend on the batch)."""
        h = self.main(x)
        return self.conv3(torch.cat([h[first], h[second]], 1)).flatten(1)


def match_pairs(n: int, device=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The official pairs of a batch of n = 4·G images in G consecutive label groups of 4:
    (1st, 2nd) and (3rd, 2nd) of each group are positive; (3rd of group g, 4th of group g−1) and
    (1st of group g, 4th of group g−2) negative. G ≥ 3, so negatives never pair a group with itself."""
    if n % GROUP_SIZE or n // GROUP_SIZE < 3:
        raise ValueError(f"match pairs need a batch of 4·G images with G ≥ 3 label groups, got {n}")
    g1 = torch.arange(0, n, GROUP_SIZE, device=device)
    g4 = (g1 + 3).roll(1)
    first = torch.cat([g1, g1 + 2, g1, g1 + 2])
    second = torch.cat([g1 + 1, g4, g4.roll(1), g1 + 1])
    same = torch.cat([torch.ones_like(g1), torch.zeros_like(g1), torch.zeros_like(g1), torch.ones_like(g1)])
    return first, second, same


class MatchGAN(StarGAN):
    name = "matchgan"
    Config = MatchGANConfig

    def __init__(self, cfg: MatchGANConfig, info: DataInfo):
        if len(info.datasets) > 1:
            raise ValueError("MatchGAN trains on one dataset; joint training is StarGAN's")
        super().__init__(cfg, info)
        self.D = MatchDiscriminator(info.image_size, cfg.d_conv_dim, self.c_dim, cfg.d_repeat_num)
        self.register_buffer("combinations", valid_combinations(info, cfg.empty_groups), persistent=False)

    def batch_policy(self, dataset, batch):
        """Labelled batches of label groups (GROUP_SIZE images each, the pairs match_pairs draws) in
        turn with batches of the unlabelled images, when there are any."""
        pools, grouping = label_pools(dataset, semi_supervised=True)
        return Pools(pools, batch.size, batch.seed, grouping=grouping, group_size=GROUP_SIZE)

    def loss_weights(self):
        return {**super().loss_weights(), "loss_match": self.cfg.lambda_match}

    def sample_targets(self, label, mask=None):
        """Label-space augmentation: G distinct valid label combinations, each given to 4 images
        (image p gets combination p mod G, so every source group meets every target)."""
        n = label.size(0)
        groups = n // GROUP_SIZE
        if groups > len(self.combinations):
            raise I2IError(f"a batch of {n} needs {groups} distinct target labels; the labels allow "
                           f"{len(self.combinations)}: lower batch_size")
        chosen = self.combinations[torch.randperm(len(self.combinations), device=label.device)[:groups]]
        target = chosen[torch.arange(n, device=label.device) % groups]
        if not self.info.multi_label:
            target = target.argmax(1)
        return target, None if mask is None else torch.ones_like(mask)

    def labelled(self, mask) -> bool:
        """Labelled and unlabelled batches alternate; a batch is all one or all the other."""
        if mask is None:
            return True
        known = mask.flatten(1).gt(0).all(1)
        if bool(known.all()) != bool(known.any()):
            raise I2IError("a MatchGAN batch must be all labelled or all unlabelled")
        return bool(known.all())

    def check_batch(self, mask) -> None:
        self.labelled(mask)

    def source_condition(self, label_org, mask_org):
        return self.as_condition(label_org, mask_org) if self.labelled(mask_org) else None  # none to go back to

    def identity_step(self, x_real, c_org):
        return super().identity_step(x_real, c_org) if c_org is not None else {}

    def d_terms(self, x_real, x_fake, out_src, fake_src, out_cls, label_org, mask_org):
        """Labelled: L_D = −L_adv + λ_cls·L_cls^r + λ_gp·L_gp + λ_match·L_match^r (which real pairs
        share their labels); unlabelled: −L_adv + λ_gp·L_gp."""
        if not self.labelled(mask_org):
            return {**self.adversarial_terms(out_src, fake_src), **self.penalty_term(x_real, x_fake)}
        terms = super().d_terms(x_real, x_fake, out_src, fake_src, out_cls, label_org, mask_org)
        with self.autocast():
            return {**terms, "D/loss_match": self.match_loss(x_real)}

    def g_terms(self, x_real, x_fake, fake_src, fake_cls, c_org, label_trg, mask_trg):
        """L_G = L_adv + λ_rec·L_rec + λ_cls·L_cls^f + λ_match·L_match^f (L_rec for labelled sources
        only): G's outputs, regrouped by target, must match as the label groups do."""
        if c_org is None:
            terms = {"G/loss_fake": losses.wgan_generator_loss(fake_src),
                     "G/loss_cls": self.classification_loss(fake_cls, label_trg, mask_trg)}
        else:
            terms = super().g_terms(x_real, x_fake, fake_src, fake_cls, c_org, label_trg, mask_trg)
        n = x_fake.size(0)
        by_target = torch.arange(n, device=x_fake.device).view(GROUP_SIZE, n // GROUP_SIZE).t().flatten()
        return {**terms, "G/loss_match": self.match_loss(x_fake[by_target])}

    def match_loss(self, x):
        first, second, same = match_pairs(x.size(0), x.device)
        return F.cross_entropy(self.D.match(x, first, second).float(), same)

    def check_groups(self, label) -> None:
        groups = label.reshape(-1, GROUP_SIZE, label[0].numel())
        if not bool((groups == groups[:, :1]).all()):
            raise I2IError("MatchGAN's labelled batches must come as groups of 4 images with equal labels "
                           "(the trainer builds them)")

    def train_step(self, batch, step):
        if self.labelled(batch.get("mask")):
            self.check_groups(batch["label"])
        return super().train_step(batch, step)


def valid_combinations(info: DataInfo, empty_groups: bool = False) -> torch.Tensor:
    """Every label vector the data can hold: binary attributes free, one label of each exclusive
    group (or none, with empty_groups); for single-label domains, each domain."""
    if not info.multi_label:
        return torch.eye(len(info.domains))
    attrs = info.attributes
    rows = []
    for values in itertools.product([0.0, 1.0], repeat=len(attrs)):
        ok = all(sum(values[attrs.index(a)] for a in g) in ((0, 1) if empty_groups else (1,))
                 for g in info.exclusive)
        if ok:
            rows.append(values)
    return torch.tensor(rows)
