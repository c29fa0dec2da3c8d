"""What a method is told about its data to build its networks."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DataInfo:
    """What a method needs to know about its data to build its networks."""
    image_size: int
    channels: int = 3
    points: int = 0    # > 0: the data are vectors of this length (the ring world), not images
    attributes: list[str] = field(default_factory=list)   # multi-label attribute names
    domains: list[str] = field(default_factory=list)      # single-label domain names
    exclusive: list[list[str]] = field(default_factory=list)  # attribute groups with exactly one set
    datasets: list[dict] = field(default_factory=list)  # joint runs: {name, labels, multi_label} per dataset,
                                                        # in the order of `attributes`
    fit: str = ""  # how translate fits a photo to the model's square (data.images.FITS); "": the method's

    @property
    def labels(self) -> list[str]:
        return self.attributes or self.domains

    @property
    def multi_label(self) -> bool:
        return bool(self.attributes)
