import numpy as np
import pytest
import torch
from PIL import Image

from i2i.config import DataConfig
from i2i.data import build, info
from i2i.data.joint import JointDataset
from i2i.data.shapes import ShapesDataset
from i2i.errors import I2IError


class Domains(torch.utils.data.Dataset):
    """A single-label dataset (like RaFD): domain indices."""
    domains = ["angry", "happy", "sad"]

    def __init__(self, n=6):
        self.labels = torch.arange(n) % 3

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"image": torch.zeros(3, 32, 32), "label": self.labels[i]}


def joint():
    shapes = ShapesDataset(4, 32, attributes=["red", "green", "blue", "large"])
    return shapes, JointDataset([shapes, Domains()], ["shapes", "faces"])


def test_labels_are_laid_out_per_dataset_with_the_unknown_part_zero_and_a_one_hot_mask():
    shapes, ds = joint()
    assert len(ds) == 10 and ds.attributes == ["red", "green", "blue", "large", "angry", "happy", "sad"]
    first = ds[1]
    assert torch.equal(first["label"][:4], shapes[1]["label"]) and torch.equal(first["label"][4:], torch.zeros(3))
    assert torch.equal(first["mask"], torch.tensor([1.0, 0.0]))
    face = ds[4 + 2]  # part 1, item 2: domain "sad" as a one-hot slice
    assert torch.equal(face["label"], torch.tensor([0, 0, 0, 0, 0, 0, 1.0]))
    assert torch.equal(face["mask"], torch.tensor([0.0, 1.0]))
    assert torch.equal(ds.labels, torch.stack([ds[i]["label"] for i in range(len(ds))]))
    assert ds.label_mask().sum(0).tolist() == [4, 6]


def test_info_names_each_dataset_and_its_exclusive_labels():
    _, ds = joint()
    i = info(ds, 32)
    assert [d["name"] for d in i.datasets] == ["shapes", "faces"]
    assert [d["multi_label"] for d in i.datasets] == [True, False]
    assert ["red", "green", "blue"] in i.exclusive and ["angry", "happy", "sad"] in i.exclusive


def test_a_label_name_in_two_datasets_is_refused():
    with pytest.raises(I2IError, match="also belong"):
        JointDataset([ShapesDataset(2, 32, attributes=["red", "large"]), ShapesDataset(2, 32, attributes=["large"])],
                     ["a", "b"])


def test_shapes_joint_is_built_in_colours_and_background_bands():
    ds = build(DataConfig(spec="shapes:joint", image_size=32, n_train=20, n_test=5))
    assert ds.names == ["shapes-colours", "shapes-backgrounds"] and len(ds) == 40
    assert ds.attributes == ["red", "green", "blue", "dark_bg", "mid_bg", "light_bg"]
    assert not torch.equal(ds.parts[0][0]["image"], ds.parts[1][0]["image"])  # different images (seeds)
    assert len(build(DataConfig(spec="shapes:joint", image_size=32, n_train=20, n_test=5), "test")) == 10


def test_celeba_and_domain_folders_train_jointly(tmp_path):
    from tests.data.test_layouts import values, write_attr
    celeba = tmp_path / "celeba"
    (celeba / "images").mkdir(parents=True)
    N = 2005  # StarGAN's split keeps 1,999 images for test
    for i in range(N):
        Image.fromarray(np.full((4, 4, 3), i % 250, np.uint8)).save(celeba / "images" / f"{i + 1:06d}.png")
    write_attr(celeba / "list_attr_celeba.txt", [(f"{i + 1:06d}.png", values(i)) for i in range(N)])
    rafd = tmp_path / "rafd"
    for d in ("angry", "happy"):
        (rafd / d).mkdir(parents=True)
        for j in range(3):
            Image.fromarray(np.full((40, 40, 3), 50 * j, np.uint8)).save(rafd / d / f"{j}.png")
    cfg = DataConfig(spec=f"celeba:{celeba}", joint=[f"folders:{rafd}"], image_size=32, crop=4,
                     attributes=["Black_Hair", "Male"])
    ds = build(cfg, "train")
    assert ds.attributes == ["Black_Hair", "Male", "angry", "happy"] and len(ds) == 6 + 6
    assert [d["multi_label"] for d in info(ds, 32).datasets] == [True, False]
    item = ds[len(ds) - 1]
    assert torch.equal(item["label"], torch.tensor([0, 0, 0, 1.0])) and torch.equal(item["mask"], torch.tensor([0, 1.0]))


def test_a_two_domain_dataset_cannot_join():
    with pytest.raises(I2IError, match="cannot join"):
        build(DataConfig(spec="shapes", joint=["shapes:unpaired"], image_size=32, n_train=4))
