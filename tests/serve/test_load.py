"""The demo under a short load: benchmarks/load.py's loop, 8 clients for 3 s against `i2i serve`.

The full figure (50 clients, 60 s) is benchmarks/results/load/results.json; this is its bounded
version: it must stop by itself, with no unexpected error, and every refusal must carry its message
(load.py counts a refusal without the right message as an unexpected error).
"""
import time

import pytest

from i2i.cli import main

pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def load(benchmark_module):
    return benchmark_module("load")


def test_short_load_has_no_errors_and_refusals_carry_their_message(load, tmp_path, monkeypatch):
    run = tmp_path / "load_run"
    assert main(["train", "stargan", "--data", "shapes", "--out", str(run), "--no-progress", *load.TINY]) == 0
    # even shares, so a few dozen requests surely include malformed and oversize ones
    monkeypatch.setattr(load, "MIX", {k: 0.25 for k in load.MIX})
    start = time.monotonic()
    r = load.bench(clients=8, seconds=3, max_requests=400, run=run, max_mb=0.05)
    assert time.monotonic() - start < 60  # server start + 3 s of load: it stops by itself
    assert r["unexpected_errors"] == 0, r["error_samples"] + r["server_log_errors"]
    assert r["successes_by_kind"]["translate"] > 0 and r["translate_latency_s"]["count"] > 0
    assert r["refusals_by_kind"]["malformed"] > 0 and r["refusals_by_kind"]["oversize"] > 0
    assert r["requests"] == r["successes"] + r["expected_refusals"] <= 400
    assert r["elapsed_s"] < 3 + load.REQUEST_TIMEOUT


def test_request_cap_hands_out_that_many_tickets(load):
    tally = load.Tally(5)
    assert [tally.ticket() for _ in range(7)] == [True] * 5 + [False] * 2 and tally.requests == 5
