"""benchmarks/learning_curve.py on tiny runs: the points' keys, the time budget, the plot."""
import json

import pytest

TINY = ["train.steps=40", "data.image_size=32", "data.n_train=32", "data.n_test=8", "model.g_conv_dim=8",
        "model.d_conv_dim=8", "model.g_repeat_num=1", "model.d_repeat_num=3", "train.batch_size=4",
        "train.logger=none", "train.amp=none", "model.warmup_steps=0", "model.decay_steps=20"]


@pytest.fixture(scope="module")
def curve(benchmark_module):
    return benchmark_module("learning_curve")


def test_stargan_points_have_the_issue_keys_and_the_time_budget_stops_training(curve, tmp_path):
    curve.main(["--config", str(curve.ROOT / "configs" / "stargan_shapes_demo.yaml"), "--minutes", "0.0001",
                "--every", "4", "--n", "8", "--set", *TINY, "--out", str(tmp_path / "run"),
                "--results", str(tmp_path / "res")])
    points = json.loads((tmp_path / "res" / "curve.json").read_text())
    assert len(points) == 1 and points[0]["iteration"] == 4  # the budget was spent by the first point
    assert set(points[0]) == {"iteration", "minutes", "red", "green", "blue", "striped", "large",
                              "shape_kept", "centre_kept"}
    assert all(0 <= v <= 1 for k, v in points[0].items() if k not in ("iteration", "minutes"))
    assert (tmp_path / "res" / "curve.png").stat().st_size > 0


def test_stargan_v2_points_have_the_issue_keys(curve, tmp_path):
    tiny_v2 = ["train.steps=4", "data.n_train=32", "data.n_test=8", "model.dim_in=8", "model.max_conv_dim=16",
               "model.hidden_dim=16", "model.style_dim=8", "model.latent_dim=2", "train.batch_size=2",
               "train.logger=none", "train.amp=none", "model.warmup_steps=0", "train.channels_last=false"]
    curve.main(["--config", str(curve.ROOT / "configs" / "stargan_v2_shapes.yaml"), "--minutes", "60",
                "--every", "2", "--n", "6", "--set", *tiny_v2, "--out", str(tmp_path / "run"),
                "--results", str(tmp_path / "res")])
    points = json.loads((tmp_path / "res" / "curve.json").read_text())
    assert [p["iteration"] for p in points] == [2, 4]
    assert set(points[0]) == {"iteration", "minutes", "target_latent", "target_reference", "content_latent",
                              "content_reference", "reference_colour", "colours_over_10"}
    assert 1 <= points[-1]["colours_over_10"] <= 10


def test_minute_marks_add_points_between_the_every_k_ones(curve, tmp_path):
    curve.main(["--config", str(curve.ROOT / "configs" / "stargan_shapes_demo.yaml"), "--minutes", "60",
                "--every", "4", "--at", "0", "--n", "8", "--set", *TINY, "train.steps=8",
                "--out", str(tmp_path / "run"), "--results", str(tmp_path / "res")])
    points = json.loads((tmp_path / "res" / "curve.json").read_text())
    assert [p["iteration"] for p in points] == [1, 4, 8]  # minute 0 is passed by the first iteration



def test_resume_continues_the_run_and_the_curve(curve, tmp_path):
    args = ["--every", "2", "--n", "8", "--out", str(tmp_path / "run"), "--results", str(tmp_path / "res")]
    curve.main(["--config", str(curve.ROOT / "configs" / "stargan_shapes_demo.yaml"), "--minutes", "60",
                "--set", *TINY, "train.steps=4", *args])
    first = json.loads((tmp_path / "res" / "curve.json").read_text())
    curve.main(["--resume", "--minutes", "60", "--set", "train.steps=8", *args])
    points = json.loads((tmp_path / "res" / "curve.json").read_text())
    assert [p["iteration"] for p in points] == [2, 4, 6, 8] and points[:2] == first
    assert points[2]["minutes"] >= first[-1]["minutes"]  # minutes go on from the last point
