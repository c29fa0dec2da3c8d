import os
import pickle

import pytest
import torch

from i2i.errors import I2IError
from i2i import rundir


def weights():
    return {"G.w": torch.randn(3, 4), "D.b": torch.arange(5)}


def test_round_trip_and_latest_pointer(tmp_path):
    w = weights()
    state = {"step": 7, "torch_rng": torch.get_rng_state(), "optimizers": {"G": {"lr": 1e-4}}}
    path = rundir.save(tmp_path, 7, w, state)
    assert path.name == "step_0000007" and rundir.latest(tmp_path) == path
    back = rundir.load_weights(path)
    assert all(torch.equal(back[k], w[k]) for k in w)
    s = rundir.load_state(path)
    assert s["step"] == 7 and torch.equal(s["torch_rng"], state["torch_rng"])
    assert not list((tmp_path / "checkpoints").glob(".tmp*"))


def test_keeps_the_newest_three(tmp_path):
    for step in range(1, 6):
        rundir.save(tmp_path, step, weights(), {"step": step})
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*"))
    assert kept == ["step_0000003", "step_0000004", "step_0000005"]


def test_a_failing_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    rundir.save(tmp_path, 1, weights(), {"step": 1})

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rundir.torch, "save", disk_full)
    with pytest.raises(I2IError, match="No space left on device.*previous checkpoint is intact"):
        rundir.save(tmp_path, 2, weights(), {"step": 2})
    assert rundir.latest(tmp_path).name == "step_0000001"
    assert rundir.load_state(rundir.latest(tmp_path))["step"] == 1
    assert not (tmp_path / "checkpoints" / "step_0000002").exists()


def test_leftover_temporary_directory_is_ignored(tmp_path):
    rundir.save(tmp_path, 1, weights(), {"step": 1})
    (tmp_path / "checkpoints" / ".tmp_step_0000002").mkdir()  # a crash mid-write
    assert rundir.latest(tmp_path).name == "step_0000001"


def test_missing_checkpoint_and_tampered_files_fail_clearly(tmp_path):
    with pytest.raises(I2IError, match="no checkpoint in"):
        rundir.find(tmp_path)
    path = rundir.save(tmp_path, 1, weights(), {"step": 1})
    raw = bytearray((path / "model.safetensors").read_bytes())
    raw[8:20] = b"{garbage!!!}"
    (path / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(I2IError, match="cannot read weights"):
        rundir.load_weights(path)


class Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = rundir.save(tmp_path, 1, weights(), {"step": 1})
    (path / "state.pt").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(I2IError, match="cannot read training state"):
        rundir.load_state(path)
    assert not (tmp_path / "pwned").exists()


def test_load_into_names_the_mismatch():
    m = torch.nn.Linear(3, 2)
    with pytest.raises(I2IError, match="shape mismatch: weight"):
        rundir.load_into(m, {"weight": torch.zeros(2, 4), "bias": torch.zeros(2)}, "x")
    with pytest.raises(I2IError, match="missing"):
        rundir.load_into(m, {"weight": torch.zeros(2, 3)}, "x")
