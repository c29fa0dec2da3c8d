"""The digit oracle: a small CNN trained on the held-out digits (`i2i.data.digits`, split
"test"), never on the digits a generator learns from. It reads a digit and its confidence
from an image, and its 128-d penultimate features give "digits-FD", a Fréchet distance
between generated and real digits in the oracle's own feature space (FID's idea, with a
network that knows digits instead of ImageNet).

Training is deterministic (fixed seed, one thread) and takes a few seconds, so the oracle is
trained on first use in a process and kept; `save`/`load` keep it across processes.
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..data.digits import DigitsDataset
from ..errors import I2IError
from ..methods.base import ReadsCategory
from .frechet import frechet_distance_of

READ_SIZE = 16  # every image is read at 16 px


class DigitOracle(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, 10))

    @staticmethod
    def prepare(x: torch.Tensor) -> torch.Tensor:
        """N x C x S x S in [-1, 1] -> N x 1 x 16 x 16: grey (channel mean), area/bilinear resize."""
        if x.dim() != 4:
            raise I2IError(f"the digit oracle reads N x C x H x W images, got shape {tuple(x.shape)}")
        x = x.float().mean(1, keepdim=True)
        if x.shape[-1] != READ_SIZE or x.shape[-2] != READ_SIZE:
            mode = "area" if x.shape[-1] > READ_SIZE else "bilinear"
            x = F.interpolate(x, size=(READ_SIZE, READ_SIZE), mode=mode, **({} if mode == "area" else {"align_corners": False}))
        return x

    def forward(self, x):
        return self.head(self.trunk(self.prepare(x)))

    @torch.no_grad()
    def features(self, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        self.eval()
        return torch.cat([self.trunk(self.prepare(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])

    @torch.no_grad()
    def read(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(digit, confidence) per image: the argmax class and its softmax probability."""
        self.eval()
        p = torch.cat([self(x[i:i + 500]).softmax(1) for i in range(0, len(x), 500)])
        conf, digit = p.max(1)
        return digit, conf

    def fd(self, a: torch.Tensor, b: torch.Tensor) -> float:
        """digits-FD between two image sets."""
        return frechet_distance_of(self.features(a).double().numpy(), self.features(b).double().numpy())

    def save(self, path) -> None:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(path))

    @classmethod
    def load(cls, path) -> "DigitOracle":
        from safetensors.torch import load_file
        oracle = cls()
        try:
            oracle.load_state_dict(load_file(str(path)))
        except Exception as e:  # a missing file, another network's weights, a corrupt header
            raise I2IError(f"{path}: not a digit-oracle weights file ({type(e).__name__}); "
                           "delete it to retrain the oracle") from None
        return oracle.eval()


