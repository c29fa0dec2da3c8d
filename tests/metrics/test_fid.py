import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from i2i.data.images import load_image, save_image, to_tensor
from i2i.errors import I2IError
from i2i.metrics.fid import features, fid, fid_from_features, folder_features
from i2i.metrics.inception import load_inception


class Tiny(nn.Module):
    """Stands in for Inception where only the plumbing is under test: the same prepare/pool3
    interface, 8 x 8 instead of 299 x 299, and a count of the images it ran."""
    variant, weights_id = "tiny", "w1"

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3 * 64, 16))
        self.seen = 0

    def prepare(self, x):
        x = x[None] if x.dim() == 3 else x
        return F.interpolate(x, size=(8, 8), mode="bilinear", align_corners=False)

    def pool3(self, x):
        self.seen += len(x)
        return x.flatten(1) @ self.w


def images(n, seed, size=16):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def write(folder, x):
    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(x):
        save_image(im, folder / f"{i:03d}.png")
    return folder


def test_features_are_float64_and_the_same_however_the_images_come():
    model, x = Tiny(), images(7, 0)
    whole = features(x, model, batch_size=3)
    assert whole.shape == (7, 16) and whole.dtype == np.float64
    singles = features(iter(list(x)), model, batch_size=3)
    mixed = features([x[:2], {"image": x[2]}, x[3:]], model, batch_size=4)
    np.testing.assert_allclose(singles, whole, atol=1e-5)
    np.testing.assert_allclose(mixed, whole, atol=1e-5)
    sizes = features([images(1, 1, 16)[0], images(1, 2, 24)[0]], model)  # mixed sizes are fine
    assert sizes.shape == (2, 16)


def test_folder_features_are_cached_and_recomputed_when_a_file_changes(tmp_path):
    folder, cache = write(tmp_path / "imgs", images(3, 0)), tmp_path / "cache"
    model = Tiny()
    first = folder_features(folder, model, cache=cache)
    assert model.seen == 3 and first.shape == (3, 16) and first.dtype == np.float64
    (entry,) = cache.glob("*.npz")
    assert not list(folder.glob(".*")) and entry.name.startswith("imgs-tiny-")
    with np.load(entry, allow_pickle=False) as z:  # plain arrays only
        assert set(z.files) == {"features", "key", "folder"}

    again = folder_features(folder, model, cache=cache)
    assert model.seen == 3  # nothing recomputed
    np.testing.assert_array_equal(again, first)

    save_image(images(1, 9)[0], folder / "001.png")  # one image replaced
    changed = folder_features(folder, model, cache=cache)
    assert model.seen == 6 and not np.allclose(changed[1], first[1])
    np.testing.assert_allclose(changed[[0, 2]], first[[0, 2]], rtol=1e-6)
    save_image(images(1, 10)[0], folder / "sub" / "new.png")  # one added, in a subfolder
    assert folder_features(folder, model, cache=cache).shape == (4, 16) and model.seen == 10
    assert len(list(cache.glob("*.npz"))) == 1  # the entry is replaced, not piled up

    model.weights_id = "w2"  # other weights: their own entry
    folder_features(folder, model, cache=cache)
    assert model.seen == 14 and len(list(cache.glob("*.npz"))) == 2


def test_default_cache_dir_and_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("I2I_CACHE_DIR", str(tmp_path / "c"))
    folder, model = write(tmp_path / "imgs", images(2, 0)), Tiny()
    folder_features(folder, model)
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1
    folder_features(folder, model, cache=False)
    assert model.seen == 4 and len(list((tmp_path / "c").glob("*.npz"))) == 1
    (entry,) = (tmp_path / "c").glob("*.npz")
    entry.write_bytes(b"broken")  # an unreadable entry is recomputed and replaced
    folder_features(folder, model)
    assert model.seen == 6 and np.load(entry, allow_pickle=False)["features"].shape == (2, 16)
    model.weights_id = None  # weights of unknown identity: never cached
    folder_features(folder, model)
    assert model.seen == 8 and len(list((tmp_path / "c").glob("*.npz"))) == 1


def test_bad_folders(tmp_path):
    with pytest.raises(I2IError, match="does not exist"):
        folder_features(tmp_path / "nope", Tiny(), cache=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(I2IError, match="has no images"):
        folder_features(tmp_path / "empty", Tiny(), cache=False)
    with pytest.raises(I2IError, match="at least 2 images"):
        fid_from_features(np.zeros((1, 4)), np.zeros((5, 4)))


def test_fid_of_two_folders(tmp_path):
    model, cache = Tiny(), tmp_path / "cache"
    a = write(tmp_path / "a", images(6, 0))
    b = write(tmp_path / "b", images(6, 1) * 0.2 + 0.5)
    d = fid(a, b, model, cache=cache)
    assert d > 0 and model.seen == 12
    assert d == pytest.approx(fid_from_features(folder_features(a, model, cache=cache),
                                                folder_features(b, model, cache=cache)))
    # zero up to the float64 noise of √ of the near-zero eigenvalues of rank-5 covariances
    assert abs(fid(a, a, model, cache=cache)) < 1e-6 * d and model.seen == 12


def test_folder_features_with_the_real_network(tmp_path, monkeypatch):
    # random weights (allow_random is for tests only), 2 images: the 2048-d pool3 of decoded files
    monkeypatch.delenv("I2I_INCEPTION", raising=False)
    model = load_inception(allow_random=True)
    x = images(2, 0, 32)
    folder = write(tmp_path / "a", x)
    got = folder_features(folder, model, cache=False)
    assert got.shape == (2, 2048) and got.dtype == np.float64
    saved = torch.stack([to_tensor(load_image(p)) for p in sorted(folder.glob("*.png"))])  # 8-bit rounded x
    np.testing.assert_allclose(got, features(saved, model), rtol=1e-5, atol=1e-12)
