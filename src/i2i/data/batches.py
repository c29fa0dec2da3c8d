"""Batch policies: which items of the dataset make step s's batch, as a pure function of
(seed, step), so resuming at step s replays the same order without saving loader state.

A method chooses its policy (Method.batch_policy); train.runtime.StepSampler walks it from the
start step and gives each process of a distributed run its slice of every section.
- Plain: epochs of permutations; the last partial batch is dropped.
- Balanced: items drawn with replacement, each with probability ∝ 1/count(its class), so rare
  domains are seen as often as common ones (StarGAN v2's WeightedRandomSampler).
- References: [sources | references | second references]: references class-balanced, ref2[i]
  another item of ref[i]'s domain (StarGAN v2's reference stream).
- Pools: step s draws from pool s mod P only, as its own epochs of permutations (joint training
  alternates datasets; partly labelled data uses the labelled items). A pool with a grouping gives
  batches of batch_size / group_size distinct label groups, group_size items each, consecutive
  (MatchGAN's label groups). `mix`: every batch takes batch_size / P items from each pool instead
  (joint data for a batch-norm G, whose batch statistics would otherwise depend on the dataset).
"""
from __future__ import annotations

import numpy as np

from ..errors import I2IError


class Policy:
    """Step → the dataset indices of its batch; `sections` equal parts (each split over ranks)."""
    size: int
    sections: int = 1

    def batch(self, step: int) -> list[int]:
        raise NotImplementedError


class Plain(Policy):
    def __init__(self, n: int, batch_size: int, seed: int):
        if n < batch_size:
            raise I2IError(f"the dataset has {n} images, fewer than batch_size={batch_size}")
        self.n, self.size, self.seed = n, batch_size, seed

    def batch(self, step):
        epoch, k = divmod(step, self.n // self.size)
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return perm[k * self.size:(k + 1) * self.size].tolist()


class Domains:
    """The items of every domain, from each item's domain index."""

    def __init__(self, labels, n: int | None = None):
        if labels is None:
            raise I2IError("balanced or reference sampling needs the domain label of every item; pass labels")
        labels = np.asarray(labels)
        n = len(labels) if n is None else n
        if labels.shape != (n,) or labels.dtype.kind not in "iu" or (labels < 0).any():
            raise I2IError(f"labels must be {n} non-negative domain indices, got shape {labels.shape} "
                           f"dtype {labels.dtype}")
        self.labels = labels
        self.members = {int(k): np.flatnonzero(labels == k) for k in np.unique(labels)}  # sorted items
        self.classes = list(self.members.values())

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """A uniform class, then a uniform item of it: P(item) = 1 / (classes * count(its class))."""
        picks = rng.integers(len(self.classes), size=size)
        return np.array([m[rng.integers(len(m))] for m in (self.classes[c] for c in picks)], dtype=np.int64)


class Balanced(Policy):
    def __init__(self, domains: Domains, batch_size: int, seed: int):
        if len(domains.labels) < batch_size:
            raise I2IError(f"the dataset has {len(domains.labels)} images, fewer than batch_size={batch_size}")
        self.domains, self.size, self.seed = domains, batch_size, seed

    def batch(self, step):
        return self.domains.draw(np.random.default_rng([self.seed, step, 0]), self.size).tolist()


class References(Policy):
    sections = 3

    def __init__(self, sources: Policy, domains: Domains, seed: int):
        self.sources, self.domains, self.seed, self.size = sources, domains, seed, sources.size

    def batch(self, step):
        out = self.sources.batch(step)
        rng = np.random.default_rng([self.seed, step, 1])
        ref = self.domains.draw(rng, self.size)
        ref2 = []
        for r in ref:
            m = self.domains.members[int(self.domains.labels[r])]
            if len(m) < 2:  # a one-image domain: the pair can only repeat it
                ref2.append(int(r))
                continue
            j = int(rng.integers(len(m) - 1))  # uniform over the others: skip r's own slot
            ref2.append(int(m[j + (j >= np.searchsorted(m, r))]))
        return out + ref.tolist() + ref2


class Pools(Policy):
    def __init__(self, pools, batch_size: int, seed: int, grouping=None, group_size: int = 4, mix: bool = False):
        self.pools = [np.asarray(p, dtype=np.int64) for p in pools]
        self.grouping = list(grouping) if grouping is not None else [None] * len(self.pools)
        self.size, self.seed, self.group_size, self.mix = batch_size, seed, group_size, mix
        if mix and (batch_size % len(self.pools) or any(g is not None for g in self.grouping)):
            raise I2IError(f"mixed batches need datasets to mix and a batch_size divisible by their number "
                           f"({len(self.pools)}); got batch_size={batch_size}")
        self.sections = len(self.pools) if mix else 1
        for k, pool in enumerate(self.pools):
            self._check_pool(k, pool)

    def grouped(self) -> bool:
        return any(g is not None for g in self.grouping)

    def _check_pool(self, k: int, pool: np.ndarray) -> None:
        groups = self.grouping[k]
        if groups is None:
            if len(pool) < self.size:
                raise I2IError(f"batch pool {k} has {len(pool)} images, fewer than batch_size={self.size} "
                               "(too few labelled images: raise data.labelled_fraction or lower batch_size)")
            return
        if self.size % self.group_size:
            raise I2IError(f"batch_size={self.size} must be a multiple of {self.group_size} (label groups of "
                           f"{self.group_size} images)")
        need, have = self.size // self.group_size, len(np.unique(groups))
        if have < need:
            raise I2IError(f"the labelled images hold {have} distinct labels, fewer than the {need} label groups "
                           f"a batch of {self.size} needs; lower batch_size or label more images")

    def batch(self, step):
        if self.mix:
            share = self.size // len(self.pools)
            return [i for k in range(len(self.pools)) for i in self.epoch_draw(k, step, share)]
        k, local = step % len(self.pools), step // len(self.pools)
        pool, groups = self.pools[k], self.grouping[k]
        if groups is None:
            return self.epoch_draw(k, local, self.size)
        rng = np.random.default_rng([self.seed, step, 2])
        out = []
        for g in rng.choice(np.unique(groups), self.size // self.group_size, replace=False):
            members = pool[groups == g]
            out += rng.choice(members, self.group_size, replace=len(members) < self.group_size).tolist()
        return out

    def epoch_draw(self, k: int, local: int, size: int) -> list[int]:
        """Batch `local` of pool k's own epochs of permutations, `size` items."""
        pool = self.pools[k]
        epoch, j = divmod(local, len(pool) // size)
        perm = np.random.default_rng([self.seed, epoch, k]).permutation(len(pool))
        return pool[perm[j * size:(j + 1) * size]].tolist()
