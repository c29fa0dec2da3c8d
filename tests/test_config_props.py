"""Property tests (hypothesis) of config overrides and the YAML round trip: typed values survive
`key=value` and save/load; whatever a user types gives a value or an I2IError, nothing else."""
import dataclasses
import string
import tempfile
import typing
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from i2i.config import RunConfig
from i2i.errors import I2IError

FAST = settings(max_examples=50, deadline=None, database=None)
METHODS = ["stargan", "stargan_v2", "cyclegan", "dcgan"]


def fields(method: str) -> list[tuple[str, type]]:
    """(section.name, type) of every plainly typed option of a method's config."""
    cfg = RunConfig.default(method)
    out = []
    for section in RunConfig.SECTIONS:
        obj = getattr(cfg, section)
        hints = typing.get_type_hints(type(obj))
        out += [(f"{section}.{f.name}", hints[f.name]) for f in dataclasses.fields(obj)
                if hints[f.name] in (int, float, bool, str, list[str])]
    return out


token = st.text(string.ascii_letters + string.digits + "_-/:", min_size=1, max_size=12).filter(
    lambda s: s.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "y", "n"))
VALUES = {int: st.integers(-10 ** 12, 10 ** 12), bool: st.booleans(), str: token, list[str]: st.lists(token, max_size=4),
          float: st.floats(allow_nan=False, allow_infinity=False, width=64)}


@st.composite
def typed_settings(draw):
    method = draw(st.sampled_from(METHODS))
    chosen = draw(st.lists(st.sampled_from(fields(method)), min_size=1, max_size=6, unique_by=lambda f: f[0]))
    return method, {key: draw(VALUES[hint]) for key, hint in chosen}


def as_override(key: str, value) -> str:
    if isinstance(value, list):
        return f"{key}=[{', '.join(value)}]"
    return f"{key}={repr(value) if isinstance(value, float) else value}"


def get(cfg: RunConfig, key: str):
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


@FAST
@given(typed_settings())
def test_overrides_set_typed_values_and_survive_yaml(case):
    method, values = case
    cfg = RunConfig.default(method)
    cfg.apply_overrides([as_override(k, v) for k, v in values.items()])
    for key, value in values.items():
        got = get(cfg, key)
        assert got == value and type(got) is type(value), (key, value, got)
    with tempfile.TemporaryDirectory() as d:
        cfg.save(Path(d) / "c.yaml")
        assert RunConfig.load(Path(d) / "c.yaml").to_dict() == cfg.to_dict()


@FAST
@given(st.sampled_from(METHODS), st.text(max_size=12), st.text(max_size=40))
def test_any_override_text_gives_a_value_or_an_i2ierror(method, key, raw):
    cfg = RunConfig.default(method)
    for pair in (f"{key}={raw}", raw, f"train.steps={raw}", f"data.attributes={raw}", f"model.{key}={raw}"):
        try:
            cfg.apply_overrides([pair])
        except I2IError as e:
            if "\n" not in pair:
                assert "\n" not in str(e)
    assert isinstance(cfg.train.steps, int) and all(isinstance(a, str) for a in cfg.data.attributes)


@FAST
@given(st.sampled_from(METHODS), st.text(string.ascii_lowercase + "_.", min_size=1, max_size=16))
def test_unknown_keys_are_i2ierrors(method, key):
    cfg = RunConfig.default(method)
    known = {k for k, _ in fields(method)} | {k.split(".")[1] for k, _ in fields(method)}
    known |= {f"{s}.{f.name}" for s in RunConfig.SECTIONS for f in dataclasses.fields(getattr(cfg, s))}
    known |= {f.name for s in RunConfig.SECTIONS for f in dataclasses.fields(getattr(cfg, s))}
    if key in known:
        return
    try:
        cfg.apply_overrides([f"{key}=1"])
    except I2IError:
        return
    raise AssertionError(f"{key}=1 was accepted")


@FAST
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_config_file_loads_or_gives_an_i2ierror(data):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "c.yaml").write_bytes(data)
        try:
            cfg = RunConfig.load(Path(d) / "c.yaml")
        except I2IError:
            return
        assert isinstance(cfg, RunConfig)


@FAST
@given(st.sampled_from(METHODS), st.dictionaries(st.sampled_from(["model", "data", "train", "method", "x"]),
                                                 st.none() | st.integers() | st.text(max_size=8)
                                                 | st.lists(st.integers(), max_size=2)
                                                 | st.dictionaries(token, st.integers() | token, max_size=3),
                                                 max_size=4))
def test_any_mapping_becomes_a_config_or_an_i2ierror(method, d):
    try:
        RunConfig.from_dict({"method": method, **d})
    except I2IError:
        pass
