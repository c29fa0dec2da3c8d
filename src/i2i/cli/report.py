"""`i2i report`: a run's report as one HTML page."""
from __future__ import annotations

from pathlib import Path



def add(sub) -> None:
    rp = sub.add_parser("report", help="write a run's report as one self-contained HTML page",
                        description="Header facts, loss curves from logs/metrics.jsonl, the sample grids over time, "
                                    "the latest evaluation results and the config, in one HTML file that "
                                    "fetches nothing from the network.")
    rp.add_argument("run", type=Path, help="run directory")
    rp.add_argument("--out", "-o", type=Path, help="output HTML file (default: RUN/report.html)")


def run(a) -> int:
    from ..tools.report import write_report
    print(f"wrote {write_report(a.run, a.out)}")
    return 0
