"""MUNIT training, step for step, against NVlabs/MUNIT's own MUNIT_Trainer (issue #27).

Fixture (tests/fixtures/official/training/munit/train.pt.gz), made outside the repository by a
script that runs the official code (commit a82e222, torch 2.13 CPU, `.cuda()` made a no-op and the
data/vgg imports of utils.py stubbed): MUNIT_Trainer(hyperparameters) builds the networks, Adam and
StepLR and applies its init; then K = 3 iterations of train.py's loop body (update_learning_rate,
dis_update, gen_update) on fixed random batches of 2 images per domain, 32 px. Widths lowered (gen
dim 4, MLP 8, style 8, 2 residual blocks; dis dim 4, 3 layers, 3 scales), step_size 2 so the rate
halves inside the K steps, recon_x_cyc_w 1 so every term is exercised; the other settings are
edges2shoes's. Recorded, in i2i's parameter names (the official conv block registers its layer
norm before its conv, so those pairs swap): the initial and final weights of the four networks,
each iteration's batches, learning rate, global RNG state before dis_update (the styles s_a, s_b
are drawn inside both updates) and every loss term.
"""
import re
from pathlib import Path

import pytest
import torch
from parity_helpers import load_gz

from i2i.methods.base import DataInfo
from i2i.methods.munit import MUNIT, MUNITConfig
from i2i.train.trainer import apply_schedule

FIX = Path(__file__).parents[1] / "fixtures" / "official" / "training" / "munit" / "train.pt.gz"
OFF = load_gz(FIX)
# i2i logs each term with its weight, the official trainer without
WEIGHT = {"dis": 1.0, "gan": 1.0, "recon_x": 10.0, "recon_s": 1.0, "recon_c": 1.0, "cyc_x": OFF["config"]["recon_x_cyc_w"]}
# conv biases followed by an instance norm (the content encoder's IN, the decoder's AdaIN): zero gradient in
# exact arithmetic, rounding noise (~1e-9) in float32, which Adam scales up to steps of about lr in both codes
NULL_GRAD = re.compile(r"^gen_[ab]\.(enc_content\.\d+(\.body\.\d)?|dec\.\d+\.body\.\d)\.1\.bias$")


@pytest.fixture(scope="module")
def run():
    m = MUNIT(MUNITConfig(**OFF["config"]), DataInfo(OFF["image_size"], domains=["circle", "square"]))
    m.load_state_dict(OFF["init"])
    m.train()
    logs, lrs = [], []
    for step, ((x_a, x_b), state) in enumerate(zip(OFF["batches"], OFF["rng"], strict=True)):
        apply_schedule(m.optimizers(), m.schedule(step, OFF["K"]))
        lrs.append(m.optimizers()["gen"].param_groups[0]["lr"])
        torch.set_rng_state(state)
        labels = torch.tensor([0] * len(x_a) + [1] * len(x_b))
        logs.append(m.train_step({"image": torch.cat([x_a, x_b]), "label": labels}, step))
    return m, logs, lrs


def test_the_fixture_is_the_official_run_we_mean():
    assert OFF["commit"].startswith("a82e222") and OFF["K"] == 3 == len(OFF["losses"])
    assert OFF["lr"] == pytest.approx([1e-4, 5e-5, 5e-5])  # StepLR stepped before each iteration
    assert FIX.stat().st_size < 1_000_000


def test_the_learning_rate_follows_the_official_step_schedule(run):
    _, _, lrs = run
    assert lrs == pytest.approx(OFF["lr"], rel=1e-12)


def test_every_loss_term_of_every_iteration_equals_the_official(run):
    _, logs, _ = run
    for i, (ours, theirs) in enumerate(zip(logs, OFF["losses"], strict=True)):
        mine = {k.split("/", 1)[1]: v / WEIGHT[k.split("/", 1)[1].rsplit("_", 1)[0]] for k, v in ours.items()}
        assert set(mine) == set(theirs)
        for key, value in theirs.items():
            assert mine[key] == pytest.approx(value, rel=1e-5, abs=1e-8), f"iteration {i} {key}"


def test_the_weights_after_k_iterations_equal_the_official(run):
    m, _, _ = run
    ours = dict(m.named_parameters())
    assert set(ours) == set(OFF["final"])
    moved, noise = 0, 0
    for name, theirs in OFF["final"].items():
        start = OFF["init"][name]
        moved += not torch.equal(theirs, start)
        if NULL_GRAD.match(name):  # both codes moved it by rounding noise: within the Adam steps' bound
            noise += 1
            bound = 2 * sum(OFF["lr"])
            assert (ours[name].detach() - theirs).abs().max() <= bound and (theirs - start).abs().max() <= bound, name
            continue
        # within 1% of one Adam step (lr 1e-4) or rtol 1e-5
        assert torch.allclose(ours[name].detach(), theirs, rtol=1e-5, atol=1e-6), name
    assert moved > 0.9 * len(OFF["final"])  # the updates reached (nearly) every tensor
    assert noise == 2 * (3 + 2 * 2 + 2 * 2)  # per generator: 3 encoder convs, 2 residual blocks each side
