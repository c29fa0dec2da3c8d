"""`i2i bench`: run a benchmark of the source checkout."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import I2IError


def add(sub) -> None:
    b = sub.add_parser("bench", help="run a benchmark of the source checkout: speed",
                       description="Run benchmarks/<SUITE>.py of the source checkout with the arguments that follow, "
                                   "e.g. `i2i bench speed --official stargan=PATH --repeats 3` (`i2i bench speed --help`).")
    b.add_argument("suite", choices=["speed"])
    b.add_argument("args", nargs=argparse.REMAINDER, help="the suite's own options")


def run(a) -> int:
    import importlib.util
    script = Path(__file__).resolve().parents[3] / "benchmarks" / f"{a.suite}.py"
    if not script.is_file():
        raise I2IError(f"{script} not found: `i2i bench` runs the benchmarks of a source checkout "
                       "(git clone, then pip install -e .)")
    spec = importlib.util.spec_from_file_location(f"i2i_bench_{a.suite}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(a.args)
