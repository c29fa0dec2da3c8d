import json

import pytest
import torch
from PIL import Image

from i2i.errors import I2IError
from i2i.methods.base import DataInfo
from i2i.methods.stargan_v2 import StarGANv2, StarGANv2Config
from i2i.metrics.protocol import evaluate_stargan_v2, split_dirs

DOMAINS = ["cat", "dog", "wild"]


def tiny() -> StarGANv2:
    torch.manual_seed(0)
    cfg = StarGANv2Config(latent_dim=4, style_dim=8, hidden_dim=16, dim_in=4, max_conv_dim=16, w_hpf=0)
    return StarGANv2(cfg, DataInfo(16, domains=DOMAINS)).eval()


def afhq_like(root, n_val=3, n_train=2):
    """root/{train,val}/<domain>/*.png with a different flat colour per image."""
    k = 0
    for split, n in (("train", n_train), ("val", n_val)):
        for d in DOMAINS:
            (root / split / d).mkdir(parents=True)
            for i in range(n):
                k += 1
                Image.new("RGB", (20, 20), (40 * k % 256, 90, 200 - 7 * k)).save(root / split / d / f"{i}.png")
    return root


class Recorder:
    """Stands in for the metrics: records what the protocol hands them."""

    def __init__(self):
        self.fid_calls, self.groups = [], []

    def fid(self, real, fake):
        self.fid_calls.append((real, fake))
        return float(len(self.fid_calls))

    def lpips(self, group):
        self.groups.append(group)
        return float(torch.stack(group).std(0).mean())  # spread over the outputs of each input


def test_every_ordered_pair_both_modes_official_names(tmp_path):
    data, out, rec = afhq_like(tmp_path / "afhq"), tmp_path / "eval", Recorder()
    r = evaluate_stargan_v2(tiny(), data, out, rec.fid, rec.lpips, step=100000, num_outs=4, batch_size=2,
                            progress=False)
    tasks = [f"{s}2{t}" for t in DOMAINS for s in DOMAINS if s != t]
    for mode in ("latent", "reference"):
        fid = json.loads((out / f"FID_100000_{mode}.json").read_text())
        lp = json.loads((out / f"LPIPS_100000_{mode}.json").read_text())
        assert list(fid) == [f"FID_{mode}/{t}" for t in tasks] + [f"FID_{mode}/mean"]
        assert list(lp) == [f"LPIPS_{mode}/{t}" for t in tasks] + [f"LPIPS_{mode}/mean"]
        assert fid[f"FID_{mode}/mean"] == pytest.approx(sum(list(fid.values())[:-1]) / 6)
        assert all(v > 0 for v in lp.values())  # 4 different outputs per input in both modes
        for t in tasks:  # 3 val images x 4 outputs, named <image>_<output>.png
            names = sorted(p.name for p in (out / mode / t).iterdir())
            assert names == [f"{i:04d}_{j:02d}.png" for i in (1, 2, 3) for j in (1, 2, 3, 4)]
    assert r["FID_latent/dog2cat"] == 1.0  # targets outermost, as the official loop
    # FID compares with the target domain's *training* images
    assert rec.fid_calls[2] == (data / "train" / "dog", out / "latent" / "cat2dog")
    # 6 tasks x 2 modes x 2 batches (2 + 1 val images), each a group of 4 outputs
    assert len(rec.groups) == 24 and all(len(g) == 4 for g in rec.groups)
    assert [g[0].shape[0] for g in rec.groups[:2]] == [2, 1]


def test_seeded_and_rerun_replaces_outputs(tmp_path):
    data = afhq_like(tmp_path / "afhq")
    a, b = Recorder(), Recorder()
    kw = dict(step=1, modes=("latent",), num_outs=2, batch_size=4, progress=False)
    evaluate_stargan_v2(tiny(), data, tmp_path / "e", a.fid, a.lpips, **kw)
    first = (tmp_path / "e" / "latent" / "cat2dog" / "0001_01.png").read_bytes()
    (tmp_path / "e" / "latent" / "cat2dog" / "0009_01.png").write_bytes(first)  # a stale output
    evaluate_stargan_v2(tiny(), data, tmp_path / "e", b.fid, b.lpips, **kw)
    assert (tmp_path / "e" / "latent" / "cat2dog" / "0001_01.png").read_bytes() == first
    assert not (tmp_path / "e" / "latent" / "cat2dog" / "0009_01.png").exists()
    assert all(torch.equal(x, y) for ga, gb in zip(a.groups, b.groups) for x, y in zip(ga, gb))


def test_layout_and_domain_errors(tmp_path):
    with pytest.raises(I2IError, match="no train/ folder"):
        split_dirs(tmp_path)
    data = afhq_like(tmp_path / "afhq")
    (data / "val" / "fox").mkdir()
    with pytest.raises(I2IError, match="domain folders differ"):
        split_dirs(data)
    (data / "train" / "fox").mkdir()
    rec = Recorder()
    with pytest.raises(I2IError, match="trained on"):
        evaluate_stargan_v2(tiny(), data, tmp_path / "e", rec.fid, rec.lpips, step=1, progress=False)
