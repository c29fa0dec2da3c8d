import numpy as np
import pytest
import torch

from i2i.data.shapes import ShapesDataset
from i2i.errors import I2IError
from i2i.methods.base import BatchSpec, DataInfo
from i2i.methods.munit import MUNIT, MUNITConfig
from i2i.nn.munit import AdaIN, Discriminator, Generator, LayerNorm


def count(net):
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_equal_the_official_edges2shoes_networks():
    """Counted on NVlabs/MUNIT (a82e222) built from configs/edges2shoes_folder.yaml."""
    g, d = Generator(), Discriminator()
    parts = {k: count(getattr(g, k)) for k in ("enc_style", "enc_content", "dec", "mlp")}
    assert parts == {"enc_style": 2_764_936, "enc_content": 5_385_856, "dec": 5_754_627, "mlp": 1_120_768}
    assert count(g) == 15_026_187 and count(d) == 8_271_171 and [count(c) for c in d.cnns] == [2_757_057] * 3
    m = MUNIT(MUNITConfig(), DataInfo(256, domains=["edges", "shoes"]))
    assert m.summary() == {"gen_a": 15_026_187, "gen_b": 15_026_187, "dis_a": 8_271_171, "dis_b": 8_271_171}


def test_layer_norm_uses_the_unbiased_std_with_eps_added_to_it():
    ln = LayerNorm(3)
    x = torch.randn(2, 3, 4, 4)
    flat = x.flatten(1)
    want = (x - flat.mean(1).view(-1, 1, 1, 1)) / (flat.std(1, unbiased=True).view(-1, 1, 1, 1) + 1e-5)
    assert torch.allclose(ln(x), want * ln.gamma.view(1, -1, 1, 1), atol=1e-6)
    assert (ln.gamma >= 0).all() and (ln.gamma < 1).all() and (ln.beta == 0).all()


def test_the_mlp_output_is_assigned_shift_then_scale_per_adain_layer_in_order():
    g = Generator(dim=4, style_dim=2, mlp_dim=8, n_down=1, n_res=1)
    assert [m.channels for m in g.adains] == [8, 8] and g.mlp[-1].out_features == 32
    seen = []
    for m in g.adains:
        m.register_forward_pre_hook(lambda mod, args: seen.append(mod.params.clone()))
    style = torch.randn(3, 2)
    g.decode(torch.randn(3, 8, 4, 4), style)
    params = g.mlp(style)
    assert torch.equal(seen[0], params[:, :16]) and torch.equal(seen[1], params[:, 16:])
    assert all(m.params is None for m in g.adains)  # cleared: no stale style reaches a later call
    x = torch.randn(1, 8, 4, 4)
    a = AdaIN(8)
    a.params = torch.cat([torch.full((1, 8), 0.5), torch.full((1, 8), 2.0)], 1)  # shift 0.5, scale 2
    assert torch.allclose(a(x), 2.0 * torch.nn.functional.instance_norm(x) + 0.5, atol=1e-6)


def test_the_discriminator_pools_between_scales_without_counting_the_padding():
    d = Discriminator(dim=4, n_layer=3, num_scales=3)
    assert [tuple(o.shape) for o in d(torch.randn(2, 3, 32, 32))] == [(2, 1, 4, 4), (2, 1, 2, 2), (2, 1, 1, 1)]
    ones = torch.ones(1, 3, 4, 4)
    assert torch.equal(d.down(ones), torch.ones(1, 3, 2, 2))  # count_include_pad=False keeps borders at 1


def tiny(**kw):
    cfg = MUNITConfig(dim=4, mlp_dim=8, style_dim=4, n_res=1, d_dim=4, d_layers=3, **kw)
    torch.manual_seed(0)
    return MUNIT(cfg, DataInfo(32, domains=["circle", "square"]))


def test_data_with_other_than_two_domains_or_too_small_images_is_refused():
    with pytest.raises(ValueError, match="exactly two domains"):
        MUNIT(MUNITConfig(), DataInfo(256, domains=["a", "b", "c"]))
    with pytest.raises(ValueError, match="too small"):
        MUNIT(MUNITConfig(), DataInfo(32, domains=["a", "b"]))  # 3 scales of 4 layers need 64 px


def test_batches_are_half_domain_a_then_half_domain_b():
    data = ShapesDataset(20, 32, domains=["circle", "square"])
    policy = tiny().batch_policy(data, BatchSpec(size=4, seed=0))
    labels = np.array(data.targets)
    for step in range(6):
        assert labels[policy.batch(step)].tolist() == [0, 0, 1, 1]
    m = tiny()
    with pytest.raises(I2IError, match="domain A images"):
        m.train_step({"image": torch.zeros(4, 3, 32, 32), "label": torch.tensor([0, 1, 0, 1])}, 0)


def test_a_step_updates_both_auto_encoders_and_both_discriminators():
    m = tiny()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    logs = m.train_step({"image": torch.rand(4, 3, 32, 32) * 2 - 1, "label": torch.tensor([0, 0, 1, 1])}, 0)
    assert set(logs) == {"D/dis_a", "D/dis_b", "G/gan_a", "G/gan_b", "G/recon_x_a", "G/recon_x_b",
                         "G/recon_s_a", "G/recon_s_b", "G/recon_c_a", "G/recon_c_b"}
    for net in ("gen_a", "gen_b", "dis_a", "dis_b"):
        assert any(not torch.equal(v, before[k]) for k, v in m.state_dict().items() if k.startswith(net)), net


def test_the_rate_halves_every_step_size_iterations_counted_as_the_official_steplr():
    m = tiny(step_size=100)
    assert [m.lr_factor(s, 10**6) for s in (0, 98, 99, 198, 199)] == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_translate_encodes_the_content_with_the_other_domains_encoder():
    m = tiny().eval()
    x, s = torch.rand(2, 3, 32, 32) * 2 - 1, torch.randn(2, 4)
    with torch.no_grad():
        to_b = m.gen_b.decode(m.gen_a.enc_content(x), s)
        to_a = m.gen_a.decode(m.gen_b.enc_content(x), s)
    assert torch.allclose(m.translate(x, torch.tensor([1, 1]), s), to_b, atol=1e-6)
    assert torch.allclose(m.translate(x, torch.tensor([0, 0]), s), to_a, atol=1e-6)
    ref = m.reference_style(x, torch.tensor([1, 0]))
    assert torch.allclose(ref[0], m.gen_b.enc_style(x[:1]).flatten(), atol=1e-6)
    assert torch.allclose(ref[1], m.gen_a.enc_style(x[1:]).flatten(), atol=1e-6)
    assert m.latent_dim == 4 and m.latent_style(torch.tensor([0, 1])).shape == (2, 4)
    assert m.judge_domain(x).shape == (2,)
