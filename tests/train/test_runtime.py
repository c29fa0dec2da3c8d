from collections import Counter

import numpy as np

import pytest
import torch

from i2i.config import RunConfig
from i2i.errors import I2IError
from i2i.data.batches import Balanced, Domains, Plain, Pools, References
from i2i.methods.base import BatchSpec, DataInfo, Method, get_method
from i2i.nn.resample import resample_convs_on
from i2i.train.runtime import COMPILE_FROM_STEPS, StepSampler, apply_runtime, loader_workers, pick_compile
from i2i.train.trainer import Trainer

LABELS = [0] * 90 + [1] * 10  # a 90/10 split


def triplets(labels, size, seed):
    """StarGAN v2's policy: class-balanced sources, then two same-domain references."""
    return References(Balanced(Domains(labels), size, seed), Domains(labels), seed)


class Labelled:
    def __init__(self, targets):
        self.targets = targets

    def __len__(self):
        return len(self.targets)


def test_defaults_keep_the_epoch_permutation():
    s = StepSampler(Plain(10, 3, seed=1))
    labelled = Labelled(list(range(10)))  # a method's default policy on domain-labelled data
    assert StepSampler(Method.batch_policy(None, labelled, BatchSpec(3, 1))).batch(5) == s.batch(5)  # labels alone change nothing
    assert len(set(sum((s.batch(k) for k in range(3)), []))) == 9


def test_balanced_sampling_evens_out_the_classes():
    s = StepSampler(Balanced(Domains(LABELS), 8, seed=0))
    drawn = [i for step in range(500) for i in s.batch(step)]
    share = sum(LABELS[i] for i in drawn) / len(drawn)
    assert 0.45 < share < 0.55  # ≈ 50/50, not 90/10
    assert len(set(i for i in drawn if LABELS[i] == 0)) > 80  # items within a class are all used


def test_balanced_batches_are_a_function_of_seed_and_step():
    a = StepSampler(triplets(LABELS, 8, seed=3))
    it = iter(a)
    first = [next(it) for _ in range(6)]
    resumed = iter(StepSampler(triplets(LABELS, 8, seed=3), start_step=4))
    assert next(resumed) == first[4] and next(resumed) == first[5]
    assert StepSampler(Balanced(Domains(LABELS), 8, seed=4)).batch(0) != \
        StepSampler(Balanced(Domains(LABELS), 8, seed=3)).batch(0)


def test_reference_pairs_share_a_domain():
    labels = [0] * 50 + [1] * 5 + [2] * 2 + [3]  # domain 3 has a single image
    s = StepSampler(References(Plain(len(labels), 6, seed=0), Domains(labels), seed=0))
    refs = Counter()
    for step in range(200):
        b = s.batch(step)
        assert len(b) == 18
        src, ref, ref2 = b[:6], b[6:12], b[12:]
        assert src == StepSampler(Plain(len(labels), 6, seed=0)).batch(step)  # sources stay the plain permutation
        for r, r2 in zip(ref, ref2):
            assert labels[r] == labels[r2]
            assert r != r2 or labels[r] == 3
            refs[labels[r]] += 1
    assert min(refs.values()) > 200  # references class-balanced: ~300 per domain


def test_bad_sampler_input():
    with pytest.raises(I2IError, match="labels"):
        Balanced(Domains(None), 2, seed=0)
    with pytest.raises(I2IError, match="labels"):
        References(Plain(10, 2, seed=0), Domains([0] * 9, 10), seed=0)
    with pytest.raises(I2IError, match="batch_size"):
        StepSampler(Plain(3, 4, seed=0))


def test_trainer_asks_for_domain_labels(tmp_path, monkeypatch):
    cfg = RunConfig.default("stargan")
    cfg.apply_overrides(["data.image_size=32", "n_train=16", "n_test=4", "g_conv_dim=8", "d_conv_dim=8",
                         "g_repeat_num=1", "d_repeat_num=3", "batch_size=4", "logger=none", "amp=none"])
    t = Trainer(cfg, tmp_path / "r", show_progress=False)
    monkeypatch.setattr(type(t.method), "batch_policy", get_method("stargan_v2").batch_policy)
    with pytest.raises(I2IError, match="shapes.*no domain labels"):
        t.loader()
    cfg.apply_overrides(["domains=circle,square"])
    t = Trainer(cfg, tmp_path / "s", show_progress=False)
    batch = next(t.loader())
    assert batch["image"].shape[0] == 12 and batch["label"].shape == (12,)
    x_label, ref_label, ref2_label = batch["label"].chunk(3)
    assert torch.equal(ref_label, ref2_label)


def test_pools_take_turns_and_each_runs_its_own_epochs():
    a, b = np.arange(0, 10), np.arange(100, 108)
    s = StepSampler(Pools([a, b], 4, seed=0))
    batches = [s.batch(k) for k in range(6)]
    assert all(set(x) <= set(a) for x in batches[0::2]) and all(set(x) <= set(b) for x in batches[1::2])
    assert len(set(batches[1]) | set(batches[3])) == 8  # b's first epoch: two disjoint batches
    assert StepSampler(Pools([a, b], 4, seed=0), start_step=3).batch(3) == batches[3]  # resumable


