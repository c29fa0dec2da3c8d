"""A bounded, seeded mutational fuzzer over the image decoding path (issue 10).

Valid PNG/JPEG/GIF/WebP/BMP/TIFF files, made here, are mutated (bit flips, interesting integers,
inserted, deleted, duplicated or spliced ranges, truncation; PNG chunk CRCs repaired half of the
time, so that the mutation reaches the decoders behind the checksum) and fed, as a temporary
file, to `load_image` and to a dataset item (DomainFolders: decode, to_tensor, resize, crop).
An I2IError is the expected refusal; any other exception, a non-RGB image, a tensor of the wrong
shape or outside [-1, 1], or a case running past --case-timeout is a finding, saved with its
bytes under results/fuzz/findings/. Stops after --max-cases or --max-seconds.

    python benchmarks/fuzz_images.py [--max-cases 20000] [--max-seconds 300] [--seed 0]

Pillow's pixel limit is lowered to --max-pixels (4 M) for the run, so that large declared sizes
hit the decompression-bomb refusal instead of making a shared machine allocate gigabytes; the
limit's own path is exercised that way. A crash of the interpreter (a segfault in a decoder)
would end the run: the case's bytes are then the file left at the printed work path.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import platform
import random
import re
import resource
import signal
import struct
import sys
import tempfile
import time
import traceback
import warnings
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import PIL
import torch
from PIL import Image

from i2i.data import images as im
from i2i.data.layouts import DomainFolders
from i2i.errors import I2IError

OUT = Path(__file__).parent / "results" / "fuzz"
# GIF and TIFF go under names a dataset lists (.png, .jpg): load_image trusts the content, not the name
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".png", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".jpg"}
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 65536, 100_000]


def seeds() -> list[tuple[str, bytes]]:
    """(format, bytes) of small valid images in the modes and options the decoders branch on."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 17, 3), dtype=np.uint8), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    out = []

    def add(fmt, img, **kw):
        buf = io.BytesIO()
        img.save(buf, format=fmt, **kw)
        out.append((fmt, buf.getvalue()))
    for mode in ("RGB", "RGBA", "L", "LA", "P", "1"):
        add("PNG", rgb.convert(mode))
    add("PNG", Image.fromarray(rng.integers(0, 65536, (9, 7), dtype=np.uint16)))  # I;16
    add("PNG", rgb.convert("P"), transparency=0)
    add("PNG", rgb, optimize=True)
    add("JPEG", rgb, quality=90)
    add("JPEG", rgb, progressive=True, exif=exif)
    add("JPEG", rgb.convert("CMYK"))
    add("JPEG", rgb.convert("L"), subsampling=0)
    add("GIF", rgb.convert("P"))
    add("GIF", rgb.convert("P"), save_all=True, append_images=[rgb.rotate(90).convert("P")], duration=10)
    add("WEBP", rgb, quality=80)
    add("WEBP", rgb.convert("RGBA"), lossless=True)
    add("BMP", rgb)
    add("BMP", rgb.convert("P"))
    add("TIFF", rgb, compression="tiff_lzw")
    add("TIFF", Image.fromarray(rng.integers(0, 65536, (5, 6), dtype=np.uint16)))
    return out


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute every chunk CRC of a (mutated) PNG so the parser goes past the checksums."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out, i = bytearray(data[:8]), 8
    while i + 8 <= len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        end = i + 8 + n
        if end + 4 > len(data):
            out += data[i:]
            break
        out += data[i:end] + struct.pack(">I", zlib.crc32(data[i + 4:end]))
        i = end + 4
    else:
        out += data[i:]
    return bytes(out)


def mutate(data: bytes, corpus: list[tuple[str, bytes]], rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 5, 8))):
        if not b:
            b = bytearray(rng.randbytes(rng.randint(1, 16)))
        op, i = rng.randrange(8), rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2:  # an interesting integer, either byte order, 2 or 4 bytes wide
            width, order = rng.choice((2, 4)), rng.choice("<>")
            v = rng.choice(INTERESTING) & (0xFFFF if width == 2 else 0xFFFFFFFF)
            b[i:i + width] = struct.pack(order + ("H" if width == 2 else "I"), v)
        elif op == 3:
            b[i:i] = rng.randbytes(rng.randint(1, 32))
        elif op == 4:
            del b[i:i + rng.randint(1, 64)]
        elif op == 5:  # duplicate a range
            n = rng.randint(1, 64)
            b[i:i] = b[i:i + n]
        elif op == 6:
            del b[rng.randint(0, len(b)):]
        else:  # splice another seed's tail
            other = rng.choice(corpus)[1]
            j = rng.randrange(len(other))
            b[i:] = other[j:]
    out = bytes(b)
    return fix_png_crcs(out) if rng.random() < 0.5 else out


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout()


