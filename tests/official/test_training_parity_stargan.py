"""StarGAN trains as yunjey/stargan's Solver.train does, step for step (CelebA path: multi-label BCE).

Fixture (tests/fixtures/official/training/stargan_celeba/train.pt.gz, gzip of a torch.save file),
made outside the repository by make_stargan_train_fixtures.py with the official solver.py and
model.py (commit 94dd002) and torch 2.13 on CPU: Solver(image_size 16, g_conv_dim 8, d_conv_dim 8,
c_dim 3, g_repeat_num 1, d_repeat_num 3, batch 4, n_critic 5, the official λs and Adam settings)
trained for K = 10 iterations (G steps at iterations 4 and 9) by its own train() on a loader of
K + 1 fixed batches (train() keeps the first as its sampling batch). It holds the batches, every
random draw train() made (torch.randperm for the targets, torch.rand for the penalty's α), the
initial and final G/D state dicts, the Adam states and each iteration's logged losses (the values
train() hands its tensorboard logger, not the printed 4 digits).

i2i runs in its reference setting: float32, no autocast, no fused optimiser, no compile.
"""
import gzip
import io
from pathlib import Path

import pytest
import torch

from i2i.methods.base import DataInfo
from i2i.methods.stargan import StarGAN, StarGANConfig

FIX = Path(__file__).parents[1] / "fixtures" / "official" / "training" / "stargan_celeba" / "train.pt.gz"
RTOL = 1e-5
RUNNING = ("running_mean", "running_var", "num_batches_tracked")


def load():
    with gzip.open(FIX, "rb") as f:
        return torch.load(io.BytesIO(f.read()), weights_only=True)


class Replay:
    """Hands i2i's step the official draws, in the official order, checking each call's shape."""

    def __init__(self, draws, monkeypatch):
        self.perms, self.alphas = list(draws["randperm"]), list(draws["rand"])
        randperm, rand = torch.randperm, torch.rand

        def fake_randperm(n, *a, **k):
            want = self.perms.pop(0)
            assert n == len(want)
            return want.to(k.get("device") or "cpu")

        def fake_rand(*size, **k):
            want = self.alphas.pop(0)
            assert tuple(size) == tuple(want.shape), (size, want.shape)
            return want.to(k.get("device") or "cpu")

        monkeypatch.setattr(torch, "randperm", fake_randperm)
        monkeypatch.setattr(torch, "rand", fake_rand)


def close(a, b):
    """max |a − b| / (|b| + tiny): the relative error rtol bounds."""
    return ((a - b).abs() / b.abs().clamp_min(1e-30)).max().item() if a.numel() else 0.0


def train(extra_forward=False):
    """i2i's StarGAN from the official initial weights, on the official batches and draws. With
    extra_forward, each G iteration first runs G(x, c_trg) once more outside the step (no
    gradients): the forward the official G step repeats, for the running statistics only."""
    fix = load()
    cfg = fix["config"]
    torch.manual_seed(0)
    m = StarGAN(StarGANConfig(g_conv_dim=cfg["g_conv_dim"], d_conv_dim=cfg["d_conv_dim"],
                              g_repeat_num=cfg["g_repeat_num"], d_repeat_num=cfg["d_repeat_num"],
                              lambda_cls=cfg["lambda_cls"], lambda_rec=cfg["lambda_rec"], lambda_gp=cfg["lambda_gp"],
                              g_lr=cfg["g_lr"], d_lr=cfg["d_lr"], beta1=cfg["beta1"], beta2=cfg["beta2"],
                              n_critic=cfg["n_critic"]),
                DataInfo(cfg["image_size"], attributes=cfg["selected_attrs"]))
    m.G.load_state_dict(fix["init"]["G"])
    m.D.load_state_dict(fix["init"]["D"])
    m.train()
    assert m.amp_dtype is None and not m.fused_optim and not m.cfg.gp_fp32  # the reference setting
    mp = pytest.MonkeyPatch()
    try:
        replay = Replay(fix["draws"], mp)
        logs = []
        for i, (x, label) in enumerate(fix["batches"][1:]):
            if extra_forward and (i + 1) % cfg["n_critic"] == 0:
                with torch.no_grad():
                    m.G(x, label[replay.perms[0]])
            logs.append(m.train_step({"image": x, "label": label}, i))
    finally:
        mp.undo()
    assert not replay.perms and not replay.alphas  # every official draw used, none more
    return fix, m, logs


@pytest.fixture(scope="module")
def trained():
    return train()


def test_each_iterations_losses_equal_the_official(trained):
    """All 7 logged terms (4 on D-only iterations), rtol 1e-5. Measured worst: 2.1e-7."""
    fix, m, logs = trained
    assert len(logs) == fix["K"] == 10
    for i, (ours, theirs) in enumerate(zip(logs, fix["losses"])):
        assert set(ours) == set(theirs), i
        for k, v in theirs.items():
            assert ours[k] == pytest.approx(v, rel=RTOL, abs=0), (i, k, ours[k], v)


def scale_close(a, b):
    """Equal to rtol 1e-5 elementwise, or within 1e-5 of the tensor's largest entry: an entry far
    below its tensor's scale (a bias a few Adam steps from 0) carries the rounding of the rest."""
    return torch.allclose(a, b, rtol=RTOL, atol=RTOL * b.abs().max().item())


