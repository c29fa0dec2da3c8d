"""The web demo: `i2i serve RUN [RUN ...]`, a Gradio page over i2i's Python API.

`Demo` holds the request handling as plain Python (it takes file paths and returns PIL images and a
status line), so it can be called and tested without a browser; `build_app` lays the page out over
it and `serve` binds it, to 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import hashlib
import inspect
import io
import os
import shutil
import tempfile
import threading
import time
import weakref
from pathlib import Path

import torch

from ..api import Translator, load
from ..data import shapes
from ..data.images import load_image, resize_exact, save_image, to_tensor
from ..errors import I2IError
from ..methods.base import Classifies, Translates

HOST, PORT, MAX_UPLOAD_MB, CONCURRENCY = "127.0.0.1", 7860, 10.0, 1
MAX_OUTPUTS = 8  # StarGAN v2 outputs at once (latent codes drawn from one seed)
REFERENCE_DOMAIN = "(the reference's domain)"
SAMPLE_SIZE = 96
# name: shape, colour, striped, size, cx, cy, rotation, background -- one of each shape, both stripe kinds
SAMPLES = {"red_circle": ("circle", "red", False, 0.30, 0.50, 0.50, 0.0, 0.30),
           "green_striped_square": ("square", "green", True, 0.32, 0.48, 0.52, 20.0, 0.65),
           "blue_triangle": ("triangle", "blue", False, 0.30, 0.52, 0.54, 0.0, 0.45),
           "red_striped_triangle": ("triangle", "red", True, 0.20, 0.35, 0.60, 40.0, 0.70)}


def make_samples(folder) -> list[Path]:
    """Write the built-in sample images (drawn by the shapes world, nothing downloaded) into `folder`."""
    paths = []
    for name, (shape, colour, striped, size, cx, cy, rot, bg) in SAMPLES.items():
        p = shapes.ShapeParams(shape, colour, 0.0, striped, 45.0, size, size > shapes.LARGE_THRESHOLD, cx, cy, rot, bg)
        path = Path(folder) / f"{name}.png"
        # written aside and renamed: another server starting at the same time may be reading the file
        tmp = save_image(shapes.render(p, SAMPLE_SIZE), Path(folder) / f".{name}.{os.getpid()}.png")
        os.replace(tmp, path)
        paths.append(path)
    return paths


def translates(t: Translator) -> bool:
    """Whether a run translates images (generative runs such as dcgan only sample)."""
    return isinstance(t.method, Translates) and not t.method.info.points


class Demo:
    """The page's request handling over {name: Translator}, apart from Gradio."""

    def __init__(self, models: dict[str, Translator], max_upload_mb: float = MAX_UPLOAD_MB, samples_dir=None):
        if not models:
            raise I2IError("give at least one run directory to serve")
        if not max_upload_mb > 0:
            raise I2IError(f"--max-upload-mb must be positive, got {max_upload_mb}")
        for name, t in models.items():
            if not translates(t):
                raise I2IError(f"{name} is a {t.method.name} run, which generates rather than translates; "
                               "serve an image-to-image run")
        self.models, self.max_mb = models, float(max_upload_mb)
        self.lock = threading.Lock()  # one forward pass at a time, whatever the queue lets through
        self.samples = make_samples(samples_dir or Path(tempfile.gettempdir()) / "i2i-samples")
        self.out_dir = Path(tempfile.mkdtemp(prefix="i2i-serve-"))  # the page's PNGs (see png)
        weakref.finalize(self, shutil.rmtree, self.out_dir, True)

    @classmethod
    def from_runs(cls, runs, device: str = "auto", **kw) -> "Demo":
        """Load each run; the page names it by its folder (with its parent's name where two clash)."""
        paths = [Path(r) for r in runs]
        names = [p.resolve().name for p in paths]
        names = [f"{p.resolve().parent.name}/{n}" if names.count(n) > 1 else n for p, n in zip(paths, names)]
        if len(set(names)) < len(names):
            raise I2IError(f"runs {', '.join(map(str, paths))} have clashing names; give each run once")
        return cls({n: load(p, device) for n, p in zip(names, paths)}, **kw)

    def model(self, name) -> Translator:
        if name not in self.models:
            raise I2IError(f"unknown model {name!r}; this demo serves: {', '.join(self.models)}")
        return self.models[name]

    def controls(self, name) -> dict:
        """What the page offers as the target of model `name`: attribute checkboxes plus one choice per
        group of attributes that exclude each other (the shapes' colours), or a domain choice (label,
        value pairs); and whether it takes a style (seed, number of outputs, reference)."""
        t = self.model(name)
        if t.attributes:
            groups = t.method.info.exclusive
            return {"attributes": [a for a in t.attributes if not any(a in g for g in groups)],
                    "groups": [list(g) for g in groups], "domains": [], "style": False}
        if t.method.two_domain:
            a, b = t.domains
            ways = [(f"A → B (to {b})", "AtoB")] + ([] if t.method.one_way else [(f"B → A (to {a})", "BtoA")])
            return {"attributes": [], "groups": [], "domains": ways, "style": False}
        extra = [(REFERENCE_DOMAIN, REFERENCE_DOMAIN)] if t.has_style else []
        return {"attributes": [], "groups": [], "domains": [(d, d) for d in t.domains] + extra, "style": t.has_style}

    def split(self, name, attributes) -> tuple[list[str], list[str | None]]:
        """Attribute names as the page's controls hold them: (the ticked checkboxes, each group's choice)."""
        c, named = self.controls(name), set(attributes or [])
        return [a for a in c["attributes"] if a in named], [next((a for a in g if a in named), None)
                                                            for g in c["groups"]]

    def read(self, path, what: str = "image"):
        """Decode an upload: its size is checked before a byte is decoded, then i2i's safe loader
        refuses decompression bombs and broken files."""
        if not path:
            raise I2IError(f"upload an {what} or pick a sample first")
        p = Path(path)
        try:
            size = p.stat().st_size
        except OSError:
            raise I2IError(f"the {what} upload {p.name} is gone; upload it again") from None
        if size > self.max_mb * 2**20:
            raise I2IError(f"the {what} {p.name} is {size / 2**20:.3g} MB; this demo takes files up to "
                           f"{self.max_mb:g} MB: downscale it or save it as JPEG")
        try:
            return load_image(p)
        except I2IError as e:  # the server's temporary path means nothing to the person uploading
            raise I2IError(str(e).replace(str(p), p.name).replace("re-create or remove the file",
                                                                   "upload a PNG, JPEG or WebP image")) from None

    def preview(self, name, path):
        """On upload: (the image as the model reads it, the attributes the model sees in it, status)."""
        if not path:
            return None, [], ""
        try:
            img = self.read(path)
            seen = self.seen_attributes(self.model(name), img)
        except I2IError as e:
            return None, [], error(e)
        return img, seen, f"{img.size[0]}×{img.size[1]} image ready: pick a target and press Translate."

    def seen_attributes(self, t: Translator, img) -> list[str]:
        """The attributes D's classifier reads from `img`, as the controls' starting point: the likeliest
        of each exclusive group, and the other attributes it deems present."""
        if not t.attributes or t.method.info.datasets or not isinstance(t.method, Classifies):
            return []
        x = resize_exact(to_tensor(img)[None], t.image_size).to(t.method.device)
        with self.lock, torch.no_grad():
            p = dict(zip(t.attributes, t.method.classify(x)[0].tolist()))
        groups = t.method.info.exclusive
        likeliest = {max(g, key=p.get) for g in groups}
        return [a for a in t.attributes if a in likeliest or (p[a] > 0.5 and not any(a in g for g in groups))]

    def target(self, t: Translator, attributes, domain):
        """The translate() target of the page's choice: the attribute vector (ticked = 1; a group with no
        pick keeps what D reads from the input), or a domain / direction; None for a reference's own domain."""
        if t.attributes:
            ticked, groups = set(attributes or []), t.method.info.exclusive
            for group in groups:
                if len(ticked & set(group)) > 1:
                    raise I2IError(f"pick at most one of {', '.join(group)}: they exclude each other")
            names = [a for a in t.attributes if not any(a in g and not ticked & set(g) for g in groups)]
            if t.method.info.datasets:  # joint runs take one dataset's labels at a time
                names = [a for d in t.method.info.datasets if ticked & set(d["labels"]) for a in d["labels"]]
                if not names:
                    raise I2IError("tick at least one attribute")
            return {a: int(a in ticked) for a in names}
        if not domain:
            raise I2IError("pick a target domain")
        return None if domain == REFERENCE_DOMAIN else domain

    def translate(self, name, path, attributes=None, domain=None, seed=0, n=1, reference=None):
        """Press of Translate: ([PIL images at the input's size], status markdown); errors are a status."""
        try:
            t = self.model(name)
            img = self.read(path)
            target = self.target(t, attributes, domain)
            ref = self.read(reference, "reference image") if t.has_style and reference else None
            if target is None and ref is None:
                raise I2IError("upload a reference image, or pick a target domain")
            n = 1 if ref is not None or not t.has_style else int(n)
            if not 1 <= n <= MAX_OUTPUTS:
                raise I2IError(f"number of outputs must be 1..{MAX_OUTPUTS}, got {n}")
            start = time.perf_counter()
            with self.lock:
                if t.has_style:
                    out = t.translate(img, target, reference=ref, seed=int(seed), n=n)
                else:
                    out = t.translate(img, target)
        except I2IError as e:
            return [], error(e)
        outs = out if isinstance(out, list) else [out]
        how = "the reference's style" if ref is not None else (f"seed {int(seed)}" if t.has_style else "")
        return outs, (f"{len(outs)} output{'s' * (len(outs) > 1)} by {t.method.name} ({name})"
                      f"{', ' + how if how else ''} in {time.perf_counter() - start:.2f} s.")

    def png(self, img) -> str:
        """`img` as a PNG file named by its content, for the page to show. Gradio saves a PIL output under a
        path named by its pixels, rewriting that file in place each time: a client still downloading the
        same picture (the same upload's preview, a repeated translation) gets a short body, and the server
        drops the connection. A file path it copies into its cache atomically, and only once."""
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        path = self.out_dir / f"{hashlib.sha256(buf.getvalue()).hexdigest()[:32]}.png"
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=self.out_dir, suffix=".png")
            with os.fdopen(fd, "wb") as f:
                f.write(buf.getvalue())
            os.replace(tmp, path)
        return str(path)


