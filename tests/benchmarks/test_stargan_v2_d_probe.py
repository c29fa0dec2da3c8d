"""benchmarks/stargan_v2_d_probe.py on the tiny StarGAN v2 run."""
import json


def test_the_d_probe_reads_every_head_on_real_and_fake_images(benchmark_module, run_v2, tmp_path):
    probe = benchmark_module("stargan_v2_d_probe")
    probe.main([str(run_v2), "--n", "9", "--out", str(tmp_path / "d.json")])
    r = json.loads((tmp_path / "d.json").read_text())
    assert r["n"] == 9 and set(r["real_mean_logit"]) == {"circle", "square", "triangle"}
    assert all(len(v) == 3 for v in r["real_mean_logit"].values())
    assert 0 <= r["real_head_is_domain"] <= 1
    for key in ("latent_style_names_domain", "reference_style_names_domain"):
        assert set(r[key]) == {"nearest_mean", "nearest_5"} and all(0 <= v <= 1 for v in r[key].values())
