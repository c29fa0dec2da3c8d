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

The last tests run i2i with its fast defaults instead (bf16 autocast where the CPU has bf16 units,
fused Adam, matmul_convs) and bound how far that lands from the official.
"""
import pytest
import torch
from parity_helpers import (FIXTURES, RTOL, RUNNING, check_param_groups, close, load_gz, loss_deviation,
                            moment_deviation, skip_forced_bf16_where_auto_picks_it, update_deviation)

from i2i.config import TrainConfig
from i2i.methods.base import DataInfo
from i2i.methods.cyclegan import CycleGAN, CycleGANConfig
from i2i.methods.pix2pix import Pix2Pix, Pix2PixConfig
from i2i.train.runtime import apply_runtime



def load(name):
    return load_gz(FIXTURES / name / "train.pt.gz")


def to_float(u8):
    return u8.float() / 127.5 - 1


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


def prepare(m, fix, runtime):
    """The official initial weights; then, with runtime (a TrainConfig), its speed settings applied
    as the trainer applies them, else a check that m is in the reference setting."""
    for name, sd in fix["init"].items():
        getattr(m, name).load_state_dict(sd)
    if runtime is not None:
        assert apply_runtime(m, runtime, torch.device("cpu")) == []  # nothing compiled
    else:
        assert m.amp_dtype is None and not m.fused_optim  # the reference setting
    m.train()


def train_cyclegan(runtime=None):
    """i2i's CycleGAN from the official initial weights, on the official batches and pool draws."""
    fix = load("cyclegan")
    cfg = fix["config"]
    m = CycleGAN(CycleGANConfig(**options(cfg), lambda_A=cfg["lambda_A"], lambda_B=cfg["lambda_B"],
                                lambda_identity=cfg["lambda_identity"], pool_size=cfg["pool_size"]),
                 DataInfo(cfg["crop_size"], channels=cfg["input_nc"]))
    prepare(m, fix, runtime)
    mp = pytest.MonkeyPatch()
    try:
        replay = PoolReplay(fix["draws"]["pool"], cfg["pool_size"], mp)
        logs = [m.train_step({"A": to_float(b["A"]), "B": to_float(b["B"])}, i) for i, b in enumerate(fix["batches"])]
    finally:
        mp.undo()
    assert not replay.draws  # every official draw used, none more
    return fix, m, logs


@pytest.fixture(scope="module")
def cyclegan():
    return train_cyclegan()


def train_pix2pix(runtime=None):
    """i2i's pix2pix from the official initial weights, on the official batches, the official
    RNG state restored before each step (the dropout masks); also returns the masks drawn."""
    fix = load("pix2pix")
    cfg = fix["config"]
    m = Pix2Pix(Pix2PixConfig(**options(cfg), lambda_L1=cfg["lambda_L1"], direction=cfg["direction"]),
                DataInfo(cfg["crop_size"], channels=cfg["input_nc"]))
    prepare(m, fix, runtime)
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


@pytest.fixture(scope="module")
def pix2pix():
    return train_pix2pix()


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
    check_param_groups(own, theirs)
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


# -- fast defaults --------------------------------------------------------------------------

def nets_deviation(m, fix, nets):
    """Per network: ‖Δw‖ / ‖official update‖ (official update: final − initial) and the cosine of
    the two updates over its parameters; with batch norm (pix2pix), the same for its running
    statistics."""
    out = {}
    for net in nets:
        own, theirs, init = getattr(m, net).state_dict(), fix["final"][net], fix["init"][net]
        for part, keys in (("weights", [k for k in theirs if not k.endswith(RUNNING)]),
                           ("stats", [k for k in theirs if k.endswith(("running_mean", "running_var"))])):
            if not keys:
                continue
            d = update_deviation(own, theirs, init, keys)
            out[f"{net} {part}"], out[f"{net} {part} cos"] = d["weights"], d["cos"]
    return out


def opt_deviation(m, fix, opt):
    """moment_deviation of an optimiser, keyed "<opt> exp_avg", "<opt> exp_avg_sq"."""
    d = moment_deviation(m.optimizers()[opt].state_dict()["state"], fix["optim"][opt]["state"])
    return {f"{opt} {k}": v for k, v in d.items()}


def fast(method, amp):
    """TrainConfig of a K-step run with the method's train_defaults (amp as given): fused Adam,
    matmul_convs; compile off (auto, below 20,000 steps)."""
    defaults = {"cyclegan": CycleGAN, "pix2pix": Pix2Pix}[method].train_defaults
    return TrainConfig(steps=load(method)["K"], **{**defaults, "amp": amp})


