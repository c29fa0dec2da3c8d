"""What the training-parity tests against the official codes share: fixture loading, the
tolerances, the official draws' replay and the measures of how far a run lands from the official.
Importable as `parity_helpers` (tests/conftest.py puts this folder on sys.path)."""
import gzip
import io
from pathlib import Path

import pytest
import torch

from i2i.train.runtime import apply_runtime

FIXTURES = Path(__file__).parents[1] / "fixtures" / "official" / "training"
RTOL = 1e-5
RUNNING = ("running_mean", "running_var", "num_batches_tracked")
CRITIC_MEANS = ("D/loss_real", "D/loss_fake", "G/loss_fake")  # means of ± scores, far below the scores' size


def load_gz(path):
    """A gzipped torch.save file, loaded with weights_only."""
    with gzip.open(path, "rb") as f:
        return torch.load(io.BytesIO(f.read()), weights_only=True)


def close(a, b):
    """max |a − b| / (|b| + tiny): the relative error rtol bounds."""
    return ((a - b).abs() / b.abs().clamp_min(1e-30)).max().item() if a.numel() else 0.0


def scale_close(a, b):
    """Equal to rtol 1e-5 elementwise, or within 1e-5 of the tensor's largest entry: an entry far
    below its tensor's scale (a bias a few Adam steps from 0) carries the rounding of the rest."""
    return torch.allclose(a, b, rtol=RTOL, atol=RTOL * b.abs().max().item())


def centre_taps(w):
    """A copy of G's first conv weight with the centre taps of its label channels set to 0."""
    w = w.clone()
    w[:, 3:, 3, 3] = 0
    return w


def flat(tensors: dict, keys) -> torch.Tensor:
    """The tensors under keys, as one float vector."""
    return torch.cat([tensors[k].float().flatten() for k in keys])


def prepare_stargan_like(m, runtime):
    """With runtime (a TrainConfig), its speed settings applied as the trainer applies them (nothing
    compiled); m put in train mode; without, a check that m is in the reference setting."""
    if runtime is not None:
        assert apply_runtime(m, runtime, torch.device("cpu")) == []  # nothing compiled
    m.train()
    if runtime is None:
        assert m.amp_dtype is None and not m.fused_optim and not m.penalty_fp32  # the reference setting


class Replay:
    """Hands i2i's step the official draws, in the official order: torch.rand, the penalty's α
    (shape checked), from draws["rand"]; torch.randperm from the subclass's randperm."""

    def __init__(self, draws, monkeypatch):
        self.alphas = list(draws["rand"])

        def fake_rand(*size, **k):
            want = self.alphas.pop(0)
            assert tuple(size) == tuple(want.shape), (size, want.shape)
            return want.to(k.get("device") or "cpu")

        monkeypatch.setattr(torch, "randperm", self.randperm)
        monkeypatch.setattr(torch, "rand", fake_rand)

    def randperm(self, n, *a, **k):
        raise NotImplementedError


def check_param_groups(own, theirs):
    """An optimiser state dict's parameter order and settings are the official's, and it holds
    state for the same parameters."""
    assert own["param_groups"][0]["params"] == theirs["param_groups"][0]["params"]
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad"):
        assert own["param_groups"][0][key] == pytest.approx(theirs["param_groups"][0][key]), key
    assert set(own["state"]) == set(theirs["state"])


def check_final_weights(own, theirs, net):
    """Every weight (running statistics aside) scale_close to the official; G's first conv but the
    label channels' centre taps."""
    assert set(own) == set(theirs)
    for k, v in theirs.items():
        if k.endswith(RUNNING):
            continue  # see the running-statistics test
        a = own[k]
        if net == "G" and k == "main.0.weight":
            a, v = centre_taps(a), centre_taps(v)
        assert scale_close(a, v), (net, k, close(a, v))


def check_centre_taps(fix, m, theirs):
    """The label channels' centre taps of G's first conv (theirs: the official final weight) get
    gradients at rounding level and end at most 2 lr x the G steps apart."""
    lr, g_steps = fix["config"]["g_lr"], fix["K"] // fix["config"]["n_critic"]
    own = m.G.state_dict()["main.0.weight"][:, 3:, 3, 3]
    theirs = theirs[:, 3:, 3, 3]
    sq = fix["optim"]["G"]["state"][0]["exp_avg_sq"]
    assert (sq[:, 3:, 3, 3].sqrt() <= 1e-6 * sq.sqrt().max()).all()  # gradients at rounding level
    assert (own - theirs).abs().max() <= 2 * lr * g_steps


