import torch

from i2i.methods import opgan
from i2i.methods.base import DataInfo
from i2i.methods.opgan import OPGAN, OPGANConfig

INFO = DataInfo(32, domains=["plain", "striped"])
TINY = dict(netG="resnet_2blocks", ngf=8, ndf=8, pool_size=3, s_dim=8)


def batch(n=2):
    return {"A": torch.rand(n, 3, 32, 32) * 2 - 1, "B": torch.rand(n, 3, 32, 32) * 2 - 1}


def test_grid_patches_cut_a_row_major_3x3_grid():
    x = torch.arange(36.0).reshape(1, 1, 6, 6)
    p = opgan.grid_patches(x)
    assert p.shape == (1, 9, 1, 2, 2)
    assert torch.equal(p[0, 0, 0], x[0, 0, :2, :2]) and torch.equal(p[0, 5, 0], x[0, 0, 2:4, 4:6])


def test_pairs_are_one_of_each_kind_per_image():
    first, second, label = opgan.sample_pairs(5, torch.Generator().manual_seed(0))
    cells = 9
    side = lambda i: (i % (2 * cells)) // cells
    pos = lambda i: i % cells
    img = lambda i: i // (2 * cells)
    assert (img(first) == img(second)).all()  # pairs never mix images
    kinds = list(zip(side(first).tolist(), side(second).tolist(), (pos(first) == pos(second)).tolist(), label.tolist()))
    assert kinds.count((0, 0, False, opgan.BOTH_SOURCE)) == 5
    assert kinds.count((1, 1, False, opgan.BOTH_TRANSLATED)) == 5
    assert kinds.count((0, 1, True, opgan.ONE_OF_EACH)) == 5    # same position
    assert kinds.count((0, 1, False, opgan.ONE_OF_EACH)) == 5   # different positions


def test_content_registration_is_zero_for_an_unchanged_image_and_positive_for_a_moved_one():
    m = OPGAN(OPGANConfig(**TINY), INFO)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        cc, dc = m.self_supervised_losses(x, x)
        cc_moved, _ = m.self_supervised_losses(x, x.roll(11, 3))
    assert float(cc) == 0.0 and float(dc) > 0
    assert float(cc_moved) > 0.01


def test_one_step_alternates_generators_then_s_and_discriminators():
    m = OPGAN(OPGANConfig(**TINY), INFO)
    before = {k: [p.clone() for p in net.parameters()] for k, net in m.networks().items()}
    logs = m.train_step(batch(), 0)
    assert {"G/cc_A", "G/dc_A", "G/cc_B", "G/dc_B", "D/S_dc", "D/D_A", "D/D_B"} <= set(logs)
    assert not any("idt" in k for k in logs)  # the paper's objective has no identity term
    for k, net in m.networks().items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k
    assert m.summary()["S"] > 0 and set(m.optimizers()) == {"G", "D", "S"}


def test_generator_dc_off_leaves_the_generators_only_content_registration():
    m = OPGAN(OPGANConfig(generator_dc=False, **TINY), INFO)
    logs = m.train_step(batch(), 0)
    assert {"G/cc_A", "G/cc_B", "D/S_dc"} <= set(logs) and not {"G/dc_A", "G/dc_B"} & set(logs)
