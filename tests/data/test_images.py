import numpy as np
import pytest
import torch
from PIL import Image

from i2i.data import images as im
from i2i.errors import I2IError

torch.set_num_threads(1)


def gradient(w=40, h=30):
    """An RGB image with distinct pixels, so orientation is checkable."""
    x = np.zeros((h, w, 3), np.uint8)
    x[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None]
    x[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    x[..., 2] = 100
    return Image.fromarray(x, "RGB")


def check_rgb(img, size):
    assert img.mode == "RGB" and img.size == size
    t = im.to_tensor(img)
    assert t.shape == (3, size[1], size[0]) and t.dtype == torch.float32
    assert t.min() >= -1 and t.max() <= 1
    return t


def test_exif_orientation(tmp_path):
    src = gradient(40, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    src.save(tmp_path / "rot.jpg", exif=exif, quality=95)
    img = im.load_image(tmp_path / "rot.jpg")
    assert img.size == (30, 40)
    expect = np.asarray(src.transpose(Image.Transpose.ROTATE_270), np.float32)
    assert np.abs(np.asarray(img, np.float32) - expect).mean() < 6


@pytest.mark.parametrize("mode", ["P", "L", "1", "CMYK", "LA", "RGBA"])
def test_modes_become_rgb(tmp_path, mode):
    ext = "jpg" if mode == "CMYK" else "png"
    gradient().convert(mode).save(tmp_path / f"x.{ext}")
    check_rgb(im.load_image(tmp_path / f"x.{ext}"), (40, 30))


def test_alpha_composited_on_white(tmp_path):
    a = np.zeros((8, 8, 4), np.uint8)  # fully transparent black
    Image.fromarray(a, "RGBA").save(tmp_path / "a.png")
    assert (im.to_tensor(im.load_image(tmp_path / "a.png")) == 1).all()
    p = Image.new("P", (8, 8), 0)
    p.putpalette([0, 0, 0, 255, 0, 0])
    p.info["transparency"] = 0
    p.save(tmp_path / "p.png", transparency=0)
    assert (im.to_tensor(im.load_image(tmp_path / "p.png")) == 1).all()


def test_16bit_scaled(tmp_path):
    a = np.array([[0, 32768, 65535]], np.uint16).repeat(4, 0)
    Image.fromarray(a).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    t = check_rgb(im.load_image(tmp_path / "g16.png"), (3, 4))
    assert torch.allclose(t[:, 0], torch.tensor([-1.0, 0.0, 1.0]).expand(3, 3), atol=0.01)


def test_bad_files_raise_i2ierror(tmp_path):
    buf = tmp_path / "ok.png"
    gradient(64, 64).save(buf)
    data = buf.read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    gradient(64, 64).save(tmp_path / "ok.jpg")
    j = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(j[: len(j) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello, not an image\n")
    for name in ["trunc.png", "trunc.jpg", "empty.png", "text.png", "missing.png"]:
        with pytest.raises(I2IError, match=name) as e:
            im.load_image(tmp_path / name)
        assert "\n" not in str(e.value)
    with pytest.raises(I2IError, match="empty"):
        im.load_image(tmp_path / "empty.png")


def test_decompression_bomb(tmp_path, monkeypatch):
    gradient(40, 30).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1200 px: warning range
    with pytest.raises(I2IError, match="decompression-bomb"):
        im.load_image(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # error range
    with pytest.raises(I2IError, match="big.png"):
        im.load_image(tmp_path / "big.png")


def test_roundtrip_and_save(tmp_path):
    src = gradient()
    t = im.to_tensor(src)
    assert np.array_equal(np.asarray(im.to_pil(t)), np.asarray(src))
    assert np.asarray(im.to_pil(t * 3)).max() == 255  # clamps
    out = im.save_image(t, tmp_path / "sub" / "out.png")
    assert np.array_equal(np.asarray(im.load_image(out)), np.asarray(src))
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["out.png"]  # no tmp file left
    im.save_image(torch.zeros(5, 3, 8, 8), tmp_path / "grid.png", nrow=2)
    assert Image.open(tmp_path / "grid.png").size == (2 + 2 * 10, 2 + 3 * 10)


def test_crop_resize():
    t = torch.full((3, 30, 40), 0.25)
    assert im.center_crop(t, 20).shape == (3, 20, 20)
    assert im.center_crop(t, (10, 12)).shape == (3, 10, 12)
    r = im.resize(t, 15)
    assert r.shape == (3, 15, 20) and torch.allclose(r, torch.full_like(r, 0.25))
    assert im.resize(torch.zeros(3, 50, 20), 10).shape == (3, 25, 10)
    assert im.resize_exact(t, (7, 9)).shape == (3, 7, 9)
    assert im.resize_exact(t[None], 8).shape == (1, 3, 8, 8)
    x = torch.arange(16.0).reshape(1, 4, 4).expand(3, 4, 4)
    assert torch.equal(im.center_crop(x, 2)[0], torch.tensor([[5.0, 6.0], [9.0, 10.0]]))
    padded = im.center_crop(torch.ones(3, 2, 2), 4)  # smaller than the crop: black border
    assert padded.shape == (3, 4, 4) and padded[0, 0, 0] == -1 and padded[0, 1, 1] == 1


def test_flips_and_random_crop():
    t = torch.arange(6.0).reshape(1, 2, 3).expand(3, 2, 3)
    assert torch.equal(im.hflip(t)[0, 0], torch.tensor([2.0, 1.0, 0.0]))
    g = torch.Generator().manual_seed(0)
    flips = [torch.equal(im.random_flip(t, g), im.hflip(t)) for _ in range(50)]
    assert 10 < sum(flips) < 40
    x = torch.rand(3, 40, 60) * 2 - 1
    for _ in range(5):
        y = im.random_resized_crop(x, 16, generator=g)
        assert y.shape == (3, 16, 16) and y.min() >= -1 and y.max() <= 1
    assert torch.equal(im.random_resized_crop(x, (40, 60), p=0.0), x)
    f = im.compose(lambda a: im.center_crop(a, 30), lambda a: im.resize(a, 10))
    assert f(x).shape == (3, 10, 10)


def test_make_grid():
    x = torch.zeros(5, 3, 8, 8)
    g = im.make_grid(x, nrow=3)
    assert g.shape == (3, 2 + 2 * 10, 2 + 3 * 10)
    assert g[0, 0, 0] == 1.0 and g[0, 2, 2] == 0.0 and g[0, -1, -1] == 1.0  # padding, image, empty cell
    assert im.make_grid(x[:1]).shape == (3, 8, 8)
