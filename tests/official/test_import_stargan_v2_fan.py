"""Importing clovaai/stargan-v2 files of a w_hpf=1 model, which carry the FAN as a `fan` entry.

Fixture (tests/fixtures/official/stargan_v2/celeba_fan_000010.tar.xz), made outside the repository
from the official code (commit 875b70a, torch 2.13): its core/model.py with the width constants
lowered (dim_in = 2**9 // img_size, max_conv_dim 32, mapping width 32), `build_model` at img_size 64,
2 domains, style_dim 8, latent_dim 4, w_hpf 1 with a random wing.ckpt (so nets and nets_ema hold
`fan`), he_init weights rounded to few values per tensor, Adam optimisers as Solver builds them
after one step on random gradients, and the official `CheckpointIO` writing 000010_nets.ckpt,
000010_nets_ema.ckpt and 000010_optims.ckpt. The archive is only storage (xz finds the FAN's repeats;
the files inside are the official bytes). celeba_fan_io.pt: inputs and the official outputs with the
official FAN's masks (every 4th mask pixel kept), in eval mode.
"""
import tarfile
from pathlib import Path

import pytest
import torch
import yaml

import i2i
from i2i.errors import I2IError
from i2i.nn.fan import FAN
from i2i.official import import_checkpoint, plan_for
from i2i import rundir

FIX = Path(__file__).parents[1] / "fixtures" / "official" / "stargan_v2"
IO = torch.load(FIX / "celeba_fan_io.pt", weights_only=True)


def close(ours, official):
    """Equal to 1e-5 of the official output's range (random weights give outputs up to ~13, where
    float32 sums of a different order differ by ~1e-6 relative)."""
    return (ours - official).abs().max() <= 1e-5 * max(1.0, official.abs().max())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("official")
    with tarfile.open(FIX / "celeba_fan_000010.tar.xz") as tar:
        tar.extractall(root, filter="data")
    return {k: root / f"000010_{k}.ckpt" for k in ("nets_ema", "nets", "optims")}


def test_nets_ema_with_fan_imports_alone_and_equals_the_official_outputs(files, tmp_path):
    run = import_checkpoint("stargan-v2", [files["nets_ema"]], tmp_path / "run")
    t = i2i.load(run, device="cpu")
    m = t.method
    assert m.cfg.w_hpf == 1.0 and Path(m.cfg.fan_path) == (run / "fan.ckpt").resolve()
    assert yaml.safe_load((run / "import.yaml").read_text())["settings"]["fan"] == "000010_nets_ema.ckpt[fan]"
    x, y, y_ref = IO["x"], IO["y"], IO["y_ref"]
    masks = m.mask(x)
    for ours, official in zip(masks, IO["masks_every4"]):
        assert torch.allclose(ours[..., ::4, ::4], official, atol=1e-5)
        assert 0.02 < official.mean() < 0.5  # real masks: neither empty nor everywhere
    s = m.latent_style(y, IO["z"])
    assert torch.allclose(s, IO["s_latent"], atol=1e-5)
    assert close(m.translate(x, y, s), IO["out_latent"])
    s = m.reference_style(IO["x_ref"], y_ref)
    assert torch.allclose(s, IO["s_ref"], atol=1e-5)
    assert close(m.translate(x, y_ref, s), IO["out_ref"])
    # the run is whole by itself: its pretrained copy carries the FAN too
    again = i2i.load(t.save_pretrained(tmp_path / "pretrained"), device="cpu").method
    assert close(again.translate(x, y, again.latent_style(y, IO["z"])), IO["out_latent"])


def test_training_files_bring_d_raw_networks_and_the_official_adam_states(files, tmp_path):
    run = import_checkpoint("stargan-v2", [files["nets"], files["nets_ema"], files["optims"]], tmp_path / "run")
    m = i2i.load(run, device="cpu").method
    x, y = IO["x"], IO["y"]
    with torch.no_grad():
        assert torch.allclose(m.discriminator(x, y), IO["d_out"], atol=1e-5)
        out_raw = m.generator(x, m.mapping_network(IO["z"], y), m.mask(x))
    assert close(out_raw, IO["out_raw"])
    official = torch.load(files["optims"], weights_only=True)
    ours = rundir.load_state(rundir.find(run))["optimizers"]
    for net in ("generator", "mapping_network", "style_encoder", "discriminator"):
        # Adam numbers parameters in module order, which differs between the codes: match them by name
        raw = torch.load(files["nets"], weights_only=True)[net]
        params = dict(getattr(m, net).named_parameters())
        names = [k for k in raw if k in params]
        index = {k: i for i, k in enumerate(params)}
        a, b = official[net]["state"], ours[net]["state"]
        assert len(a) == len(b) == len(params) == len(names)
        for j, k in enumerate(names):
            assert torch.equal(a[j]["exp_avg"], b[index[k]]["exp_avg"])
            assert torch.equal(a[j]["exp_avg_sq"], b[index[k]]["exp_avg_sq"])
        assert ours[net]["param_groups"][0]["lr"] == official[net]["param_groups"][0]["lr"]
    assert not any("skipped" in n for n in yaml.safe_load((run / "import.yaml").read_text())["notes"])


def test_optimiser_states_are_named_and_skipped_without_the_raw_networks(files, tmp_path):
    p = plan_for("stargan-v2", [files["nets_ema"], files["optims"]])
    assert not p.optimizers and any("000010_optims.ckpt skipped" in n for n in p.notes)
    with pytest.raises(I2IError, match=r"optimiser states.*…_nets_ema\.ckpt"):
        plan_for("stargan-v2", [files["optims"]])


def test_a_given_fan_file_takes_precedence_and_a_wrong_fan_entry_is_named(files, tmp_path):
    wing = tmp_path / "wing.ckpt"
    torch.save({"state_dict": FAN().state_dict()}, wing)
    p = plan_for("stargan-v2", [files["nets_ema"]], fan=wing)
    assert p.cfg.model.fan_path == str(wing.resolve()) and not p.files
    assert any("not the checkpoint's own `fan` entry" in n for n in p.notes)
    top = torch.load(files["nets_ema"], weights_only=True)
    top["fan"].pop("l0.weight")
    torch.save(top, tmp_path / "000010_nets_ema.ckpt")
    with pytest.raises(I2IError, match=r"000010_nets_ema\.ckpt\[fan\] is not a StarGAN v2 FAN checkpoint"):
        plan_for("stargan-v2", [tmp_path / "000010_nets_ema.ckpt"])
