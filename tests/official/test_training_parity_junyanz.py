"""CycleGAN and pix2pix train as junyanz/pytorch-CycleGAN-and-pix2pix's optimize_parameters does,
step for step.

Fixtures (tests/fixtures/official/training/{cyclegan,pix2pix}/train.pt.gz, gzip of a torch.save
file), made outside the repository by make_junyanz_train_fixtures.py with the official
models/networks.py, base_model.py, cycle_gan_model.py, pix2pix_model.py and util/image_pool.py
(as stored at commit 032e884: GANLoss(gan_mode) with BCEWithLogitsLoss, InstanceNorm without
affine or running statistics) and torch 2.13 on CPU, float32. Each model is built by its own
__init__ from torch.manual_seed and trained for K iterations by set_input + optimize_parameters on
fixed batches (uint8 pictures; both sides feed u8 / 127.5 − 1):
- cyclegan: resnet_6blocks, ngf 2, ndf 2, basic D, instance norm, no dropout, lsgan, λ_A = λ_B = 10,
  λ_identity 0.5, 32 px, batch 2, K = 4, pool_size 3 (small so that the pool fills in the second
  iteration and then swaps: pool_size 50 would never draw within a few iterations). The pool's
  python random.uniform / random.randint draws are recorded in the order drawn.
- pix2pix: unet_128 (two dropout levels), ngf 1, ndf 2, batch norm, dropout on, vanilla GAN,
  λ_L1 100, 128 px, batch 1, K = 3. torch's CPU RNG state before each optimize_parameters (the
  dropout masks' source) and the masks themselves are recorded.
The fixtures hold the initial and final state dicts, the Adam states, each iteration's
get_current_losses() and (cyclegan) the pools' final contents.

i2i runs in its reference setting: float32, no autocast, no fused optimiser, no compile. Its image
pool draws from torch (torch.rand, torch.randint) where the official one draws from python's
random: the test hands it the official draws. Its dropout draws from torch's global RNG in the same
order as the official U-Net (innermost dropout level first), so restoring the recorded RNG state
before each step reproduces the official masks, which the test checks.
"""
import gzip
import io
from pathlib import Path

import pytest
import torch

from i2i.methods.base import DataInfo
from i2i.methods.cyclegan import CycleGAN, CycleGANConfig
from i2i.methods.pix2pix import Pix2Pix, Pix2PixConfig

FIX = Path(__file__).parents[1] / "fixtures" / "official" / "training"
RTOL = 1e-5
RUNNING = ("running_mean", "running_var", "num_batches_tracked")


def load(name):
    with gzip.open(FIX / name / "train.pt.gz", "rb") as f:
        return torch.load(io.BytesIO(f.read()), weights_only=True)


def to_float(u8):
    return u8.float() / 127.5 - 1


def close(a, b):
    """max |a − b| / |b|: the relative error rtol bounds."""
    return ((a - b).abs() / b.abs().clamp_min(1e-30)).max().item() if a.numel() else 0.0


def options(cfg):
    keys = ("netG", "netD", "n_layers_D", "ngf", "ndf", "norm", "init_gain", "gan_mode", "lr", "beta1")
    return {k: cfg[k] for k in keys} | {"dropout": not cfg["no_dropout"]}


class PoolReplay:
    """i2i's ImagePool asks torch.rand(()) > 0.5 and torch.randint(size, ()); the official asks
    random.uniform(0, 1) > 0.5 and random.randint(0, size − 1). Hands i2i the official values,
    in order, checking each call's kind and range."""

    def __init__(self, draws, pool_size, monkeypatch):
        self.draws = list(draws)

        def fake_rand(*size, **k):
            kind, v = self.draws.pop(0)
            assert kind == "uniform" and size in ((), ((),)), (kind, size)
            return torch.tensor(v, dtype=torch.float64)

        def fake_randint(high, size, **k):
            kind, v = self.draws.pop(0)
            assert kind == "randint" and high == pool_size and tuple(size) == (), (kind, high, size)
            return torch.tensor(v)

        monkeypatch.setattr(torch, "rand", fake_rand)
        monkeypatch.setattr(torch, "randint", fake_randint)


