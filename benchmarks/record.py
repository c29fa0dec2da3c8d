"""Writing a benchmark's results: one entry per method in results/<suite>/results.json (other
methods' entries stay, so suites can run method by method or side by side) and the first
seed's last sample grid as <name>.png."""
from __future__ import annotations

import json
import shutil
from pathlib import Path


def record(results: Path, name: str, entry: dict, first_run: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    path = results / "results.json"
    report = json.loads(path.read_text()) if path.is_file() else {}
    report[name] = entry
    grids = sorted((first_run / "samples").glob("step_*.png"))
    shutil.copy(grids[-1], results / f"{name}.png")
    print(json.dumps({name: entry["summary"]}, indent=2), flush=True)
    path.write_text(json.dumps(report, indent=2))