def check(path: Path, root: Path) -> str:
    """'ok' or 'refused: <reason>'; raises for a finding."""
    try:
        img = im.load_image(path)
    except I2IError as e:
        reason = str(e).split(": ", 1)[-1].split(";")[0]
        return "refused: " + re.sub(r"\d+", "N", reason)[:60]  # counted by kind, not by byte count
    if img.mode != "RGB":
        raise AssertionError(f"load_image gave mode {img.mode}")
    t = DomainFolders(root, image_size=16, flip=False)[0]["image"]
    if t.shape != (3, 16, 16) or not torch.isfinite(t).all() or t.min() < -1 or t.max() > 1:
        raise AssertionError(f"dataset item of shape {tuple(t.shape)}, range [{t.min():.3g}, {t.max():.3g}]")
    return "ok"


def run(max_cases: int, max_seconds: float, seed: int, case_timeout: float, max_pixels: int, out: Path) -> dict:
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # Pillow's warnings about odd files; the bomb warning is load_image's
    Image.MAX_IMAGE_PIXELS = max_pixels
    corpus, rng = seeds(), random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="i2i-fuzz-"))
    print(f"work folder (a crash leaves its case here): {work}", flush=True)
    (work / "x").mkdir()
    signal.signal(signal.SIGALRM, _alarm)
    outcomes, per_format, findings, seen = Counter(), Counter(), [], set()
    slowest = (0.0, "")
    start = time.perf_counter()
    n = 0
    while n < max_cases and time.perf_counter() - start < max_seconds:
        fmt, data = rng.choice(corpus)
        data = mutate(data, corpus, rng)
        path = work / "x" / f"case{SUFFIX[fmt]}"
        for old in (work / "x").iterdir():
            old.unlink()
        path.write_bytes(data)
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, case_timeout)
        try:
            result = check(path, work)
        except BaseException as e:  # noqa: BLE001 - anything but I2IError is what we look for
            signal.setitimer(signal.ITIMER_REAL, 0)
            if isinstance(e, KeyboardInterrupt):
                raise
            frame = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
            where = f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"
            result = f"finding: {type(e).__name__}"
            key = (type(e).__name__, where)
            if key not in seen:
                seen.add(key)
                digest = hashlib.sha1(data).hexdigest()[:12]
                (out / "findings").mkdir(parents=True, exist_ok=True)
                repro = out / "findings" / f"{digest}{SUFFIX[fmt]}"
                repro.write_bytes(data)
                findings.append({"exception": type(e).__name__, "message": str(e).splitlines()[0][:200] if str(e) else "",
                                 "where": where, "seed_format": fmt, "case": n, "reproducer": f"findings/{repro.name}"})
                print(f"finding {len(findings)}: {type(e).__name__} at {where} (case {n}, {fmt}) -> {repro}", flush=True)
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)
        dt = time.perf_counter() - t0
        slowest = max(slowest, (dt, f"{fmt} case {n}"))
        outcomes[result] += 1
        per_format[f"{fmt} {result.split(':')[0]}"] += 1
        n += 1
    seconds = time.perf_counter() - start
    for old in (work / "x").iterdir():
        old.unlink()
    (work / "x").rmdir()
    work.rmdir()
    return {
        "cases": n, "seconds": round(seconds, 1), "cases_per_second": round(n / seconds, 1), "seed": seed,
        "limits": {"max_cases": max_cases, "max_seconds": max_seconds, "case_timeout_s": case_timeout,
                   "max_image_pixels": max_pixels},
        "seed_corpus": Counter(f for f, _ in corpus), "findings": findings,
        "outcomes": dict(outcomes.most_common(25)), "by_format": dict(sorted(per_format.items())),
        "slowest_case_s": round(slowest[0], 3), "slowest_case": slowest[1],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "versions": {"python": platform.python_version(), "pillow": PIL.__version__, "torch": torch.__version__},
        "command": " ".join(["python", "benchmarks/fuzz_images.py", *sys.argv[1:]]),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--max-cases", type=int, default=20_000)
    p.add_argument("--max-seconds", type=float, default=300.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--case-timeout", type=float, default=5.0, help="seconds before a case counts as a hang")
    p.add_argument("--max-pixels", type=int, default=4_000_000, help="Pillow's decompression-bomb limit for the run")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    result = run(a.max_cases, a.max_seconds, a.seed, a.case_timeout, a.max_pixels, a.out)
    (a.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("cases", "seconds", "cases_per_second", "findings", "peak_rss_mb")},
                     indent=2))


if __name__ == "__main__":
    main()
