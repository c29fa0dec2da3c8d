"""The Inception feature networks against the real reference code.

Fixtures in tests/fixtures/inception/, made once outside the repository with torch 2.14.1 +
torchvision 0.29.1 and pytorch-fid (mseitzer/pytorch-fid at b9c1811, src/pytorch_fid/inception.py):
- keys.json: {variant: {key: shape}} of the state dicts of pytorch-fid's fid_inception_v3()
  module (its download stubbed out) and of torchvision's inception_v3(weights=None,
  aux_logits=True): the layouts of pt_inception-2015-12-05-6726825d.pth and
  inception_v3_google-0cc3c7bd.pth.
- parity.npz: x = two 3 x 40 x 40 images in [-1, 1] (white noise from torch.rand with
  Generator seed 0, then 5 x 5 noise from the same generator enlarged 8x by nearest);
  pytorch_fid = pytorch-fid's InceptionV3([3]) on (x + 1) / 2 with the weights of `filled` below
  (strict load); imagenet = StarGAN v2's metrics/fid.py InceptionV3 (torchvision blocks, no
  transform_input) on x mapped to [0, 1], resized to 299 with bilinear antialiased interpolate and
  normalised with ImageNet mean/std, with torchvision's model holding the `filled` weights.
"""
import json
import math
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from i2i.errors import I2IError
from i2i.metrics.inception import VARIANTS, FIDInception, _fit, load_inception

FIX = Path(__file__).parent.parent / "fixtures" / "inception"
KEYS = json.loads((FIX / "keys.json").read_text())
PARITY = np.load(FIX / "parity.npz")


def filled(layout: dict) -> dict:
    """Deterministic weights for a {key: shape} layout: each tensor from its own generator seeded
    with crc32(key), scaled so that activations stay O(1) through the whole network."""
    out = {}
    for k, shape in layout.items():
        if k.endswith("num_batches_tracked"):
            out[k] = torch.tensor(0)
            continue
        g = torch.Generator().manual_seed(zlib.crc32(k.encode()))
        if k.endswith("running_var"):
            out[k] = 1 + 0.5 * torch.rand(shape, generator=g)
        elif k.endswith(("running_mean", "bn.bias")):
            out[k] = 0.1 * torch.randn(shape, generator=g)
        elif k.endswith("bn.weight"):
            out[k] = 1 + 0.1 * torch.randn(shape, generator=g)
        elif len(shape) > 1:  # conv and fc weights: He scale
            out[k] = torch.randn(shape, generator=g) * math.sqrt(2.0 / math.prod(shape[1:]))
        else:
            out[k] = 0.01 * torch.randn(shape, generator=g)
    return out


def assert_matches(model, variant):
    with torch.no_grad():
        got = model(torch.from_numpy(PARITY["x"])).numpy()
    ref = PARITY[variant.replace("-", "_")]
    assert got.shape == (2, 2048)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4 * np.abs(ref).max())
    # the features of the two images differ by ~3%: check that part on its own scale too
    np.testing.assert_allclose(got[0] - got[1], ref[0] - ref[1], rtol=0, atol=1e-3 * np.abs(ref[0] - ref[1]).max())


@pytest.mark.parametrize("variant", ["pytorch-fid", "imagenet"])
def test_state_dict_layout_is_the_official_one(variant):
    own = {k: list(v.shape) for k, v in FIDInception(variant).state_dict().items()}
    official = {k: v for k, v in KEYS[variant].items() if not k.startswith("AuxLogits.")}
    assert own == official
    assert own["fc.weight"] == [VARIANTS[variant].classes, 2048]


def test_pytorch_fid_variant_matches_pytorch_fid():
    model = FIDInception("pytorch-fid")
    model.load_state_dict(filled(KEYS["pytorch-fid"]), strict=True)
    assert_matches(model.eval(), "pytorch-fid")


def test_imagenet_variant_loads_torchvisions_file_and_matches_stargan_v2(tmp_path, monkeypatch):
    # torchvision's file has AuxLogits (ignored) and, being old, no BatchNorm counters (filled in)
    state = {k: v for k, v in filled(KEYS["imagenet"]).items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "inception_v3_google.pth"
    torch.save(state, path)
    monkeypatch.setenv("I2I_INCEPTION_IMAGENET", str(path))
    model = load_inception(variant="imagenet")
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert len(model.weights_id) == 64  # the file's SHA-256, for feature caches
    assert_matches(model, "imagenet")


@pytest.mark.parametrize("variant", ["pytorch-fid", "imagenet"])
def test_without_weights_it_says_how_to_get_them(variant, monkeypatch):
    spec = VARIANTS[variant]
    monkeypatch.delenv(spec.env, raising=False)
    with pytest.raises(I2IError, match="never computes FID/KID with random weights") as e:
        load_inception(variant=variant)
    assert spec.env in str(e.value) and spec.url in str(e.value)


def test_allow_random_gives_a_fixed_network(monkeypatch):
    monkeypatch.delenv("I2I_INCEPTION", raising=False)
    a, b = load_inception(allow_random=True), load_inception(allow_random=True)
    assert a.weights_id.startswith("random")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with torch.no_grad():
        f = a(torch.zeros(1, 3, 32, 32))
    assert f.shape == (1, 2048) and torch.isfinite(f).all()


def test_bad_files_get_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("I2I_INCEPTION", str(tmp_path / "nowhere.pth"))
    with pytest.raises(I2IError, match="nowhere.pth does not exist.*I2I_INCEPTION"):
        load_inception()
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(I2IError, match="cannot read Inception weights .*junk.pth"):
        load_inception(junk)
    wrong = tmp_path / "wrong.pth"
    torch.save({"foo.weight": torch.zeros(2)}, wrong)
    with pytest.raises(I2IError) as e:
        load_inception(wrong)
    msg = str(e.value)
    assert "missing Conv2d_1a_3x3.conv.weight" in msg and "unexpected foo.weight" in msg and "\n" not in msg


def test_the_other_variants_weights_are_recognised():
    imagenet = FIDInception("imagenet").state_dict()
    with pytest.raises(I2IError, match="shape of fc.weight is \\(1000, 2048\\).*pass variant='imagenet'"):
        _fit(FIDInception("pytorch-fid"), imagenet, Path("x.pth"))


def test_unknown_variant():
    with pytest.raises(I2IError, match="unknown Inception variant 'tf'"):
        load_inception(variant="tf", allow_random=True)
