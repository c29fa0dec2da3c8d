import json
import subprocess
import sys

import pytest
from PIL import Image

from i2i.cli import main

TINY = ["steps=4", "data.image_size=32", "n_train=32", "n_test=8", "g_conv_dim=8", "d_conv_dim=8",
        "g_repeat_num=1", "d_repeat_num=3", "n_critic=2", "batch_size=4", "logger=none", "amp=none"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "stargan", "--data", "shapes", "--out", str(out), "--no-progress", *TINY]) == 0
    return out


def test_translate_any_size_keeps_the_input_size(run, tmp_path, capsys):
    Image.new("RGB", (50, 37), (200, 30, 30)).save(tmp_path / "a.png")
    assert main(["translate", str(run), "--input", str(tmp_path / "a.png"), "--target", "green,striped",
                 "--output", str(tmp_path / "b.png")]) == 0
    out = Image.open(tmp_path / "b.png")
    assert out.size == (50, 37) and out.mode == "RGB"


def test_eval_prints_a_table_and_json(run, capsys):
    assert main(["eval", str(run), "-n", "8"]) == 0
    assert "shape kept" in capsys.readouterr().out
    assert main(["eval", str(run), "-n", "8", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["target_accuracy"]) == {"red", "green", "blue", "striped", "large"} and r["n"] == 8


def test_summary_prints_official_counts(capsys):
    assert main(["summary", "stargan", "image_size=128", "c_dim=5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"G": 8430528, "D": 44762048}


def error_of(args, capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("i2i: error: ")
    return err


def test_bad_input_is_one_line_and_exit_2(run, tmp_path, capsys):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    out = str(tmp_path / "o.png")
    assert "bad.png" in error_of(["translate", str(run), "-i", str(tmp_path / "bad.png"), "-t", "red", "-o", out], capsys)
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    assert "unknown attribute 'purple'" in error_of(["translate", str(run), "-i", str(tmp_path / "ok.png"), "-t", "purple", "-o", out], capsys)
    assert "no checkpoint" in error_of(["translate", str(tmp_path), "-i", str(tmp_path / "ok.png"), "-t", "red", "-o", out], capsys)
    assert not (tmp_path / "o.png").exists()
    assert "already holds a training run" in error_of(["train", "stargan", "--out", str(run), *TINY], capsys)
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    (tmp_path / "empty" / "dog").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "empty" / "dog" / "1.png")
    assert "cat" in error_of(["train", "stargan", "--data", f"folders:{tmp_path / 'empty'}", "--out",
                              str(tmp_path / "r2"), *TINY], capsys)
    assert "list_attr_celeba" in error_of(["train", "stargan", "--data", f"celeba:{tmp_path}", "--out",
                                           str(tmp_path / "r3"), *TINY], capsys)


def test_console_script_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "i2i.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for cmd in ("train", "translate", "eval", "summary"):
        assert cmd in out
    for cmd in ("train", "translate", "eval", "summary"):
        sub = subprocess.run([sys.executable, "-m", "i2i.cli", cmd, "--help"], capture_output=True, text=True)
        assert sub.returncode == 0 and "usage: i2i " + cmd in sub.stdout
