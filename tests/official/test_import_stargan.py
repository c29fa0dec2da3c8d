"""Importing yunjey/stargan checkpoints.

Fixtures (tests/fixtures/official/stargan/), made outside the repository with the official
model.py (commit 94dd002) and torch 2.13: Generator(conv_dim 8, c_dim 5, repeat_num 2) and
Discriminator(image_size 32, conv_dim 8, c_dim 5, repeat_num 3) with every entry random (norm
scales near 1, positive running variances), saved by torch.save(net.state_dict()) as 20-G.ckpt and
20-D.ckpt. io.pt holds an input x (2x3x32x32), target labels c, G(x, c) in train mode (the official
solver.test never calls eval()), G(x, c) in eval mode (running statistics), D(x), and the key ->
shape lists of the official nets at full size (CelebA 128 px c 5, RaFD c 8, CelebA+RaFD 256 px).
"""
from pathlib import Path

import numpy as np
import pytest
import torch

import i2i
from i2i.errors import I2IError
from i2i.official import build, import_checkpoint, plan_for, report
from i2i.official import stargan

FIX = Path(__file__).parents[1] / "fixtures" / "official" / "stargan"
G_FILE, D_FILE = FIX / "20-G.ckpt", FIX / "20-D.ckpt"
IO = torch.load(FIX / "io.pt", weights_only=True)



def meta(shapes):
    return {k: torch.empty(s, device="meta") for k, s in shapes.items()}


def params(shapes):
    return sum(torch.Size(s).numel() for k, s in shapes.items() if not k.endswith(BUFFERS))


BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@pytest.mark.parametrize("name, c, size", [("celeba", 5, 128), ("rafd", 8, 128), ("both", 13, 256)])
def test_every_official_entry_at_full_size_has_its_place(name, c, size):
    full = IO["full_shapes"][name]
    with torch.device("meta"):  # shapes only: the mapping and its shape checks, no weights
        p = stargan.plan([("G.ckpt", meta(full["G"])), ("D.ckpt", meta(full["D"]))])
        method = build(p)
    assert p.settings["c_dim"] == c and p.settings["image_size"] == size
    assert (p.settings["g_repeat_num"], p.settings["d_repeat_num"], p.settings["g_conv_dim"]) == (6, 6, 64)
    own = method.state_dict()
    assert {f"G.{k}" for k in full["G"]} | {f"D.{k}" for k in full["D"]} == set(own)
    assert method.summary() == {"G": params(full["G"]), "D": params(full["D"])}
    if name == "celeba":  # REFERENCE.md's measured counts
        assert method.summary() == {"G": 8_430_528, "D": 44_762_048}
    if name == "both":
        assert [d["name"] for d in p.info.datasets] == ["CelebA", "RaFD"] and method.mask_dim == 2


def test_outputs_equal_the_official_networks(tmp_path):
    run = import_checkpoint("stargan", [G_FILE, D_FILE], tmp_path / "run")
    m = i2i.load(run, device="cpu").method
    with torch.no_grad():
        m.G.eval()
        assert torch.allclose(m.G(IO["x"], IO["c"]), IO["out_eval"], atol=1e-5)  # running statistics mapped
        src, cls = m.D(IO["x"])
    assert torch.allclose(src, IO["d_src"], atol=1e-5) and torch.allclose(cls, IO["d_cls"], atol=1e-5)
    assert torch.allclose(m.translate(IO["x"], IO["c"]), IO["out_test"], atol=1e-5)  # the official test path


def test_run_directory_loads_and_translates(tmp_path):
    run = import_checkpoint("stargan", [D_FILE, G_FILE], tmp_path / "run")  # either order
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "config.yaml", "import.yaml", "info.yaml"]
    assert (run / "checkpoints" / "latest").read_text().strip() == "step_0000020"  # the file's iteration
    t = i2i.load(run, device="cpu")
    assert t.attributes == stargan.CELEBA and t.image_size == 32
    image = (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)
    out = t.translate(image, target="Blond_Hair")
    assert out.shape == (40, 48, 3) and out.dtype == np.uint8
    x = torch.from_numpy(image).permute(2, 0, 1).float()[None] / 127.5 - 1
    assert not torch.equal(t.translate(x, "Blond_Hair"), t.translate(x, "Black_Hair"))


