"""Importing junyanz/pytorch-CycleGAN-and-pix2pix generators (CycleGAN and Pix2Pix).

Fixtures (tests/fixtures/official/junyanz/), made outside the repository with models/networks.py's
ResnetGenerator / UnetGenerator / get_norm_layer as stored at commit 78913853 (2018) and, for the
current code, the same classes with today's get_norm_layer (InstanceNorm without affine or running
statistics), torch 2.13, every entry random, saved by torch.save(net.state_dict()):
resnet_latest_net_G_{A,B}.pth: ResnetGenerator(ngf 8, n_blocks 2, instance norm, no dropout);
resnet_old_dropout_latest_net_G.pth: the 2018 code's net with dropout, whose InstanceNorm kept running
statistics (the official loader drops them); unet_latest_net_G.pth: UnetGenerator(num_downs 6 so that
one level has dropout, ngf 4, batch norm, dropout). io.pt: inputs x32, x64, the outputs in eval
mode, the U-Net's train-mode output on x64[:1] after torch.manual_seed(123) (the official default
test: batch statistics of one image, dropout on), and key -> shape lists of resnet_9blocks
(instance) and unet_256 (batch) at ngf 64.
"""
from pathlib import Path

import pytest
import torch
from PIL import Image

import i2i
from i2i.errors import I2IError
from i2i.official import build, import_checkpoint, plan_for
from i2i.official import junyanz

FIX = Path(__file__).parents[1] / "fixtures" / "official" / "junyanz"
G_A, G_B = FIX / "resnet_latest_net_G_A.pth", FIX / "resnet_latest_net_G_B.pth"
OLD, UNET = FIX / "resnet_old_dropout_latest_net_G.pth", FIX / "unet_latest_net_G.pth"
IO = torch.load(FIX / "io.pt", weights_only=True)



@pytest.mark.parametrize("net, kind, norm", [("resnet_9blocks", "cyclegan", "instance"), ("unet_256", "pix2pix", "batch")])
def test_every_official_entry_at_full_size_has_its_place(net, kind, norm):
    shapes = IO["full_shapes"][net]
    p = junyanz.plan([("latest_net_G.pth", {k: torch.empty(s, device="meta") for k, s in shapes.items()})], kind)
    with torch.device("meta"):  # shapes only: the mapping and its shape checks, no weights
        method = build(p)
    assert (p.settings["netG"], p.settings["norm"], p.settings["ngf"], p.settings["image_size"]) == (net, norm, 64, 256)
    assert p.settings["dropout"] == (kind == "pix2pix")  # U-Net: pix2pix's default; ResNet: read from the keys
    assert {k for k in method.state_dict() if k.startswith("G.")} == {f"G.{k}" for k in shapes}


def test_cyclegan_both_directions_equal_the_official_networks(tmp_path):
    run = import_checkpoint("cyclegan", [G_A, G_B], tmp_path / "run")
    t = i2i.load(run, device="cpu")
    assert t.method.name == "cyclegan" and t.method.cfg.netG == "resnet_2blocks"
    x = IO["x32"]
    assert torch.allclose(t.method.translate(x, torch.ones(2)), IO["resnet_G_A"], atol=1e-5)
    assert torch.allclose(t.method.translate(x, torch.zeros(2)), IO["resnet_G_B"], atol=1e-5)
    out = t.translate(Image.new("RGB", (30, 20), (200, 30, 60)), target="BtoA")
    assert isinstance(out, Image.Image) and out.size == (30, 20)


def test_one_cyclegan_generator_is_a_one_way_run(tmp_path):
    # the 2018 file: InstanceNorm statistics in it (skipped) and dropout (read from the key layout)
    run = import_checkpoint("cyclegan", [OLD], tmp_path / "run", eval_mode=True, domains=["horse", "zebra"])
    t = i2i.load(run, device="cpu")
    assert t.method.name == "pix2pix" and t.method.cfg.dropout and t.method.cfg.norm == "instance"
    assert torch.allclose(t.method.translate(IO["x32"]), IO["resnet_old"], atol=1e-5)
    assert t.translate(IO["x32"][0]).shape == (3, 32, 32)
    with pytest.raises(I2IError, match="horse → zebra only"):
        t.translate(IO["x32"][0], target="BtoA")


@pytest.mark.parametrize("old_file", [False, True])
def test_pix2pix_equals_the_official_unet(tmp_path, old_file):
    path = UNET
    if old_file:  # files of PyTorch < 0.4.1 have no num_batches_tracked
        sd = torch.load(UNET, weights_only=True)
        torch.save({k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}, tmp_path / "old.pth")
        path = tmp_path / "old.pth"
    run = import_checkpoint("pix2pix", [path], tmp_path / "run", eval_mode=True)
    m = i2i.load(run, device="cpu").method
    assert (m.cfg.netG, m.cfg.norm, m.cfg.ngf) == ("unet_64", "batch", 4)
    assert torch.allclose(m.translate(IO["x64"]), IO["unet_eval"], atol=1e-5)


def test_pix2pix_official_test_mode_by_default(tmp_path):
    m = i2i.load(import_checkpoint("pix2pix", [UNET], tmp_path / "run"), device="cpu").method
    assert not m.cfg.eval_mode and m.cfg.dropout
    torch.manual_seed(123)  # the same dropout masks as the official forward drew
    assert torch.allclose(m.translate(IO["x64"][:1]), IO["unet_train_0"], atol=1e-5)


def test_mismatched_files_are_refused(tmp_path):
    stargan_g = FIX.parent / "stargan" / "20-G.ckpt"
    with pytest.raises(I2IError, match="not a junyanz generator"):
        plan_for("cyclegan", [stargan_g])
    with pytest.raises(I2IError, match="different architectures"):
        plan_for("cyclegan", [G_A, UNET])
    with pytest.raises(I2IError, match="pix2pix takes one file"):
        plan_for("pix2pix", [UNET, UNET])
    sd = torch.load(G_A, weights_only=True)
    sd["model.4.weight"] = sd["model.4.weight"][:8]
    torch.save(sd, tmp_path / "bad.pth")
    with pytest.raises(I2IError, match=r"bad\.pth: entry 'model\.4\.weight' has shape \(8, 8, 3, 3\)"):
        build(plan_for("cyclegan", [tmp_path / "bad.pth"]))
    with pytest.raises(I2IError, match="multiple of 64"):
        plan_for("pix2pix", [UNET], image_size=96)
