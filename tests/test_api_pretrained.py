"""Translator.save_pretrained and i2i.load of a pretrained directory (tiny random-init models)."""
import dataclasses
import json

import pytest
import torch
import yaml
from safetensors.torch import load_file

from i2i.api import Translator, load
from i2i.config import RunConfig
from i2i.errors import I2IError
from i2i.methods.base import DataInfo, get_method
from i2i import rundir

ATTRS = DataInfo(16, attributes=["red", "green", "blue", "striped", "large"], exclusive=[["red", "green", "blue"]])
SHAPES = DataInfo(16, domains=["circle", "square", "triangle"])
TWO = DataInfo(32, domains=["A", "B"])
TINY = {
    "stargan": (ATTRS, dict(g_conv_dim=8, d_conv_dim=8, g_repeat_num=1, d_repeat_num=3)),
    "stargan_v2": (SHAPES, dict(latent_dim=4, style_dim=8, hidden_dim=16, dim_in=4, max_conv_dim=16, w_hpf=0.0)),
    "cyclegan": (TWO, dict(netG="resnet_2blocks", ngf=8, ndf=8)),
    "pix2pix": (TWO, dict(netG="unet_32", ngf=8, ndf=8)),   # dropout on at test time, as the official code
}


def tiny(name: str, **more) -> Translator:
    info, model = TINY[name]
    cfg = RunConfig.default(name)
    cfg.model = dataclasses.replace(cfg.model, **{**model, **more})
    cfg.train.amp = "none"  # exact comparisons: no bf16 autocast on CPUs that have it
    torch.manual_seed(0)
    return Translator(get_method(name)(cfg.model, info), cfg)


def images(n=2, size=16, seed=1):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def outputs(t: Translator) -> list[torch.Tensor]:
    """Each method's translations; seeded, since pix2pix's dropout and StarGAN v2's codes are random."""
    x = images(size=t.image_size)
    torch.manual_seed(5)
    if t.method.name == "stargan":  # unnamed attributes come from D's classifier
        return [t.translate(x, "green"), t.translate(x, "large=0,striped")]
    if t.method.name == "stargan_v2":  # the reference's domain, with no target, comes from D
        return [t.translate(x, "square", seed=3, n=2)[1], t.translate(x, reference=images(1, seed=2))]
    return [t.translate(x, "AtoB"), t.translate(x, None if t.method.one_way else "BtoA")]


@pytest.mark.parametrize("name", sorted(TINY))
def test_round_trip_gives_identical_outputs(tmp_path, name):
    t = tiny(name)
    out = t.save_pretrained(tmp_path / "pre")
    torch.manual_seed(123)  # networks left out would come back with other random weights
    back = load(out, device="cpu")
    assert back.pretrained and back.method.name == name and back.domains == t.domains
    assert back.attributes == t.attributes
    for a, b in zip(outputs(t), outputs(back)):
        assert torch.equal(a, b)


KEPT = {"stargan": {"G", "D"}, "cyclegan": {"G_A", "G_B"}, "pix2pix": {"G"},
        "stargan_v2": {"generator_ema", "mapping_network_ema", "style_encoder_ema", "discriminator"}}


@pytest.mark.parametrize("name", sorted(TINY))
def test_directory_holds_only_what_inference_needs(tmp_path, name):
    t = tiny(name)
    t.method.optimizers()  # a trained method has optimiser state; none of it may be written
    out = t.save_pretrained(tmp_path / "pre")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert {k.split(".")[0] for k in load_file(out / "model.safetensors")} == KEPT[name]
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == name and config["i2i_format"] == 1
    assert "train" not in config and "data" not in config
    assert config["info"]["domains"] == TINY[name][0].domains
    assert config["model"] == dataclasses.asdict(t.method.cfg)


def test_a_run_directory_loads_and_becomes_a_pretrained_one(tmp_path):
    t = tiny("stargan")
    run = tmp_path / "run"
    run.mkdir()
    t.cfg.save(run / "config.yaml")
    (run / "info.yaml").write_text(yaml.safe_dump(dataclasses.asdict(t.method.info)))
    rundir.save(run, 10, t.method.state_dict(), {"step": 10})
    from_run = load(run, device="cpu")
    assert not from_run.pretrained
    torch.manual_seed(123)
    pre = load(from_run.save_pretrained(tmp_path / "pre"), device="cpu")
    assert pre.cfg.train.amp == "none" and pre.cfg.model == t.cfg.model
    for a, b in zip(outputs(t), outputs(pre)):
        assert torch.equal(a, b)


def test_refuses_to_overwrite_a_non_empty_directory_unless_asked(tmp_path):
    t = tiny("cyclegan")
    out = tmp_path / "pre"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(I2IError, match="not empty"):
        t.save_pretrained(out)
    assert (out / "notes.txt").read_text() == "mine"
    t.save_pretrained(out, overwrite=True)
    assert not (out / "notes.txt").exists() and (out / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["pre"]  # no temporary directory left behind
    (tmp_path / "empty").mkdir()
    t.save_pretrained(tmp_path / "empty")  # an empty directory is fine
    with pytest.raises(I2IError, match="is a file"):
        t.save_pretrained(out / "model.safetensors")


def test_bad_pretrained_directories_give_one_line_errors(tmp_path):
    out = tiny("pix2pix").save_pretrained(tmp_path / "pre")
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "i2i_format": 99}))
    with pytest.raises(I2IError, match="upgrade i2i"):
        load(out, device="cpu")
    (out / "config.json").write_text(json.dumps({**config, "model": {**config["model"], "ngf": 16}}))
    with pytest.raises(I2IError, match="does not fit"):
        load(out, device="cpu")
    (out / "config.json").write_text("{")
    with pytest.raises(I2IError, match="not an i2i pretrained config"):
        load(out, device="cpu")


def test_stargan_v2_fan_weights_travel_with_the_directory(tmp_path):
    fan = tmp_path / "wing.ckpt"
    fan.write_bytes(b"stand-in for the FAN weights")  # read only when masks are first needed
    t = tiny("stargan_v2", w_hpf=1.0, fan_path=str(fan))
    out = t.save_pretrained(tmp_path / "pre")
    assert (out / "fan.ckpt").read_bytes() == fan.read_bytes()
    assert json.loads((out / "config.json").read_text())["model"]["fan_path"] == "fan.ckpt"
    assert load(out, device="cpu").method.cfg.fan_path == str(out / "fan.ckpt")
    fan.unlink()
    with pytest.raises(I2IError, match="fan_path"):
        t.save_pretrained(tmp_path / "again")