def _shift(x: torch.Tensor, g: torch.Generator, max_shift: int = 1) -> torch.Tensor:
    """Random translation by up to max_shift px (zero padding): cheap augmentation."""
    n, _, h, w = x.shape
    padded = F.pad(x, [max_shift] * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2, n), generator=g)
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def train_oracle(seed: int = 0, epochs: int = 40, batch_size: int = 64, lr: float = 2e-3) -> DigitOracle:
    """Train on the held-out split at 16 px; deterministic for a given seed."""
    data = DigitsDataset("test", READ_SIZE)
    g = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # same result on every machine size
    try:
        with torch.random.fork_rng(), torch.enable_grad():  # callers may be inside no_grad
            torch.manual_seed(seed)
            oracle = DigitOracle()
            opt = torch.optim.Adam(oracle.parameters(), lr)
            steps = epochs * (len(data) // batch_size)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
            oracle.train()
            for _ in range(epochs):
                order = torch.randperm(len(data), generator=g)
                for k in range(len(data) // batch_size):
                    idx = order[k * batch_size:(k + 1) * batch_size]
                    loss = F.cross_entropy(oracle(_shift(data.images[idx], g)), data.labels[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
    finally:
        torch.set_num_threads(threads)
    return oracle.eval()


@functools.lru_cache(maxsize=None)
def digit_oracle(path: str | None = None) -> DigitOracle:
    """The oracle: loaded from `path` when that file exists, else trained (and saved there)."""
    if path and Path(path).is_file():
        return DigitOracle.load(path)
    oracle = train_oracle()
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        oracle.save(path)
    return oracle


def matched_accuracy(clusters: torch.Tensor, labels: torch.Tensor, k: int = 10) -> tuple[float, list[int]]:
    """Accuracy of cluster ids as class predictions under the best one-to-one matching of
    clusters to classes (Hungarian algorithm), and that matching (cluster -> class)."""
    from scipy.optimize import linear_sum_assignment
    counts = torch.zeros(k, k, dtype=torch.long)
    counts.index_put_((clusters.long(), labels.long()), torch.ones_like(labels, dtype=torch.long), accumulate=True)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    return float(counts[rows, cols].sum()) / len(labels), [int(c) for c in cols[rows.argsort()]]


@torch.no_grad()
def evaluate_generation(method, n: int = 1000, seed: int = 0, oracle: DigitOracle | None = None) -> dict:
    """Oracle scores of `n` samples of a generator on the digits world.

    Coverage: the share of samples the oracle reads as each digit (a model that drops a digit
    shows 0 there); confidence: the share read with softmax probability ≥ 0.9 (a blurred or
    malformed digit rarely is); digits-FD: Fréchet distance of the oracle's features between
    600 samples and 600 real training digits, beside the floor, the same distance between the
    other 600 real training digits (a random half) and those 600. Conditional methods are asked
    for every digit in turn, and the share read as the digit asked for is reported too. Methods
    that read a categorical code from images (InfoGAN's Q) classify the 597 held-out real digits
    with it, each code value matched to a digit (Hungarian): "code_accuracy"."""
    oracle = oracle or digit_oracle()
    asked = torch.arange(n) % 10 if method.conditional else None
    samples = method.generate(n, asked, generator=torch.Generator().manual_seed(seed)).cpu()
    digit, conf = oracle.read(samples)
    share = torch.bincount(digit, minlength=10).float() / n
    real = DigitsDataset("train", 16).images
    # halves drawn at random: scikit-learn orders digits by writer, so index halves differ in style
    real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(0))]
    fd_n = min(600, n, len(real) // 2)
    extra = {}
    if isinstance(method, ReadsCategory) and not method.category_supervised:
        held_out = DigitsDataset("test", method.info.image_size)
        extra["code_accuracy"], extra["code_to_digit"] = matched_accuracy(
            method.read_category(held_out.images), held_out.labels, method.cfg.categories)
    return {
        "n": n,
        "class_share": [round(float(s), 4) for s in share],
        "min_class_share": float(share.min()),
        "classes_at_least_4pct": int((share >= 0.04).sum()),
        "confident_share": float((conf >= 0.9).float().mean()),
        "requested_digit_read": float((digit == asked).float().mean()) if asked is not None else None,
        "digits_fd": oracle.fd(samples[:fd_n], real[fd_n:2 * fd_n]),
        "digits_fd_floor": oracle.fd(real[:fd_n], real[fd_n:2 * fd_n]),
        **extra,
    }


@torch.no_grad()
def evaluate_transfer(method, dataset, oracle: DigitOracle | None = None) -> dict:
    """DTN's score (paper Table 2): the digit oracle reads each translated source digit; the share
    read as the source's label. Beside it, the oracle on the raw source images (the baseline a
    translation must beat) and f's own accuracy on the source domain."""
    oracle = oracle or digit_oracle()
    x, y = dataset.source.images, dataset.source.labels
    out = torch.cat([method.translate(x[i:i + 200].to(method.device)).cpu() for i in range(0, len(x), 200)])
    read, conf = oracle.read(out)
    raw, _ = oracle.read(x)
    result = {"task": "transfer", "n": len(x), "translation_accuracy": float((read == y).float().mean()),
              "confident_share": float((conf >= 0.9).float().mean()),
              "oracle_on_sources": float((raw == y).float().mean())}
    if isinstance(method, ReadsCategory) and method.category_supervised:
        read = torch.cat([method.read_category(x[i:i + 200]) for i in range(0, len(x), 200)])
        result["f_accuracy_on_sources"] = float((read == y).float().mean())
    return result
