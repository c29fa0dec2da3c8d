"""benchmarks/speed.py: one tiny CycleGAN measurement through the whole harness (child process,
JSON, table), and the pieces the official-code comparison relies on."""
import importlib.util
import json
import sys
import types

import pytest



@pytest.fixture(scope="module")
def speed(benchmark_module):
    return benchmark_module("speed")


def test_tiny_cyclegan_run_writes_json_and_table(speed, tmp_path, capsys):
    out = tmp_path / "speed.json"
    assert speed.main(["--configs", "cyclegan-256", "--size", "cyclegan-256=32", "--settings", "fp32",
                       "--repeats", "2", "--warmup", "0", "--threads", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    (row,) = report["rows"]
    assert "error" not in row, row
    assert (row["config"], row["setting"], row["size"], row["batch"]) == ("cyclegan-256", "fp32", 32, 1)
    assert len(row["unit_s"]) == 2 and all(s > 0 for s in row["unit_s"])
    rate = row["img_per_s"]
    assert rate["min"] <= rate["median"] <= rate["max"] and rate["max"] == pytest.approx(1 / min(row["unit_s"]), rel=0.01)
    assert row["latency_ms"] > 0 and row["peak_rss_mb"] >= row["rss_growth_mb"] > 0
    assert len(report["loadavg_before"]) == 3 and len(report["loadavg_after"]) == 3
    assert "| cyclegan 32 px b1 | fp32 |" in capsys.readouterr().out


def test_table_gives_the_ratio_to_the_official_row(speed):
    def row(setting, rate):
        return {"config": "stargan-128", "setting": setting, "size": 128, "batch": 16, "latency_ms": 1.0,
                "peak_rss_mb": 1.0, "img_per_s": {"median": rate, "min": rate, "max": rate}}
    lines = speed.table([row("official", 2.0), row("bf16-cl", 7.0), {"config": "x", "setting": "fp32",
                                                                      "error": ["Boom"]}]).splitlines()
    assert "| 1.00× |" in lines[2] and "| 3.50× |" in lines[3] and "failed: Boom" in lines[4]


def test_missing_imports_become_stubs_and_munch_works(speed, monkeypatch):
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    have_munch = importlib.util.find_spec("munch") is not None
    stubbed = speed.stub_missing(["munch", "json", "i2i_no_such_module.sub"])
    assert ("munch" in stubbed) != have_munch and "json" not in stubbed and "i2i_no_such_module.sub" in stubbed
    from munch import Munch
    m = Munch(a=1)
    m.b = 2
    assert (m.a, m["b"]) == (1, 2)
    stub = sys.modules["i2i_no_such_module.sub"]
    assert isinstance(stub.anything.deeper(1, k=2), types.ModuleType)  # attribute chains and calls resolve
