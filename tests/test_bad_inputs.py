"""The bad-input corpus (issue 10): every file here is made at test time. Each case gets one clear
line (I2IError; through the CLI exit status 2 and one "i2i: error: " line on stderr) or, with
skip_bad, a counted skip; never a traceback, never code execution. One parametrised test runs
every case; odd but valid images must load correctly instead."""
import dataclasses
import io
import json
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import i2i
from i2i.cli import main
from i2i.config import RunConfig
from i2i.data import build
from i2i.data import images as im
from i2i.data.layouts import CelebA, DomainFolders, Paired, Unpaired
from i2i.errors import I2IError
from i2i import rundir
from i2i.train.trainer import build_method

TINY = ["data.image_size=32", "n_train=4", "n_test=4", "g_conv_dim=8", "d_conv_dim=8", "g_repeat_num=1",
        "d_repeat_num=3", "n_critic=1", "batch_size=2", "logger=none", "amp=none", "sample_every=1000"]
RUNS = {"stargan": ("stargan", "shapes", TINY),
        "stargan64": ("stargan", "shapes", TINY + ["data.image_size=64"]),  # another image size
        "cyclegan": ("cyclegan", "shapes:unpaired", ["data.image_size=32", "n_train=4", "n_test=4", "ngf=4", "ndf=4"])}


@dataclasses.dataclass
class Ctx:
    tmp: Path
    capsys: pytest.CaptureFixture
    runs: Path

    def run(self, name: str, copy: bool = False) -> Path:
        """A run directory as `i2i train` leaves it (untrained weights; no training needed to refuse it)."""
        out = self.runs / name
        if not out.exists():
            method, spec, overrides = RUNS[name]
            cfg = RunConfig.default(method)
            cfg.data.spec = spec
            cfg.apply_overrides(overrides)
            m = build_method(cfg, build(cfg.data, "train"))
            state = {"step": 1, "torch_rng": torch.get_rng_state(), "cuda_rng": [],
                     "optimizers": {k: o.state_dict() for k, o in m.optimizers().items()}}
            rundir.save(out, 1, m.state_dict(), state)
            cfg.save(out / "config.yaml")
            (out / "info.yaml").write_text(yaml.safe_dump(dataclasses.asdict(m.info), sort_keys=False))
        if copy:  # a private copy a case may damage
            mine = self.tmp / f"{name}_copy{len(list(self.tmp.glob(name + '_copy*')))}"
            shutil.copytree(out, mine)
            return mine
        return out

    def cli_error(self, args, match: str, skipped: int = 0) -> str:
        """Exit status 2 and one "i2i: error: " line on stderr (after one line per skipped file)."""
        self.capsys.readouterr()
        assert main([str(a) for a in args]) == 2
        *skips, err = self.capsys.readouterr().err.splitlines(keepends=True)
        assert len(skips) == skipped and all(s.startswith("i2i: skipped: ") for s in skips), skips
        assert err.startswith("i2i: error: ") and err.endswith("\n") and "Traceback" not in err, err
        assert re.search(match, err), err
        return err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture
def ctx(tmp_path, capsys, runs):
    return Ctx(tmp_path, capsys, runs)


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def one_line(match: str, fn, *args, **kw) -> str:
    with pytest.raises(I2IError, match=match) as e:
        fn(*args, **kw)
    assert "\n" not in str(e.value)
    return str(e.value)


# ---- image files ---------------------------------------------------------------------------------

