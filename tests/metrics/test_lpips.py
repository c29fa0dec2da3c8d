"""LPIPS: the formula by hand, the released files' layouts, and parity with the `lpips` package.

Fixtures (tests/fixtures/lpips/README.md says how each was made): alex.pth / vgg.pth are the
lpips package's v0.1 heads (BSD-2); keys.json holds torchvision's alexnet/vgg16 state-dict
names and shapes; parity.json holds distances from lpips.LPIPS(pnet_rand=True) with those
heads and the deterministic backbone `det_weights` regenerates here.
"""
import json
from itertools import combinations
from pathlib import Path

import pytest
import torch

from i2i.errors import I2IError
from i2i.metrics.lpips import LPIPS, load_lpips, lpips_diversity, unit_normalise

FIX = Path(__file__).parent.parent / "fixtures" / "lpips"
KEYS = json.loads((FIX / "keys.json").read_text())
PARITY = json.loads((FIX / "parity.json").read_text())
NETS = ("alex", "vgg")


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("I2I_LPIPS_BACKBONE", raising=False)
    monkeypatch.delenv("I2I_LPIPS_HEADS", raising=False)


def det_weights(model: LPIPS) -> dict:
    """The backbone parity.json was made with: parameter i in sorted name order, seed i."""
    shapes = {k: v.shape for k, v in model.backbone.state_dict().items()}
    return {k: torch.randn(s, generator=torch.Generator().manual_seed(i)) * 0.05
            for i, (k, s) in enumerate(sorted(shapes.items()))}


def images(seed, n, size):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    return x, (x + 0.5 * torch.randn(n, 3, size, size, generator=g)).clamp(-1, 1)


def released_heads(net):
    return torch.load(FIX / f"{net}.pth", weights_only=True, map_location="cpu")  # saved from a GPU


def backbone_file(tmp_path, net, state=None, name="backbone.pth"):
    """A torchvision-format file: features (deterministic) plus the classifier's keys."""
    if state is None:
        state = det_weights(LPIPS(net))
        # the classifier is ignored, so small stand-ins for its (large) tensors are enough
        state.update({k: torch.zeros(1) for k in KEYS[net]["backbone"] if k.startswith("classifier.")})
    torch.save(state, tmp_path / name)
    return tmp_path / name


# --- the formula ---------------------------------------------------------------------------

def test_identical_images_are_at_distance_zero():
    for net in NETS:
        model = load_lpips(net, allow_random=True)
        x = torch.rand(3, 3, 32, 32) * 2 - 1
        assert torch.equal(model(x, x), torch.zeros(3))


def test_distance_by_hand_on_constructed_features():
    model = load_lpips("alex", allow_random=True)
    with torch.no_grad():
        for k, head in enumerate(model.heads):
            head.weight.zero_()
            head.weight[0, :2, 0, 0] = torch.tensor([1.0, 2.0]) * (k + 1)
    # one image, 1 x 2 pixels; only the first two channels are non-zero
    fx, fy = [], []
    for c in model.backbone.channels:
        a, b = torch.zeros(1, c, 1, 2), torch.zeros(1, c, 1, 2)
        a[0, :2, 0, 0] = torch.tensor([3.0, 4.0])  # unit (0.6, 0.8)
        b[0, :2, 0, 0] = torch.tensor([8.0, 6.0])  # unit (0.8, 0.6)
        a[0, :2, 0, 1] = b[0, :2, 0, 1] = torch.tensor([1.0, 1.0])  # equal pixel: no difference
        fx.append(unit_normalise(a))
        fy.append(unit_normalise(b))
    # per layer k: head (k+1) * (1 * 0.2² + 2 * 0.2²) = (k+1) * 0.12 at pixel 0, 0 at pixel 1;
    # spatial mean halves it; layers sum: 0.06 * (1 + 2 + 3 + 4 + 5)
    assert model.distance(fx, fy).item() == pytest.approx(0.06 * 15, rel=1e-6)


def test_features_are_unit_length_per_pixel():
    model = load_lpips("vgg", allow_random=True)
    for f in model.features(torch.rand(2, 3, 32, 32) * 2 - 1):
        length = f.pow(2).sum(1).sqrt()
        assert torch.allclose(length[length > 0], torch.ones(()), atol=1e-5)


def test_symmetric_and_per_image():
    model = load_lpips("alex", allow_random=True)
    x, y = images(3, 4, 48)
    d = model(x, y)
    assert d.shape == (4,) and (d > 0).all()
    assert torch.allclose(d, model(y, x), rtol=1e-6)
    assert torch.allclose(d[1:3], model(x[1:3], y[1:3]), rtol=1e-5)  # no mixing across the batch


