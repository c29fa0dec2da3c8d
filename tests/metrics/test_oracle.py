import numpy as np
import pytest
import torch

from i2i.data.shapes import PALETTE, SHAPES, ShapesDataset, render_batch, sample_params
from i2i.errors import I2IError
from i2i.metrics.oracle import ShapesOracle, gaussian_blur

torch.set_num_threads(1)


def _renders(n, size, seed=0):
    params = [sample_params(np.random.default_rng([seed, size, i]), colours=tuple(PALETTE)) for i in range(n)]
    return params, render_batch(params, size)


def _truth(params, oracle):
    return {
        "shape": torch.tensor([SHAPES.index(p.shape) for p in params]),
        "colour": torch.tensor([oracle.colours.index(p.colour) for p in params]),
        "striped": torch.tensor([p.striped for p in params]),
        "large": torch.tensor([p.large for p in params]),
    }


def _accuracy(readings, truth):
    return {k: (readings[k] == v).float().mean().item() for k, v in truth.items()}


def _wrap(d, period):
    return (d + period / 2) % period - period / 2


@pytest.mark.parametrize("size,n", [(32, 600), (64, 600), (128, 200), (256, 60)])
def test_clean_renders_read_back(size, n):
    oracle = ShapesOracle()
    params, imgs = _renders(n, size)
    r = oracle.read(imgs)
    acc = _accuracy(r, _truth(params, oracle))
    assert all(a >= 0.99 for a in acc.values()), acc
    t = lambda name: torch.tensor([getattr(p, name) for p in params])
    centre_err = torch.maximum((r["cx"] - t("cx")).abs(), (r["cy"] - t("cy")).abs())
    assert (centre_err < 0.05).float().mean() >= 0.99
    assert (centre_err < 0.01).float().mean() >= 0.95
    assert ((r["size"] / t("size") - 1).abs() < 0.05).float().mean() >= 0.99
    assert ((r["background"] - t("background")).abs() < 0.01).all()
    shp = torch.tensor([SHAPES.index(p.shape) for p in params])
    for k, period in ((1, 90.0), (2, 120.0)):
        m = shp == k
        assert (_wrap(r["rotation"][m] - t("rotation")[m], period).abs() < 3).float().mean() >= 0.95
    m = t("striped")
    assert (_wrap(r["stripe_angle"][m] - t("stripe_angle")[m], 180.0).abs() < 3).float().mean() >= 0.95


def test_labels_agree_with_dataset_labels():
    attrs = ["red", "green", "blue", "striped", "large", "circle", "square", "triangle"]
    ds = ShapesDataset(200, 64, attributes=attrs, seed=11, split="test")  # 8-bit images
    imgs = torch.stack([ds[i]["image"] for i in range(len(ds))])
    want = torch.stack([ds[i]["label"] for i in range(len(ds))])
    oracle = ShapesOracle()
    got = oracle.labels(oracle.read(imgs), attrs)
    assert got.shape == want.shape and got.dtype == torch.float32
    assert (got == want).all(1).float().mean() >= 0.99
    # an oracle restricted to the dataset's colours reads the same
    restricted = ShapesOracle(colours=("red", "green", "blue"))
    assert torch.equal(restricted.labels(restricted.read(imgs), attrs[:3]), got[:, :3])


def test_robust_to_blur_and_noise():
    oracle = ShapesOracle()
    params, imgs = _renders(200, 64, seed=1)
    noisy = gaussian_blur(imgs, 1.0) + 0.05 * torch.randn(imgs.shape, generator=torch.Generator().manual_seed(0))
    acc = _accuracy(oracle.read(noisy), _truth(params, oracle))
    assert all(a >= 0.97 for a in acc.values()), acc


def test_gaussian_blur_keeps_mass_and_constants():
    x = torch.rand(2, 3, 32, 32)
    y = gaussian_blur(x, 1.5)
    assert y.shape == x.shape
    assert torch.allclose(gaussian_blur(torch.full((1, 3, 32, 32), 0.3), 2.0), torch.tensor(0.3))
    assert abs(y.mean().item() - x.mean().item()) < 0.01 and y.std() < x.std()


def test_bad_inputs():
    oracle = ShapesOracle()
    with pytest.raises(I2IError):
        oracle.read(torch.zeros(2, 1, 64, 64))
    with pytest.raises(I2IError):
        oracle.read(torch.zeros(2, 3, 64, 48))
    with pytest.raises(I2IError):
        ShapesOracle(colours=("red", "orange"))
    r = oracle.read(torch.zeros(1, 3, 64, 64))  # blank image: garbage readings, but no crash or NaN
    assert all(torch.isfinite(v.float()).all() for v in r.values())
    with pytest.raises(I2IError):
        ShapesOracle(colours=("red", "green")).labels(r, ["blue"])
