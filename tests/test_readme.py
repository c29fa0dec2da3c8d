"""The README's Python examples run as written, on tiny runs trained here on the built-in worlds
under the names the README uses (runs/shapes: StarGAN on shapes; runs/afhq: StarGAN v2 on the
shapes domains; runs/h2z: CycleGAN on shapes:unpaired)."""
import re
import shutil
from pathlib import Path

from PIL import Image

from i2i.cli import main

README = Path(__file__).parents[1] / "README.md"
STARGAN = ["steps=2", "data.image_size=32", "n_train=8", "n_test=4", "g_conv_dim=8", "d_conv_dim=8",
           "g_repeat_num=1", "d_repeat_num=3", "batch_size=4", "logger=none", "amp=none"]
CYCLEGAN = ["steps=2", "data.image_size=32", "n_train=8", "n_test=4", "ngf=8", "ndf=8", "batch_size=2",
            "netG=resnet_1blocks", "logger=none", "amp=none"]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_python_examples_run(run_v2, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "stargan", "--data", "shapes", "--out", "runs/shapes", "--no-progress", *STARGAN]) == 0
    assert main(["train", "cyclegan", "--data", "shapes:unpaired", "--out", "runs/h2z", "--no-progress",
                 *CYCLEGAN]) == 0
    shutil.copytree(run_v2, "runs/afhq")
    for name, colour in (("in.png", (200, 40, 40)), ("ref.png", (40, 200, 40)), ("horse.jpg", (90, 70, 50))):
        Image.new("RGB", (48, 40), colour).save(name)
    blocks = python_blocks(README.read_text())
    assert blocks, "the README has Python examples"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})
    assert Image.open("out.png").size == (48, 40)
    assert Path("models/shapes/model.safetensors").is_file()
