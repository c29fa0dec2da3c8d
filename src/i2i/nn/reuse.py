"""Forward results kept while the networks that made them are unchanged (a speed layer).

A method's losses call its networks as often as the paper's code does; where a network sees the
same input again before it is updated, the second call returns the first result, made once with
its graph (StarGAN v2: G's encoding of x_real serves both D steps and the latent G update, and the
latent D step's fake, with its graph, is that update's fake). Method.update drops what the updated
networks made.
"""
from __future__ import annotations

import torch


class Reuse:
    def __init__(self):
        self.kept: dict[tuple, tuple[frozenset, object]] = {}

    def __call__(self, key: tuple, networks: tuple[str, ...], make):
        """make()'s result for `key` (tensor ids), made with its graph, until one of `networks` changes."""
        hit = self.kept.get(key)
        if hit is not None:
            return hit[1]
        with torch.enable_grad():
            value = make()
        self.kept[key] = (frozenset(networks), value)
        return value

    def changed(self, names) -> None:
        names = set(names)
        self.kept = {k: v for k, v in self.kept.items() if not v[0] & names}

    def clear(self) -> None:
        self.kept.clear()
