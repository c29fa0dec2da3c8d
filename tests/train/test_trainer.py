import json

import pytest
import torch

from i2i.config import RunConfig
from i2i.errors import I2IError
from i2i import rundir
from i2i.data.batches import Plain
from i2i.train.runtime import StepSampler
from i2i.train.trainer import Trainer, train

TINY = ["data.image_size=32", "n_train=64", "n_test=8", "g_conv_dim=8", "d_conv_dim=8", "g_repeat_num=1",
        "d_repeat_num=3", "n_critic=2", "batch_size=4", "decay_steps=4", "log_every=2", "sample_every=3",
        "logger=none", "amp=none"]
TINY_V2 = ["data.image_size=32", "n_train=64", "n_test=8", "data.domains=[circle,square,triangle]", "latent_dim=4",
           "style_dim=8", "hidden_dim=16", "dim_in=8", "max_conv_dim=16", "w_hpf=0", "ds_iter=6", "batch_size=2",
           "log_every=2", "sample_every=3", "logger=none", "amp=none"]

TINY_WGAN = ["data.spec=digits", "data.image_size=16", "z_dim=8", "ngf=8", "ndf=8", "n_critic=2", "n_critic_warm=3",
             "batch_size=4", "log_every=2", "sample_every=3", "logger=none", "amp=none"]
TINY_GAN = ["data.spec=ring", "n_train=64", "z_dim=2", "g_hidden=[16]", "d_units=8", "momentum_steps=6",
            "batch_size=4", "log_every=2", "sample_every=3", "logger=none", "amp=none"]
TINY_2D = ["data.spec=shapes:unpaired", "data.image_size=32", "n_train=16", "n_test=4", "netG=resnet_1blocks",
           "ngf=8", "ndf=8", "pool_size=3", "batch_size=2", "log_every=2", "sample_every=3", "logger=none", "amp=none"]


def tiny_cfg(*extra, method="stargan"):
    tiny = {"stargan": TINY, "stargan_v2": TINY_V2, "wgan": TINY_WGAN, "gan": TINY_GAN,
            "cyclegan": TINY_2D, "opgan": TINY_2D + ["s_dim=8"], "joint": TINY + ["data.spec=shapes:joint"],
            "matchgan": TINY + ["batch_size=12", "labelled_fraction=0.5"]}[method]
    method = "stargan" if method == "joint" else method
    cfg = RunConfig.default(method)
    cfg.apply_overrides(tiny + list(extra))
    return cfg


