"""A built-in world held in memory: `images` (or points) and their class `labels` as tensors."""
from __future__ import annotations

import torch


class InMemory(torch.utils.data.Dataset):
    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def targets(self) -> list[int]:
        return self.labels.tolist()

    def __getitem__(self, i) -> dict:
        return {"image": self.images[i], "label": self.labels[i]}