def centre_taps(w):
    """A copy of G's first conv weight with the centre taps of its label channels set to 0."""
    w = w.clone()
    w[:, 3:, 3, 3] = 0
    return w


@pytest.mark.parametrize("net", ["G", "D"])
def test_final_weights_equal_the_official(trained, net):
    """Every weight of D, and of G but 24 entries of its first conv (next test), after 10
    iterations. Measured: worst max|Δ| / max|w| per tensor 1.2e-5 (G main.11.bias, 2 Adam steps of
    1e-4 from 0), 4.6e-6 in D; all within rtol 1e-5 or 1e-5 of the tensor's scale."""
    fix, m, _ = trained
    own = getattr(m, net).state_dict()
    theirs = fix["final"][net]
    assert set(own) == set(theirs)
    for k, v in theirs.items():
        if k.endswith(RUNNING):
            continue  # see the running-statistics test
        a = own[k]
        if net == "G" and k == "main.0.weight":
            a, v = centre_taps(a), centre_taps(v)
        assert scale_close(a, v), (net, k, close(a, v))


def test_the_label_channels_centre_taps_differ_only_as_rounding_can_make_them(trained):
    """G's first conv (7x7, padding 3) reads the label as channels constant over the image, and an
    instance norm follows it. The centre tap of a label channel never reaches the padding, so it
    adds the same constant at every pixel, which the norm removes: its gradient is 0 in exact
    arithmetic and float32 rounding in both codes (official sqrt(v) ~4e-9 against 3e-2 for the
    tensor; the two codes round differently, e.g. i2i runs D once over [real; fake] where the
    official runs it twice, and autograd sums D's branches in another order). Adam divides a
    gradient by its own size, so such a weight moves by up to about lr each G step either way;
    nothing after the norm depends on it.
    Measured: those 24 entries (8 filters x 3 labels) differ by at most 3.0e-4 ≤ 2 lr x 2 G steps."""
    fix, m, _ = trained
    lr, g_steps = fix["config"]["g_lr"], fix["K"] // fix["config"]["n_critic"]
    own = m.G.state_dict()["main.0.weight"][:, 3:, 3, 3]
    theirs = fix["final"]["G"]["main.0.weight"][:, 3:, 3, 3]
    sq = fix["optim"]["G"]["state"][0]["exp_avg_sq"]
    assert (sq[:, 3:, 3, 3].sqrt() <= 1e-6 * sq.sqrt().max()).all()  # gradients at rounding level
    assert (own - theirs).abs().max() <= 2 * lr * g_steps


def test_instance_norm_running_statistics_differ_only_by_the_official_extra_forward(trained):
    """The official G step computes G(x, c_trg) again though G is unchanged since the D step; i2i
    reuses the D step's fake (same values, same graph). Each forward in train mode moves the
    instance norms' running statistics (track_running_stats=True), so on G iterations the official
    G moves them three times, i2i twice, and they differ (~7-18% of their scale here). Neither
    code reads them in training or translation: the official test() and i2i's translate run
    instance norm in train mode (per-image statistics). Adding that forward outside i2i's step
    brings them equal; main.1's running mean then differs by 3.8e-4 of its scale: the centre taps
    above add a constant to main.0's output, which its mean records (and the norm removes)."""
    fix, m, _ = trained
    theirs = fix["final"]["G"]
    stats = [k for k in theirs if k.endswith(("running_mean", "running_var"))]
    assert stats and all(close(m.G.state_dict()[k], theirs[k]) > 1e-2 for k in stats)
    _, again, _ = train(extra_forward=True)
    own = again.G.state_dict()
    for k in stats:
        if k == "main.1.running_mean":
            assert (own[k] - theirs[k]).abs().max() <= 1e-3 * theirs[k].abs().max(), k
        else:
            assert scale_close(own[k], theirs[k]), (k, close(own[k], theirs[k]))
    assert torch.equal(own["main.0.weight"], m.G.state_dict()["main.0.weight"])  # it trains nothing


@pytest.mark.parametrize("net", ["G", "D"])
def test_adam_moments_equal_the_official(trained, net):
    """Adam's m and v for every parameter, to 1e-5 of each tensor's largest entry. Measured: worst
    max|Δ| / max(entry) 4.4e-6 in G (v of the residual block's second conv), 6.3e-7 in D; step
    counts equal (D 10, G 2)."""
    fix, m, _ = trained
    own = m.optimizers()[net].state_dict()
    theirs = fix["optim"][net]
    assert own["param_groups"][0]["params"] == theirs["param_groups"][0]["params"]
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad"):
        assert own["param_groups"][0][key] == pytest.approx(theirs["param_groups"][0][key]), key
    assert set(own["state"]) == set(theirs["state"])
    for p, st in theirs["state"].items():
        assert float(own["state"][p]["step"]) == float(st["step"]) == (fix["K"] if net == "D" else 2)
        for k in ("exp_avg", "exp_avg_sq"):
            a, b = own["state"][p][k], st[k]
            assert (a - b).abs().max() <= RTOL * b.abs().max(), (net, p, k, close(a, b))