def error(e: Exception) -> str:
    return f"⚠️ **{e}**"


def _gradio():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the page works offline
    try:
        import gradio as gr
    except ImportError:
        raise I2IError("the web demo needs Gradio: pip install 'i2i[serve]'") from None
    return gr


def build_app(runs, *, max_upload_mb: float = MAX_UPLOAD_MB, concurrency: int = CONCURRENCY,
              device: str = "auto", demo: Demo | None = None):
    """The page (a queued gr.Blocks) over `runs` (run or pretrained directories), or over `demo`."""
    gr = _gradio()
    if int(concurrency) < 1:
        raise I2IError(f"--concurrency must be at least 1, got {concurrency}")
    demo = demo or Demo.from_runs(runs, device, max_upload_mb=max_upload_mb)
    first = next(iter(demo.models))
    c = demo.controls(first)
    n_groups = max(len(demo.controls(m)["groups"]) for m in demo.models)  # radios enough for any model
    with gr.Blocks(title="i2i demo", analytics_enabled=False) as page:
        gr.Markdown("# i2i: image-to-image translation\nUpload an image (or pick a sample), choose a target, "
                    f"press **Translate**. Files up to {demo.max_mb:g} MB.")
        with gr.Row():
            with gr.Column():
                model = gr.Dropdown(list(demo.models), value=first, label="Model", elem_id="model")
                upload = gr.File(label="Input image", file_types=["image"], type="filepath", elem_id="upload")
                gr.Examples([[str(p)] for p in demo.samples], inputs=[upload], label="Built-in samples")
                shown = gr.Image(label="Input as the model reads it", format="png", interactive=False, height=240,
                                 type="pil", elem_id="shown")
            with gr.Column():
                radios = [gr.Radio(_nth(c["groups"], k), label="Target: one of", visible=k < len(c["groups"]),
                                   elem_id=f"group{k}") for k in range(n_groups)]
                attrs = gr.CheckboxGroup(c["attributes"], label="Target attributes (ticked = present)",
                                         visible=bool(c["attributes"]), elem_id="attributes")
                domain = gr.Dropdown(c["domains"], value=_first(c["domains"]), label="Target",
                                     visible=bool(c["domains"]), elem_id="domain")
                with gr.Group(visible=c["style"]) as style:
                    seed = gr.Slider(0, 9999, value=0, step=1, label="Latent seed", elem_id="seed")
                    n = gr.Slider(1, MAX_OUTPUTS, value=1, step=1, label="Number of outputs", elem_id="n")
                    reference = gr.File(label="Reference image (its style instead of the seed's)",
                                        file_types=["image"], type="filepath", elem_id="reference")
                go = gr.Button("Translate", variant="primary", elem_id="translate")
            with gr.Column():
                status = gr.Markdown(elem_id="status")
                outputs = gr.Gallery(label="Outputs (PNG)", format="png", columns=2, elem_id="outputs")

        def controls_of(name, seen):  # the checkboxes' and radios' values for what the model sees
            ticked, chosen = demo.split(name, seen)
            return [ticked, *chosen, *[None] * (n_groups - len(chosen))]

        def preview(name, path):
            img, seen, message = demo.preview(name, path)
            return [None if img is None else demo.png(img), *controls_of(name, seen), message]

        def switch(name, path):  # another model: its own target controls, read from the same input
            k = demo.controls(name)
            _, seen, message = demo.preview(name, path)
            ticked, *chosen = controls_of(name, seen)
            return (gr.CheckboxGroup(choices=k["attributes"], value=ticked, visible=bool(k["attributes"])),
                    *[gr.Radio(choices=_nth(k["groups"], i), value=v, visible=i < len(k["groups"]))
                      for i, v in enumerate(chosen)],
                    gr.Dropdown(choices=k["domains"], value=_first(k["domains"]), visible=bool(k["domains"])),
                    gr.Group(visible=k["style"]), [], message)

        def translate(name, path, attributes, domain, seed, n, reference, *chosen):  # chosen: the radios' values
            ticked = [*(attributes or []), *filter(None, chosen)]
            outs, message = demo.translate(name, path, ticked, domain, seed, n, reference)
            return [demo.png(o) for o in outs], message

        # API clients (gradio_client) see named parameters, the radios' as group0, ..., optional past the path
        names = ["name", "path", "attributes", "domain", "seed", "n", "reference", *(r.elem_id for r in radios)]
        translate.__signature__ = inspect.Signature([inspect.Parameter(
            p, inspect.Parameter.POSITIONAL_OR_KEYWORD, **({"default": None} if k > 1 else {}))
            for k, p in enumerate(names)])

        model.change(switch, [model, upload], [attrs, *radios, domain, style, outputs, status])
        upload.change(preview, [model, upload], [shown, attrs, *radios, status])
        go.click(translate, [model, upload, attrs, domain, seed, n, reference, *radios], [outputs, status])
    return page.queue(default_concurrency_limit=int(concurrency))


