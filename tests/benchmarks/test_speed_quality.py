"""benchmarks/speed_quality.py: two tiny StarGAN runs per setting through train and the oracle."""
import json

import pytest
import yaml

TINY = {"method": "stargan",
        "model": {"g_conv_dim": 8, "d_conv_dim": 8, "g_repeat_num": 1, "d_repeat_num": 3, "n_critic": 1},
        "data": {"spec": "shapes", "image_size": 32, "n_train": 16, "n_test": 8},
        "train": {"steps": 2, "batch_size": 4, "logger": "none", "save_every": 2, "sample_every": 2}}


@pytest.fixture(scope="module")
def quality(benchmark_module):
    return benchmark_module("speed_quality")


def test_settings_side_by_side_with_oracle_figures(quality, tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    assert quality.main(["--config", str(config), "--settings", "default", "plain", "--seeds", "0", "--jobs", "2",
                         "--keys", "shape_kept", "train_minutes", "--out", str(tmp_path / "runs"),
                         "--results", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "quality_tiny.json").read_text())
    assert [(r["setting"], r["seed"]) for r in report["runs"]] == [("default", 0), ("plain", 0)]
    assert all(0 <= r["shape_kept"] <= 1 and r["target_accuracy.red"] >= 0 for r in report["runs"])
    plain = yaml.safe_load((tmp_path / "runs" / "plain-seed0" / "config.yaml").read_text())["train"]
    assert plain["fused_optim"] is False and plain["matmul_convs"] is False and plain["resample_convs"] is False
    assert set(report["summary"]) == {"default", "plain"}
    assert "| shape_kept |" in capsys.readouterr().out
