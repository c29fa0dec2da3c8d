"""The run directory, the one module that reads and writes it:

    RUN/config.yaml     the run's RunConfig (method, model, data, train)
    RUN/info.yaml       the DataInfo the networks were built for
    RUN/import.yaml     an official import's record (what was inferred, what the files lacked)
    RUN/checkpoints/step_0001000/{model.safetensors, state.pt}, and RUN/checkpoints/latest
    PRETRAINED/{config.json, model.safetensors}: a self-contained folder for inference

Everything is written atomically: checkpoints/latest names the newest complete checkpoint and
is written last, and a pretrained folder replaces the old one by renames, so a crash at any
moment leaves something readable.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
import yaml
import safetensors.torch
from safetensors.torch import load_file

from . import torchfile
from .errors import I2IError

WEIGHTS, STATE = "model.safetensors", "state.pt"
CONFIG, INFO, IMPORT = "config.yaml", "info.yaml", "import.yaml"
PRETRAINED, FORMAT = "config.json", 1  # the pretrained folder's config, and the version of its layout


# -- config, info and import record ----------------------------------------------
def write_run(run_dir: Path, config: dict, info: dict) -> None:
    """config.yaml and info.yaml, atomically: a kill while they are written must not leave a run
    that cannot resume."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / CONFIG, yaml.safe_dump(config, sort_keys=False))
    write_text_atomic(run_dir / INFO, yaml.safe_dump(info, sort_keys=False))


