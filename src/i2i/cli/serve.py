"""`i2i serve`: the web demo of trained runs."""
from __future__ import annotations

from pathlib import Path



def add(sub) -> None:
    sv = sub.add_parser("serve", help="a web demo of trained runs (needs the serve extra: pip install 'i2i[serve]')",
                        description="Serve a page to translate an uploaded image (or a built-in sample) with "
                                    "one or more runs. Bound to 127.0.0.1 (this machine only) unless --host says "
                                    "otherwise; 0.0.0.0 serves every network this machine is on.")
    sv.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run or pretrained directories, one model each")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    sv.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    sv.add_argument("--max-upload-mb", type=float, default=10.0, help="largest upload accepted, in MB (default: 10)")
    sv.add_argument("--concurrency", type=int, default=1,
                    help="requests the queue handles at once (default: 1); forward passes still run one at a time")
    sv.add_argument("--device", default="auto")


def run(a) -> int:
    from ..serve import serve
    serve(a.runs, host=a.host, port=a.port, max_upload_mb=a.max_upload_mb, concurrency=a.concurrency,
          device=a.device)
    return 0
