import warnings

import pytest
import torch

from i2i.errors import I2IError
from i2i.nn.fan import FAN, FANMasks, OnesMasks, _face_masks, mask_provider

torch.set_num_threads(1)


def test_parameter_count_equals_the_official_code():
    # measured on clovaai/stargan-v2 core/wing.py: sum of FAN().parameters() sizes, torch 2.13
    assert sum(p.numel() for p in FAN().parameters()) == 6_333_603


def test_state_dict_matches_the_official_layout():
    # measured on the official FAN(): 336 entries, 6,348,634 numbers, in this order
    sd = FAN().state_dict()
    assert len(sd) == 336
    assert sum(v.numel() for v in sd.values()) == 6_348_634
    assert list(sd)[:5] == ["conv1.conv.weight", "conv1.conv.bias", "bn1.weight", "bn1.bias", "bn1.running_mean"]
    assert list(sd)[-2:] == ["l0.weight", "l0.bias"]
    shapes = {"conv1.conv.weight": (64, 6, 7, 7), "m0.coordconv.conv.weight": (256, 259, 1, 1),
              "conv2.downsample.2.weight": (128, 64, 1, 1), "m0.b2_plus_1.conv3.weight": (64, 64, 3, 3),
              "m0.b3_4.bn1.running_var": (256,), "l0.weight": (99, 256, 1, 1)}
    assert {k: tuple(sd[k].shape) for k in shapes} == shapes
    assert not any("coords" in k for k in sd)  # the coordinate grids are not in the checkpoint


def test_get_heatmap_shapes_and_ranges():
    fan = FAN().eval()
    x = torch.rand(2, 3, 256, 256) * 2 - 1
    face, inner = fan.get_heatmap(x)
    for m in (face, inner):
        assert m.shape == (2, 1, 256, 256) and m.min() >= 0 and m.max() <= 1
    assert (inner <= face + 1e-6).all()  # the inner mask is a part of the face mask's sum
    assert fan.get_heatmap(x, b_preprocess=False).shape == (2, 98, 64, 64)


def test_face_masks_equal_the_official_preprocess_on_fixed_heatmaps():
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    c = torch.arange(98.0)
    ry, rx = 40 + (c * 37) % 176, 40 + (c * 61) % 176
    h = torch.exp(-((yy - ry[:, None, None]) ** 2 + (xx - rx[:, None, None]) ** 2) / 72.0)[None]
    face, inner = _face_masks(h)
    # measured with the official core/wing.py preprocess() on the same heatmaps
    assert face.sum().item() == pytest.approx(9895.0488, rel=1e-5) and (face > 0).sum() == 27740
    assert inner.sum().item() == pytest.approx(5879.9570, rel=1e-5) and (inner > 0).sum() == 18243


def test_from_file_round_trip_in_the_official_format(tmp_path):
    sd = FAN().state_dict()
    # wing.ckpt is {'state_dict': ...}; old files lack the BN counters, extra entries are ignored
    saved = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "wing.ckpt"
    torch.save({"state_dict": {**saved, "m1.extra": torch.zeros(1)}}, path)
    fan = FAN.from_file(path)
    assert not fan.training and not any(p.requires_grad for p in fan.parameters())
    assert all(torch.equal(fan.state_dict()[k], v) for k, v in saved.items())
    masks = mask_provider(1.0, str(path))
    assert isinstance(masks, FANMasks)
    assert [tuple(m.shape) for m in masks(torch.zeros(1, 3, 128, 128))] == [(1, 1, 256, 256)] * 2


def test_missing_file_raises(tmp_path):
    path = tmp_path / "nope.ckpt"
    with pytest.raises(I2IError, match="cannot read FAN weights") as e:
        FAN.from_file(path)
    assert str(path) in str(e.value) and "fan_path" in str(e.value) and "\n" not in str(e.value)


def test_mismatched_or_unreadable_file_raises(tmp_path):
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"conv1.weight": torch.zeros(3)}}, other)
    with pytest.raises(I2IError, match="not a StarGAN v2 FAN checkpoint.*missing") as e:
        FAN.from_file(other)
    assert str(other) in str(e.value) and "\n" not in str(e.value)
    sd = FAN().state_dict()
    sd["l0.weight"] = torch.zeros(10, 256, 1, 1)
    torch.save({"state_dict": sd}, other)
    with pytest.raises(I2IError, match="wrong shape for l0.weight"):
        FAN.from_file(other)
    junk = tmp_path / "junk.ckpt"
    junk.write_text("not a checkpoint")
    with pytest.raises(I2IError, match="cannot read FAN weights .*not a PyTorch weights file"):
        FAN.from_file(junk)


def test_ones_masks_warn_once_and_cover_everything():
    assert mask_provider(0.0, None) is None and mask_provider(0.0, "unread.ckpt") is None
    with pytest.warns(UserWarning, match="all-ones masks.*fan_path") as rec:
        masks = mask_provider(1.0, None)
    assert isinstance(masks, OnesMasks) and len(rec) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no further warning per batch
        out = masks(torch.zeros(3, 3, 128, 128))
    assert len(out) == 2 and all(m.shape == (3, 1, 256, 256) and bool((m == 1).all()) for m in out)
