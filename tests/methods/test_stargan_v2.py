import pytest
import torch

from i2i.methods.base import DataInfo, frozen, get_method
from i2i.methods.stargan_v2 import StarGANv2, StarGANv2Config
from i2i.nn.stargan_v2 import Discriminator, Generator, MappingNetwork, StyleEncoder
from i2i.train.runtime import compile_network

# (img, K, G w_hpf 1, G w_hpf 0, F, E, D) measured on clovaai/stargan-v2
OFFICIAL = [
    (256, 2, 43_467_395, 33_892_995, 2_438_272, 20_916_928, 20_852_290),
    (256, 3, 43_467_395, 33_892_995, 3_259_072, 20_949_760, 20_852_803),
    (128, 2, 43_206_403, 33_632_003, 2_438_272, 20_799_744, 20_735_106),
    (128, 3, 43_206_403, 33_632_003, 3_259_072, 20_832_576, 20_735_619),
    (64, 2, 42_209_283, 32_634_883, 2_438_272, 20_327_808, 20_263_170),
    (64, 3, 42_209_283, 32_634_883, 3_259_072, 20_360_640, 20_263_683),
]


def count(net):
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("img,k,g1,g0,f,e,d", OFFICIAL)
def test_parameter_counts_equal_the_official_code(img, k, g1, g0, f, e, d):
    m = StarGANv2(StarGANv2Config(w_hpf=0), DataInfo(img, domains=[f"d{i}" for i in range(k)]))
    assert m.summary() == {"generator": g0, "mapping_network": f, "style_encoder": e, "discriminator": d}
    assert count(Generator(img, w_hpf=1)) == g1


def tiny(w_hpf=0.0, **kw) -> StarGANv2:
    cfg = StarGANv2Config(latent_dim=4, style_dim=8, hidden_dim=16, dim_in=4, max_conv_dim=16, w_hpf=w_hpf,
                          ds_iter=10, **kw)
    torch.manual_seed(0)
    return StarGANv2(cfg, DataInfo(16, domains=["circle", "square", "triangle"]))


def batch(n=2):
    g = torch.Generator().manual_seed(1)
    return {"image": torch.rand(3 * n, 3, 16, 16, generator=g) * 2 - 1,
            "label": torch.tensor([0, 1, 2, 2, 1, 1][:3 * n] if n == 2 else [i % 3 for i in range(3 * n)])}


def test_network_output_shapes():
    x, y = torch.randn(2, 3, 16, 16), torch.tensor([0, 2])
    s = MappingNetwork(4, 8, 3, 16)(torch.randn(2, 4), y)
    assert s.shape == (2, 8)
    assert StyleEncoder(16, 8, 3, 16, 4)(x, y).shape == (2, 8)
    assert Discriminator(16, 3, 16, 4)(x, y).shape == (2,)
    assert Generator(16, 8, 16, 0, 4)(x, s).shape == x.shape
    masks = [torch.ones(2, 1, 16, 16), torch.ones(2, 1, 16, 16)]
    assert Generator(64, 8, 16, 1, 4)(torch.randn(2, 3, 64, 64), s, masks).shape == (2, 3, 64, 64)


