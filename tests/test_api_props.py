"""Property tests (hypothesis) of Translator.target_labels, the parser of targets such as
"red,striped" or "large=0": any text gives labels or an I2IError; named attributes are set."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from i2i.api import Translator
from i2i.config import RunConfig
from i2i.data import EXCLUSIVE_GROUPS
from i2i.errors import I2IError
from i2i.methods.base import DataInfo, get_method

torch.set_num_threads(1)
FAST = settings(max_examples=80, deadline=None, database=None)
ATTRS = ["red", "green", "blue", "striped", "large"]
DOMAINS = ["circle", "square", "triangle"]


def translator(**info) -> Translator:
    cfg = RunConfig.default("stargan")
    cfg.apply_overrides(["g_conv_dim=4", "d_conv_dim=4", "g_repeat_num=1", "d_repeat_num=2", "image_size=8"])
    info = DataInfo(8, **info)
    return Translator(get_method("stargan")(cfg.model, info).eval(), cfg)


MULTI = translator(attributes=ATTRS, exclusive=[g for g in ([a for a in g if a in ATTRS] for g in EXCLUSIVE_GROUPS)
                                                if len(g) > 1])
SINGLE = translator(domains=DOMAINS)
X = torch.zeros(2, 3, 8, 8)
names = st.sampled_from(ATTRS + DOMAINS + ["", " ", "Red", "purple"]) | st.text(max_size=6)
values = st.sampled_from(["0", "1", "0.0", "1.0", " 1 ", ""]) | st.text(max_size=4)
items = st.tuples(names, st.none() | values).map(lambda p: p[0] if p[1] is None else f"{p[0]}={p[1]}")
targets = st.lists(items, max_size=5).map(",".join) | st.text(max_size=30)


@FAST
@given(targets)
def test_any_target_text_gives_labels_or_an_i2ierror(target):
    for t, labels_of in ((MULTI, len(ATTRS)), (SINGLE, None)):
        try:
            y = t.target_labels(X, target)
        except I2IError as e:
            assert "\n" not in str(e) or "\n" in target
            continue
        assert y.shape == ((2, labels_of) if labels_of else (2,))


@FAST
@given(st.lists(st.tuples(st.sampled_from(ATTRS), st.sampled_from([0, 1])), min_size=1, max_size=6))
def test_named_attributes_are_set_and_colours_exclude_each_other(pairs):
    y = MULTI.target_labels(X, ",".join(f"{a}={v}" for a, v in pairs))
    named = dict(pairs)  # applied in first-named order, each with its last value
    for a in ("striped", "large"):
        if a in named:
            assert (y[:, ATTRS.index(a)] == named[a]).all()
    on = [a for a in named if a in ATTRS[:3] and named[a]]
    if on:  # the last colour switched on is the only one set
        assert y[:, :3].tolist() == [[float(c == on[-1]) for c in ATTRS[:3]]] * 2


@FAST
@given(st.sampled_from(DOMAINS), st.sampled_from(["", " ", "  "]))
def test_a_domain_name_gives_its_index(name, pad):
    assert SINGLE.target_labels(X, pad + name + pad).tolist() == [DOMAINS.index(name)] * 2


@pytest.mark.parametrize("target", ["large=nan", "large=inf", "striped=2", "large=-1", {"large": [1]}])
def test_attribute_values_must_be_0_or_1(target):
    with pytest.raises(I2IError, match="must be 0 or 1"):
        MULTI.target_labels(X, target)
