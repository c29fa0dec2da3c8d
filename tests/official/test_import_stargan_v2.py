"""Importing clovaai/stargan-v2 checkpoints.

Fixtures (tests/fixtures/official/stargan_v2/), made outside the repository with the official
core/model.py (commit 875b70a) and torch 2.13, its width constants lowered so the files stay
small (dim_in = 2**8 // img_size instead of 2**14 // img_size, mapping width 32 instead of 512):
img_size 32, style_dim 8, latent_dim 4, max_conv_dim 32, every entry random.
000010_nets_ema.ckpt: {generator, mapping_network, style_encoder} of a 3-domain w_hpf 0 model, as
core/checkpoint.py saves them; 000010_nets.ckpt: other raw networks plus its discriminator;
celeba_000010_nets_ema.ckpt: a 2-domain w_hpf 1 model. io.pt: x, x_ref, z, two random masks and,
per model, the official styles F(z, y), E(x_ref, y_ref), outputs G(x, s) (with the masks for w_hpf 1)
and D(x, y), all in eval mode; plus the key -> shape lists of the official nets at 256 px.
"""
import json
from pathlib import Path

import pytest
import torch
import yaml

import i2i
from i2i.data.images import to_pil
from i2i.errors import I2IError
from i2i.nn.fan import FAN
from i2i.official import build, import_checkpoint, plan_for
from i2i.official import stargan_v2
from i2i import rundir

FIX = Path(__file__).parents[1] / "fixtures" / "official" / "stargan_v2"
EMA, RAW, HPF = FIX / "000010_nets_ema.ckpt", FIX / "000010_nets.ckpt", FIX / "celeba_000010_nets_ema.ckpt"
IO = torch.load(FIX / "io.pt", weights_only=True)



@pytest.fixture(scope="module")
def wing(tmp_path_factory):
    """A FAN file in wing.ckpt's format, random weights (the real one is not downloaded)."""
    path = tmp_path_factory.mktemp("fan") / "wing.ckpt"
    torch.save({"state_dict": FAN().state_dict()}, path)
    return path


@pytest.mark.parametrize("name", ["celeba", "afhq"])
def test_every_official_entry_at_full_size_has_its_place(name, wing):
    full = IO["full_shapes"][name]
    top = {net: {k: torch.empty(s, device="meta") for k, s in shapes.items()} for net, shapes in full.items()}
    p = stargan_v2.plan([("100000_nets_ema.ckpt", top)], fan=wing if name == "celeba" else None)
    with torch.device("meta"):  # shapes only: the mapping and its shape checks, no weights
        method = build(p)
    assert p.settings | {"fan": None} == {
        "image_size": 256, "num_domains": 2 if name == "celeba" else 3, "latent_dim": 16, "style_dim": 64,
        "hidden_dim": 512, "dim_in": 64, "max_conv_dim": 512, "w_hpf": 1.0 if name == "celeba" else 0.0,
        "g_levels": 5 if name == "celeba" else 4, "domains": p.info.domains, "fan": None}
    assert p.cfg.model.dim_in == 0 and p.cfg.model.g_levels == 0  # the official rules reproduce them
    own = method.state_dict()
    for net, shapes in full.items():
        assert {k for k in own if k.startswith(net + ".")} == {f"{net}.{k}" for k in shapes}
    counts = method.summary()
    assert counts["generator"] == (43_467_395 if name == "celeba" else 33_892_995)  # REFERENCE.md
    assert counts["style_encoder"] == (20_916_928 if name == "celeba" else 20_949_760)


@pytest.mark.parametrize("prefix", ["", "module."])
def test_latent_and_reference_styles_equal_the_official_networks(tmp_path, prefix):
    path = EMA
    if prefix:  # DataParallel's prefix, as some releases carry it
        top = torch.load(EMA, weights_only=True)
        torch.save({n: {prefix + k: v for k, v in sd.items()} for n, sd in top.items()}, tmp_path / "p.ckpt")
        path = tmp_path / "p.ckpt"
    m = i2i.load(import_checkpoint("stargan-v2", [path], tmp_path / "run"), device="cpu").method
    a = IO["afhq"]
    s = m.latent_style(a["y"], IO["z"])
    assert torch.allclose(s, a["s_latent"], atol=1e-5)
    assert torch.allclose(m.translate(IO["x"], a["y"], s), a["out_latent"], atol=1e-5)
    s = m.reference_style(IO["x_ref"], a["y_ref"])
    assert torch.allclose(s, a["s_ref"], atol=1e-5)
    assert torch.allclose(m.translate(IO["x"], a["y_ref"], s), a["out_ref"], atol=1e-5)


def test_the_training_file_brings_the_discriminator_and_raw_networks(tmp_path):
    run = import_checkpoint("stargan-v2", [RAW, EMA], tmp_path / "run")
    m = i2i.load(run, device="cpu").method
    a = IO["afhq"]
    with torch.no_grad():
        assert torch.allclose(m.discriminator(IO["x"], a["y"]), a["d_out"], atol=1e-5)
    raw = torch.load(RAW, weights_only=True)["generator"]
    assert torch.equal(m.generator.from_rgb.weight, raw["from_rgb.weight"])
    assert not torch.equal(m.generator_ema.from_rgb.weight, raw["from_rgb.weight"])  # EMA from nets_ema
    assert "no discriminator" not in (run / "import.yaml").read_text()