@pytest.fixture(scope="module")
def cyclegan():
    fix = load("cyclegan")
    cfg = fix["config"]
    m = CycleGAN(CycleGANConfig(**options(cfg), lambda_A=cfg["lambda_A"], lambda_B=cfg["lambda_B"],
                                lambda_identity=cfg["lambda_identity"], pool_size=cfg["pool_size"]),
                 DataInfo(cfg["crop_size"], channels=cfg["input_nc"]))
    for name, sd in fix["init"].items():
        getattr(m, name).load_state_dict(sd)
    m.train()
    mp = pytest.MonkeyPatch()
    try:
        replay = PoolReplay(fix["draws"]["pool"], cfg["pool_size"], mp)
        logs = [m.train_step({"A": to_float(b["A"]), "B": to_float(b["B"])}, i) for i, b in enumerate(fix["batches"])]
    finally:
        mp.undo()
    assert not replay.draws  # every official draw used, none more
    return fix, m, logs


@pytest.fixture(scope="module")
def pix2pix():
    fix = load("pix2pix")
    cfg = fix["config"]
    m = Pix2Pix(Pix2PixConfig(**options(cfg), lambda_L1=cfg["lambda_L1"], direction=cfg["direction"]),
                DataInfo(cfg["crop_size"], channels=cfg["input_nc"]))
    for name, sd in fix["init"].items():
        getattr(m, name).load_state_dict(sd)
    m.train()
    masks = []
    hooks = [mod.register_forward_hook(lambda mod, inp, out: masks[-1].append(out != 0))
             for mod in m.modules() if isinstance(mod, torch.nn.Dropout)]
    logs = []
    try:
        with torch.random.fork_rng(devices=[]):
            for i, (b, state) in enumerate(zip(fix["batches"], fix["draws"]["torch_rng_state"])):
                torch.set_rng_state(state)
                masks.append([])
                logs.append(m.train_step({"A": to_float(b["A"]), "B": to_float(b["B"])}, i))
    finally:
        for h in hooks:
            h.remove()
    return fix, m, logs, masks


# -- CycleGAN -------------------------------------------------------------------------------

def test_cyclegan_fixture_exercises_the_pool():
    draws = load("cyclegan")["draws"]["pool"]
    taken = [v > 0.5 for kind, v in draws if kind == "uniform"]
    assert any(taken) and not all(taken)   # the pool both swapped in an old fake and passed the new one


def test_cyclegan_each_iterations_losses_equal_the_official(cyclegan):
    fix, m, logs = cyclegan
    assert len(logs) == fix["K"] == 4
    for i, (ours, theirs) in enumerate(zip(logs, fix["losses"])):
        ours = {k.split("/", 1)[1]: v for k, v in ours.items()}   # G/G_A → G_A: the official names
        assert set(ours) == set(theirs) == set(fix["loss_names"]), i
        for k, v in theirs.items():
            assert ours[k] == pytest.approx(v, rel=RTOL, abs=0), (i, k, ours[k], v)


@pytest.mark.parametrize("net", ["G_A", "G_B", "D_A", "D_B"])
def test_cyclegan_final_weights_equal_the_official(cyclegan, net):
    fix, m, _ = cyclegan
    own, theirs = getattr(m, net).state_dict(), fix["final"][net]
    assert list(own) == list(theirs)
    for k, v in theirs.items():
        assert torch.allclose(own[k], v, rtol=RTOL, atol=0), (net, k, close(own[k], v))


def test_cyclegan_image_pools_hold_the_official_fakes(cyclegan):
    fix, m, _ = cyclegan
    for name in ("fake_A_pool", "fake_B_pool"):
        pool = getattr(m, name)
        assert int(pool.count) == pool.size == fix["pools"][name].shape[0]
        assert torch.allclose(pool.images, fix["pools"][name], rtol=RTOL, atol=1e-7), (name, close(pool.images, fix["pools"][name]))