def test_names_and_sizes_are_options(tmp_path):
    names = ["a", "b", "c", "d", "e"]
    run = import_checkpoint("stargan", [G_FILE], tmp_path / "run", image_size=64, domains=names)
    t = i2i.load(run, device="cpu")
    assert t.domains == names and t.image_size == 64
    assert "no D.ckpt" in (run / "import.yaml").read_text()
    with pytest.raises(I2IError, match="5 labels but 2 names"):
        plan_for("stargan", [G_FILE], attributes=["x", "y"], image_size=64)
    with pytest.raises(I2IError, match="32 px images"):
        plan_for("stargan", [G_FILE, D_FILE], image_size=128)
    with pytest.raises(I2IError, match="stargan takes no option 'fan'"):
        plan_for("stargan", [G_FILE], fan="wing.ckpt")
    lines = report(run)
    assert lines[0].startswith("imported stargan into") and "c_dim=5" in lines[0] and "labels=a,b,c,d,e" in lines[0]
    assert any(line.startswith("note: no D.ckpt") for line in lines)


def test_a_checkpoint_of_another_method_is_refused(tmp_path):
    other = Path(__file__).parents[1] / "fixtures" / "official" / "junyanz" / "resnet_latest_net_G_A.pth"
    with pytest.raises(I2IError, match=r"resnet_latest_net_G_A\.pth is a junyanz generator .*, not a yunjey/stargan "
                                       r"G\.ckpt or D\.ckpt: import it with `i2i import cyclegan\|pix2pix "):
        import_checkpoint("stargan", [other], tmp_path / "run")
    assert not (tmp_path / "run").exists()  # nothing written


def test_g_alone_does_not_fix_the_image_size(tmp_path):
    with pytest.raises(I2IError, match=r"20-G\.ckpt alone does not fix the image size .* pass --image-size N"):
        plan_for("stargan", [G_FILE])  # no silent 128 px for a G trained at 32
    assert plan_for("stargan", [G_FILE, D_FILE]).settings["image_size"] == 32  # D's classifier fixes it
    assert plan_for("stargan", [G_FILE], image_size=32).settings["image_size"] == 32


@pytest.mark.parametrize("kind, fixture, what, fits", [
    ("stargan", "stargan_v2/000010_nets_ema.ckpt", "a StarGAN v2 networks file", "stargan-v2"),
    ("stargan", "stargan_v2/000010_nets.ckpt", "a StarGAN v2 training file", "stargan-v2"),
    ("pix2pix", "stargan/20-G.ckpt", "a StarGAN generator", "stargan"),
    ("cyclegan", "stargan/20-D.ckpt", "a StarGAN discriminator", "stargan"),
    ("stargan-v2", "junyanz/unet_latest_net_G.pth", "a junyanz generator", "cyclegan|pix2pix"),
])
def test_a_file_of_another_kind_names_what_it_is_and_its_importer(kind, fixture, what, fits):
    path = Path(__file__).parents[1] / "fixtures" / "official" / fixture
    with pytest.raises(I2IError) as e:
        plan_for(kind, [path])
    msg = str(e.value)
    assert msg.startswith(f"{path.name} is {what}") and f"`i2i import {fits} {path.name} ... --out RUN`" in msg, msg
    assert "not a state dict of tensors" not in msg and "\n" not in msg


def test_tampered_entries_are_named(tmp_path):
    sd = torch.load(G_FILE, weights_only=True)
    bad = dict(sd, **{"main.3.weight": sd["main.3.weight"][:, :4]})
    torch.save(bad, tmp_path / "shape.ckpt")
    with pytest.raises(I2IError, match=r"shape\.ckpt: entry 'main\.3\.weight' has shape \(16, 4, 4, 4\)"):
        plan_for_build(tmp_path / "shape.ckpt")
    torch.save({k: v for k, v in sd.items() if k != "main.4.weight"}, tmp_path / "missing.ckpt")
    with pytest.raises(I2IError, match=r"no entry for i2i's G\.main\.4\.weight"):
        plan_for_build(tmp_path / "missing.ckpt")
    torch.save(dict(sd, extra=torch.zeros(1)), tmp_path / "extra.ckpt")
    with pytest.raises(I2IError, match="entry 'extra' has no counterpart"):
        plan_for_build(tmp_path / "extra.ckpt")


def plan_for_build(path):
    return build(plan_for("stargan", [path], image_size=32))


def test_existing_run_is_never_overwritten(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(I2IError, match="not empty"):
        import_checkpoint("stargan", [G_FILE], tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["notes.txt"]
    import_checkpoint("stargan", [G_FILE], tmp_path / "empty", image_size=32)  # an empty or new directory is fine


def test_stargan_v2_optimiser_states_are_named_as_such(tmp_path):
    optims = {n: {"state": {}, "param_groups": []} for n in ("generator", "mapping_network", "style_encoder")}
    torch.save(optims, tmp_path / "000010_optims.ckpt")
    with pytest.raises(I2IError, match=r"^000010_optims\.ckpt is StarGAN v2 optimiser states \(…_optims\.ckpt\), not "
                                       r"a yunjey/stargan G\.ckpt or D\.ckpt: no importer takes it"):
        plan_for("stargan", [tmp_path / "000010_optims.ckpt"])
