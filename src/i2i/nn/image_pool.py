"""The image history buffer of Shrivastava et al. (2017), as CycleGAN uses it: D sees a mix of
the newest fakes and up to `size` older ones, which damps oscillation between G and D."""
from __future__ import annotations

import torch
from torch import nn


class ImagePool(nn.Module):
    """query(fakes) returns, per image: while the pool is filling, the image itself (kept);
    afterwards with probability ½ a random stored image (the new one takes its place), else the
    image itself. The pool is a buffer, so a checkpoint resumes it exactly; randomness comes
    from torch's global RNG, which the trainer saves."""

    def __init__(self, size: int, shape: tuple[int, ...]):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            n = int(self.count)
            if n < self.size:
                self.images[n] = image
                self.count += 1
                out.append(image)
            elif torch.rand(()).item() > 0.5:
                k = int(torch.randint(self.size, ()))
                out.append(self.images[k].clone().to(image.dtype))
                self.images[k] = image
            else:
                out.append(image)
        return torch.stack(out)