def _nth(groups, k):
    return groups[k] if k < len(groups) else []


def _first(choices):
    return choices[0][1] if choices else None


def serve(runs, host: str = HOST, port: int = PORT, *, max_upload_mb: float = MAX_UPLOAD_MB,
          concurrency: int = CONCURRENCY, device: str = "auto", block: bool = True, quiet: bool = False):
    """Serve the page on host:port (127.0.0.1: this machine only). block=False returns (page, url)."""
    if not 0 < int(port) < 65536:
        raise I2IError(f"--port must be 1..65535, got {port}")
    page = build_app(runs, max_upload_mb=max_upload_mb, concurrency=concurrency, device=device)
    gr = _gradio()
    # system fonts: the default theme's web fonts would be fetched from the internet
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    try:
        _, url, _ = page.launch(server_name=host, server_port=int(port), max_file_size=int(max_upload_mb * 2**20),
                                prevent_thread_lock=True, quiet=quiet, ssr_mode=False, share=False,
                                show_error=False, theme=theme, footer_links=[])
    except OSError as e:  # the port is taken, or the host is not an address of this machine
        reason = str(e).split(". ")[0]  # Gradio goes on about its own environment variables
        raise I2IError(f"cannot serve on {host}:{port} ({reason}); pick another --port or --host") from None
    if not block:
        return page, url
    try:
        page.block_thread()
    finally:
        page.close()