def test_positive_scaling_of_features_changes_nothing():
    model = load_lpips("alex", allow_random=True)
    x, y = images(4, 2, 64)
    raw = model.backbone((x - model.shift) / model.scale)
    fy = model.features(y)
    # a different positive factor at every pixel of every tap
    scaled = [unit_normalise(f * (0.1 + 10 * torch.rand(f.shape[0], 1, *f.shape[2:]))) for f in raw]
    assert torch.allclose(model.distance(scaled, fy), model(x, y), rtol=1e-5)


def test_scaling_the_backbone_weights_leaves_the_distance():
    # ReLU is positively homogeneous: conv k's weight times c and bias times c^k scale tap k by c^k
    model = load_lpips("alex", allow_random=True)
    x, y = images(5, 2, 64)
    before = model(x, y)
    with torch.no_grad():
        convs = [m for m in model.backbone.features if isinstance(m, torch.nn.Conv2d)]
        for k, conv in enumerate(convs, 1):
            conv.weight.mul_(3.0)
            conv.bias.mul_(3.0 ** k)
    assert torch.allclose(model(x, y), before, rtol=1e-5)


def test_shape_errors():
    model = load_lpips("alex", allow_random=True)
    with pytest.raises(I2IError, match="one shape"):
        model(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 64, 64))
    with pytest.raises(I2IError, match="N x 3 x H x W"):
        model(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32))


# --- the released files' layouts -----------------------------------------------------------

@pytest.mark.parametrize("net", NETS)
def test_key_sets_match_torchvision_and_lpips(net):
    model = LPIPS(net)
    ours = {k: list(v.shape) for k, v in model.backbone.state_dict().items()}
    assert ours == {k: s for k, s in KEYS[net]["backbone"].items() if k.startswith("features.")}
    assert {f"lin{k}.model.1.weight": list(h.weight.shape) for k, h in enumerate(model.heads)} == KEYS[net]["heads"]
    released = released_heads(net)
    assert {k: list(v.shape) for k, v in released.items()} == KEYS[net]["heads"]


@pytest.mark.parametrize("net", NETS)
def test_torchvision_files_load_and_the_classifier_is_ignored(tmp_path, net):
    model = load_lpips(net, backbone=backbone_file(tmp_path, net), heads=FIX / f"{net}.pth")
    for k, v in det_weights(model).items():
        assert torch.equal(model.backbone.state_dict()[k], v)
    released = released_heads(net)
    for k, head in enumerate(model.heads):
        assert torch.equal(head.weight, released[f"lin{k}.model.1.weight"])
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert model.sources == {"backbone": str(tmp_path / "backbone.pth"), "heads": str(FIX / f"{net}.pth")}


def test_bad_backbone_files_name_the_first_bad_keys(tmp_path):
    state = det_weights(LPIPS("alex"))
    with pytest.raises(I2IError, match="unexpected extra.weight"):
        load_lpips("alex", backbone=backbone_file(tmp_path, "alex", {**state, "extra.weight": torch.zeros(1)}),
                   allow_random=True)
    del state["features.3.bias"]
    with pytest.raises(I2IError, match=r"missing features\.3\.bias"):
        load_lpips("alex", backbone=backbone_file(tmp_path, "alex", state), allow_random=True)
    vgg = backbone_file(tmp_path, "vgg", det_weights(LPIPS("vgg")), "vgg16.pth")
    with pytest.raises(I2IError, match=r"features\.0\.weight is \[64, 3, 3, 3\], not \[64, 3, 11, 11\]") as e:
        load_lpips("alex", backbone=vgg, allow_random=True)
    assert "\n" not in str(e.value) and "vgg16.pth" in str(e.value)
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(I2IError, match="junk.pth: not a readable"):
        load_lpips("alex", backbone=tmp_path / "junk.pth", allow_random=True)


