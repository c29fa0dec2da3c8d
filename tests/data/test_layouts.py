import random

import numpy as np
import pytest
import torch
from PIL import Image

from i2i.data import images as im
from i2i.data.layouts import LAYOUTS, CelebA, DomainFolders, open_dataset
from i2i.errors import I2IError

torch.set_num_threads(1)

NAMES = ("5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
         "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
         "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
         "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
         "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young").split()
N = 30


def values(i):
    """Deterministic ±1 attribute values for image i."""
    return [1 if (i * 7 + k * 3) % 5 < 2 else -1 for k in range(40)]


def write_attr(path, lines, count=None):
    body = "".join(f"{name} " + " ".join(f"{v:2d}" for v in vals) + "\n" for name, vals in lines)
    path.write_text(f"{len(lines) if count is None else count}\n" + " ".join(NAMES) + " \n" + body)


@pytest.fixture
def celeba(tmp_path):
    root = tmp_path / "celeba"
    (root / "images").mkdir(parents=True)
    for i in range(N):
        a = np.full((220, 200, 3), 8 * i, np.uint8)  # H=220, W=200; a constant grey per image
        Image.fromarray(a).save(root / "images" / f"{i + 1:06d}.png")
    write_attr(root / "list_attr_celeba.txt", [(f"{i + 1:06d}.png", values(i)) for i in range(N)])
    return root


def test_celeba_labels_split_and_shapes(celeba):
    attrs = ["Black_Hair", "Male", "Young"]
    train = CelebA(celeba, attributes=attrs, test_size=5)
    test = CelebA(celeba, attributes=attrs, split="test", test_size=5)
    assert (len(train), len(test)) == (N - 5, 5) and train.attributes == attrs
    assert train.labels.shape == (N - 5, 3) and train.labels.dtype == torch.float32
    # the split is StarGAN's: random.seed(1234); random.shuffle(lines); first test_size are test
    lines = (celeba / "list_attr_celeba.txt").read_text().splitlines()[2:]
    state = random.getstate()
    random.seed(1234)
    random.shuffle(lines)
    random.setstate(state)
    order = [ln.split()[0] for ln in lines]
    assert [f.name for f in test.files] == order[:5] and [f.name for f in train.files] == order[5:]
    for ds in (train, test):
        for f, lab in zip(ds.files, ds.labels):
            vals = values(int(f.stem) - 1)
            assert lab.tolist() == [float(vals[NAMES.index(a)] == 1) for a in attrs]
    item = test[0]
    assert item["image"].shape == (3, 128, 128) and torch.equal(item["label"], test.labels[0])
    grey = 8 * (int(test.files[0].stem) - 1) / 127.5 - 1
    assert torch.allclose(item["image"], torch.full((3, 128, 128), grey), atol=1e-5)


def test_celeba_other_layouts(celeba, tmp_path):
    (celeba / "images").rename(celeba / "img_align_celeba")
    assert len(CelebA(celeba, test_size=5)) == N - 5
    attr = tmp_path / "attrs.txt"
    (celeba / "list_attr_celeba.txt").rename(attr)
    ds = open_dataset(f"celeba:{celeba / 'img_align_celeba'}", attr_file=attr, split="test", test_size=5)
    assert isinstance(ds, CelebA) and len(ds) == 5


def test_celeba_errors(celeba, tmp_path):
    with pytest.raises(I2IError, match="Blond_Hair"):
        CelebA(celeba, attributes=["Blonde_Hair"])
    attr = celeba / "list_attr_celeba.txt"
    lines = [(f"{i + 1:06d}.png", values(i)) for i in range(N)]
    write_attr(attr, lines[:3] + [(lines[3][0], lines[3][1][:-1])] + lines[4:])
    with pytest.raises(I2IError, match=r"list_attr_celeba.txt line 6: 40 columns"):
        CelebA(celeba)
    bad = list(lines[4][1])
    bad[NAMES.index("Male")] = 2
    write_attr(attr, lines[:4] + [(lines[4][0], bad)] + lines[5:])
    with pytest.raises(I2IError, match="line 7.*Male"):
        CelebA(celeba, test_size=5)
    write_attr(attr, lines, count=1000)
    with pytest.raises(I2IError, match="truncated"):
        CelebA(celeba)
    write_attr(attr, lines)
    with pytest.raises(I2IError, match="empty"):
        CelebA(celeba)  # test_size 1999 leaves no training images
    with pytest.raises(I2IError, match="attribute file"):
        CelebA(tmp_path)
    (celeba / "images").rename(celeba / "pics")
    with pytest.raises(I2IError, match="no image folder"):
        CelebA(celeba, test_size=5)
    (celeba / "pics").rename(celeba / "images")
    ds = CelebA(celeba, split="test", test_size=5)
    ds.files[0].unlink()
    with pytest.raises(I2IError, match=ds.files[0].name):
        ds[0]


