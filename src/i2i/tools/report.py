"""`i2i report RUN`: one self-contained HTML page of a training run — header facts, loss curves
(inline SVG drawn from logs/metrics.jsonl), the sample grids over time (PNG data URLs), the
config and the latest evaluation figures. Nothing on the page is fetched from anywhere.

Light on purpose: no torch, no plotting library, so it runs on a machine without the training stack."""
from __future__ import annotations

import base64
import html
import json
import math
import os
import re
import tempfile
from pathlib import Path

from .. import rundir
from ..errors import I2IError
from ..train.logger import TIMINGS

MAX_GRIDS = 12      # sample grids shown over time (thinned evenly, first and last kept)
MAX_TABLES = 24     # evaluation JSON files shown
KIND_STEP = re.compile(r"(.+)_(\d+)")  # eval/stargan-v2_0010000: an evaluation at a step
W, H, PAD_B, PAD_T, PAD_R = 340, 200, 34, 24, 12   # one chart's box and margins, px (left: by its labels)

STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd}
.facts td{padding:2px 14px 2px 0}.facts td:first-child{color:#666}.note{color:#8a5300}
.charts{display:flex;flex-wrap:wrap;gap:12px}svg{background:#fafafa;border:1px solid #e4e4e4}
svg text{font-size:11px;fill:#444}svg .title{font-size:12px;fill:#111}
figure{display:inline-block;margin:0 12px 12px 0;vertical-align:top}figcaption{color:#666}
img{max-width:100%;image-rendering:pixelated;border:1px solid #e4e4e4}
pre{background:#f6f6f6;padding:10px;overflow-x:auto}
table.eval{border-collapse:collapse;margin-bottom:14px}table.eval td,table.eval th{border:1px solid #ddd;padding:3px 8px}
table.eval td{text-align:right;font-variant-numeric:tabular-nums}table.eval th{background:#f3f3f3;text-align:left}
caption{text-align:left;white-space:nowrap;color:#666;padding-bottom:2px}"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def fmt(v) -> str:
    """A number as a person reads it in a table: 4 significant digits."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    return str(v) if isinstance(v, int) else f"{v:.4g}"


def step_of(path: Path) -> int:
    """The step in a name like step_0001000(.png); -1 for other names."""
    m = re.fullmatch(r"step_(\d+)", path.stem if path.suffix else path.name)
    return int(m.group(1)) if m else -1


# -- reading the run --------------------------------------------------------------------------

def read_metrics(path: Path) -> tuple[dict[str, list[tuple[int, float]]], list[str]]:
    """Series per logged key, by step, and notes about what could not be read. A run killed
    mid-write leaves a torn last line; it is skipped, not fatal."""
    series: dict[str, list[tuple[int, float]]] = {}
    if not path.is_file():
        return series, ["no logs/metrics.jsonl yet: nothing has been logged"]
    bad = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            step = row["step"]
            if not isinstance(step, int):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            bad.append(n)
            continue
        for k, v in row.items():
            if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                points = series.setdefault(k, [])
                while points and points[-1][0] >= step:  # a resumed run logs these steps again: keep the rerun
                    points.pop()
                points.append((step, float(v)))
    notes = []
    if bad:
        shown = ", ".join(map(str, bad[:5])) + (", …" if len(bad) > 5 else "")
        notes.append(f"skipped {len(bad)} unreadable line(s) of logs/metrics.jsonl (line {shown})")
    if not series and not bad:
        notes.append("logs/metrics.jsonl is empty: nothing has been logged yet")
    return series, notes


def training_time(run: Path, cfg: dict, series: dict) -> str | None:
    """Minutes recorded by a benchmark (bench_train.json), else the sum of the logged intervals:
    each metrics line's steps_per_s is log_every / (seconds since the previous line)."""
    bench = run / "bench_train.json"
    try:
        return f"{duration(60 * float(json.loads(bench.read_text())['train_minutes']))} (bench_train.json)"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    log_every = (cfg.get("train") or {}).get("log_every")
    rates = [v for _, v in series.get("steps_per_s", []) if v > 0]
    if not rates or not isinstance(log_every, int):
        return None
    return f"≈ {duration(sum(log_every / r for r in rates))} (from the logged step rates)"


def duration(seconds: float) -> str:
    return (f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.1f} min" if seconds < 3600
            else f"{seconds / 3600:.1f} h")


def thin(items: list, k: int) -> list:
    """At most k items spread evenly over the list, always the first and the last."""
    if len(items) <= k:
        return items
    if k <= 1:
        return items[-1:] if k == 1 else []
    picks = sorted({round(i * (len(items) - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in picks]


def data_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def eval_files(run: Path) -> list[Path]:
    """Evaluation JSON of the run: RUN/eval*.json, RUN/bench*.json, and RUN/eval/**/*.json keeping,
    of folders named KIND_STEP (stargan-v2_0010000), only the newest step of each kind."""
    found = sorted((run / "eval").rglob("*.json"))
    newest: dict[tuple[Path, str], tuple[int, Path]] = {}
    for folder in {f.parent for f in found}:
        m = KIND_STEP.fullmatch(folder.name)
        if m:
            key, step = (folder.parent, m[1]), int(m[2])
            if step > newest.get(key, (-1, None))[0]:
                newest[key] = (step, folder)
    keep = {folder for _, folder in newest.values()}
    return (sorted(run.glob("eval*.json")) + sorted(run.glob("bench*.json"))
            + [f for f in found if f.parent in keep or not KIND_STEP.fullmatch(f.parent.name)])


def flat(d, prefix: str = "") -> dict:
    """Leaves of a nested result keyed "a.b.c"; lists shown as short JSON."""
    if not isinstance(d, dict):
        return {prefix.rstrip(".") or "value": d}
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v if not isinstance(v, list) else json.dumps(v)[:200]
    return out


# -- drawing ----------------------------------------------------------------------------------

def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """Round tick values covering [lo, hi], about n of them."""
    span = hi - lo
    raw = span / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def tick_labels(ticks: list[float]) -> list[str]:
    """The shortest labels that tell the ticks apart (0.99998 and 0.99999 are not both "1")."""
    for digits in range(3, 13):
        labels = [f"{round(t, 12):.{digits}g}" for t in ticks]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def step_label(step: int) -> str:
    return f"{step // 1000}k" if step >= 10_000 and step % 1000 == 0 else str(step)


def chart(key: str, points: list[tuple[int, float]]) -> str:
    """One small multiple: the series as an SVG polyline with its axes, ticks and labels."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 - y0 < 1e-12 * max(1.0, abs(y0)):  # a flat line: give it a band to sit in
        y0, y1 = y0 - max(abs(y0) * 0.1, 1e-3), y1 + max(abs(y1) * 0.1, 1e-3)
    ticks = nice_ticks(y0, y1)
    labels = tick_labels(ticks)
    left = max(40, 10 + 7 * max(map(len, labels)))  # room for the longest y label at 11 px
    pw, ph = W - left - PAD_R, H - PAD_T - PAD_B

    def sx(x):
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y):
        return PAD_T + (1 - (y - y0) / (y1 - y0)) * ph

    parts = [f'<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" data-key="{esc(key)}">',
             f'<title>{esc(key)}</title><text class="title" x="{left}" y="15">{esc(key)}</text>']
    for t, label in zip(ticks, labels):
        y = sy(t)
        parts.append(f'<line x1="{left}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e6e6"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    for t in nice_ticks(x0, x1):
        if float(t).is_integer():  # steps are whole numbers
            x = sx(t)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{H - PAD_B}" y2="{H - PAD_B + 4}" stroke="#888"/>'
                         f'<text x="{x:.1f}" y="{H - PAD_B + 16}" text-anchor="middle">{step_label(int(t))}</text>')
    parts.append(f'<path d="M{left},{PAD_T}V{H - PAD_B}H{W - PAD_R}" fill="none" stroke="#888"/>'
                 f'<text x="{W - PAD_R}" y="{H - 4}" text-anchor="end">step</text>')
    line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
    parts.append(f'<polyline points="{line}" fill="none" stroke="#1f5fbf" stroke-width="1.5"/>')
    if len(points) == 1:  # a lone point draws no line
        parts.append(f'<circle cx="{sx(xs[0]):.1f}" cy="{sy(ys[0]):.1f}" r="2.5" fill="#1f5fbf"/>')
    parts.append(f'<text x="{W - PAD_R}" y="15" text-anchor="end">last {ys[-1]:.6g}</text></svg>')
    return "".join(parts)


def eval_table(caption: str, rows: dict) -> str:
    """Flat results as a table. Keys "METRIC/task" (the StarGAN v2 protocol's FID_latent/cat2dog) are
    pivoted: a row per task, a column per metric; anything else is a key-value list."""
    if is_per_task(rows):
        cols = list(dict.fromkeys(k.split("/", 1)[0] for k in rows))
        tasks = sorted(dict.fromkeys(k.split("/", 1)[1] for k in rows), key=lambda t: t == "mean")  # mean last
        head = "".join(f"<th>{esc(c)}</th>" for c in cols)
        body = "".join(f"<tr><th>{esc(t)}</th>" + "".join(f"<td>{esc(fmt(rows.get(f'{c}/{t}', '')))}</td>" for c in cols)
                       + "</tr>" for t in tasks)
        return f'<table class="eval"><caption>{esc(caption)}</caption><tr><th>task</th>{head}</tr>{body}</table>'
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in rows.items())
    return f'<table class="eval"><caption>{esc(caption)}</caption>{body}</table>'


def is_per_task(rows: dict) -> bool:
    return bool(rows) and all("/" in k for k in rows)


# -- the page ---------------------------------------------------------------------------------

def header(run: Path, cfg: dict, info: dict, series: dict) -> list[str]:
    train, data = cfg.get("train") or {}, cfg.get("data") or {}
    latest = rundir.latest(run)
    step = step_of(latest) if latest is not None else None
    steps_done = (f"{step:,}" if step is not None else "no checkpoint yet") + (
        f" of {train['steps']:,}" if isinstance(train.get("steps"), int) else "")
    facts = [("method", cfg.get("method", "?")), ("steps done", steps_done),
             ("data", data.get("spec", "?")),
             ("points", f"vectors of {info['points']}") if info.get("points") else  # the ring world
             ("image size", info.get("image_size", data.get("image_size", "?")))]
    facts += [(k, ", ".join(map(str, info[k]))) for k in ("attributes", "domains") if info.get(k)]
    took = training_time(run, cfg, series)
    facts += [("training time", took)] if took else []
    facts += [("imported", "from an official checkpoint (import.yaml below)")] if (run / rundir.IMPORT).is_file() else []
    name = esc(run.resolve().name)
    return ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            f"<title>i2i report: {name}</title><style>{STYLE}</style></head><body>",
            f"<h1>i2i run <code>{name}</code></h1>",
            '<table class="facts">' + "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in facts)
            + "</table>"]


def curves(series: dict) -> list[str]:
    if not series:
        return []
    side = ("lr_factor", *TIMINGS)  # the trainer's own figures, not losses
    out = ["<h2>Losses</h2>",
           '<div class="charts">' + "".join(chart(k, v) for k, v in series.items() if k not in side) + "</div>"]
    if any(k in series for k in side):
        out += ["<h2>Schedule and speed</h2>",
                '<div class="charts">' + "".join(chart(k, series[k]) for k in side if k in series) + "</div>"]
    return out


def figure(path: Path, caption: str) -> str:
    return (f'<figure><img src="{data_url(path)}" alt="{esc(caption)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def pictures(run: Path, max_grids: int) -> list[str]:
    grids = sorted((p for p in (run / "samples").glob("step_*.png") if step_of(p) >= 0), key=step_of)
    out = ["<h2>Samples over time</h2>"]
    if not grids:
        out.append('<p class="note">no sample grids yet (samples/step_*.png)</p>')
    shown = thin(grids, max_grids)
    if len(shown) < len(grids):
        out.append(f"<p>{len(shown)} of {len(grids)} sample grids, evenly spaced, the last included.</p>")
    out += [figure(p, f"step {step_of(p):,}") for p in shown]
    extra = [p for p in sorted((run / "samples").glob("*.png")) + sorted((run / "samples" / "final").glob("*.png"))
             if step_of(p) < 0][:max_grids]  # i2i generate / i2i sample pictures
    if extra:
        out += ["<h2>Other pictures</h2>"] + [figure(p, str(p.relative_to(run))) for p in extra]
    return out


def evaluations(run: Path) -> list[str]:
    """A table per result file; per-task files of one folder (FID_*.json and LPIPS_*.json of an
    evaluation) side by side in one table."""
    files = eval_files(run)
    out, per_task = [], {}
    for f in files[:MAX_TABLES]:
        name = str(f.relative_to(run))
        try:
            rows = flat(json.loads(f.read_text()))
        except (OSError, ValueError) as e:
            out.append(f'<p class="note">{esc(name)}: not readable JSON ({esc(e)})</p>')
            continue
        if is_per_task(rows):
            names, merged = per_task.setdefault(f.parent, ([], {}))
            names.append(f.name)
            merged.update(rows)
        else:
            out.append(eval_table(name, rows))
    for folder, (names, rows) in per_task.items():
        out.append(eval_table(f"{folder.relative_to(run)}: {', '.join(names)}", rows))
    if len(files) > MAX_TABLES:
        out.append(f'<p class="note">{len(files) - MAX_TABLES} more evaluation file(s) not shown</p>')
    return ["<h2>Evaluation</h2>"] + out if out else []


def render(run_dir: Path, max_grids: int = MAX_GRIDS) -> str:
    """The report page of a run directory as one HTML string."""
    run = Path(run_dir)
    if not run.is_dir():
        raise I2IError(f"run directory {run} does not exist")
    if not (run / rundir.CONFIG).is_file():
        raise I2IError(f"{run} is not a run directory (no config.yaml); give the folder `i2i train --out` wrote")
    records = rundir.read_records(run)
    cfg, info = records["config"], records["info"]
    series, notes = read_metrics(run / "logs" / "metrics.jsonl")
    out = header(run, cfg, info, series) + [f'<p class="note">{esc(n)}</p>' for n in notes]
    out += curves(series) + pictures(run, max_grids) + evaluations(run)
    for name, title in ((rundir.CONFIG, "Config"), (rundir.IMPORT, "Import record")):
        if (run / name).is_file():
            out.append(f"<h2>{title}</h2><pre>{esc((run / name).read_text(errors='replace'))}</pre>")
    return "\n".join(out + ["</body></html>\n"])


def write_report(run_dir, out=None, max_grids: int = MAX_GRIDS) -> Path:
    """Write the run's report (default RUN/report.html) atomically and return its path."""
    page = render(Path(run_dir), max_grids)
    out = Path(out) if out is not None else Path(run_dir) / "report.html"
    if not out.parent.is_dir():
        raise I2IError(f"cannot write {out}: folder {out.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise I2IError(f"cannot write {out}: {e.strerror or e}") from None
    return out