def test_high_pass_generator_needs_fan_and_matches_with_masks(tmp_path, wing):
    with pytest.raises(I2IError, match="--fan wing.ckpt"):
        plan_for("stargan-v2", [HPF])
    with pytest.raises(I2IError, match="leave out --fan"):
        plan_for("stargan-v2", [EMA], fan=wing)
    run = import_checkpoint("stargan-v2", [HPF], tmp_path / "run", fan=wing)
    t = i2i.load(run, device="cpu")
    m, c = t.method, IO["celeba"]
    assert m.cfg.w_hpf == 1.0 and m.cfg.fan_path == str(wing.resolve()) and t.domains == ["female", "male"]
    with torch.no_grad():  # the official masks path: the same masks into both generators
        s = m.latent_style(c["y"], IO["z"])
        assert torch.allclose(s, c["s_latent"], atol=1e-5)
        assert torch.allclose(m.generator_ema(IO["x"], s, IO["masks"]), c["out_latent"], atol=1e-5)
        s = m.reference_style(IO["x_ref"], c["y_ref"])
        assert torch.allclose(m.generator_ema(IO["x"], s, IO["masks"]), c["out_ref"], atol=1e-5)
    out = t.translate(torch.rand(1, 3, 40, 40) * 2 - 1, target="male", seed=1)  # FAN masks from wing.ckpt
    assert out.shape == (1, 3, 40, 40) and torch.isfinite(out).all()


def test_run_directory_loads_and_translates(tmp_path):
    run = import_checkpoint("stargan-v2", [EMA], tmp_path / "run", domains=["x", "y", "z"])
    assert (run / "checkpoints" / "latest").read_text().strip() == "step_0000010"
    t = i2i.load(run, device="cpu")
    assert t.domains == ["x", "y", "z"] and t.has_style
    img = torch.rand(3, 36, 36) * 2 - 1
    outs = t.translate(img, target="z", n=2, seed=0)
    assert len(outs) == 2 and outs[0].shape == (3, 36, 36) and not torch.equal(outs[0], outs[1])
    ref = t.translate(img, target="y", reference=torch.rand(3, 32, 32) * 2 - 1)
    assert ref.shape == (3, 36, 36)


def test_mismatched_files_are_refused(tmp_path):
    stargan_g = FIX.parent / "stargan" / "20-G.ckpt"
    with pytest.raises(I2IError, match="not a StarGAN v2 networks file"):
        plan_for("stargan-v2", [stargan_g])
    top = torch.load(EMA, weights_only=True)
    w = top["mapping_network"]["unshared.1.6.weight"]
    top["mapping_network"]["unshared.1.6.weight"] = w[:4]
    torch.save(top, tmp_path / "bad.ckpt")
    with pytest.raises(I2IError, match=r"bad\.ckpt\[mapping_network\]: entry 'unshared\.1\.6\.weight' has shape"):
        build(plan_for("stargan-v2", [tmp_path / "bad.ckpt"]))
    optims = {n: {"state": {}, "param_groups": []} for n in ("generator", "mapping_network", "style_encoder")}
    torch.save(optims, tmp_path / "000010_optims.ckpt")
    with pytest.raises(I2IError, match="optimiser states"):
        plan_for("stargan-v2", [tmp_path / "000010_optims.ckpt"])
    with pytest.raises(I2IError, match="has 3 domains"):
        plan_for("stargan-v2", [EMA], domains=["a", "b"])


def test_without_the_discriminator_a_reference_needs_its_domain(tmp_path):
    run = import_checkpoint("stargan-v2", [EMA], tmp_path / "run")
    assert yaml.safe_load((run / "import.yaml").read_text())["untrained"] == ["discriminator"]
    t = i2i.load(run, device="cpu")
    gen = torch.Generator().manual_seed(0)
    x, ref = (torch.rand(3, 32, 32, generator=gen) * 2 - 1 for _ in range(2))
    refused = r"^name the reference's domain with --target \(cat, dog, wild\): .* never trained .*_nets\.ckpt\)$"
    with pytest.raises(I2IError, match=refused):  # an untrained D would pick the domain
        t.translate(x, reference=ref)
    assert t.translate(x, "dog", reference=ref).shape == x.shape  # named: fine
    (tmp_path / "wild").mkdir()
    to_pil(ref).save(tmp_path / "wild" / "r.png")  # a folder named after a domain names it too
    assert t.translate(x, reference=tmp_path / "wild" / "r.png").shape == x.shape
    pre = i2i.load(t.save_pretrained(tmp_path / "pre"), device="cpu")  # the fact travels with config.json
    assert json.loads((tmp_path / "pre" / "config.json").read_text())["untrained"] == ["discriminator"]
    with pytest.raises(I2IError, match=refused):
        pre.translate(x, reference=ref)
    full = i2i.load(import_checkpoint("stargan-v2", [RAW, EMA], tmp_path / "full"), device="cpu")
    assert full.untrained == () and full.translate(x, reference=ref).shape == x.shape  # the file's D decides
    assert i2i.load(full.save_pretrained(tmp_path / "full_pre"), device="cpu").untrained == ()
    # training the run on (a later checkpoint than the import's) trains D
    rundir.save(run, 11, rundir.load_weights(rundir.find(run)), {"step": 11})
    assert i2i.load(run, device="cpu").translate(x, reference=ref).shape == x.shape
