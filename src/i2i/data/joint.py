"""Several datasets with different label sets in one run: StarGAN's mask vector (paper, section 3.2).

Labels are laid out as [part 0's labels | part 1's labels | ...]. An item of part k has its own
slice filled (a domain index becomes a one-hot slice) and the others zero, and its "mask" is the
one-hot of k: which labels are known. StarGAN feeds G the condition [labels | mask] and trains
only the known slice of D's classifier.
"""
from __future__ import annotations

import bisect

import torch

from ..errors import I2IError


class JointDataset(torch.utils.data.Dataset):
    def __init__(self, parts: list, names: list[str]):
        if len(parts) < 2:
            raise I2IError("joint training needs at least two datasets")
        self.parts, self.names = list(parts), list(names)
        self.datasets, self.attributes, self.ends = [], [], []
        for name, part in zip(self.names, self.parts):
            labels = list(getattr(part, "attributes", []) or getattr(part, "domains", []) or [])
            if not labels:
                raise I2IError(f"{name} has no labels or domains; every dataset of a joint run needs labels")
            clash = sorted(set(labels) & set(self.attributes))
            if clash:
                raise I2IError(f"label(s) {clash} of {name} also belong to an earlier dataset of the joint run; "
                               "each dataset needs its own label names")
            self.datasets.append({"name": name, "labels": labels, "multi_label": bool(getattr(part, "attributes", []))})
            self.attributes += labels
            self.ends.append((self.ends[-1] if self.ends else 0) + len(part))
        self.offsets = [0] + [len(d["labels"]) for d in self.datasets]
        for k in range(1, len(self.offsets)):
            self.offsets[k] += self.offsets[k - 1]

    def __len__(self) -> int:
        return self.ends[-1]

    def locate(self, i: int) -> tuple[int, int]:
        """(part, index within the part) of item i."""
        k = bisect.bisect_right(self.ends, i)
        return k, i - (self.ends[k - 1] if k else 0)

    def label_slice(self, k: int) -> slice:
        return slice(self.offsets[k], self.offsets[k + 1])

    def full_label(self, k: int, label: torch.Tensor) -> torch.Tensor:
        """Part k's own label (vector or domain index) placed in the joint layout, zeros elsewhere."""
        out = torch.zeros(len(self.attributes))
        if self.datasets[k]["multi_label"]:
            out[self.label_slice(k)] = label.float()
        else:
            out[self.offsets[k] + int(label)] = 1.0
        return out

    def __getitem__(self, i) -> dict:
        k, j = self.locate(int(i))
        item = self.parts[k][j]
        mask = torch.zeros(len(self.parts))
        mask[k] = 1.0
        return {"image": item["image"], "label": self.full_label(k, item["label"]), "mask": mask}

    @property
    def labels(self) -> torch.Tensor:
        """Every item's joint label, without reading images (parts must expose `labels`)."""
        rows = []
        for k, part in enumerate(self.parts):
            own = getattr(part, "labels", None)
            if own is None:
                raise I2IError(f"{self.names[k]} cannot list its labels without reading every image")
            rows += [self.full_label(k, v) for v in own]
        return torch.stack(rows)

    def label_mask(self) -> torch.Tensor:
        """n × parts, True where the item's labels of that part are known."""
        mask = torch.zeros(len(self), len(self.parts), dtype=torch.bool)
        start = 0
        for k, end in enumerate(self.ends):
            mask[start:end, k] = True
            start = end
        return mask
