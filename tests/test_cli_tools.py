"""`i2i import` and `i2i export` through the CLI (the importers and exporter have their own tests)."""
from pathlib import Path

import pytest
from PIL import Image

from i2i.cli import main

FIX = Path(__file__).parent / "fixtures" / "official" / "stargan"  # made as tests/official/test_import_stargan.py says


def test_import_then_translate_then_export(tmp_path, capsys):
    run = tmp_path / "official"
    assert main(["import", "stargan", str(FIX / "20-G.ckpt"), str(FIX / "20-D.ckpt"), "--out", str(run)]) == 0
    assert "stargan" in capsys.readouterr().out
    Image.new("RGB", (40, 40), (120, 60, 20)).save(tmp_path / "a.png")
    assert main(["translate", str(run), "-i", str(tmp_path / "a.png"), "-t", "Blond_Hair", "-o",
                 str(tmp_path / "b.png")]) == 0
    assert Image.open(tmp_path / "b.png").size == (40, 40)
    assert main(["import", "stargan", str(FIX / "20-G.ckpt"), "--out", str(run)]) == 2  # never overwritten
    assert "already exists and is not empty" in capsys.readouterr().err
    assert main(["export", str(run), "--pretrained", str(tmp_path / "pre")]) == 0
    assert sorted(p.name for p in (tmp_path / "pre").iterdir()) == ["config.json", "model.safetensors"]
    pytest.importorskip("onnxruntime")
    assert main(["export", str(tmp_path / "pre"), "--onnx", str(tmp_path / "m.onnx"), "--torchscript"]) == 0
    assert (tmp_path / "m.onnx").stat().st_size > 0


def test_export_needs_a_target(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "--onnx FILE" in capsys.readouterr().err


def test_bench_passes_its_options_to_the_suite(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "speed", "--help"])
    assert e.value.code == 0 and "--official" in capsys.readouterr().out
