"""benchmarks/stargan_v2_d_supervised.py on a tiny run: held-out accuracy points in its JSON."""
import json


def test_points_hold_the_held_out_accuracy_of_the_trunk(benchmark_module, tmp_path):
    probe = benchmark_module("stargan_v2_d_supervised")
    out = tmp_path / "d.json"
    probe.main(["--steps", "6", "--every", "3", "--n-train", "16", "--dim-in", "8", "--out", str(out)])
    result = json.loads(out.read_text())
    assert [p["step"] for p in result["points"]] == [3, 6]
    assert all(0.0 <= p["test_accuracy"] <= 1.0 for p in result["points"])
    assert result["settings"]["lr"] == 1e-3 and result["settings"]["batch"] == 8
