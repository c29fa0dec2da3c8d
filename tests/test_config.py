import pytest

from i2i.config import RunConfig
from i2i.errors import I2IError


def test_overrides_find_their_section_and_type():
    c = RunConfig.default("stargan")
    c.apply_overrides(["steps=100", "g_conv_dim=16", "data.attributes=red,green", "lambda_rec=5",
                       "channels_last=true", "train.amp=none"])
    assert c.train.steps == 100 and c.model.g_conv_dim == 16 and c.model.lambda_rec == 5.0
    assert c.data.attributes == ["red", "green"] and c.train.channels_last is True and c.train.amp == "none"


@pytest.mark.parametrize("pair,msg", [
    ("stepz=3", "did you mean steps"),
    ("steps=abc", "steps='abc' is not a valid int"),
    ("steps=1.5", "not a valid int"),
    ("channels_last=maybe", "not a valid bool"),
    ("steps", "not key=value"),
    ("nope.steps=1", "unknown config section"),
])
def test_bad_overrides_name_the_value(pair, msg):
    with pytest.raises(I2IError, match=msg):
        RunConfig.default("stargan").apply_overrides([pair])


def test_yaml_round_trip(tmp_path):
    c = RunConfig.default("stargan")
    c.apply_overrides(["steps=7", "data.spec=shapes", "d_repeat_num=4"])
    c.save(tmp_path / "c.yaml")
    assert RunConfig.load(tmp_path / "c.yaml").to_dict() == c.to_dict()


def test_unknown_method_and_keys_in_yaml(tmp_path):
    (tmp_path / "a.yaml").write_text("method: stargann\n")
    with pytest.raises(I2IError, match="unknown method 'stargann'"):
        RunConfig.load(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("method: stargan\ntrain: {stepss: 3}\n")
    with pytest.raises(I2IError, match="unknown option train.stepss"):
        RunConfig.load(tmp_path / "b.yaml")
    (tmp_path / "c.yaml").write_text("method: [\n")
    with pytest.raises(I2IError, match="not valid YAML"):
        RunConfig.load(tmp_path / "c.yaml")


def test_every_shipped_config_loads():
    from pathlib import Path
    configs = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
    assert configs
    for path in configs:
        cfg = RunConfig.load(path)
        assert path.stem.startswith(cfg.method)


def test_official_configs_hold_each_method_s_defaults():
    import dataclasses
    from pathlib import Path
    for path in sorted((Path(__file__).parents[1] / "configs").glob("*_official.yaml")):
        cfg = RunConfig.load(path)
        default = RunConfig.default(cfg.method)
        assert dataclasses.asdict(cfg.model) == dataclasses.asdict(default.model), path.name
        assert cfg.train.batch_size == default.train.batch_size, path.name


def test_a_config_of_an_older_run_loads_with_moved_options_under_their_new_names():
    from i2i.config import RunConfig
    cfg = RunConfig.from_dict({"method": "stargan", "model": {"gp_fp32": True, "g_conv_dim": 8}})
    assert cfg.train.penalty_fp32 is True and cfg.model.g_conv_dim == 8
    assert RunConfig.from_dict({"method": "stargan", "model": {"gp_fp32": False}}).train.penalty_fp32 is False
