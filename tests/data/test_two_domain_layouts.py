import numpy as np
import pytest
import torch
from PIL import Image

from i2i import data
from i2i.config import DataConfig
from i2i.data import images as im
from i2i.data.layouts import LAYOUTS, Paired, Unpaired, default_load_size, open_dataset
from i2i.errors import I2IError

torch.set_num_threads(1)


def pattern(seed: int, h: int = 24, w: int = 24) -> np.ndarray:
    """A smooth, position-dependent RGB image (so crops and flips are visible and survive JPEG)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    a = np.stack([x / w * 255, y / h * 255, np.full_like(x, 40 * seed % 256)], -1)
    return a.astype(np.uint8)


def write(path, a, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path, format=fmt)


@pytest.fixture
def aligned_ab(tmp_path):
    """pix2pix side by side: left half A, right half B = the same content."""
    root = tmp_path / "facades"
    for split, n in (("train", 5), ("val", 2)):
        for i in range(n):
            half = pattern(i)
            ext = "jpg" if i % 2 else "png"
            write(root / split / f"{i}.{ext}", np.concatenate([half, half], 1))
    return root


@pytest.fixture
def aligned_folders(tmp_path):
    root = tmp_path / "pairs"
    for i in range(4):
        write(root / "train" / "A" / f"{i:03d}.png", pattern(i))
        write(root / "train" / "B" / f"{i:03d}.jpg", 255 - pattern(i))  # extensions may differ
    return root


@pytest.fixture
def unaligned(tmp_path):
    root = tmp_path / "horse2zebra"
    for d, n, grey in (("trainA", 3, 10), ("trainB", 5, 200), ("testA", 2, 60), ("testB", 4, 120)):
        for i in range(n):
            write(root / d / f"{i}.png", np.full((20, 30, 3), grey + i, np.uint8))
    return root


def test_registered_and_attributes(aligned_ab, unaligned):
    assert LAYOUTS["paired"] is Paired and LAYOUTS["unpaired"] is Unpaired
    p, u = open_dataset(f"paired:{aligned_ab}", image_size=16), open_dataset(f"unpaired:{unaligned}", image_size=16)
    assert isinstance(p, Paired) and isinstance(u, Unpaired)
    for ds, paired in ((p, True), (u, False)):
        assert ds.domains == ["A", "B"] and ds.paired is paired and ds.channels == 3
    assert default_load_size(256) == 286 and p.load_size == default_load_size(16) == 18


def test_paired_side_by_side_same_crop_and_flip(aligned_ab):
    ds = Paired(aligned_ab, image_size=16)
    assert ds.side_by_side and len(ds) == 5
    torch.manual_seed(0)
    seen = set()
    for k in range(30):
        item = ds[k % len(ds)]
        assert set(item) == {"A", "B"} and item["A"].shape == item["B"].shape == (3, 16, 16)
        assert item["A"].min() >= -1 and item["A"].max() <= 1
        # identical halves: the same crop and flip give the same pixels (JPEG blurs the seam a little)
        assert (item["A"] - item["B"]).abs().mean() < 0.03
        seen.add(round(item["A"][0, 0, 0].item(), 2))  # red channel = x: crop offset / flip show here
    assert len(seen) > 2  # the crops and flips really vary


def test_paired_test_mode_is_deterministic_resize(aligned_ab):
    ds = Paired(aligned_ab, image_size=16, split="val", train=False)
    assert len(ds) == 2 and not ds.flip
    a, b = ds[0], ds[0]
    assert torch.equal(a["A"], b["A"]) and torch.equal(a["B"], b["B"])
    img = im.to_tensor(im.load_image(ds.files[0]))
    assert torch.allclose(a["A"], im.resize_exact(img[..., :24], 16))
    assert torch.allclose(a["B"], im.resize_exact(img[..., 24:], 16))


def test_paired_aligned_folders(aligned_folders):
    ds = Paired(aligned_folders, image_size=16, train=False)
    assert not ds.side_by_side and len(ds) == 4
    assert [f.name for f in ds.files_B] == ["000.jpg", "001.jpg", "002.jpg", "003.jpg"]
    item = ds[1]
    assert (item["A"] + item["B"]).abs().mean() < 0.03  # B is the negative of A
    torch.manual_seed(1)
    train = Paired(aligned_folders, image_size=16)
    for i in range(8):
        item = train[i % 4]
        assert (item["A"] + item["B"]).abs().mean() < 0.05  # same crop and flip for both


def test_paired_mismatched_names(aligned_folders):
    (aligned_folders / "train" / "B" / "002.jpg").unlink()
    with pytest.raises(I2IError, match=r"002\.png has no partner.*B/002"):
        Paired(aligned_folders, image_size=16)
    write(aligned_folders / "train" / "B" / "002.jpg", pattern(2))
    write(aligned_folders / "train" / "B" / "extra.png", pattern(9))
    with pytest.raises(I2IError, match=r"extra\.png has no partner"):
        Paired(aligned_folders, image_size=16)


def test_unpaired_lengths_and_pairing(unaligned):
    ds = Unpaired(unaligned, image_size=16, train=False, split="test")
    assert len(ds) == 4 and (len(ds.files_A), len(ds.files_B)) == (2, 4) and not ds.flip
    for i in range(4):
        item = ds[i]
        assert set(item) == {"A", "B"} and item["A"].shape == item["B"].shape == (3, 16, 16)
        assert torch.allclose(item["A"], torch.full((3, 16, 16), (60 + i % 2) / 127.5 - 1), atol=1e-5)
        assert torch.allclose(item["B"], torch.full((3, 16, 16), (120 + i) / 127.5 - 1), atol=1e-5)
    train = Unpaired(unaligned, image_size=16)
    assert len(train) == 5 and train.flip
    torch.manual_seed(0)
    bs = [round((train[0]["B"][0, 0, 0].item() + 1) * 127.5) - 200 for _ in range(40)]
    assert set(bs) == set(range(5))  # B drawn at random with torch's RNG ...
    torch.manual_seed(0)
    assert [round((train[0]["B"][0, 0, 0].item() + 1) * 127.5) - 200 for _ in range(40)] == bs  # ... reproducibly
    assert train[4]["A"][0, 0, 0].item() == pytest.approx((10 + 4 % 3) / 127.5 - 1, abs=1e-5)  # A = i % nA


@pytest.mark.parametrize("cls, skip", [(Paired, False), (Paired, True), (Unpaired, False), (Unpaired, True)])
def test_bad_images(aligned_ab, unaligned, cls, skip):
    root = aligned_ab if cls is Paired else unaligned
    bad = root / ("train/0.png" if cls is Paired else "trainA/0.png")
    bad.write_bytes(b"not an image")
    ds = cls(root, image_size=16, train=False, skip_bad=skip)
    if not skip:
        with pytest.raises(I2IError, match="0.png"):
            ds[0]
        return
    item = ds[0]
    assert item["A"].shape == (3, 16, 16) and ds.skipped == 1
    if cls is Unpaired:  # the next A file stands in
        assert item["A"][0, 0, 0].item() == pytest.approx(11 / 127.5 - 1, abs=1e-5)


def test_wrong_layouts_say_what_was_expected(tmp_path, aligned_ab, unaligned):
    folders = tmp_path / "afhq"
    for d in ("cat", "dog"):
        write(folders / "train" / d / "0.png", pattern(0))
    with pytest.raises(I2IError, match=r"trainA.*trainB.*folders:"):
        Unpaired(folders, image_size=16)
    with pytest.raises(I2IError, match=r"trainA.*trainB.*paired:"):
        Unpaired(aligned_ab, image_size=16)
    with pytest.raises(I2IError, match=r"no 'train' folder.*unpaired:"):
        Paired(unaligned, image_size=16)
    with pytest.raises(I2IError, match=r"cat, dog.*no images.*folders:"):
        Paired(folders, image_size=16)  # train/ holds cat/ and dog/, not A/ and B/ or images
    (folders / "train" / "dog").rename(folders / "train" / "A")
    with pytest.raises(I2IError, match=r"train/B does not exist"):
        Paired(folders, image_size=16)
    (folders / "test").mkdir()
    with pytest.raises(I2IError, match=r"test has no images"):
        Paired(folders, image_size=16, split="test")
    with pytest.raises(I2IError, match="does not exist"):
        Unpaired(tmp_path / "nowhere")
    with pytest.raises(I2IError, match="testA"):
        Unpaired(unaligned.parent / "facades", split="test")
    with pytest.raises(I2IError, match="load_size"):
        Paired(aligned_ab, image_size=16, load_size=8)
    (aligned_ab / "train" / "0.png").unlink()
    write(aligned_ab / "train" / "0.png", np.zeros((8, 1, 3), np.uint8))
    with pytest.raises(I2IError, match="0.png is 1 px wide"):
        Paired(aligned_ab, image_size=16)[0]


def test_build_wires_the_layouts(aligned_ab, unaligned):
    cfg = DataConfig(spec=f"paired:{aligned_ab}", image_size=16)
    train, test = data.build(cfg, "train", train=True), data.build(cfg, "test", train=False)
    assert isinstance(train, Paired) and train.train and train.flip and train.split == "train"
    assert not test.train and not test.flip and test.split == "val"  # no test/ folder: val stands in
    cfg = DataConfig(spec=f"unpaired:{unaligned}", image_size=16)
    train, test = data.build(cfg, "train", train=True), data.build(cfg, "test", train=False)
    assert isinstance(train, Unpaired) and train.train and (train.split, test.split) == ("train", "test")
    assert not test.train and data.info(test, 16).domains == ["A", "B"]
    with pytest.raises(I2IError, match="data.domains"):
        data.build(DataConfig(spec=f"unpaired:{unaligned}", image_size=16, domains=["a"]))