def test_grouped_pool_gives_distinct_label_groups_of_four():
    pool = np.arange(50)
    groups = pool % 6
    s = StepSampler(Pools([pool], 16, seed=1, grouping=[groups]))
    for step in range(5):
        out = np.array(s.batch(step)).reshape(4, 4)
        g = groups[out]
        assert (g == g[:, :1]).all() and len(set(g[:, 0])) == 4
    assert s.batch(2) == StepSampler(Pools([pool], 16, seed=1, grouping=[groups])).batch(2)


def test_grouped_pool_needs_enough_labels_and_a_multiple_of_four():
    pool = np.arange(20)
    with pytest.raises(I2IError, match="3 distinct labels"):
        StepSampler(Pools([pool], 16, seed=0, grouping=[pool % 3]))
    with pytest.raises(I2IError, match="multiple of 4"):
        StepSampler(Pools([pool], 10, seed=0, grouping=[pool % 5]))
    with pytest.raises(I2IError, match="fewer than batch_size"):
        StepSampler(Pools([np.arange(5)], 16, seed=0))


def test_mixed_batches_take_an_equal_share_of_every_pool():
    a, b = np.arange(0, 10), np.arange(100, 108)
    s = StepSampler(Pools([a, b], 4, seed=0, mix=True))
    for step in range(5):
        out = s.batch(step)
        assert set(out[:2]) <= set(a) and set(out[2:]) <= set(b)
    with pytest.raises(I2IError, match="divisible"):
        StepSampler(Pools([a, b], 5, seed=0, mix=True))


def test_loader_workers_auto_is_none_on_cpu_and_leaves_a_core_per_gpu_process(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert loader_workers(-1, torch.device("cpu")) == 0
    assert loader_workers(-1, torch.device("cuda")) == 8
    assert loader_workers(-1, torch.device("cuda"), world=4) == 3
    assert loader_workers(2, torch.device("cpu")) == 2
    with pytest.raises(I2IError, match="num_workers=-2"):
        loader_workers(-2, torch.device("cpu"))


def test_compile_auto_only_for_long_runs_with_a_compiler(monkeypatch):
    cpu = torch.device("cpu")
    assert pick_compile("on", 1, cpu) and not pick_compile("off", 10**6, cpu)
    assert not pick_compile("auto", COMPILE_FROM_STEPS - 1, cpu)
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/g++")
    assert pick_compile("auto", COMPILE_FROM_STEPS, cpu)
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert not pick_compile("auto", COMPILE_FROM_STEPS, cpu)
    with pytest.raises(I2IError, match="compile='yes'"):
        pick_compile("yes", 1, cpu)


def test_resample_convs_on_by_default_for_stargan_v2_blocks_and_can_be_switched_off():
    for overrides, expected in (([], True), (["resample_convs=false"], False)):
        cfg = RunConfig.default("stargan_v2")
        cfg.apply_overrides(["dim_in=8", "max_conv_dim=16", *overrides])
        method = get_method("stargan_v2")(cfg.model, DataInfo(32, domains=["a", "b"]))
        apply_runtime(method, cfg.train, torch.device("cpu"))
        flags = [resample_convs_on(m) for m in method.modules() if hasattr(type(m), "resampled_convs")]
        assert flags and all(f is expected for f in flags)


def test_channels_last_auto_is_on_for_resampling_blocks_only_and_a_setting_wins():
    for name, info, auto in (("stargan_v2", DataInfo(32, domains=["a", "b"]), True),
                             ("stargan", DataInfo(32, attributes=["red", "blue"]), False)):
        cfg = RunConfig.default(name)
        assert cfg.train.channels_last is None  # auto: no method states a layout of its own
        cfg.apply_overrides(["dim_in=8", "max_conv_dim=16"] if name == "stargan_v2" else ["g_conv_dim=8", "d_conv_dim=8", "d_repeat_num=3"])
        for setting, expected in ((None, auto), (True, True), (False, False)):
            cfg.train.channels_last = setting
            method = get_method(name)(cfg.model, info)
            apply_runtime(method, cfg.train, torch.device("cpu"))
            assert method.channels_last is expected, (name, setting)
    cfg = RunConfig.default("stargan")
    cfg.apply_overrides(["channels_last=auto"])
    assert cfg.train.channels_last is None


def test_compile_takes_every_network_but_those_a_loss_differentiates_twice(monkeypatch):
    import i2i.train.runtime as runtime
    monkeypatch.setattr(runtime, "compile_network", lambda net: None)
    cfg = RunConfig.default("stargan_v2")
    cfg.apply_overrides(["dim_in=8", "max_conv_dim=16", "compile=on"])
    method = get_method("stargan_v2")(cfg.model, DataInfo(32, domains=["a", "b"]))
    assert apply_runtime(method, cfg.train, torch.device("cpu")) == ["generator", "mapping_network", "style_encoder"]
    for name in ("stargan", "matchgan", "wgan_gp"):
        assert get_method(name).double_backward == ("D",)  # their gradient penalty's critic