def gradient(w=40, h=30) -> Image.Image:
    """Distinct pixels, so that orientation and halves are checkable."""
    x = np.zeros((h, w, 3), np.uint8)
    x[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None]
    x[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    x[..., 2] = 100
    return Image.fromarray(x, "RGB")


def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(w: int, h: int, idat: bytes = zlib.compress(b"")) -> bytes:
    """A PNG whose header says w x h (8-bit grey) with the given compressed pixel data."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def refused(ctx: Ctx, name: str, data: bytes, match: str) -> None:
    """A bad file: one line from load_image, `i2i translate` and a dataset; skip_bad counts it."""
    bad = ctx.tmp / name
    bad.write_bytes(data)
    assert bad.name in one_line(match, im.load_image, bad)
    ctx.cli_error(["translate", ctx.run("stargan"), "-i", bad, "-t", "red", "-o", ctx.tmp / "out.png"], match)
    assert not (ctx.tmp / "out.png").exists()
    root = ctx.tmp / "data"
    (root / "cats").mkdir(parents=True)
    gradient().save(root / "cats" / "a_good.png")
    shutil.copy(bad, root / "cats" / f"b_{name}")
    one_line(re.escape(f"b_{name}"), lambda: [DomainFolders(root, image_size=16)[i] for i in range(2)])
    ds = DomainFolders(root, image_size=16, skip_bad=True, flip=False)
    assert all(ds[i]["image"].shape == (3, 16, 16) for i in range(2)) and ds.skipped == 1
    assert f"i2i: skipped: cannot read image {root / 'cats' / ('b_' + name)}" in ctx.capsys.readouterr().err


def accepted(ctx: Ctx, name: str, data: bytes) -> np.ndarray:
    """An odd but valid file: decoded to RGB by load_image and by a dataset; returns the pixels."""
    path = ctx.tmp / name
    path.write_bytes(data)
    img = im.load_image(path)
    assert img.mode == "RGB"
    (ctx.tmp / "data" / "x").mkdir(parents=True)
    shutil.copy(path, ctx.tmp / "data" / "x" / name)
    t = DomainFolders(ctx.tmp / "data", image_size=16)[0]["image"]
    assert t.shape == (3, 16, 16) and -1 <= t.min() <= t.max() <= 1
    return np.asarray(img)


@case
def zero_byte(ctx):
    refused(ctx, "empty.png", b"", "the file is empty")


@case
def truncated_jpeg(ctx):
    data = encoded(gradient(64, 64), "JPEG")
    refused(ctx, "cut.jpg", data[:len(data) // 2], "truncated")


@case
def truncated_png(ctx):
    data = encoded(gradient(64, 64), "PNG")
    refused(ctx, "cut.png", data[:len(data) // 2], "cut.png")


@case
def text_renamed_png(ctx):
    refused(ctx, "notes.png", b"hello, I am a text file\n", "not an image format Pillow recognises")


@case
def decompression_bomb_declared(ctx):
    data = png_declaring(100_000, 100_000)  # 10^10 pixels declared in 57 bytes
    assert len(data) < 100
    refused(ctx, "bomb.png", data, "decompression-bomb limit")


@case
def decompression_bomb_real(ctx):
    # 9500 x 9500 zero pixels really inflate to 90 MB; just above Pillow's limit (its warning band)
    w = h = 9500
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(bytes(w + 1)) for _ in range(h)) + z.flush()
    assert w * h > Image.MAX_IMAGE_PIXELS and len(idat) < 200_000
    refused(ctx, "bomb90m.png", png_declaring(w, h, idat), "decompression-bomb limit")


@case
def decompression_bomb_jpeg(ctx):
    data = bytearray(encoded(gradient(16, 16), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)  # height, width of the frame header
    refused(ctx, "bomb.jpg", bytes(data), "decompression-bomb limit")


@case
def cmyk_jpeg(ctx):
    a = accepted(ctx, "cmyk.jpg", encoded(Image.new("CMYK", (20, 10), (0, 255, 255, 0)), "JPEG"))
    assert a.shape == (10, 20, 3) and (np.abs(a.astype(int) - (255, 0, 0)) < 8).all()  # red stays red


@case
def grey_16bit_png(ctx):
    img = Image.fromarray(np.array([[0, 32768, 65535]], np.uint16).repeat(2, 0))
    data = encoded(img, "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    assert accepted(ctx, "g16.png", data)[0, :, 0].tolist() == [0, 128, 255]  # scaled, not clipped


@case
def palette_png(ctx):
    p = Image.new("P", (4, 4), 1)
    p.putpalette([0, 0, 0, 10, 200, 30])
    assert (accepted(ctx, "p.png", encoded(p, "PNG")) == (10, 200, 30)).all()


@case
def palette_png_with_transparency(ctx):
    p = Image.new("P", (4, 4), 0)
    p.putpalette([0, 0, 0, 10, 200, 30])
    p.putpixel((0, 0), 1)
    a = accepted(ctx, "pt.png", encoded(p, "PNG", transparency=0))
    assert (a[0, 0] == (10, 200, 30)).all() and (a[1:] == 255).all()  # index 0 is transparent: white


@case
def la_png(ctx):
    la = Image.merge("LA", [Image.new("L", (4, 4), 0), Image.new("L", (4, 4), 0)])
    assert (accepted(ctx, "la.png", encoded(la, "PNG")) == 255).all()  # fully transparent black -> white


@case
def rgba_png(ctx):
    a = np.zeros((4, 4, 4), np.uint8)
    a[..., 0], a[..., 3] = 255, 128  # half-transparent red over white
    px = accepted(ctx, "rgba.png", encoded(Image.fromarray(a, "RGBA"), "PNG"))
    assert (px == (255, 127, 127)).all()


@case
def one_by_one(ctx):
    assert accepted(ctx, "1x1.png", encoded(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG")).tolist() == [[[1, 2, 3]]]


def extreme_aspect(ctx, w, h, monkeypatch):
    sizes, real = [], im.resize_exact
    monkeypatch.setattr(im, "resize_exact", lambda t, size: sizes.append(im._pair(size)) or real(t, size))
    assert accepted(ctx, "long.png", encoded(gradient(w, h), "PNG")).shape == (h, w, 3)
    # the dataset never builds the full 16 x 64000 upscale of the image on the way to 16 x 16
    assert sizes and max(a * b for a, b in sizes) <= im.MAX_ASPECT * 16 * 16
    monkeypatch.undo()
    out = ctx.tmp / "o.png"
    assert main(["translate", str(ctx.run("stargan")), "-i", str(ctx.tmp / "long.png"), "-t", "red", "-o", str(out)]) == 0
    assert Image.open(out).size == (w, h)


@case
def tall_1x4000(ctx):
    with pytest.MonkeyPatch.context() as mp:
        extreme_aspect(ctx, 1, 4000, mp)


@case
def wide_4000x1(ctx):
    with pytest.MonkeyPatch.context() as mp:
        extreme_aspect(ctx, 4000, 1, mp)


def with_orientation(img: Image.Image, value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return encoded(img, "JPEG", exif=exif, quality=95)


@case
def exif_rotated_jpeg(ctx):
    src = gradient(40, 30)
    a = accepted(ctx, "rot.jpg", with_orientation(src, 6)).astype(np.float32)  # 6: rotate 90° clockwise
    assert a.shape == (40, 30, 3)
    assert np.abs(a - np.asarray(src.transpose(Image.Transpose.ROTATE_270), np.float32)).mean() < 6


@case
def exif_orientation_out_of_range(ctx):
    assert accepted(ctx, "rot99.jpg", with_orientation(gradient(40, 30), 99)).shape == (30, 40, 3)  # ignored


# ---- file names and folders -----------------------------------------------------------------------

def bytes_path(base: Path, name: bytes) -> Path:
    return Path(os.fsdecode(os.fsencode(base) + b"/" + name))


@case
def non_utf8_names(ctx):
    domain = bytes_path(ctx.tmp / "data", b"chat\xe9")  # Latin-1 "chaté": not UTF-8
    domain.mkdir(parents=True)
    gradient().save(bytes_path(domain, b"\xff\xfe.png"))
    ds = DomainFolders(ctx.tmp / "data", image_size=8)
    assert ds.domains == [domain.name] and ds[0]["image"].shape == (3, 8, 8)
    missing = bytes_path(ctx.tmp, b"gone\xff.png")
    assert "gone\\udcff.png" in ascii(one_line("no such file", im.load_image, missing))
    # the real CLI's stderr (not pytest's capture) writes the undecodable byte escaped, on one line
    r = subprocess.run([sys.executable, "-m", "i2i.cli", "translate", os.fsencode(ctx.run("stargan")), "-i",
                        os.fsencode(missing), "-t", "red", "-o", os.fsencode(ctx.tmp / "o.png")],
                       capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 2 and r.stderr.startswith(b"i2i: error: ") and r.stderr.count(b"\n") == 1, r.stderr


@case
def name_of_255_bytes(ctx):
    name = "é" * 125 + "x.png"  # 255 bytes in UTF-8
    assert len(os.fsencode(name)) == 255
    (ctx.tmp / "data" / "a").mkdir(parents=True)
    out = im.save_image(torch.zeros(3, 4, 4), ctx.tmp / "data" / "a" / name)  # its temporary name must fit too
    assert im.load_image(out).size == (4, 4) and DomainFolders(ctx.tmp / "data", image_size=8).files == [out]


@case
def name_of_256_bytes(ctx):
    path = ctx.tmp / ("x" * 252 + ".png")
    assert "File name too long" in one_line(re.escape(path.name), im.load_image, path)
    one_line("cannot write image .*File name too long", im.save_image, torch.zeros(3, 4, 4), path)


@case
def symlink_loops(ctx):
    d = ctx.tmp / "data" / "dogs"
    d.mkdir(parents=True)
    gradient().save(d / "real.png")
    os.symlink("..", d / "up")             # a folder loop: data/dogs/up/dogs/up/...
    os.symlink("self.png", d / "self.png")  # a link to itself
    os.symlink("nowhere.png", d / "dangling.png")
    (d / "folder.png").mkdir()              # a folder with an image's name
    ds = DomainFolders(ctx.tmp / "data", image_size=8)
    assert ds.files == [d / "real.png"] and ds[0]["image"].shape == (3, 8, 8)
    one_line("self.png", im.load_image, d / "self.png")
    one_line("it is a directory", im.load_image, d / "folder.png")


@case
def folders_without_domain_folders(ctx):
    (ctx.tmp / "flat").mkdir()
    gradient().save(ctx.tmp / "flat" / "a.png")
    one_line("no domain folders", DomainFolders, ctx.tmp / "flat")
    ctx.cli_error(["train", "stargan", "--data", f"folders:{ctx.tmp / 'flat'}", "--out", ctx.tmp / "r", *TINY],
                  "no domain folders")
    one_line("is not a folder", DomainFolders, ctx.tmp / "flat" / "a.png")


@case
def folders_of_bad_images_through_train(ctx):
    cats, dogs = ctx.tmp / "data" / "cats", ctx.tmp / "data" / "dogs"
    cats.mkdir(parents=True)
    dogs.mkdir()
    (cats / "a.png").write_bytes(b"")
    (cats / "b.jpg").write_bytes(b"not a jpeg")
    (dogs / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    args = ["train", "stargan", "--data", f"folders:{ctx.tmp / 'data'}", "--no-progress", *TINY, "steps=1"]
    ctx.cli_error([*args, "--out", ctx.tmp / "r1"], r"a\.png: the file is empty")
    ctx.cli_error([*args, "--out", ctx.tmp / "r2", "data.skip_bad=true"], "none of the 3 images .* could be read",
                  skipped=3)
    gradient().save(cats / "d.png")
    gradient().save(dogs / "e.png")
    assert main([*args, "--out", str(ctx.tmp / "r3"), "data.skip_bad=true"]) == 0  # trains on the good one
    assert ctx.capsys.readouterr().err.count("i2i: skipped: cannot read image") >= 2


@case
def unpaired_without_trainB(ctx):
    (ctx.tmp / "h2z" / "trainA").mkdir(parents=True)
    gradient().save(ctx.tmp / "h2z" / "trainA" / "1.jpg")
    one_line("no trainB folder", Unpaired, ctx.tmp / "h2z")
    ctx.cli_error(["train", "cyclegan", "--data", f"unpaired:{ctx.tmp / 'h2z'}", "--out", ctx.tmp / "r"],
                  "no trainB folder")


@case
def paired_odd_and_tiny_widths(ctx):
    d = ctx.tmp / "facades" / "train"
    d.mkdir(parents=True)
    a = np.zeros((8, 7, 3), np.uint8)
    a[:, 3:] = 255  # A: 3 black columns, B: 4 white ones
    Image.fromarray(a).save(d / "1.png")
    item = Paired(ctx.tmp / "facades", image_size=8, train=False)[0]
    assert item["A"].shape == item["B"].shape == (3, 8, 8)
    assert (item["A"] == -1).all() and (item["B"] == 1).all()
    Image.new("RGB", (1, 8)).save(d / "0.png")  # one pixel wide: no halves
    one_line("0.png is 1 px wide", Paired(ctx.tmp / "facades", image_size=8, train=False).__getitem__, 0)
    ds = Paired(ctx.tmp / "facades", image_size=8, train=False, skip_bad=True)
    assert ds[0]["A"].shape == (3, 8, 8) and ds.skipped == 1


# ---- CelebA attribute files -----------------------------------------------------------------------

ATTRS = ["Black_Hair", "Blond_Hair", "Male", "Young"]


def celeba(ctx, lines: list[str], count=None) -> Path:
    root = ctx.tmp / "celeba"
    (root / "images").mkdir(parents=True, exist_ok=True)
    gradient().save(root / "images" / "000001.jpg")
    body = "".join(ln + "\n" for ln in lines)
    (root / "list_attr_celeba.txt").write_text(f"{len(lines) if count is None else count}\n{' '.join(ATTRS)}\n{body}")
    return root


def celeba_error(ctx, root: Path, match: str, attributes=("Male",)) -> None:
    one_line(match, CelebA, root, attributes=list(attributes), test_size=0)
    ctx.cli_error(["train", "stargan", "--data", f"celeba:{root}", "--out", ctx.tmp / "r", *TINY,
                   f"data.attributes=[{','.join(attributes)}]"], match)


@case
def celeba_missing_column(ctx):
    celeba_error(ctx, celeba(ctx, ["000001.jpg 1 -1 1 1", "000002.jpg 1 -1 1"]), "line 4: 4 columns, expected 5")


@case
def celeba_extra_column(ctx):
    celeba_error(ctx, celeba(ctx, ["000001.jpg 1 -1 1 1 1"]), "line 3: 6 columns, expected 5")


@case
def celeba_unknown_attribute(ctx):
    root = celeba(ctx, ["000001.jpg 1 -1 1 1"])
    celeba_error(ctx, root, "unknown attribute 'Blond_hair'.*did you mean Blond_Hair", attributes=["Male", "Blond_hair"])
    assert CelebA(root, attributes=["Male"], test_size=0).labels.tolist() == [[1.0]]  # the file itself is fine


@case
def celeba_bad_value_and_count(ctx):
    celeba_error(ctx, celeba(ctx, ["000001.jpg 1 -1 yes 1"]), "value 'yes' for Male is not 1, -1 or 0")
    shutil.rmtree(ctx.tmp / "celeba")
    celeba_error(ctx, celeba(ctx, ["000001.jpg 1 -1 1 1"], count=2), "line 1 says 2 images but 1 are listed")


@case
def celeba_not_text(ctx):
    root = celeba(ctx, [])
    (root / "list_attr_celeba.txt").write_bytes(b"1\nMale\n\xff\xfe 1\n")
    celeba_error(ctx, root, "cannot read attribute file .*utf-8")
    (root / "list_attr_celeba.txt").write_text("²\nMale\n")  # a digit that is not a number
    celeba_error(ctx, root, "is not in list_attr_celeba.txt format")


# ---- configs --------------------------------------------------------------------------------------

@case
def config_not_utf8_or_not_a_mapping(ctx):
    cfg = ctx.tmp / "c.yaml"
    cfg.write_bytes(b"method: stargan\ndata:\n  spec: caf\xe9\n")
    ctx.cli_error(["train", "stargan", "--config", cfg, "--out", ctx.tmp / "r"], "is not UTF-8 text")
    cfg.write_text("method: stargan\ndata: 5\n")
    ctx.cli_error(["train", "stargan", "--config", cfg, "--out", ctx.tmp / "r"], "section 'data' must be a mapping")
    cfg.write_text("method: stargan\ndata: " + "[" * 1000 + "\n")
    ctx.cli_error(["train", "stargan", "--config", cfg, "--out", ctx.tmp / "r"], "is not valid YAML")


@case
def override_nested_too_deep(ctx):
    ctx.cli_error(["train", "stargan", "--out", ctx.tmp / "r", "steps=" + "[" * 1000], "train.steps=.* is not a valid int")


# ---- checkpoints ----------------------------------------------------------------------------------

def swap_weights(ctx, run: str, other: str) -> Path:
    target = ctx.run(run, copy=True)
    step = rundir.find(target)
    shutil.copy(rundir.find(ctx.run(other)) / rundir.WEIGHTS, step / rundir.WEIGHTS)
    return target


@case
def checkpoint_of_another_method(ctx):
    run = swap_weights(ctx, "stargan", "cyclegan")
    one_line("does not fit this model: .* missing", i2i.load, run)
    ctx.cli_error(["train", "stargan", "--out", run, "--resume", "--no-progress"], "does not fit this model")
    ctx.cli_error(["train", "stargan", "--out", ctx.run("cyclegan"), "--resume"], "is a cyclegan run, not stargan")


@case
def checkpoint_of_another_size(ctx):
    run = swap_weights(ctx, "stargan", "stargan64")
    one_line(r"shape mismatch: D\.conv2\.weight", i2i.load, run)
    img = ctx.tmp / "in.png"
    gradient().save(img)
    ctx.cli_error(["translate", run, "-i", img, "-t", "red", "-o", ctx.tmp / "o.png"], "does not fit this model")
    ctx.cli_error(["train", "stargan", "--out", run, "--resume", "--no-progress"], "shape mismatch")


def tampered(ctx, edit) -> Path:
    """A copy of a run whose model.safetensors went through edit(bytes) -> bytes."""
    run = ctx.run("stargan", copy=True)
    f = rundir.find(run) / rundir.WEIGHTS
    f.write_bytes(edit(f.read_bytes()))
    return run


def header_of(raw: bytes) -> dict:
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n])


@case
def safetensors_bad_header_length(ctx):
    run = tampered(ctx, lambda raw: struct.pack("<Q", 1 << 40) + raw[8:])  # claims a 1 TB header
    one_line("cannot read weights", i2i.load, run)
    ctx.cli_error(["translate", run, "-i", ctx.tmp / "x.png", "-t", "red", "-o", ctx.tmp / "o.png"], "cannot read weights")


@case
def safetensors_offsets_beyond_the_file(ctx):
    def edit(raw):
        head = header_of(raw)
        name = next(k for k in head if k != "__metadata__")
        head[name]["data_offsets"][1] += 10 ** 9
        text = json.dumps(head).encode()
        return struct.pack("<Q", len(text)) + text + raw[8 + struct.unpack("<Q", raw[:8])[0]:]
    one_line("cannot read weights", i2i.load, tampered(ctx, edit))


@case
def safetensors_garbled_or_truncated(ctx):
    one_line("cannot read weights", i2i.load, tampered(ctx, lambda raw: raw[:8] + b"{not json" + raw[17:]))
    one_line("cannot read weights", i2i.load, tampered(ctx, lambda raw: raw[:len(raw) // 2]))
    one_line("cannot read weights", i2i.load, tampered(ctx, lambda raw: b""))


OFFICIAL = Path(__file__).parent / "fixtures" / "official"


@case
def official_checkpoint_directory_truncated_or_of_another_kind(ctx):
    out = ctx.tmp / "imported"
    folder = ctx.tmp / "stargan_ckpts"
    folder.mkdir()
    shutil.copy(OFFICIAL / "stargan" / "20-G.ckpt", folder)
    ctx.cli_error(["import", "stargan", folder, "--out", out],
                  r"stargan_ckpts is a directory; give the checkpoint file\(s\) in it: 200000-G\.ckpt "
                  r"\[200000-D\.ckpt\] \(it holds 20-G\.ckpt\)")
    raw = (OFFICIAL / "stargan" / "20-G.ckpt").read_bytes()
    (ctx.tmp / "cut.ckpt").write_bytes(raw[:len(raw) // 2])
    err = ctx.cli_error(["import", "stargan", ctx.tmp / "cut.ckpt", "--out", out],
                        r"cut\.ckpt: it is truncated or damaged, not a complete PyTorch file")
    assert "miniz" not in err and "PytorchStreamReader" not in err
    (ctx.tmp / "empty.pth").write_bytes(b"")
    ctx.cli_error(["import", "pix2pix", ctx.tmp / "empty.pth", "--out", out], "empty.pth: it is empty")
    (ctx.tmp / "notes.pth").write_text("not weights\n")
    ctx.cli_error(["import", "cyclegan", ctx.tmp / "notes.pth", "--out", out], "notes.pth: it is not a PyTorch file")
    v2 = OFFICIAL / "stargan_v2" / "000010_nets_ema.ckpt"
    ctx.cli_error(["import", "stargan", v2, "--out", out],
                  r"000010_nets_ema\.ckpt is a StarGAN v2 networks file .*`i2i import stargan-v2 000010_nets_ema\.ckpt")
    ctx.cli_error(["import", "stargan", OFFICIAL / "stargan" / "20-G.ckpt", "--out", out],
                  "20-G.ckpt alone does not fix the image size .* pass --image-size")
    assert not out.exists()


class RunsCode:
    """Unpickling this runs a shell command that creates `marker`."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def evil_files(ctx) -> tuple[Path, list[Path]]:
    marker = ctx.tmp / "code_ran"
    raw, zipped = ctx.tmp / "evil_raw.ckpt", ctx.tmp / "evil_zip.pth"
    raw.write_bytes(pickle.dumps({"G": RunsCode(marker)}))
    torch.save({"G": RunsCode(marker)}, zipped)  # torch's zip format, the pickle inside
    return marker, [raw, zipped]


@case
def pickle_running_code_through_import(ctx):
    marker, files = evil_files(ctx)
    for f in files:
        for kind in ("stargan", "stargan-v2", "cyclegan", "pix2pix"):
            ctx.cli_error(["import", kind, f, "--out", ctx.tmp / "imported"], re.escape(f.name))
    assert not marker.exists() and not (ctx.tmp / "imported").exists()


@case
def pickle_running_code_through_checkpoints(ctx):
    marker, files = evil_files(ctx)
    run = ctx.run("stargan", copy=True)
    step = rundir.find(run)
    shutil.copy(files[1], step / rundir.STATE)
    one_line("cannot read training state", rundir.load_state, step)
    ctx.cli_error(["train", "stargan", "--out", run, "--resume", "--no-progress"], "cannot read training state")
    shutil.copy(files[0], step / rundir.WEIGHTS)  # a pickle posing as the weights
    one_line("cannot read weights", i2i.load, run)
    assert not marker.exists()


def test_a_non_utf8_output_name_is_printed_on_a_strict_stdout(tmp_path, runs):
    ctx = Ctx(tmp_path, None, runs)
    gradient().save(tmp_path / "in.png")
    out = bytes_path(tmp_path, b"out\xff.png")
    r = subprocess.run([sys.executable, "-m", "i2i.cli", "translate", os.fsencode(ctx.run("stargan")), "-i",
                        os.fsencode(tmp_path / "in.png"), "-t", "red", "-o", os.fsencode(out)], capture_output=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8:strict"})
    assert out.is_file()  # written before the print
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr


def test_a_damaged_info_yaml_is_one_line(tmp_path, capsys, runs):
    ctx = Ctx(tmp_path, capsys, runs)
    run = ctx.run("stargan", copy=True)
    gradient().save(tmp_path / "in.png")
    for text in ("- 1\n", "image_size: [\n", "colour: 1\n"):
        (run / "info.yaml").write_text(text)
        ctx.cli_error(["translate", run, "-i", tmp_path / "in.png", "-t", "red", "-o", tmp_path / "o.png"],
                      "info.yaml is damaged")


def test_skip_bad_images_trains_and_reports_the_count(tmp_path, capsys):
    for d in ("cats", "dogs"):
        (tmp_path / "data" / d).mkdir(parents=True)
        gradient().save(tmp_path / "data" / d / "good.png")
        for k in range(3):
            (tmp_path / "data" / d / f"bad{k}.png").write_bytes(b"")
    assert main(["train", "stargan", "--data", f"folders:{tmp_path / 'data'}", "--out", str(tmp_path / "r"),
                 "--no-progress", "--skip-bad-images", *TINY, "steps=1", "batch_size=8"]) == 0
    out, err = capsys.readouterr()
    assert "i2i: skipped 6 unreadable image(s)" in out and err.count("i2i: skipped: cannot read image") >= 6


# ---- the corpus -----------------------------------------------------------------------------------

def test_the_corpus_covers_the_issue():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, ctx):
    CASES[name](ctx)