def cyclegan_fast_deviation(amp):
    """Losses (official names; each term's max |Δ| over the iterations / its largest official
    value), per network ‖Δw‖ / ‖official update‖ and the updates' cosine, per optimiser ‖Δm‖ / ‖m‖
    and ‖Δv‖ / ‖v‖, per pool ‖Δ‖ / ‖official contents‖."""
    fix, m, logs = train_cyclegan(fast("cyclegan", amp))
    ours = [{k.split("/", 1)[1]: v for k, v in row.items()} for row in logs]
    dev = {"amp": m.amp_dtype, "fused": m.fused_optim, "loss": loss_deviation(ours, fix["losses"], fix["losses"][0])}
    dev |= nets_deviation(m, fix, ("G_A", "G_B", "D_A", "D_B"))
    dev |= opt_deviation(m, fix, "G") | opt_deviation(m, fix, "D")
    for name in ("fake_A_pool", "fake_B_pool"):
        a, b = getattr(m, name).images.float(), fix["pools"][name]
        dev[name] = ((a - b).norm() / b.norm()).item()
    return dev


def pix2pix_fast_deviation(amp):
    """As cyclegan_fast_deviation, with batch norm's running statistics (as the weights) and
    whether the dropout masks were the official ones."""
    fix, m, logs, masks = train_pix2pix(fast("pix2pix", amp))
    lam = fix["config"]["lambda_L1"]
    ours = [{"G_GAN": o["G/loss_GAN"], "G_L1": lam * o["G/loss_L1"], "D_real": o["D/loss_real"],
             "D_fake": o["D/loss_fake"]} for o in logs]
    dev = {"amp": m.amp_dtype, "fused": m.fused_optim, "loss": loss_deviation(ours, fix["losses"], fix["losses"][0]),
           "masks": all(torch.equal(a, b) for ours_, want in zip(masks, fix["draws"]["dropout_masks"])
                        for a, b in zip(ours_, want))}
    dev |= nets_deviation(m, fix, ("G", "D"))
    dev |= opt_deviation(m, fix, "G") | opt_deviation(m, fix, "D")
    return dev


def check_bounds(dev, bounds):
    for key, bound in bounds.items():
        if key.endswith("cos"):
            assert dev[key] >= bound, (key, dev)
        else:
            assert dev[key] <= bound, (key, dev)


CYCLEGAN_GAN_TERMS = ("G_A", "G_B")  # G's least-squares adversarial terms
CYCLEGAN_BOUNDS = {"G_A weights": 1.1, "G_B weights": 1.1, "G_A weights cos": 0.45, "G_B weights cos": 0.45,
                   "G exp_avg": 1.2, "G exp_avg_sq": 0.75,
                   "D_A weights": 0.4, "D_B weights": 0.4, "D_A weights cos": 0.93, "D_B weights cos": 0.93,
                   "D exp_avg": 0.4, "D exp_avg_sq": 0.4, "fake_A_pool": 0.3, "fake_B_pool": 0.3}


@pytest.mark.parametrize("amp", ["auto", "bf16"])
def test_cyclegan_fast_defaults_stay_within_a_measured_bound_of_the_official(amp):
    """i2i's fast defaults, as the trainer applies them to a 4-step run (apply_runtime with
    TrainConfig(steps=4, **CycleGAN.train_defaults): train.amp auto, bf16 autocast on a CPU with
    bf16 units, as this one; fused Adam; matmul_convs; compile off, auto below 20,000 steps), from
    the official initial weights on the official batches and pool draws. "bf16" forces bf16
    autocast (emulated where the CPU has no bf16 units); it is skipped where auto already picks it.

    Measured on an avx512_bf16 CPU, torch 2.13, bf16 (oneDNN on / off: torch.backends.mkldnn.enabled
    = False, other bf16 kernels, a stand-in for another CPU's rounding), bound in brackets:
      losses, max over the 4 iterations of |Δ| / the term's largest official value: G's
        adversarial terms G_A 3.1e-2 / 3.5e-2, G_B 9.4e-3 / 1.4e-2 (7e-2: least-squares scores of
        a 2-filter D near their target, where bf16's 8 significant bits are coarse); cycle,
        identity and D terms ≤ 2.5e-3 / 2.2e-3 (5e-3).
      G_A, G_B: ‖Δw‖ / ‖official update‖ 0.77, 0.67 / 0.81, 0.70 (1.1), update cosine 0.70, 0.78 /
        0.67, 0.76 (≥ 0.45); Adam ‖Δm‖ / ‖m‖ 0.83 / 0.87 (1.2), ‖Δv‖ / ‖v‖ 0.37 / 0.43 (0.75).
      D_A, D_B: ‖Δw‖ / ‖official update‖ 0.21, 0.16 / 0.21, 0.17 (0.4), cosine ≥ 0.978 / 0.978
        (≥ 0.93); Adam ‖Δm‖ / ‖m‖ 0.22 / 0.23, ‖Δv‖ / ‖v‖ 0.18 / 0.18 (0.4).
      pools' contents ‖Δ‖ / ‖official‖: 0.08, 0.11 / 0.08, 0.15 (0.3).
    G's figure is bf16's on 4 G steps: Adam's normalised steps on gradients that bf16 perturbs.
    The conv biases ahead of the instance norms (no affine; 34 in G_A and G_B, 6 in D_A and D_B)
    add little to it (without them G's ‖Δw‖ / ‖update‖ is 0.76, 0.65): their gradient is 0 in
    exact arithmetic and rounding noise in both codes, which Adam turns into steps of about ±lr
    whatever its size, so any change of rounding sends them their own way (up to 1.5e-3 = 7 lr
    apart under bf16). With amp "none" (fused Adam and matmul_convs on) they are all that differs:
    losses ≤ 4.7e-7, moments and pools at the reference level, G ‖Δw‖ / ‖update‖ 0.09, D 0.05
    (cosine ≥ 0.995), only in those biases, which the fused kernel's last-bit differences send
    the other way (fused Adam off: bit-equal to the reference run). So a CPU without bf16 units,
    where "auto" is fp32, lands far inside these bounds, and runs bf16 in the "bf16" case. On one CPU the figures
    are deterministic; the margins (1.35x on G's weights, 1.4x on its moments, 1.6x or more
    elsewhere) are for other CPUs' bf16 kernels."""
    skip_forced_bf16_where_auto_picks_it(amp)
    dev = cyclegan_fast_deviation(amp)
    assert dev["fused"] and (amp == "auto" or dev["amp"] == torch.bfloat16)
    for term, d in dev["loss"].items():
        assert d <= (7e-2 if term in CYCLEGAN_GAN_TERMS else 5e-3), (term, dev)
    check_bounds(dev, CYCLEGAN_BOUNDS)