def param_names(fix, nets):
    """The optimiser's parameter order, from the state dicts' order without buffers."""
    return [f"{n}.{k}" for n in nets for k in fix["init"][n] if not k.endswith(RUNNING)]


def check_adam(own_opt, theirs, names, own_names):
    own = own_opt.state_dict()
    assert own_names == names   # so the official indices name the same parameters in i2i
    assert own["param_groups"][0]["params"] == theirs["param_groups"][0]["params"]
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad"):
        assert own["param_groups"][0][key] == pytest.approx(theirs["param_groups"][0][key]), key
    assert set(own["state"]) == set(theirs["state"])
    worst = 0.0
    for p, st in theirs["state"].items():
        assert float(own["state"][p]["step"]) == float(st["step"])
        for k in ("exp_avg", "exp_avg_sq"):
            a, b = own["state"][p][k], st[k]
            worst = max(worst, close(a, b))
            assert torch.allclose(a, b, rtol=RTOL, atol=0), (names[p], k, close(a, b))
    return worst


@pytest.mark.parametrize("opt,nets", [("G", ("G_A", "G_B")), ("D", ("D_A", "D_B"))])
def test_cyclegan_adam_moments_equal_the_official(cyclegan, opt, nets):
    fix, m, _ = cyclegan
    own_names = [f"{n}.{k}" for n in nets for k, _ in getattr(m, n).named_parameters()]
    check_adam(m.optimizers()[opt], fix["optim"][opt], param_names(fix, nets), own_names)


# -- pix2pix --------------------------------------------------------------------------------

def test_pix2pix_dropout_masks_equal_the_official(pix2pix):
    fix, m, _, masks = pix2pix
    theirs = fix["draws"]["dropout_masks"]
    assert len(masks) == len(theirs) == fix["K"] == 3
    for i, (ours, want) in enumerate(zip(masks, theirs)):
        assert len(ours) == len(want) == 2, i   # unet_128: two dropout levels, one G forward per step
        for a, b in zip(ours, want):
            assert torch.equal(a, b), i


def test_pix2pix_each_iterations_losses_equal_the_official(pix2pix):
    """i2i logs L1 unweighted (G/loss_L1); the official loss_G_L1 is already × λ_L1."""
    fix, m, logs, _ = pix2pix
    lam = fix["config"]["lambda_L1"]
    for i, (ours, theirs) in enumerate(zip(logs, fix["losses"])):
        mapped = {"G_GAN": ours["G/loss_GAN"], "G_L1": lam * ours["G/loss_L1"],
                  "D_real": ours["D/loss_real"], "D_fake": ours["D/loss_fake"]}
        assert set(mapped) == set(theirs) == set(fix["loss_names"])
        for k, v in theirs.items():
            assert mapped[k] == pytest.approx(v, rel=RTOL, abs=0), (i, k, mapped[k], v)


@pytest.mark.parametrize("net", ["G", "D"])
def test_pix2pix_final_weights_and_batch_norm_statistics_equal_the_official(pix2pix, net):
    fix, m, _, _ = pix2pix
    own, theirs = getattr(m, net).state_dict(), fix["final"][net]
    assert list(own) == list(theirs)
    for k, v in theirs.items():
        if k.endswith("num_batches_tracked"):
            assert int(own[k]) == int(v), k
        else:
            assert torch.allclose(own[k], v, rtol=RTOL, atol=0), (net, k, close(own[k], v))


@pytest.mark.parametrize("net", ["G", "D"])
def test_pix2pix_adam_moments_equal_the_official(pix2pix, net):
    fix, m, _, _ = pix2pix
    own_names = [f"{net}.{k}" for k, _ in getattr(m, net).named_parameters()]
    check_adam(m.optimizers()[net], fix["optim"][net], param_names(fix, (net,)), own_names)
