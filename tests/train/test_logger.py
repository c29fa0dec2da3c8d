import json

import pytest
from PIL import Image

from i2i.config import RunConfig
from i2i.errors import I2IError
from i2i.train.logger import RunLogger
from i2i.train.trainer import Trainer

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

TINY = ["steps=4", "data.image_size=32", "n_train=16", "n_test=4", "g_conv_dim=8", "d_conv_dim=8",
        "g_repeat_num=1", "d_repeat_num=3", "n_critic=2", "batch_size=4", "log_every=2", "sample_every=2",
        "amp=none", "threads=1"]


def tiny_trainer(run_dir, logger: str) -> tuple[Trainer, set[str]]:
    """A tiny StarGAN trainer whose train_step records every key it returns."""
    cfg = RunConfig.default("stargan")
    cfg.apply_overrides([*TINY, f"logger={logger}"])
    t = Trainer(cfg, run_dir, show_progress=False)
    keys, step = set(), t.method.train_step

    def recording(batch, i):
        logs = step(batch, i)
        keys.update(logs)
        return logs

    t.method.train_step = recording
    return t, keys


def test_tensorboard_holds_every_loss_the_samples_and_the_config(tmp_path):
    t, keys = tiny_trainer(tmp_path / "r", "tensorboard")
    t.fit()
    ea = event_accumulator.EventAccumulator(str(tmp_path / "r" / "logs"),
                                            size_guidance={event_accumulator.IMAGES: 0, event_accumulator.TENSORS: 0})
    ea.Reload()
    tags = ea.Tags()
    assert {"D/loss_real", "G/loss_rec"} <= keys  # StarGAN's terms really came through
    assert set(tags["scalars"]) == keys | {"lr_factor", "steps_per_s", "data_wait"}
    last = json.loads((tmp_path / "r" / "logs" / "metrics.jsonl").read_text().splitlines()[-1])
    for k in keys:
        assert [e.step for e in ea.Scalars(k)] == [2, 4]
        assert ea.Scalars(k)[-1].value == pytest.approx(last[k], rel=1e-5, abs=1e-6)
    images = ea.Images("samples")
    assert [e.step for e in images] == [2, 4]
    png = Image.open(tmp_path / "r" / "samples" / "step_0000004.png")
    assert (images[-1].width, images[-1].height) == png.size
    text = ea.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "method: stargan" in text and "logger: tensorboard" in text


def test_logger_none_writes_only_the_jsonl(tmp_path):
    t, keys = tiny_trainer(tmp_path / "r", "none")
    t.cfg.train.steps = 2
    t.fit()
    assert [p.name for p in (tmp_path / "r" / "logs").iterdir()] == ["metrics.jsonl"]
    line = json.loads((tmp_path / "r" / "logs" / "metrics.jsonl").read_text())
    assert set(line) == keys | {"step", "lr_factor", "steps_per_s", "data_wait"}


def test_an_unknown_logger_is_one_clear_error(tmp_path):
    with pytest.raises(I2IError, match="train.logger='tb'; use tensorboard or none"):
        RunLogger(tmp_path, "tb")
