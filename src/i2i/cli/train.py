"""`i2i train`: train a method on a dataset."""
from __future__ import annotations

from pathlib import Path

from ..errors import I2IError


def add(sub) -> None:
    t = sub.add_parser("train", help="train a method on a dataset",
                       description="Train METHOD. Options are config keys given as key=value (model, data or "
                                   "train keys; write data.x / train.x / model.x when a name is ambiguous). "
                                   "The run directory receives config.yaml, checkpoints/, samples/ and logs/.")
    t.add_argument("method", help="method name, e.g. stargan")
    t.add_argument("--data", action="append",
                   help="shapes | shapes:paired | shapes:unpaired | shapes:joint | digits | ring | celeba:PATH | "
                        "folders:PATH | paired:PATH | unpaired:PATH (default: the config's, else shapes); "
                        "without --config a built-in world brings its image size. Give --data twice or more "
                        "for joint training (stargan's mask vector), e.g. --data celeba:A --data folders:B")
    t.add_argument("--config", type=Path, help="YAML config file (method, model, data, train sections)")
    t.add_argument("--out", type=Path, help="run directory (default: runs/METHOD)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    t.add_argument("--skip-nonfinite", action="store_true",
                   help="skip a batch whose loss is NaN/Inf (its updates undone, counted) instead of stopping")
    t.add_argument("--skip-bad-images", action="store_true",
                   help="skip images that cannot be read (each named on stderr, the count reported at the end) "
                        "instead of stopping at the first (sets data.skip_bad)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--logger", choices=["tensorboard", "none"],
                   help="TensorBoard event files in RUN/logs besides logs/metrics.jsonl, or none "
                        "(default: the config's train.logger, tensorboard)")
    t.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. steps=1000")


def run(a) -> int:
    from ..config import RunConfig
    from ..train.trainer import train
    out = a.out or Path("runs") / a.method
    if a.resume:
        from ..rundir import CONFIG
        cfg = RunConfig.load(out / CONFIG) if (out / CONFIG).is_file() else None
        if cfg is None:
            raise I2IError(f"nothing to resume in {out}: no config.yaml")
        if cfg.method != a.method:
            raise I2IError(f"{out} is a {cfg.method} run, not {a.method}")
    else:
        cfg = RunConfig.load(a.config) if a.config else RunConfig.default(a.method)
        if cfg.method != a.method:
            raise I2IError(f"{a.config} configures {cfg.method}, not {a.method}")
    if a.data:
        if a.resume:
            raise I2IError("--resume continues the run's own data; drop --data")
        cfg.data.spec, cfg.data.joint = a.data[0], a.data[1:]
        if not a.config:  # the world's own image size, unless an override says otherwise
            from ..data import WORLD_IMAGE_SIZE
            cfg.data.image_size = WORLD_IMAGE_SIZE.get(a.data[0], cfg.data.image_size)
    cfg.apply_overrides(a.overrides)
    if a.skip_bad_images:
        cfg.data.skip_bad = True
    if a.skip_nonfinite:
        cfg.train.on_nonfinite = "skip"
    if a.logger:
        cfg.train.logger = a.logger
    run = train(cfg, out, resume=a.resume, show_progress=not a.no_progress)
    from ..train.distributed import main_process
    if main_process():  # under torchrun, once
        print(f"done: {run}")
    return 0