def test_heads_pick_the_requested_domain():
    f = MappingNetwork(4, 8, 3, 16)
    z = torch.randn(1, 4).expand(3, -1)
    s = f(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(s[0], s[1]) and torch.allclose(s[1], f(z[:1], torch.tensor([1]))[0])


def test_one_training_step_updates_every_trained_network_and_logs_the_paper_losses():
    m = tiny()
    before = {k: [p.clone() for p in net.parameters()] for k, net in m.networks().items()}
    logs = m.train_step(batch(), step=0)
    for kind in ("latent", "ref"):
        assert {f"D/{kind}_{k}" for k in ("real", "fake", "reg")} <= set(logs)
        assert {f"G/{kind}_{k}" for k in ("adv", "sty", "ds", "cyc")} <= set(logs)
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    for k, net in m.networks().items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k


def official_step(m, b, step=0):
    """train_step as the official solver runs it: every G output from a fresh pass of G."""
    x_real, x_ref, x_ref2 = b["image"].chunk(3)
    y_org, y_trg, _ = b["label"].chunk(3)
    z_trg, z_trg2 = torch.randn(2, x_real.size(0), m.cfg.latent_dim)
    opt = m.optimizers()
    for guide in ({"z_trg": z_trg}, {"x_ref": x_ref}):
        m.reuse.clear()  # nothing kept from an earlier pass
        loss, _ = m.d_loss(x_real, y_org, y_trg, **guide)
        opt["discriminator"].zero_grad(set_to_none=True)
        loss.backward()
        opt["discriminator"].step()
    for guides, trained in (({"z_trgs": (z_trg, z_trg2)}, ("generator", "mapping_network", "style_encoder")),
                            ({"x_refs": (x_ref, x_ref2)}, ("generator",))):
        m.reuse.clear()
        with frozen(*[net for name, net in m.networks().items() if name not in trained]):
            loss, _ = m.g_loss(x_real, y_org, y_trg, m.lambda_ds(step), **guides)
            for name in trained:
                opt[name].zero_grad(set_to_none=True)
            loss.backward()
        for name in trained:
            opt[name].step()
    m.update_ema()


def test_shared_encoding_and_latent_fake_give_the_official_result():
    ours, theirs = tiny(), tiny()
    encodings, renders = [], []
    ours.generator.from_rgb.register_forward_hook(lambda *_: encodings.append(1))
    ours.generator.decode[0].register_forward_hook(lambda *_: renders.append(1))
    torch.manual_seed(5)
    ours.train_step(batch(), step=0)
    torch.manual_seed(5)
    official_step(theirs, batch())
    assert len(encodings) == 4  # x_real for D, D and G latent; x_real for G ref; the two ways back (official: 8)
    assert len(renders) == 7  # D latent's fake is G latent's x_fake (official: 8)
    for name, net in ours.networks().items():
        for (key, a), b in zip(net.state_dict().items(), theirs.networks()[name].state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=f"{name}.{key}")


def test_one_conv_resampling_gives_the_same_step(monkeypatch):
    from i2i.nn import resample
    monkeypatch.setattr(resample, "MIN_POSITIONS", 1)  # the one-conv form at this tiny size too
    calls, transposed = [], resample.F.conv_transpose2d
    monkeypatch.setattr(resample.F, "conv_transpose2d", lambda *a, **k: calls.append(1) or transposed(*a, **k))
    # float64: some gradients are zero up to rounding (a bias before instance norm), and Adam's
    # first step turns float32 rounding there into ±lr
    torch.set_default_dtype(torch.float64)
    try:
        fused, plain = tiny(g_levels=2), tiny(g_levels=2)  # G down to 4 px and back up
        resample.use_resample_convs(fused)
        for m in (fused, plain):
            torch.manual_seed(5)
            m.train_step({k: v.double() if v.is_floating_point() else v for k, v in batch().items()}, step=0)
    finally:
        torch.set_default_dtype(torch.float32)
    assert len(calls) == 2 * 7  # both upsampling blocks of every decoder pass ran as one transposed conv
    for name, net in fused.networks().items():
        for a, b in zip(net.state_dict().values(), plain.networks()[name].state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


def test_reference_guided_step_leaves_mapping_network_alone():
    m = tiny(f_lr=0.0)  # with f_lr 0 only weight decay could move F; weight decay is lr-scaled
    f0 = [p.clone() for p in m.mapping_network.parameters()]
    m.train_step(batch(), step=0)
    assert all(torch.equal(a, b) for a, b in zip(f0, m.mapping_network.parameters()))


def test_ema_moves_averaged_weights_by_one_minus_beta():
    m = tiny(ema_beta=0.9)
    with torch.no_grad():
        for p in m.generator.parameters():
            p.add_(1.0)
    ema0 = [p.clone() for p in m.generator_ema.parameters()]
    m.update_ema()
    for e0, e1, p in zip(ema0, m.generator_ema.parameters(), m.generator.parameters()):
        torch.testing.assert_close(e1, 0.9 * e0 + 0.1 * p)


def test_lambda_ds_decays_linearly_to_zero_and_stays_there():
    m = tiny(lambda_ds=2.0)  # ds_iter 10
    assert [m.lambda_ds(s) for s in (0, 5, 10, 20)] == [2.0, 1.0, 0.0, 0.0]


def test_translate_uses_styles_and_targets():
    m = tiny()
    x, y = torch.randn(2, 3, 16, 16), torch.tensor([1, 1])
    s1, s2 = m.latent_style(y, torch.randn(2, 4)), m.latent_style(y, torch.randn(2, 4))
    assert not torch.allclose(m.translate(x, y, s1), m.translate(x, y, s2))
    assert m.translate(x, y).shape == x.shape
    assert m.reference_style(x, y).shape == (2, 8)


def test_sample_grid_columns():
    m = tiny()
    grid = m.sample_grid({"image": torch.randn(3, 3, 16, 16), "label": torch.tensor([0, 1, 2])})
    assert grid.shape == (3, 1 + 2 * 3 + 1, 3, 16, 16)


def test_registry_and_attribute_data_refused():
    assert get_method("stargan_v2") is StarGANv2
    with pytest.raises(ValueError, match="single-label domains"):
        StarGANv2(StarGANv2Config(), DataInfo(16, attributes=["a", "b"]))


def test_g_levels_deepens_the_generator_for_small_images():
    s = torch.randn(2, 8)
    official, deeper = Generator(32, 8, 16, 0, 4), Generator(32, 8, 16, 0, 4, levels=2)
    assert len(official.encode) == 1 + 2 and len(deeper.encode) == 2 + 2
    assert deeper(torch.randn(2, 3, 32, 32), s).shape == (2, 3, 32, 32)


def test_warmup_trains_generator_and_style_encoder_as_an_autoencoder_only():
    m = tiny(warmup_steps=1)
    d0, f0 = [p.clone() for p in m.discriminator.parameters()], [p.clone() for p in m.mapping_network.parameters()]
    assert set(m.train_step(batch(), step=0)) == {"G/loss_id"}
    assert all(torch.equal(a, b) for a, b in zip(d0, m.discriminator.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(f0, m.mapping_network.parameters()))
    assert "D/latent_reg" in m.train_step(batch(), step=1)


def test_compiling_the_generator_compiles_both_halves_and_keeps_its_outputs_and_names():
    torch.manual_seed(0)
    g = Generator(16, 8, 16, 0, 4)
    x, s = torch.randn(2, 3, 16, 16), torch.randn(2, 8)
    names, eager = list(g.state_dict()), g(x, s)
    compile_network(g)  # as train.compile does
    assert all(hasattr(getattr(g, half), "_torchdynamo_orig_callable") for half in ("encoding", "render"))
    torch.testing.assert_close(g(x, s), eager, rtol=1e-4, atol=1e-5)
    assert list(g.state_dict()) == names


def test_optimisers_take_the_official_rates_and_a_separate_d_rate_when_set():
    rates = lambda m: {k: o.param_groups[0]["lr"] for k, o in m.build_optimizers().items()}  # noqa: E731
    assert rates(tiny(lr=1e-3)) == {"generator": 1e-3, "mapping_network": 1e-6, "style_encoder": 1e-3,
                                    "discriminator": 1e-3}
    assert rates(tiny(lr=1e-3, d_lr=4e-3, f_lr=1e-5))["discriminator"] == 4e-3
