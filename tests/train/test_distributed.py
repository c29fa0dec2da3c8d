"""Distributed training: two CPU processes under torchrun with gloo, checked against each other,
against one process with the same global batch, and across a resume.

Each torchrun launch costs 12-19 s on this 2-core machine (three Python processes import torch),
so the suite launches twice; docs/distributed.md reports 20 launches in a row.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from i2i.config import RunConfig
from i2i.data.batches import Domains, Plain, Pools, References
from i2i.errors import I2IError
from i2i import rundir
from i2i.train.distributed import World, rank_seed, state_hash
from i2i.train.runtime import StepSampler
from i2i.train.trainer import Trainer

# A StarGAN whose updates depend on no random number: every image is red (data.attributes=[red]),
# so shuffling the batch's labels into targets changes nothing, and λ_gp = 0 leaves the random
# interpolates of the gradient penalty out of the gradients (the term is still computed and
# logged, so each rank's RNG shows in the logs). Every other term is a mean of per-image terms
# (instance norm, no batch norm in D), so averaging the two ranks' gradients of equal halves is
# the gradient of the whole batch: two processes must then match one up to float rounding.
TINY = ["data.image_size=32", "n_train=64", "n_test=8", "data.attributes=[red]", "g_conv_dim=8", "d_conv_dim=8",
        "g_repeat_num=1", "d_repeat_num=3", "n_critic=2", "lambda_gp=0", "batch_size=4", "decay_steps=4",
        "steps=6", "save_every=3", "log_every=1", "sample_every=3", "logger=none", "amp=none", "device=cpu"]
LOSSES = ("D/loss_real", "D/loss_fake", "D/loss_cls", "G/loss_fake", "G/loss_rec", "G/loss_cls")


def torchrun(*args, nproc=2):
    """`torchrun --standalone` (a free port of its own) running `python -m i2i train stargan ARGS`."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "i2i", "train", "stargan", "--no-progress", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    errors = [line for line in done.stderr.splitlines() if line.startswith("i2i:")]
    assert done.returncode == 0, errors or done.stderr[-3000:]
    return done


def logs(run):
    return [json.loads(line) for line in (run / "logs" / "metrics.jsonl").read_text().splitlines()]


def final_weights(run):
    return rundir.load_weights(rundir.latest(run))


def test_two_processes_agree_match_one_process_and_resume_exactly(tmp_path):
    ddp = tmp_path / "ddp"
    torchrun("--data", "shapes", "--out", str(ddp), *TINY)

    # Both ranks end with the same weights and buffers, and rank 0's checkpoint holds them.
    ranks = json.loads((ddp / "logs" / "ranks.json").read_text())
    assert ranks["world_size"] == 2 and ranks["step"] == 6
    a = final_weights(ddp)
    assert ranks["state_sha256"] == [state_hash(a)] * 2
    # Rank 0 alone logs, samples and saves: one log line per step, not two.
    assert [line["step"] for line in logs(ddp)] == [1, 2, 3, 4, 5, 6]
    assert sorted(p.name for p in (ddp / "samples").iterdir()) == ["step_0000003.png", "step_0000006.png"]
    state = rundir.load_state(rundir.latest(ddp))
    assert len(state["ranks"]) == 2 and not torch.equal(state["ranks"][0]["torch_rng"], state["ranks"][1]["torch_rng"])

    # One process with the same global batch of 4: the same weights and (rank-averaged) losses.
    # Buffers differ by design: the instance norms' running statistics are rank 0's (as DDP's),
    # from its half of each batch. And Adam divides each update by the gradient's own running
    # size, so an element whose gradient is near zero moves ±lr whatever the rounding: here a few
    # weights of G's first conv on the label channel, constant over the image but at the padded
    # border, which the instance norm after it cancels. Those may differ by 2·lr per G update.
    cfg = RunConfig.default("stargan")
    cfg.apply_overrides(["data.spec=shapes", *TINY])
    single = Trainer(cfg, tmp_path / "one", show_progress=False)
    one = single.fit()
    b = final_weights(one)
    for name, _ in single.method.named_parameters():
        x, y = a[name], b[name]
        if name == "G.main.0.weight":
            assert (x[:, 3:] - y[:, 3:]).abs().max() <= 2 * cfg.model.g_lr * 3
            x, y = x[:, :3], y[:, :3]
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5, msg=name)  # a tenth of one Adam step (lr 1e-4)
    for x, y in zip(logs(ddp), logs(one)):
        assert x["step"] == y["step"]
        for k in LOSSES:
            if k in y:
                assert x[k] == pytest.approx(y[k], rel=1e-4, abs=1e-6), (y["step"], k)

    # Resume under DDP: the run as it stood after step 3, continued to 6, equals the uninterrupted
    # run exactly, weights and each rank's random stream (the logged gradient penalty uses it).
    split = tmp_path / "split"
    shutil.copytree(ddp, split)
    shutil.rmtree(split / "checkpoints" / "step_0000006")
    (split / "checkpoints" / "latest").write_text("step_0000003\n")
    (split / "logs" / "metrics.jsonl").unlink()
    torchrun("--out", str(split), "--resume")
    c = final_weights(split)
    assert rundir.latest(split).name == "step_0000006"
    assert all(torch.equal(a[k], c[k]) for k in a)
    assert [line["step"] for line in logs(split)] == [4, 5, 6]
    for x, y in zip(logs(ddp)[3:], logs(split)):
        assert {k: v for k, v in x.items() if "/" in k} == {k: v for k, v in y.items() if "/" in k}