def read_info(run_dir: Path) -> dict:
    file = Path(run_dir) / INFO
    if not file.is_file():
        raise I2IError(f"{file} is missing; this run directory was not written by i2i train")
    try:
        info = yaml.safe_load(file.read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise TypeError("not a mapping")
        return info
    except (OSError, ValueError, TypeError, yaml.YAMLError) as e:  # ValueError: also not UTF-8
        raise I2IError(f"{file} is damaged ({type(e).__name__}); restore it, or the run directory, "
                       "from a copy") from None


def write_import(run_dir: Path, record: dict) -> None:
    write_text_atomic(Path(run_dir) / IMPORT, yaml.safe_dump(record, sort_keys=False, allow_unicode=True))


def read_import(run_dir: Path) -> dict | None:
    """The import record, or None for a run that was not imported."""
    file = Path(run_dir) / IMPORT
    if not file.is_file():
        return None
    try:
        record = yaml.safe_load(file.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise TypeError("not a mapping")
        return record
    except (OSError, ValueError, TypeError, yaml.YAMLError):
        raise I2IError(f"{file} is damaged; restore it, or the run directory, from a copy") from None


# -- pretrained folders ---------------------------------------------------------------
def write_pretrained(out: Path, weights: dict[str, torch.Tensor], config: dict, files: dict[str, Path],
                     overwrite: bool = False) -> Path:
    """config.json, model.safetensors and `files` (name in the folder → source) as folder `out`,
    written under a temporary name and renamed; a non-empty `out` is kept unless `overwrite`."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise I2IError(f"{out} is a file; give a directory to write the pretrained model to")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise I2IError(f"{out} is not empty; choose a new directory or pass overwrite=True")

    def write(tmp: Path):
        safetensors.torch.save_file(weights, str(tmp / WEIGHTS), metadata={"method": config["method"]})
        (tmp / PRETRAINED).write_text(json.dumps({"i2i_format": FORMAT, **config}, indent=2) + "\n")
        for name, source in files.items():
            shutil.copyfile(source, tmp / name)
    _replace_dir(out, write)
    return out


def is_pretrained(path: Path) -> bool:
    return (Path(path) / PRETRAINED).is_file() and not (Path(path) / CONFIG).is_file()


def read_pretrained(root: Path) -> dict:
    """A pretrained folder's config.json, checked for the keys and the layout version."""
    file = Path(root) / PRETRAINED
    try:
        config = json.loads(file.read_text())
        for key in ("i2i_format", "method", "model", "info"):
            config[key]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise I2IError(f"{file} is not an i2i pretrained config ({type(e).__name__}: {e}); "
                       "write one with Translator.save_pretrained") from None
    if config["i2i_format"] > FORMAT:
        raise I2IError(f"{file} has format {config['i2i_format']}; this i2i reads format {FORMAT} or older: "
                       "upgrade i2i")
    return config


def _replace_dir(out: Path, write) -> None:
    """write(tmp) fills a temporary directory that then replaces `out` by renames: a crash
    leaves either the old directory or the new one, never half of one."""
    tmp, old = (out.with_name(f".{out.name}.{tag}{os.getpid()}") for tag in ("tmp", "old"))
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        write(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if out.is_dir():
            os.replace(out, old)
        try:
            os.replace(tmp, out)
        except OSError:
            if old.is_dir():
                os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise I2IError(f"could not write {out}: {e.strerror or e}") from None


# -- checkpoints ------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _write(path: Path, data: bytes | None = None, obj=None) -> None:
    """Bytes, or a torch.save of obj, written and fsynced through our own file object, so that
    a full disk surfaces as OSError(ENOSPC) rather than a serialiser's own error text."""
    with open(path, "wb") as f:
        if obj is None:
            f.write(data)
        else:
            try:
                torch.save(obj, f)
            except RuntimeError as e:  # its zip writer's own error, raised while closing after ours
                if isinstance(e.__context__, OSError):
                    raise e.__context__ from None
                raise
        f.flush()
        os.fsync(f.fileno())


def _discard(path: Path) -> None:
    """Remove a directory by first renaming it to a dot name: a crash mid-way through the
    removal leaves a hidden leftover, never a step_* directory with half its files."""
    trash = path.with_name(f".old_{path.name}")
    shutil.rmtree(trash, ignore_errors=True)
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def save(run_dir: Path, step: int, weights: dict[str, torch.Tensor], state: dict, keep: int = 3) -> Path:
    """Write checkpoint `step` under run_dir/checkpoints and point `latest` at it. Every moment of
    it is crash-safe: `latest` always names a complete checkpoint. A failed write (a full disk)
    raises I2IError and leaves the previous checkpoint and `latest` as they were."""
    root = Path(run_dir) / "checkpoints"
    final = root / f"step_{step:07d}"
    tmp = root / f".tmp_step_{step:07d}"
    previous = latest(run_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        for leftover in [*root.glob(".tmp_step_*"), *root.glob(".old_*")]:  # from a killed run
            shutil.rmtree(leftover, ignore_errors=True)
        tmp.mkdir()
        tensors = {k: v.detach().contiguous().cpu() for k, v in weights.items()}
        _write(tmp / WEIGHTS, safetensors.torch.save(tensors, metadata={"step": str(step)}))
        del tensors
        _write(tmp / STATE, obj=state)
        if final.exists():  # written before by a run that was killed before it moved `latest`
            _discard(final)
        os.replace(tmp, final)
        _fsync_dir(root)
        write_text_atomic(root / "latest", final.name + "\n")
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        kept = f"the previous checkpoint is intact ({previous})" if previous else "no earlier checkpoint exists"
        raise I2IError(f"could not write checkpoint {final}: {e.strerror or e}; {kept}") from None
    _prune(root, keep, final.name)
    return final


def _prune(root: Path, keep: int, newest: str) -> None:
    done = sorted(p for p in root.glob("step_*") if p.is_dir())
    for p in done[:-keep] if keep > 0 else []:
        if p.name != newest:
            try:
                _discard(p)
            except OSError:  # an old checkpoint left in place costs only disk space
                pass


def latest(run_dir: Path) -> Path | None:
    root = Path(run_dir) / "checkpoints"
    pointer = root / "latest"
    if pointer.is_file():
        path = root / pointer.read_text().strip()
        if (path / WEIGHTS).is_file():
            return path
    done = sorted(p for p in root.glob("step_*") if (p / WEIGHTS).is_file())
    return done[-1] if done else None


def read_records(run_dir: Path) -> dict[str, dict]:
    """config, info and import records as far as they can be read ({} for a missing or damaged
    one): for reports on runs in any state, which must not fail on what they describe."""
    out = {}
    for key, name in (("config", CONFIG), ("info", INFO), ("import", IMPORT)):
        try:
            d = yaml.safe_load((Path(run_dir) / name).read_text())
        except (OSError, ValueError, yaml.YAMLError):
            d = None
        out[key] = d if isinstance(d, dict) else {}
    return out


def find(run_dir: Path) -> Path:
    """The checkpoint to load from a run directory, or a clear error."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise I2IError(f"run directory {run_dir} does not exist")
    path = latest(run_dir)
    if path is None:
        raise I2IError(f"no checkpoint in {run_dir}/checkpoints; train first or point to a finished run")
    return path


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(Path(path) / WEIGHTS if Path(path).is_dir() else path))
    except Exception as e:  # safetensors raises its own error type for a bad header
        raise I2IError(f"cannot read weights {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def load_state(path: Path) -> dict:
    file = Path(path) / STATE
    try:
        return torchfile.load(file)
    except Exception as e:  # weights_only refuses anything but tensors and plain types
        raise I2IError(f"cannot read training state {file}: {str(e).splitlines()[0]}") from None


def load_into(module: torch.nn.Module, weights: dict[str, torch.Tensor], source: str) -> None:
    """Load weights strictly, naming the mismatch (another method, size or width)."""
    own = module.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    wrong = [f"{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
             if k in weights and weights[k].shape != v.shape]
    if missing or unexpected or wrong:
        detail = (f"{len(missing)} missing (e.g. {missing[0]})" if missing else
                  f"{len(unexpected)} unexpected (e.g. {unexpected[0]})" if unexpected else
                  f"shape mismatch: {wrong[0]}")
        raise I2IError(f"checkpoint {source} does not fit this model: {detail}; "
                       "check the method and its config (size, width, labels)")
    module.load_state_dict(weights)
