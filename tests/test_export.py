"""ONNX export: every translation method's graph run by onnxruntime matches PyTorch's translate."""
import dataclasses
import json

import pytest
import torch

from i2i.api import Translator
from i2i.config import RunConfig
from i2i.errors import I2IError
from i2i.tools.export import export_onnx
from i2i.methods.base import DataInfo, get_method

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'i2i[export]')")
onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'i2i[export]')")

ATTRS = DataInfo(16, attributes=["red", "green", "blue", "striped", "large"], exclusive=[["red", "green", "blue"]])
SHAPES = DataInfo(16, domains=["circle", "square", "triangle"])
TWO = DataInfo(32, domains=["A", "B"])
STAR = dict(g_conv_dim=8, d_conv_dim=8, g_repeat_num=1, d_repeat_num=3)
V2 = dict(latent_dim=4, style_dim=8, hidden_dim=16, dim_in=4, max_conv_dim=16, w_hpf=0.0)
RES = dict(netG="resnet_2blocks", ngf=8, ndf=8)
CASES = {  # id: (method, data info, model config, export options)
    "stargan": ("stargan", ATTRS, STAR, {}),
    "stargan_batchnorm_domains": ("stargan", SHAPES, {**STAR, "g_norm": "batch"}, {}),
    "matchgan": ("matchgan", ATTRS, STAR, {}),
    "stargan_v2_latent": ("stargan_v2", SHAPES, V2, {"style": "latent"}),
    "stargan_v2_reference": ("stargan_v2", SHAPES, V2, {"style": "reference"}),
    "stargan_v2_code": ("stargan_v2", SHAPES, V2, {"style": "code"}),
    "cyclegan_AtoB": ("cyclegan", TWO, RES, {}),
    "cyclegan_BtoA": ("cyclegan", TWO, RES, {"direction": "BtoA"}),
    "opgan": ("opgan", TWO, {**RES, "s_dim": 8}, {}),
    "pix2pix": ("pix2pix", TWO, dict(netG="unet_32", ngf=8, ndf=8, dropout=False), {}),
    "pix2pix_eval_mode": ("pix2pix", TWO, dict(netG="unet_32", ngf=8, ndf=8, eval_mode=True), {}),
    "dtn": ("dtn", DataInfo(16, domains=["svhn", "digits"]), {}, {}),
}


def tiny(name, info, model) -> Translator:
    cfg = RunConfig.default(name)
    cfg.model = dataclasses.replace(cfg.model, **model)
    torch.manual_seed(0)
    m = get_method(name)(cfg.model, info)
    for b in m.buffers():  # batch norm's running statistics away from (0, 1), so using them shows
        if b.is_floating_point():
            b.uniform_(0.5, 1.5)
    return Translator(m, cfg)


def feeds_and_expected(t: Translator, options: dict, n: int = 3):
    """Graph inputs for a batch of n and what the method's own translate gives for them."""
    m, s = t.method, t.image_size
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, m.info.channels, s, s, generator=g) * 2 - 1
    y = torch.arange(n) % max(len(m.info.domains), 1)
    if m.name in ("stargan", "matchgan"):
        if m.info.multi_label:
            labels = torch.randint(0, 2, (n, len(m.info.attributes)), generator=g).float()
            return {"image": x, "labels": labels}, m.translate(x, labels)
        return {"image": x, "domain": y}, m.translate(x, y)
    if m.name == "stargan_v2":
        style = options["style"]
        if style == "latent":
            z = torch.randn(n, m.cfg.latent_dim, generator=g)
            return {"image": x, "z": z, "domain": y}, m.translate(x, y, m.latent_style(y, z))
        if style == "reference":
            ref = torch.rand(n, 3, s, s, generator=g) * 2 - 1
            return {"image": x, "reference": ref, "domain": y}, m.translate(x, y, m.reference_style(ref, y))
        code = torch.randn(n, m.cfg.style_dim, generator=g)
        return {"image": x, "style": code}, m.translate(x, y, code)
    target = torch.full((n,), 0 if options.get("direction") == "BtoA" else 1)
    return {"image": x}, m.translate(x, target)


def run_onnx(path, feeds):
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {k: v.numpy() for k, v in feeds.items()})[0])


@pytest.mark.parametrize("case", sorted(CASES))
def test_onnx_graph_matches_translate(tmp_path, case):
    name, info, model, options = CASES[case]
    t = tiny(name, info, model)
    # the TorchScript exporter here: ~10x faster than dynamo on these tiny models (dynamo below)
    path = export_onnx(t, tmp_path / "m.onnx", dynamo=False, **options)
    for n in (1, 3):  # the batch axis is dynamic: the example batch was 2
        feeds, expected = feeds_and_expected(t, options, n)
        out = run_onnx(path, feeds)
        assert out.shape == expected.shape
        assert (out - expected).abs().max().item() <= 1e-4
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["i2i_method"] == name and json.loads(meta["labels"]) == list(info.labels)
    assert list(json.loads(meta["inputs"])) == list(feeds)


def test_dynamo_exports_the_high_pass_skip_the_torchscript_exporter_cannot(tmp_path):
    # w_hpf > 0 without FAN weights: all-ones masks (translate warns about it)
    t = tiny("stargan_v2", DataInfo(32, domains=["cat", "dog"]), {**V2, "w_hpf": 1.0})
    with pytest.raises(I2IError, match="dynamo=True"):
        export_onnx(t, tmp_path / "m.onnx", dynamo=False)
    path = export_onnx(t, tmp_path / "m.onnx")
    with pytest.warns(UserWarning, match="all-ones masks"):
        feeds, expected = feeds_and_expected(t, {"style": "latent"}, n=3)
    assert (run_onnx(path, feeds) - expected).abs().max().item() <= 1e-4


def test_fixed_batch_and_export_from_a_pretrained_directory(tmp_path):
    t = tiny("pix2pix", *CASES["pix2pix"][1:3])
    t.cfg.train.amp = "none"
    path = export_onnx(t.save_pretrained(tmp_path / "pre"), tmp_path / "m.onnx", batch=1, dynamo=False)
    graph = onnx.load(str(path)).graph
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1, 3, 32, 32]
    feeds, expected = feeds_and_expected(t, {}, n=1)
    assert (run_onnx(path, feeds) - expected).abs().max().item() <= 1e-4


def test_what_cannot_be_exported_says_so(tmp_path):
    v2 = tiny("stargan_v2", SHAPES, V2)
    v2.method.cfg.fan_path = "wing.ckpt"
    v2.method.cfg.w_hpf = 1.0
    with pytest.raises(I2IError, match="FAN"):
        export_onnx(v2, tmp_path / "m.onnx")
    with pytest.raises(I2IError, match="style="):
        export_onnx(tiny("stargan_v2", SHAPES, V2), tmp_path / "m.onnx", style="random")
    with pytest.raises(I2IError, match="A → B only"):
        export_onnx(tiny("pix2pix", *CASES["pix2pix"][1:3]), tmp_path / "m.onnx", direction="BtoA")
    with pytest.raises(I2IError, match="does not translate"):
        export_onnx(tiny("dcgan", DataInfo(16, channels=1, domains=list("01")), {"ngf": 8, "ndf": 8}),
                    tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())  # nothing half-written
