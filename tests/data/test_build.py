import pytest
import torch
from PIL import Image

from i2i import data
from i2i.config import DataConfig, RunConfig
from i2i.data.layouts import DomainFolders
from i2i.data.shapes import PALETTE, ShapesDataset
from i2i.errors import I2IError

torch.set_num_threads(1)


def test_shapes_domain_mode():
    cfg = DataConfig(image_size=32, n_train=30, n_test=6, domains=["circle", "square", "triangle"])
    ds = data.build(cfg)
    assert isinstance(ds, ShapesDataset) and ds.domains == ["circle", "square", "triangle"] and ds.attributes == []
    assert set(ds.colours) == set(PALETTE) and ds.p_large == 0.5
    item = ds[0]
    assert item["label"].shape == () and item["label"].dtype == torch.long and item["content"].shape == (5,)
    info = data.info(ds, 32)
    assert info.domains == ["circle", "square", "triangle"] and info.attributes == [] and info.exclusive == []
    assert len(data.build(cfg, "test", train=False)) == 6
    two = data.build(DataConfig(image_size=32, n_train=20, domains=["square", "circle"], attributes=["red", "blue"]))
    assert {two.params(i).shape for i in range(20)} == {"square", "circle"}
    assert {two.params(i).colour for i in range(20)} <= {"red", "blue"}


@pytest.mark.parametrize("kw, msg", [
    (dict(domains=["circle", "hexagon"]), "hexagon"),
    (dict(domains=["circle", "square"], attributes=["striped"]), "striped"),
    (dict(random_crop_prob=1.5), "random_crop_prob"),
    (dict(spec="celeba:/nowhere", domains=["a"]), "CelebA"),
])
def test_bad_domain_settings_name_the_value(kw, msg):
    with pytest.raises(I2IError, match=msg):
        data.build(DataConfig(image_size=32, n_train=4, **kw))


def test_folders_random_crop_only_when_training(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        Image.new("RGB", (20, 20)).save(tmp_path / d / "0.png")
    cfg = DataConfig(spec=f"folders:{tmp_path}", image_size=16, random_crop_prob=0.5, domains=["b"])
    train, test = data.build(cfg, "train", train=True), data.build(cfg, "test", train=False)
    assert isinstance(train, DomainFolders) and train.rand_crop == 0.5 and train.flip
    assert test.rand_crop == 0.0 and not test.flip
    assert train.domains == ["b"] and data.info(train, 16).domains == ["b"]


def test_yaml_round_trip_with_the_new_fields(tmp_path):
    cfg = RunConfig.default("stargan")
    cfg.apply_overrides(["domains=circle,triangle", "random_crop_prob=0.5"])
    assert cfg.data.domains == ["circle", "triangle"] and cfg.data.random_crop_prob == 0.5
    cfg.save(tmp_path / "c.yaml")
    back = RunConfig.load(tmp_path / "c.yaml")
    assert back.to_dict() == cfg.to_dict() and back.data.domains == ["circle", "triangle"]
    assert RunConfig.default("stargan").data.domains == [] and DataConfig().random_crop_prob == 0.0