PIX2PIX_BOUNDS = {"G weights": 0.7, "G weights cos": 0.85, "D weights": 0.5, "D weights cos": 0.9,
                  "G stats": 5e-3, "D stats": 5e-3, "G stats cos": 0.999, "D stats cos": 0.999,
                  "G exp_avg": 0.5, "G exp_avg_sq": 0.5, "D exp_avg": 0.5, "D exp_avg_sq": 0.5}


@pytest.mark.parametrize("amp", ["auto", "bf16"])
def test_pix2pix_fast_defaults_stay_within_a_measured_bound_of_the_official(amp):
    """As the CycleGAN test, for a 3-step pix2pix run (TrainConfig(steps=3, **Pix2Pix.train_defaults)),
    the official RNG state restored before each step: the dropout masks stay the official ones.

    Measured on an avx512_bf16 CPU, torch 2.13, bf16 (oneDNN on / off), bound in brackets:
      losses, max over the 3 iterations of |Δ| / the term's largest official value ≤ 2.3e-4 /
        3.1e-4 (2e-3).
      G: ‖Δw‖ / ‖official update‖ 0.36 / 0.32 (0.7), update cosine 0.937 / 0.948 (≥ 0.85); Adam
        ‖Δm‖ / ‖m‖ 0.21 / 0.20, ‖Δv‖ / ‖v‖ 5.4e-3 / 5.3e-3 (0.5).
      D: ‖Δw‖ / ‖official update‖ 0.25 / 0.23 (0.5), update cosine 0.969 / 0.973 (≥ 0.9); Adam
        ‖Δm‖ / ‖m‖ 0.27 / 0.22, ‖Δv‖ / ‖v‖ 0.18 / 0.18 (0.5).
      batch norm's running statistics, ‖Δ‖ / ‖official change‖: G 6.2e-4 / 6e-4, D 2.4e-4 / 3e-4
        (5e-3; cosine ≥ 0.999): the batch means and variances bf16 rounds.
    Batch norm has no bias ahead of it here (the official use_bias is off with batch norm), so there
    is no zero-gradient parameter: with amp "none" (fused Adam and matmul_convs on) losses are
    within 1.7e-7 and the weights, statistics and moments equal to the reference level. So a CPU
    without bf16 units, where "auto" is fp32, lands far inside these bounds, and runs bf16 in the
    "bf16" case. The figures are Adam's normalised steps on gradients bf16 perturbs, over 3 steps;
    the margins (1.8x or more) are for other CPUs' bf16 kernels."""
    skip_forced_bf16_where_auto_picks_it(amp)
    dev = pix2pix_fast_deviation(amp)
    assert dev["fused"] and (amp == "auto" or dev["amp"] == torch.bfloat16)
    assert dev["masks"]  # dropout draws from torch's RNG as in the reference run
    assert set(dev["loss"]) == {"G_GAN", "G_L1", "D_real", "D_fake"}
    for term, d in dev["loss"].items():
        assert d <= 2e-3, (term, dev)
    check_bounds(dev, PIX2PIX_BOUNDS)