@pytest.mark.parametrize("method", ["stargan", "stargan_v2", "wgan", "gan", "cyclegan", "opgan", "joint", "matchgan"])
def test_resume_gives_the_same_final_weights_as_uninterrupted_training(tmp_path, method):
    # For StarGAN v2 this also covers the EMA copies and the λ_ds schedule (ds_iter 6 < 8 steps);
    # for WGAN the critic/generator schedule (G updates at steps 2 and 5: the first after the resume);
    # for GAN the SGD momentum buffers, the momentum ramp and the learning-rate decay, on the ring;
    # for joint StarGAN the alternation of datasets; for MatchGAN that of labelled and unlabelled
    # batches, the label groups and the targets drawn from the valid label combinations;
    # for CycleGAN the image pools (filled by step 2, then swapping) and the random unpaired B;
    # for OP-GAN also S's optimiser and its random patch pairs.
    train(tiny_cfg("steps=8", "save_every=100", method=method), tmp_path / "straight", show_progress=False)
    t = Trainer(tiny_cfg("steps=8", "save_every=5", method=method), tmp_path / "split", show_progress=False)
    real_step = t.method.train_step

    def crash_at_6(batch, step):
        if step == 6:
            raise KeyboardInterrupt  # killed after the step-5 checkpoint, mid-way to the next
        return real_step(batch, step)

    t.method.train_step = crash_at_6
    with pytest.raises(KeyboardInterrupt):
        t.fit()
    cfg = RunConfig.load(tmp_path / "split" / "config.yaml")
    train(cfg, tmp_path / "split", resume=True, show_progress=False)
    a = rundir.load_weights(rundir.latest(tmp_path / "straight"))
    b = rundir.load_weights(rundir.latest(tmp_path / "split"))
    assert rundir.latest(tmp_path / "split").name == "step_0000008"
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_writes_samples_logs_config_and_a_checkpoint(tmp_path):
    run = train(tiny_cfg("steps=6"), tmp_path / "r", show_progress=False)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000003.png", "step_0000006.png"]
    lines = [json.loads(l) for l in (run / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [2, 4, 6] and "G/loss_rec" in lines[-1]
    assert all(0 <= l["data_wait"] < 1 for l in lines)
    assert RunConfig.load(run / "config.yaml").train.steps == 6
    assert rundir.latest(run).name == "step_0000006"


def test_an_existing_run_is_never_overwritten(tmp_path):
    train(tiny_cfg("steps=2"), tmp_path / "r", show_progress=False)
    before = (tmp_path / "r" / "checkpoints" / "step_0000002" / "model.safetensors").read_bytes()
    with pytest.raises(I2IError, match="already holds a training run; pass --resume"):
        Trainer(tiny_cfg("steps=2"), tmp_path / "r")
    assert (tmp_path / "r" / "checkpoints" / "step_0000002" / "model.safetensors").read_bytes() == before


def test_a_non_finite_loss_stops_with_the_step_and_term(tmp_path):
    t = Trainer(tiny_cfg("steps=6", "save_every=2"), tmp_path / "r", show_progress=False)
    real_step = t.method.train_step

    def poisoned(batch, step):
        logs = real_step(batch, step)
        return {**logs, "D/loss_gp": float("nan")} if step == 3 else logs

    t.method.train_step = poisoned
    with pytest.raises(I2IError, match=r"non-finite loss D/loss_gp=nan at step 3; last good checkpoint: .*step_0000002"):
        t.fit()
    assert rundir.latest(tmp_path / "r").name == "step_0000002"


def test_step_sampler_is_a_function_of_the_step():
    s = StepSampler(Plain(10, 3, seed=1))
    first = [next(it) for it in [iter(s)] for _ in range(7)]
    assert first[4] == StepSampler(Plain(10, 3, seed=1), start_step=4).batch(4)
    epoch0 = sum(first[:3], [])
    assert len(set(epoch0)) == 9  # no repeats inside an epoch


def test_progress_bar_names_keep_the_network_so_d_and_g_terms_stay_apart():
    from i2i.train.trainer import short_name
    names = [short_name(k) for k in ("D/loss_fake", "G/loss_fake", "D/loss_cls", "G/loss_cls", "G/lambda_ds")]
    assert names == ["D_fake", "G_fake", "D_cls", "G_cls", "G_lambda_ds"]


def test_fused_optimisers_and_matmul_convs_are_on_by_default_and_can_be_switched_off(tmp_path):
    fast = Trainer(tiny_cfg("steps=2"), tmp_path / "fast", show_progress=False)
    assert all(g["fused"] for o in fast.optimizers.values() for g in o.param_groups)
    assert any(type(m).__name__ == "MatmulConv2d" for m in fast.method.D.modules())
    plain = Trainer(tiny_cfg("steps=2", "fused_optim=false", "matmul_convs=false"), tmp_path / "plain",
                    show_progress=False)
    assert not any(g["fused"] for o in plain.optimizers.values() for g in o.param_groups)
    assert all(type(m) is torch.nn.Conv2d for m in plain.method.modules() if isinstance(m, torch.nn.Conv2d))


def test_resume_takes_the_kernel_choice_from_the_new_config(tmp_path):
    train(tiny_cfg("steps=2", "fused_optim=false"), tmp_path / "r", show_progress=False)
    cfg = RunConfig.load(tmp_path / "r" / "config.yaml")
    cfg.apply_overrides(["steps=4", "fused_optim=true"])
    t = Trainer(cfg, tmp_path / "r", resume=True, show_progress=False)
    assert t.step == 2 and all(g["fused"] for o in t.optimizers.values() for g in o.param_groups)
    t.fit()
    assert rundir.latest(tmp_path / "r").name == "step_0000004"


def test_compiled_networks_train_like_eager_ones_and_save_the_same_names(tmp_path):
    runs = {}
    for mode in ("on", "off"):
        t = Trainer(tiny_cfg("steps=2", "log_every=1", f"compile={mode}"), tmp_path / mode, show_progress=False)
        assert (t.method.G._compiled_call_impl is not None) == (mode == "on")
        assert t.method.D._compiled_call_impl is None  # its gradient penalty needs a double backward
        t.fit()
        runs[mode] = [json.loads(line) for line in (tmp_path / mode / "logs" / "metrics.jsonl").read_text().splitlines()]
    first = runs["on"][0]  # step 1, from the same initial weights
    for k, v in runs["off"][0].items():
        if "/" in k:
            assert first[k] == pytest.approx(v, rel=1e-4, abs=1e-5), k
    a = rundir.load_weights(rundir.latest(tmp_path / "on"))
    assert a.keys() == rundir.load_weights(rundir.latest(tmp_path / "off")).keys()
