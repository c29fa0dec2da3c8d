"""The Method contract, over every registered method: it builds and takes a training step on a
tiny config, and its run loads and translates or generates through the public API, asked only by
what the method declares (methods/base.py's capabilities); its pretrained folder gives the same
outputs, and a translation method's ONNX graph runs."""
import ast
from pathlib import Path

import pytest
import torch

import i2i
from i2i.cli import main
from i2i.methods.base import (ByLabels, Classifies, Generates, Method, ReadsCategory, Styled, Traverses, TwoDomains,
                              Translates, available, get_method)

COMMON = ["steps=1", "logger=none", "amp=none", "sample_every=1000", "save_every=1"]
SMALL = ["data.image_size=32", "n_train=16", "n_test=4"]
STAR = [*SMALL, "g_conv_dim=8", "d_conv_dim=8", "g_repeat_num=1", "d_repeat_num=3", "n_critic=1"]
TWO = [*SMALL, "ngf=8", "ndf=8", "batch_size=2"]
DIGITS = ["image_size=16", "ngf=8", "ndf=8", "batch_size=8"]
TINY = {  # method: (data spec, overrides); every registered method has a row (test below)
    "gan": ("ring", ["n_train=64", "z_dim=2", "g_hidden=[16]", "d_units=8", "batch_size=8"]),
    "dcgan": ("digits", DIGITS),
    "cgan": ("digits", DIGITS),
    "wgan": ("digits", DIGITS),
    "wgan_gp": ("digits", DIGITS),
    "infogan": ("digits", ["batch_size=8"]),
    "stargan": ("shapes", [*STAR, "batch_size=4"]),
    "matchgan": ("shapes", [*STAR, "batch_size=12", "n_train=48", "labelled_fraction=0.5"]),
    "stargan_v2": ("shapes", [*SMALL, "data.domains=[circle,square,triangle]", "latent_dim=4", "style_dim=8",
                              "hidden_dim=16", "dim_in=8", "max_conv_dim=16", "w_hpf=0", "batch_size=2"]),
    "munit": ("shapes", [*SMALL, "data.domains=[circle,square]", "dim=8", "mlp_dim=16", "n_res=1", "d_dim=8",
                         "d_layers=3", "batch_size=4"]),
    "cyclegan": ("shapes:unpaired", [*TWO, "netG=resnet_1blocks", "pool_size=2"]),
    "opgan": ("shapes:unpaired", [*TWO, "netG=resnet_1blocks", "pool_size=2", "s_dim=8"]),
    "pix2pix": ("shapes:paired", [*TWO, "netG=unet_32"]),
    "dtn": ("digits:svhn", ["f_steps=1", "batch_size=8"]),
}


def test_every_registered_method_has_a_tiny_config_here():
    assert sorted(TINY) == available()


@pytest.fixture(scope="module", params=sorted(TINY))
def run(request, tmp_path_factory):
    name = request.param
    spec, overrides = TINY[name]
    out = tmp_path_factory.mktemp("contract") / name
    assert main(["train", name, "--data", spec, "--out", str(out), "--no-progress", *COMMON, *overrides]) == 0
    return name, out


def outputs(t) -> list[torch.Tensor]:
    """What the run makes, asked through the public API by capability only."""
    m = t.method
    torch.manual_seed(3)
    if isinstance(m, Generates):
        made = [m.generate(4, generator=torch.Generator().manual_seed(1))]
        if isinstance(m, Traverses):
            made.append(m.traverse(1, 3, generator=torch.Generator().manual_seed(1)).flatten(0, 1))
        return made
    x = torch.rand(2, m.info.channels, t.image_size, t.image_size, generator=torch.Generator().manual_seed(2)) * 2 - 1
    if isinstance(m, TwoDomains):
        return [t.translate(x, None if m.one_way else "BtoA"), t.translate(x, "AtoB")]
    target = m.info.domains[-1] if m.info.domains else m.info.attributes[0]
    if isinstance(m, Styled):
        return [*t.translate(x, target, seed=1, n=2), t.translate(x, reference=x.flip(0))]
    return [t.translate(x, target)]


def test_a_run_loads_and_makes_outputs_through_the_public_api(run, tmp_path):
    name, out = run
    t = i2i.load(out, device="cpu")
    assert isinstance(t.method, get_method(name)) and isinstance(t.method, Method)
    assert isinstance(t.method, (Generates, Translates))  # every method does one or the other
    made = outputs(t)
    assert made and all(o.isfinite().all() for o in made)
    if isinstance(t.method, Translates):
        assert all(o.shape[-2:] == (t.image_size, t.image_size) for o in made)
    if isinstance(t.method, ReadsCategory):
        x = torch.zeros(3, t.method.info.channels, t.image_size, t.image_size)
        assert t.method.read_category(x).shape == (3,)
    if isinstance(t.method, Classifies) and t.method.info.multi_label:
        x = torch.zeros(3, 3, t.image_size, t.image_size)
        assert t.method.classify(x).shape == (3, len(t.method.info.attributes))

    back = i2i.load(t.save_pretrained(tmp_path / "pretrained"), device="cpu")
    for a, b in zip(made, outputs(back)):
        assert torch.equal(a, b), f"{name}: the pretrained folder gives other outputs"


def test_a_translation_method_exports_its_graph(run, tmp_path):
    name, out = run
    t = i2i.load(out, device="cpu")
    if not isinstance(t.method, Translates):
        pytest.skip(f"{name} generates; it has no translation graph")
    pytest.importorskip("onnx", reason="onnx is not installed (pip install 'i2i[export]')")
    from i2i.tools.export import export_onnx
    graph = t.method.export_graph("latent", "AtoB")
    assert set(graph.inputs) >= {"image"} and all(v.size(0) == 1 for v in graph.inputs.values())
    path = export_onnx(t, tmp_path / f"{name}.onnx", dynamo=False)
    assert path.stat().st_size > 0


def test_capabilities_are_declared_consistently():
    for name in available():
        cls = get_method(name)
        assert issubclass(cls, (Generates, Translates)), name
        assert not (issubclass(cls, Generates) and issubclass(cls, Translates)), name
        assert issubclass(cls, TwoDomains) == cls.two_domain, name
        if issubclass(cls, Styled):
            assert issubclass(cls, ByLabels), name
        assert cls.inference_networks, name


def test_no_file_outside_methods_and_official_names_a_method_by_string():
    """The rest of the library asks the contract: no string constant there is a method's name."""
    root = Path(i2i.__file__).parent
    names = set(available())
    found = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("methods/", "official/")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found.append(f"{rel}:{node.lineno} {node.value!r}")
    assert not found, found
