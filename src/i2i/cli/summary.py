"""`i2i summary`: parameter counts of a method's networks."""
from __future__ import annotations

import json

from ..errors import I2IError


def add(sub) -> None:
    s = sub.add_parser("summary", help="parameter counts of a method's networks",
                       description="Build METHOD with the given options and print each network's parameter "
                                   "count under its official name. c_dim=N sets the number of attribute labels "
                                   "(with c2_dim=M: joint training, M domains of a second dataset plus the mask), "
                                   "num_domains=N the number of domains, channels=N the image channels (default 3); "
                                   "img_size is image_size.")
    s.add_argument("method")
    s.add_argument("overrides", nargs="*", metavar="key=value")
    s.add_argument("--json", action="store_true")


def run(a) -> int:
    from ..config import RunConfig
    from ..methods.base import DataInfo, get_method
    cfg = RunConfig.default(a.method)
    method = get_method(a.method)
    counts, rest = {}, []
    for pair in a.overrides:
        key, _, value = pair.partition("=")
        if key in ("c_dim", "c2_dim", "num_domains", "channels"):
            if not value.isdigit() or int(value) < 1:
                raise I2IError(f"{key}={value!r} must be a positive integer")
            counts[key] = int(value)
        else:
            rest.append(pair.replace("img_size=", "image_size=", 1) if key == "img_size" else pair)
    cfg.apply_overrides(rest)
    channels = counts.pop("channels", 3)
    if "c2_dim" in counts:  # joint training as the official code's: c_dim attributes + c2_dim domains + mask
        parts = [{"name": "dataset1", "labels": [f"a{i}" for i in range(counts.get("c_dim", 5))], "multi_label": True},
                 {"name": "dataset2", "labels": [f"b{i}" for i in range(counts["c2_dim"])], "multi_label": False}]
        info = DataInfo(cfg.data.image_size, channels, attributes=parts[0]["labels"] + parts[1]["labels"],
                        exclusive=[parts[1]["labels"]], datasets=parts)
    elif "num_domains" in counts or ((method.domains_only or method.two_domain) and "c_dim" not in counts):
        info = DataInfo(cfg.data.image_size, channels, domains=[f"d{i}" for i in range(counts.get("num_domains", 2))])
    else:
        info = DataInfo(cfg.data.image_size, channels, attributes=[f"a{i}" for i in range(counts.get("c_dim", 5))])
    try:
        counts = method(cfg.model, info).summary()
    except ValueError as e:
        raise I2IError(f"{a.method}: {e}") from None
    print(json.dumps(counts) if a.json else "\n".join(f"{k}: {v:,}" for k, v in counts.items()))
    return 0