def make_folders(root, counts, size=(24, 20)):
    for d, n in counts.items():
        (root / d).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", size, (10 * i, 0, 0)).save(root / d / f"{i}.{'PNG' if i % 2 else 'jpg'}")
    return root


def test_domain_folders(tmp_path):
    root = make_folders(tmp_path / "afhq", {"dog": 3, "cat": 2, "wild": 1})
    (root / "cat" / ".hidden.png").write_bytes(b"junk")
    (root / "cat" / "notes.txt").write_text("skip me")
    ds = DomainFolders(root, image_size=16)
    assert ds.domains == ["cat", "dog", "wild"] and len(ds) == 6
    assert ds.labels.tolist() == [0, 0, 1, 1, 1, 2]
    item = ds[2]
    assert item["image"].shape == (3, 16, 16) and item["label"].dtype == torch.long and item["label"] == 1
    assert len(DomainFolders(root, image_size=16, domains=["dog"])) == 3
    assert isinstance(open_dataset(f"folders:{root}", image_size=8), DomainFolders)
    (root / "empty").mkdir()
    with pytest.raises(I2IError, match="empty"):
        DomainFolders(root)
    with pytest.raises(I2IError, match="does not exist"):
        DomainFolders(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    with pytest.raises(I2IError, match="no domain folders"):
        DomainFolders(tmp_path / "flat")


def test_domain_folders_splits(tmp_path):
    root = tmp_path / "data"
    make_folders(root / "train", {"a": 2, "b": 2})
    make_folders(root / "val", {"a": 1, "b": 1})
    assert len(DomainFolders(root, image_size=8, split="train")) == 4
    val = DomainFolders(root, image_size=8, split="val", flip=False)
    assert len(val) == 2 and val.domains == ["a", "b"]
    with pytest.raises(I2IError, match="split="):
        DomainFolders(root)
    make_folders(root / "val", {"c": 1})
    with pytest.raises(I2IError, match="differ"):
        DomainFolders(root, split="train")


def test_skip_bad(tmp_path):
    root = make_folders(tmp_path / "d", {"x": 3})
    (root / "x" / "0.jpg").write_bytes(b"broken")
    with pytest.raises(I2IError, match="0.jpg"):
        DomainFolders(root, image_size=8)[0]
    ds = DomainFolders(root, image_size=8, skip_bad=True)
    assert ds[0]["image"].shape == (3, 8, 8) and ds.skipped == 1


def test_open_dataset_registry(tmp_path):
    with pytest.raises(I2IError, match="celeba.*folders"):
        open_dataset("imagenet:/x")
    LAYOUTS["dummy"] = lambda path, **kw: ("dummy", path, kw)
    try:
        assert open_dataset("dummy", n=3) == ("dummy", "", {"n": 3})
    finally:
        del LAYOUTS["dummy"]
    with pytest.raises(I2IError, match="needs a path"):
        open_dataset("folders:")


def test_domain_folders_targets_need_no_decoding(tmp_path):
    root = make_folders(tmp_path / "d", {"a": 2, "b": 3})
    ds = DomainFolders(root, image_size=8)
    for f in ds.files:
        f.write_bytes(b"not an image")  # targets must not read the files
    assert ds.targets == [0, 0, 1, 1, 1]


def test_random_crop_probability(tmp_path):
    root = tmp_path / "d" / "x"
    root.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    Image.fromarray((torch.rand(24, 32, 3, generator=g) * 255).byte().numpy()).save(root / "0.png")
    img = im.to_tensor(im.load_image(root / "0.png"))
    today = im.center_crop(im.resize(img, 16), 16)  # the pipeline without random crop
    for flip in (False, True):
        torch.manual_seed(5)
        expect = im.random_flip(today) if flip else today
        torch.manual_seed(5)
        assert torch.equal(DomainFolders(root.parent, image_size=16, flip=flip, rand_crop=0.0)[0]["image"], expect)
    always = DomainFolders(root.parent, image_size=16, flip=False, rand_crop=1.0)
    crops = [always[0]["image"] for _ in range(10)]
    assert all(c.shape == (3, 16, 16) for c in crops)
    assert sum(not torch.equal(c, today) for c in crops) >= 8
    half = DomainFolders(root.parent, image_size=16, flip=False, rand_crop=0.5)
    assert 5 < sum(not torch.equal(half[0]["image"], today) for _ in range(40)) < 35
