"""The web demo under load: concurrent clients on loopback against `i2i serve`, through Gradio's HTTP API.

    python benchmarks/load.py [--clients 50] [--seconds 60] [--max-requests N] [--run RUN]
                              [--max-upload-mb 0.05] [--out benchmarks/results/load/results.json]

Starts `python -m i2i serve RUN` on 127.0.0.1 (a free port, a small --max-upload-mb) in a subprocess,
training a tiny StarGAN run first if --run is not given. Each client thread (its own gradio_client
Client) loops until the shared deadline or request cap, picking by a seeded draw:
  translate  a small PNG through /translate; the gallery's one PNG must come back at the input's size
  preview    the same through /preview (what an upload does on the page)
  malformed  text saved as .png through /translate: refused with a status line, no outputs
  oversize   a file over the limit, half through gradio_client (refused before upload, by the limit the
             server publishes) and half POSTed straight to the upload route (refused by the server, 413)
Anything else (an exception, a 5xx, a wrong message, a Traceback in the server's log) is an
unexpected error. Every request has a timeout, threads are joined with one, and the server is
terminated in a finally, so the run stops by itself.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "load" / "results.json"
TINY = ["steps=2", "data.image_size=32", "n_train=8", "n_test=4", "g_conv_dim=8", "d_conv_dim=8", "g_repeat_num=1",
        "d_repeat_num=3", "batch_size=4", "logger=none", "amp=none"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
MIX = {"translate": 0.7, "preview": 0.1, "malformed": 0.1, "oversize": 0.1}
ATTRS = ["red", "green", "blue", "striped", "large"]
MALFORMED = "not an image format Pillow recognises; upload a PNG, JPEG or WebP image"
OVER_CLIENT, OVER_SERVER = "exceeds the maximum file size", "File size exceeded maximum allowed size"
REQUEST_TIMEOUT = 60.0  # seconds one request may take before it counts as an error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_tiny(out: Path) -> Path:
    cmd = [sys.executable, "-m", "i2i", "train", "stargan", "--data", "shapes", "--out", str(out), "--no-progress",
           *TINY]
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL, timeout=300)
    return out


def start_server(run: Path, port: int, max_mb: float, log, tmp: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "i2i", "serve", str(run), "--port", str(port), "--max-upload-mb", str(max_mb)]
    env = {**ENV, "GRADIO_TEMP_DIR": str(tmp)}  # the server's upload/output cache goes with our temp folder
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import httpx
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"i2i serve exited with status {proc.returncode} before serving")
        try:
            if httpx.get(url + "config", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"i2i serve did not answer on {url} within {timeout:.0f} s")


def make_files(folder: Path, max_mb: float) -> dict:
    """Small PNGs of a few sizes, a text file named .png, and a PNG of noise over the limit."""
    rng = np.random.default_rng(0)
    ok = []
    for w, h in ((24, 24), (40, 30), (17, 33)):
        a = np.zeros((h, w, 3), np.uint8)
        a[h // 4:3 * h // 4, w // 4:3 * w // 4] = rng.integers(0, 255, 3)
        Image.fromarray(a).save(folder / f"ok_{w}x{h}.png")
        ok.append((folder / f"ok_{w}x{h}.png", (w, h)))
    bad = folder / "holiday.png"
    bad.write_text("this is not a picture\n")
    side = int((max_mb * 2**20 / 3) ** 0.5 * 1.5) + 8  # incompressible noise: comfortably over the limit
    big = folder / "big.png"
    Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(big)
    assert big.stat().st_size > max_mb * 2**20
    return {"ok": ok, "bad": bad, "big": big}


class Tally:
    def __init__(self, max_requests: int | None):
        self.lock, self.max = threading.Lock(), max_requests
        self.requests, self.kinds, self.refused, self.latency = 0, {k: 0 for k in MIX}, {k: 0 for k in MIX}, []
        self.errors: list[str] = []

    def ticket(self) -> bool:
        with self.lock:
            if self.max is not None and self.requests >= self.max:
                return False
            self.requests += 1
            return True

    def ok(self, kind, seconds=None):
        with self.lock:
            self.kinds[kind] += 1
            if seconds is not None:
                self.latency.append(seconds)

    def refusal(self, kind):
        with self.lock:
            self.refused[kind] += 1

    def error(self, text):
        with self.lock:
            self.errors.append(text[:300])


def one(kind: str, model: str, client, http, url: str, files: dict, rng: random.Random, tally: Tally, deadline: float):
    from gradio_client import handle_file
    timeout = max(1.0, min(REQUEST_TIMEOUT, deadline + 30 - time.monotonic()))
    if kind in ("translate", "preview"):
        path, size = rng.choice(files["ok"])
        start = time.perf_counter()
        if kind == "translate":
            attrs, colour = rng.sample(ATTRS[3:], rng.randint(0, 2)), rng.choice(ATTRS[:3])  # colour: a radio
            outs, status = client.submit(model, handle_file(str(path)), attrs, group0=colour,
                                         api_name="/translate").result(timeout)
            took = time.perf_counter() - start
            if len(outs) != 1 or "1 output by stargan" not in status:
                return tally.error(f"translate: {len(outs)} outputs, status {status!r}")
            with Image.open(outs[0]["image"]) as im:
                if im.size != size or im.format != "PNG":
                    return tally.error(f"translate: got a {im.format} of {im.size}, wanted a PNG of {size}")
            return tally.ok(kind, took)
        shown, *_, status = client.submit(model, handle_file(str(path)), api_name="/preview").result(timeout)
        if not shown or f"{size[0]}×{size[1]} image ready" not in status:
            return tally.error(f"preview: status {status!r}")
        return tally.ok(kind)
    if kind == "malformed":
        outs, status = client.submit(model, handle_file(str(files["bad"])), [], group0="red",
                                     api_name="/translate").result(timeout)
        if outs or f"cannot read image holiday.png: {MALFORMED}" not in status or "Traceback" in status:
            return tally.error(f"malformed: {len(outs)} outputs, status {status!r}")
        return tally.refusal(kind)
    if rng.random() < 0.5:  # oversize, as gradio_client sends it: refused by the limit the server publishes
        try:
            client.submit(model, handle_file(str(files["big"])), [], api_name="/translate").result(timeout)
        except ValueError as e:
            if OVER_CLIENT in str(e):
                return tally.refusal(kind)
            raise
        return tally.error("oversize: a file over the limit was translated")
    with open(files["big"], "rb") as f:  # oversize, POSTed straight to the server's upload route
        r = http.post(url + "gradio_api/upload", files={"files": ("big.png", f, "image/png")}, timeout=timeout)
    if r.status_code == 413 and OVER_SERVER in r.text:
        return tally.refusal(kind)
    return tally.error(f"oversize upload: HTTP {r.status_code} {r.text[:200]!r}")


def client_loop(i: int, url: str, model: str, files: dict, tally: Tally, deadline: float, seed: int, downloads: Path):
    import httpx
    from gradio_client import Client
    rng = random.Random(seed * 1000 + i)
    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=str(downloads / str(i)))
    except Exception as e:  # noqa: BLE001 -- every failure is counted, none ends the run
        return tally.error(f"client {i} could not connect: {type(e).__name__}: {e}")
    with httpx.Client() as http:
        try:
            while time.monotonic() < deadline and tally.ticket():
                kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
                try:
                    one(kind, model, client, http, url, files, rng, tally, deadline)
                except Exception as e:  # noqa: BLE001
                    tally.error(f"{kind}: {type(e).__name__}: {e}")
        finally:
            client.close()


def run_load(url: str, model: str, clients: int, seconds: float, max_requests: int | None, max_mb: float, tmp: Path,
             seed: int = 0) -> dict:
    """`clients` threads against the demo at `url` until `seconds` pass or `max_requests` are sent."""
    files = make_files(tmp, max_mb)
    tally = Tally(max_requests)
    load_before = os.getloadavg()
    start = time.monotonic()
    deadline = start + seconds
    args = (url, model, files, tally, deadline, seed, tmp / "downloads")
    threads = [threading.Thread(target=client_loop, args=(i, *args), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:  # a request in flight at the deadline may take up to REQUEST_TIMEOUT more
        t.join(timeout=max(0.1, deadline + REQUEST_TIMEOUT + 10 - time.monotonic()))
    elapsed = time.monotonic() - start
    hung = sum(t.is_alive() for t in threads)
    if hung:
        tally.error(f"{hung} client threads still running after the join timeout")
    lat = np.array(tally.latency) if tally.latency else np.zeros(1)
    done = sum(tally.kinds.values())
    return {"clients": clients, "seconds": seconds, "max_requests": max_requests, "max_upload_mb": max_mb,
            "elapsed_s": round(elapsed, 2), "requests": tally.requests, "successes": done,
            "successes_by_kind": {k: v for k, v in tally.kinds.items() if k in ("translate", "preview")},
            "expected_refusals": sum(tally.refused.values()),
            "refusals_by_kind": {k: v for k, v in tally.refused.items() if k in ("malformed", "oversize")},
            "unexpected_errors": len(tally.errors), "error_samples": tally.errors[:20],
            "translate_latency_s": {"p50": round(float(np.percentile(lat, 50)), 4),
                                    "p95": round(float(np.percentile(lat, 95)), 4),
                                    "max": round(float(lat.max()), 4), "count": len(tally.latency)},
            "throughput_per_s": {"requests": round(tally.requests / elapsed, 2),
                                 "translations": round(tally.kinds["translate"] / elapsed, 2)},
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def server_errors(log: Path) -> list[str]:
    """Each 500 line, and each traceback as its header and last line (the exception, which names the cause)."""
    lines = log.read_text(errors="replace").splitlines()
    bad = []
    for k, line in enumerate(lines):
        m = re.match(r"([ |+]*)(Exception Group )?Traceback", line)
        if m:  # it ends at the first line after it at its own depth ("  | " inside exception groups)
            pre = m.group(1).replace("+", "|")
            last = next((s for s in lines[k + 1:] if s.startswith(pre) and s[len(pre):][:1] not in ("", " ")),
                        "(the log ends here)")
            bad.append(f"{line.strip()} ... {last[len(pre):].strip()}")
        elif "Traceback" in line or " 500 " in line:
            bad.append(line)
    return bad


def bench(clients: int, seconds: float, max_requests: int | None, run: Path | None, max_mb: float,
          seed: int = 0) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="i2i-load-"))
    proc = None
    try:
        run = run or train_tiny(tmp / "load_run")
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        log_path = tmp / "server.log"
        with open(log_path, "w") as log:
            t0 = time.monotonic()
            proc = start_server(run, port, max_mb, log, tmp / "gradio")
            wait_ready(url, proc)
            startup = time.monotonic() - t0
            result = run_load(url, Path(run).resolve().name, clients, seconds, max_requests, max_mb, tmp, seed)
        bad = server_errors(log_path)
        result["server_log_errors"] = bad[:20]
        result["unexpected_errors"] += len(bad)
        result["server_startup_s"] = round(startup, 2)
        result["server"] = f"python -m i2i serve RUN --port P --max-upload-mb {max_mb:g} (concurrency 1, " \
                           "OMP_NUM_THREADS=1), clients: gradio_client threads in one process, loopback"
        return result
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--max-requests", type=int, default=None, help="stop after this many requests in all")
    ap.add_argument("--run", type=Path, default=None, help="a stargan run directory (default: train a tiny one)")
    ap.add_argument("--max-upload-mb", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    r = bench(a.clients, a.seconds, a.max_requests, a.run, a.max_upload_mb, a.seed)
    r["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "note": "the 2 CPUs are shared with other jobs (another helper's timing runs) during this "
                            "benchmark; loadavg_before/after record how busy the machine was"}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(r, indent=2) + "\n")
    lat = r["translate_latency_s"]
    print(f"{r['clients']} clients, {r['elapsed_s']} s: {r['requests']} requests, {r['successes']} successes, "
          f"{r['expected_refusals']} expected refusals, {r['unexpected_errors']} unexpected errors; translate "
          f"p50 {lat['p50']} s, p95 {lat['p95']} s, max {lat['max']} s; {r['throughput_per_s']['requests']} req/s, "
          f"{r['throughput_per_s']['translations']} translations/s; loadavg {r['loadavg_before']} -> "
          f"{r['loadavg_after']}\nwrote {a.out}")
    return 0 if r["unexpected_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