def check_running_statistics(m, theirs, retrain):
    """G's instance-norm running statistics differ from the official (theirs: its final G state
    dict, i2i's names) by more than 1e-2; retrain() (the run with the official extra forward) brings
    them scale_close, main.1's running mean to 1e-3 of its scale, and trains nothing else."""
    stats = [k for k in theirs if k.endswith(("running_mean", "running_var"))]
    assert stats and all(close(m.G.state_dict()[k], theirs[k]) > 1e-2 for k in stats)
    own = retrain().G.state_dict()
    for k in stats:
        if k == "main.1.running_mean":
            assert (own[k] - theirs[k]).abs().max() <= 1e-3 * theirs[k].abs().max(), k
        else:
            assert scale_close(own[k], theirs[k]), (k, close(own[k], theirs[k]))
    assert torch.equal(own["main.0.weight"], m.G.state_dict()["main.0.weight"])  # it trains nothing


def check_moments(own, theirs, net, steps):
    """Adam's step counts (steps: parameter index → count) and m, v to 1e-5 of each tensor's
    largest entry."""
    for p, st in theirs["state"].items():
        assert float(own["state"][p]["step"]) == float(st["step"]) == steps[p]
        for k in ("exp_avg", "exp_avg_sq"):
            a, b = own["state"][p][k], st[k]
            assert (a - b).abs().max() <= RTOL * b.abs().max(), (net, p, k, close(a, b))


def loss_deviation(ours_rows, theirs_rows, terms, logged_by="theirs"):
    """Each term's max |Δ| over the iterations where `logged_by` ("theirs" or "ours") logs it, over
    the term's largest official value on those iterations."""
    out = {}
    for term in terms:
        rows = [(o, t) for o, t in zip(ours_rows, theirs_rows) if term in (t if logged_by == "theirs" else o)]
        scale = max(abs(t[term]) for _, t in rows)
        out[term] = max(abs(o[term] - t[term]) / scale for o, t in rows)
    return out


def update_deviation(own, theirs, init, keys):
    """‖Δw‖ / ‖official update‖ (official update: final − initial) and the cosine of the two
    updates, over the tensors under keys."""
    ours_w, their_w, init_w = flat(own, keys), flat(theirs, keys), flat(init, keys)
    return {"weights": ((ours_w - their_w).norm() / (their_w - init_w).norm()).item(),
            "cos": torch.nn.functional.cosine_similarity(ours_w - init_w, their_w - init_w, dim=0).item()}


def moment_deviation(own, theirs):
    """‖Δm‖ / ‖m‖ and ‖Δv‖ / ‖v‖ of Adam's moments over all the parameters (own, theirs: the
    optimisers' "state"), the step counts checked equal."""
    assert set(own) == set(theirs)
    assert all(float(own[p]["step"]) == float(st["step"]) for p, st in theirs.items())
    out = {}
    for k in ("exp_avg", "exp_avg_sq"):
        a = torch.cat([own[p][k].flatten() for p in theirs])
        b = torch.cat([st[k].flatten() for st in theirs.values()])
        out[k] = ((a - b).norm() / b.norm()).item()
    return out


def net_deviation(own, theirs, init, own_opt, their_opt):
    """update_deviation over a network's weights (running statistics aside) | moment_deviation."""
    keys = [k for k in theirs if not k.endswith(RUNNING)]  # running statistics: their own test
    return update_deviation(own, theirs, init, keys) | moment_deviation(own_opt, their_opt)


def skip_forced_bf16_where_auto_picks_it(amp):
    from i2i.train.runtime import pick_amp
    if amp == "bf16" and pick_amp("auto", torch.device("cpu")) == torch.bfloat16:
        pytest.skip("train.amp=auto already runs bf16 on this CPU")


def check_fast_bounds(dev, bounds):
    """dev's loss terms within bounds["loss"] (the critic's means within bounds["critic means"]);
    per network the cosine ≥ its bound, ‖Δw‖ / ‖update‖ and the moments' deviations ≤ theirs."""
    for term, d in dev["loss"].items():
        assert d <= bounds["critic means" if term in CRITIC_MEANS else "loss"], (term, dev)
    for net in ("G", "D"):
        b = bounds[net]
        assert dev[net]["cos"] >= b["cos"], (net, dev)
        for k in ("weights", "exp_avg", "exp_avg_sq"):
            assert dev[net][k] <= b[k], (net, k, dev)
