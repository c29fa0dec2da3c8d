"""The README's picture of translating a photo that is not the model's square (`--fit`).

    python benchmarks/fit_picture.py RUN [--target green] [--out benchmarks/results/fit/fit.png]

RUN is a StarGAN run on the shapes world (e.g. `make demo`'s). The "photo" is a shapes scene
widened to 160 x 96 with its own background; each row is the photo translated with one fit: crop
(the centre square translated and pasted back, StarGAN's default), squash and pad.
"""
import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

import i2i
from i2i.data import shapes
from i2i.data.images import to_pil


def photo() -> torch.Tensor:
    p = shapes.ShapeParams("circle", "red", 0.0, False, 45.0, 0.30, False, 0.5, 0.5, 0.0, 0.35)
    return F.pad(shapes.render(p, 96)[None], (32, 32, 0, 0), mode="replicate")[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--target", default="green")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/fit/fit.png"))
    a = ap.parse_args(argv)
    t = i2i.load(a.run, device="cpu")
    x = photo()
    rows = [("photo (160 x 96)", x)] + [(f"--fit {f}" + (" (default)" if f == t.fit else ""),
                                         t.translate(x, target=a.target, fit=f)) for f in ("crop", "squash", "pad")]
    w, h, label = x.shape[2], x.shape[1], 120
    sheet = Image.new("RGB", (label + w, len(rows) * (h + 4)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (name, img) in enumerate(rows):
        sheet.paste(to_pil(img), (label, k * (h + 4)))
        draw.text((4, k * (h + 4) + h // 2 - 6), name, fill="black")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