def refs(n, labels):
    return References(Plain(n, 4, seed=0), Domains(labels), seed=0)


def test_each_rank_iterates_over_its_slice_of_every_global_batch():
    n, bs = 20, 6
    whole = StepSampler(Plain(n, bs, seed=3))
    parts = [iter(StepSampler(Plain(n, bs, seed=3), rank=r, world=3)) for r in range(3)]
    for step in range(5):
        shards = [next(p) for p in parts]
        assert sum(shards, []) == whole.batch(step) and all(len(s) == 2 for s in shards)
    # Reference batches [sources | references | second references]: each rank a slice of each.
    labels = [0] * 10 + [1] * 10
    ref = StepSampler(refs(n, labels))
    mine = StepSampler(refs(n, labels), rank=1, world=2)
    full = ref.batch(2)
    assert next(iter(StepSampler(refs(n, labels), start_step=2, rank=1, world=2))) \
        == full[2:4] + full[6:8] + full[10:12]
    assert mine.shard(full) == full[2:4] + full[6:8] + full[10:12]
    # Mixed joint batches: each rank takes its share of each dataset.
    a, b = np.arange(0, 100), np.arange(100, 200)
    mixed = StepSampler(Pools([a, b], 8, seed=0, mix=True))
    shard = StepSampler(Pools([a, b], 8, seed=0, mix=True), rank=0, world=2).shard(mixed.batch(0))
    assert shard == mixed.batch(0)[0:2] + mixed.batch(0)[4:6]


def test_a_global_batch_that_does_not_split_over_the_processes_is_refused():
    with pytest.raises(I2IError, match=r"train.batch_size=6 is the global batch, split evenly over 4 processes"):
        StepSampler(Plain(20, 6, seed=0), rank=0, world=4)
    with pytest.raises(I2IError, match="each share must split evenly over 2 processes; use a multiple of 4"):
        StepSampler(Pools([np.arange(100), np.arange(100, 200)], 6, seed=0, mix=True), world=2)


def test_a_lone_world_is_a_no_op_and_rank_streams_differ():
    w = World()
    assert not w.enabled and w.main
    logs_in = {"D/loss": 1.5}
    assert w.mean_logs(logs_in) is logs_in and w.gather(3) == [3]
    seeds = {rank_seed(0, r) for r in range(1, 5)} | {rank_seed(1, 1), rank_seed(0, 1, step=5)}
    assert len(seeds) == 6


def test_the_trainer_refuses_a_batch_that_does_not_split_before_writing_anything(tmp_path):
    cfg = RunConfig.default("stargan")
    cfg.apply_overrides(["data.spec=shapes", *TINY, "batch_size=5"])
    with pytest.raises(I2IError, match=r"^train.batch_size=5 is the global batch, split evenly over 2 processes; "
                                       r"use a multiple of 2$"):
        Trainer(cfg, tmp_path / "r", world=World(rank=0, size=2))  # refused before any collective
    assert not (tmp_path / "r").exists()


def test_a_torchrun_process_leaves_with_its_code_and_its_output_flushed():
    # Under torchrun the CLI ends through distributed.leave (os._exit past the interpreter's
    # teardown, where gloo could abort): the error line and the exit code must still come out.
    env = {**os.environ, "WORLD_SIZE": "2", "RANK": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "i2i", "train", "stargan", "--data", "shapes", "no_such_key=1"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert [line for line in done.stderr.splitlines() if line.startswith("i2i: error:")] != []
    script = "import sys; from i2i.train.distributed import leave; print('out', end=''); sys.stderr.write('err'); leave(3)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out", "err")