def test_bad_heads_files(tmp_path):
    with pytest.raises(I2IError, match=r"lin1\.model\.1\.weight is \[1, 192, 1, 1\], not \[1, 128, 1, 1\]"):
        load_lpips("vgg", heads=FIX / "alex.pth", allow_random=True)
    torch.save({"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)}, tmp_path / "part.pth")
    with pytest.raises(I2IError, match=r"missing lin1\.model\.1\.weight"):
        load_lpips("alex", heads=tmp_path / "part.pth", allow_random=True)


def test_stargan_v2_heads_layout_loads_the_same(tmp_path):
    # clovaai/stargan-v2 metrics/lpips_weights.ckpt: the same AlexNet heads under other names
    released = released_heads("alex")
    torch.save({f"lpips_weights.{k}.main.1.weight": released[f"lin{k}.model.1.weight"] for k in range(5)},
               tmp_path / "lpips_weights.ckpt")
    a = load_lpips("alex", heads=tmp_path / "lpips_weights.ckpt", allow_random=True)
    b = load_lpips("alex", heads=FIX / "alex.pth", allow_random=True)
    assert all(torch.equal(p, q) for p, q in zip(a.heads.parameters(), b.heads.parameters()))


# --- parity with the lpips package -----------------------------------------------------------

@pytest.mark.parametrize("net", NETS)
def test_matches_the_lpips_package(tmp_path, net):
    model = load_lpips(net, backbone=backbone_file(tmp_path, net), heads=FIX / f"{net}.pth")
    for case in PARITY["cases"]:
        x, y = images(case["seed"], case["n"], case["size"])
        assert [float(x.double().sum()), float(y.double().sum())] == pytest.approx(case["checksum"], abs=1e-6), \
            "torch's seeded RNG changed: the fixture's images cannot be regenerated"
        expected = torch.tensor(PARITY[net][str(case["size"])])
        assert torch.allclose(model(x, y), expected, rtol=0, atol=1e-5)
    d = PARITY["diversity"]
    g = torch.Generator().manual_seed(d["seed"])
    group = [torch.rand(d["n"], 3, d["size"], d["size"], generator=g) * 2 - 1 for _ in range(d["k"])]
    assert lpips_diversity(model, group).mean().item() == pytest.approx(PARITY[net]["diversity"], abs=1e-5)


# --- diversity -----------------------------------------------------------------------------

def test_diversity_averages_each_unordered_pair_once():
    model = load_lpips("alex", allow_random=True)
    outs = [torch.rand(2, 3, 32, 32) * 2 - 1 for _ in range(4)]
    by_hand = torch.stack([model(outs[i], outs[j]) for i, j in combinations(range(4), 2)]).mean(0)  # 6 pairs
    assert torch.allclose(lpips_diversity(model, outs), by_hand, rtol=1e-6)
    assert torch.allclose(lpips_diversity(model, torch.stack(outs)), by_hand, rtol=1e-6)
    # K x 3 x H x W: the K outputs of one input
    assert torch.allclose(lpips_diversity(model, torch.stack(outs)[:, 1]), by_hand[1:], rtol=1e-6)
    with pytest.raises(I2IError, match="at least 2"):
        lpips_diversity(model, outs[:1])


# --- finding the files -----------------------------------------------------------------------

def test_without_files_the_error_says_where_to_get_them():
    with pytest.raises(I2IError) as e:
        load_lpips("alex")
    msg = str(e.value)
    assert "\n" not in msg and "no backbone and heads" in msg
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in msg
    assert "PerceptualSimilarity/tree/master/lpips/weights/v0.1" in msg and "allow_random=True" in msg
    with pytest.raises(I2IError, match="vgg16-397923af.pth"):
        load_lpips("vgg", heads=FIX / "vgg.pth")
    with pytest.raises(I2IError, match="not known"):
        load_lpips("squeeze", allow_random=True)


def test_paths_from_environment_files_or_folders(tmp_path, monkeypatch):
    backbone_file(tmp_path, "alex", name="alexnet-owt-7be5be79.pth")
    monkeypatch.setenv("I2I_LPIPS_BACKBONE", str(tmp_path))  # a folder: the released name inside
    monkeypatch.setenv("I2I_LPIPS_HEADS", str(FIX / "alex.pth"))
    model = load_lpips()
    assert model.sources["backbone"] == str(tmp_path / "alexnet-owt-7be5be79.pth")
    monkeypatch.setenv("I2I_LPIPS_HEADS", str(tmp_path / "nowhere.pth"))
    with pytest.raises(I2IError, match="nowhere.pth: no such LPIPS weights file.*I2I_LPIPS_HEADS"):
        load_lpips(allow_random=True)  # a named file that is missing is an error even then


def test_allow_random_is_reproducible_and_leaves_the_global_rng():
    state = torch.get_rng_state()
    a, b = load_lpips("alex", allow_random=True), load_lpips("alex", allow_random=True)
    assert torch.equal(torch.get_rng_state(), state)
    assert a.sources == {"backbone": "random", "heads": "random"}
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert all((h.weight == 1).all() for h in a.heads)
    x, y = images(6, 2, 32)
    assert torch.isfinite(a(x, y)).all() and (a(x, y) > 0).all()


def test_too_small_images_get_one_clear_line():
    from i2i.metrics.lpips import load_lpips
    model = load_lpips("alex", allow_random=True)
    x = torch.zeros(1, 3, 24, 24)
    with pytest.raises(I2IError, match="at least 32 x 32"):
        model(x, x)
