import json

import pytest
from PIL import Image

from i2i.cli import main

def folders(root, n=2, domains=("circle", "square", "triangle"), size=24):
    for split in ("train", "val"):
        for k, d in enumerate(domains):
            (root / split / d).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (size, size), (60 * k + 20 * i, 100, 180 - 30 * i)).save(root / split / d / f"{i}.png")
    return root


def test_protocol_through_the_cli_writes_official_json(run_v2, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("I2I_CACHE_DIR", str(tmp_path / "cache"))
    data = folders(tmp_path / "data", n=2)
    out = tmp_path / "eval"
    assert main(["eval", str(run_v2), "--protocol", "stargan-v2", "--data", str(data), "--out", str(out),
                 "--modes", "latent", "--num-outs", "2", "--allow-random-weights", "--device", "cpu"]) == 0
    printed = capsys.readouterr()
    assert "random Inception weights" in printed.err and "random LPIPS weights" in printed.err and "circle2square" in printed.out
    fid = json.loads((out / "FID_00003_latent.json").read_text())
    lp = json.loads((out / "LPIPS_00003_latent.json").read_text())
    assert len(fid) == len(lp) == 7 and fid["FID_latent/mean"] > 0 and lp["LPIPS_latent/mean"] > 0
    assert sorted(p.name for p in (out / "latent" / "square2triangle").iterdir()) == ["0001_01.png", "0001_02.png",
                                                                                "0002_01.png", "0002_02.png"]


def test_protocol_refuses_without_weights_or_data(run_v2, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("I2I_INCEPTION", raising=False)
    data = folders(tmp_path / "data", n=1)
    assert main(["eval", str(run_v2), "--protocol", "stargan-v2"]) == 2
    assert "--data ROOT" in capsys.readouterr().err
    assert main(["eval", str(run_v2), "--protocol", "stargan-v2", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pt_inception" in err and "I2I_INCEPTION" in err


def test_metric_commands_on_folders(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("I2I_CACHE_DIR", str(tmp_path / "cache"))
    data = folders(tmp_path / "data", n=3, size=32)
    a, b = data / "train" / "circle", data / "train" / "square"
    assert main(["metric", "fid", str(a), str(b), "--allow-random-weights", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["fid"] > 0 and r["n_a"] == r["n_b"] == 3 and r["variant"] == "pytorch-fid"
    assert main(["metric", "fid", str(a), str(a), "--allow-random-weights", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fid"] == pytest.approx(0, abs=1e-6)
    assert main(["metric", "kid", str(a), str(b), "--allow-random-weights", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kid_std"] >= 0
    assert main(["metric", "lpips", str(a), str(b), "--allow-random-weights", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["pairs"] == 3 and r["lpips"] > 0 and r["net"] == "alex"
    assert main(["metric", "lpips", str(a), str(a), "--allow-random-weights", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lpips"] == 0
    assert main(["metric", "fid", str(a), str(tmp_path / "nope"), "--allow-random-weights"]) == 2
    assert "is not a folder" in capsys.readouterr().err
