"""How translate fits a photo to the model's square (`fit`: crop, squash, pad), checked against the
official test paths, which run torchvision transforms on PIL images: yunjey/stargan's CelebA loader
CenterCrop(178) then Resize(image_size); clovaai/stargan-v2's Resize([size, size]). Here the same
recipes are computed with PIL alone (torchvision's transforms on a PIL image are PIL's crop and its
antialiased bilinear resize)."""
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import i2i
from i2i.data.images import fit, to_tensor
from i2i.errors import I2IError
from i2i.official import import_checkpoint

FIX = Path(__file__).parent / "fixtures" / "official"
GREY = 2 / 255  # one grey level in [-1, 1]


def photo(w, h, seed=0):
    """A smooth non-square test picture: gradients and a few soft blobs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([xx, yy, 1 - xx * yy], -1)
    for _ in range(4):
        cx, cy, r = rng.uniform(0, w / max(h, w)), rng.uniform(0, h / max(h, w)), rng.uniform(0.05, 0.2)
        img += rng.uniform(-0.5, 0.5, 3) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / r ** 2)[..., None]
    return Image.fromarray((img.clip(0, 1) * 255).round().astype(np.uint8))


def capture(t):
    """Record what the model's translate receives."""
    seen = []
    real = t.method.translate
    t.method.translate = lambda x, *a, **k: (seen.append(x.clone()), real(x, *a, **k))[1]
    return seen


def test_stargan_run_crops_the_centre_as_the_official_celeba_loader(tmp_path):
    run = import_checkpoint("stargan", [FIX / "stargan" / "20-G.ckpt", FIX / "stargan" / "20-D.ckpt"], tmp_path / "r")
    assert yaml.safe_load((run / "info.yaml").read_text())["fit"] == "crop"  # recorded in the run
    t = i2i.load(run, device="cpu")
    img = photo(178, 218)  # CelebA's aligned photo size
    seen = capture(t)
    out = t.translate(img, target="Male")
    official = to_tensor(img.crop((0, 20, 178, 198)).resize((t.image_size,) * 2, Image.BILINEAR))
    assert (seen[0][0] - official).abs().max() <= 2 * GREY
    assert out.size == img.size  # the translated square pasted back into the photo
    a, b = np.asarray(out).astype(int), np.asarray(img).astype(int)
    assert (a[:20] == b[:20]).all() and (a[198:] == b[198:]).all() and (a[20:198] != b[20:198]).any()


def test_stargan_v2_run_squashes_as_the_official_test_path(tmp_path):
    run = import_checkpoint("stargan-v2", [FIX / "stargan_v2" / "000010_nets_ema.ckpt"], tmp_path / "r")
    t = i2i.load(run, device="cpu")
    assert t.fit == "squash"
    img = photo(75, 50)
    seen = capture(t)
    out = t.translate(img, target="dog", seed=3)
    official = to_tensor(img.resize((t.image_size,) * 2, Image.BILINEAR))
    assert (seen[0][0] - official).abs().max() <= 2 * GREY and out.size == img.size
    # --fit overrides the record; pad repeats the edges, and the output still has the photo's size
    out = t.translate(img, target="dog", fit="pad")
    x = to_tensor(img)[None]
    square, _ = fit(x, t.image_size, "pad")
    assert torch.allclose(seen[-1], square) and out.size == img.size
    with pytest.raises(I2IError, match="unknown fit 'stretch'"):
        t.translate(img, target="dog", fit="stretch")


@pytest.mark.parametrize("how", ["crop", "squash", "pad"])
@pytest.mark.parametrize("h, w", [(40, 64), (64, 40), (33, 33)])
def test_put_back_returns_the_photo_size_and_identity_round_trips(how, h, w):
    x = to_tensor(photo(w, h, seed=1))[None]
    square, put_back = fit(x, 32, how)
    assert square.shape == (1, 3, 32, 32)
    back = put_back(square)
    assert back.shape == x.shape
    if how == "crop":  # outside the centre square the photo is untouched
        side = min(h, w)
        top, left = round((h - side) / 2), round((w - side) / 2)
        mask = torch.ones_like(x, dtype=torch.bool)
        mask[..., top:top + side, left:left + side] = False
        assert torch.equal(back[mask], x[mask])
    # resizing down and up blurs a little; a smooth picture survives within a few grey levels
    assert (back - x).abs().mean() < 4 * GREY
