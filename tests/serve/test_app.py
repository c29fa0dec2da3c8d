"""The demo's request handling, called directly (no browser): what each page action returns."""
import inspect
import io
import os
import socket
import urllib.request

import numpy as np
import pytest
from PIL import Image

from i2i.cli import main
from i2i.errors import I2IError
from i2i.serve.app import HOST, MAX_OUTPUTS, REFERENCE_DOMAIN, Demo, build_app, serve



@pytest.fixture(scope="module")
def runs(tmp_path_factory, run_v2, run_stargan):
    out = run_stargan
    return out, run_v2


@pytest.fixture(scope="module")
def demo(runs, tmp_path_factory):
    return Demo.from_runs(runs, max_upload_mb=0.01, samples_dir=tmp_path_factory.mktemp("samples"))


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "in.png"
    a = np.zeros((37, 50, 3), np.uint8)
    a[5:30, 10:40] = (200, 30, 30)
    Image.fromarray(a).save(path)
    return path


def test_translation_returns_png_ready_images_of_the_input_size(demo, photo):
    outs, status = demo.translate("stargan", str(photo), ["green", "striped"])
    assert len(outs) == 1 and "1 output by stargan" in status
    out = outs[0]
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (50, 37)
    buf = io.BytesIO()
    out.save(buf, format="PNG")  # what the gallery sends (format="png"): lossless, so these pixels
    assert np.array_equal(np.asarray(Image.open(buf)), np.asarray(out))
    assert not np.array_equal(np.asarray(out), np.asarray(Image.open(photo)))


def test_samples_are_drawn_and_preview_reads_the_attributes(demo):
    assert [p.name for p in demo.samples][:2] == ["red_circle.png", "green_striped_square.png"]
    img, seen, status = demo.preview("stargan", str(demo.samples[1]))
    assert img.size == (96, 96) and "96×96 image ready" in status
    assert set(seen) <= {"red", "green", "blue", "striped", "large"}
    assert len(set(seen) & {"red", "green", "blue"}) == 1  # the colours exclude each other: the likeliest one
    assert demo.preview("stargan", None) == (None, [], "")
    assert demo.preview("v2", str(demo.samples[1]))[1] == []


def test_exclusive_attributes_are_one_choice(demo, photo):
    assert demo.split("stargan", ["large", "green", "striped"]) == (["striped", "large"], ["green"])
    assert demo.split("stargan", []) == ([], [None])
    # no colour picked (an API call without it): the colour stays what D reads from the input
    t = demo.model("stargan")
    assert demo.target(t, ["striped"], None) == {"striped": 1, "large": 0}
    assert demo.target(t, ["blue"], None) == {"red": 0, "green": 0, "blue": 1, "striped": 0, "large": 0}
    outs, status = demo.translate("stargan", str(photo), ["striped"])
    assert len(outs) == 1 and "1 output" in status


def test_page_images_are_files_written_once(demo, photo):
    """Gradio rewrites a PIL output's cache file in place (a download under way gets cut short); the page
    hands it PNG files named by their content instead, which it copies atomically."""
    img = Image.open(photo)
    path = demo.png(img)
    mtime = os.stat(path).st_mtime_ns
    assert demo.png(img.copy()) == path and os.stat(path).st_mtime_ns == mtime
    with Image.open(path) as again:
        assert again.format == "PNG" and np.array_equal(np.asarray(again), np.asarray(img.convert("RGB")))
    assert demo.png(Image.new("RGB", (3, 3))) != path


def test_garbage_and_oversize_uploads_get_a_message(demo, tmp_path):
    garbage = tmp_path / "holiday.png"
    garbage.write_text("this is not a picture\n")
    for outs, status in (demo.translate("stargan", str(garbage), ["red"]), demo.preview("stargan", str(garbage))[::2]):
        assert not outs and "holiday.png: not an image format Pillow recognises" in status
        assert str(tmp_path) not in status and "Traceback" not in status  # no server paths, no stack trace
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * 20_000)  # over the 0.01 MB limit: refused by size, before decoding
    outs, status = demo.translate("stargan", str(big), ["red"])
    assert not outs and "big.png is 0.0191 MB; this demo takes files up to 0.01 MB" in status
    assert "upload an image or pick a sample" in demo.translate("stargan", None, ["red"])[1]
    assert "reference image big.png is 0.0191 MB" in demo.translate("v2", str(demo.samples[0]), domain="square",
                                                                  reference=str(big))[1]


def test_bad_target_gives_a_message(demo, photo):
    cases = {("stargan", ("red", "green"), None): "pick at most one of red, green, blue",
             ("v2", (), None): "pick a target domain",
             ("v2", (), "cat"): "unknown domain 'cat'; this model knows: circle, square, triangle",
             ("v2", (), REFERENCE_DOMAIN): "upload a reference image, or pick a target domain",
             ("nope", (), None): "unknown model 'nope'; this demo serves: stargan, v2"}
    for (model, attrs, domain), message in cases.items():
        outs, status = demo.translate(model, str(photo), list(attrs), domain)
        assert outs == [] and message in status, (model, status)
    assert f"number of outputs must be 1..{MAX_OUTPUTS}" in demo.translate("v2", str(photo), domain="square", n=99)[1]


def test_stargan_v2_n_outputs_differ_and_the_seed_repeats(demo, photo):
    outs, status = demo.translate("v2", str(photo), domain="square", seed=7, n=3)
    arrays = [np.asarray(o) for o in outs]
    assert len(arrays) == 3 and all(a.shape == (37, 50, 3) for a in arrays) and "3 outputs" in status
    assert not np.array_equal(arrays[0], arrays[1]) and not np.array_equal(arrays[1], arrays[2])
    again, _ = demo.translate("v2", str(photo), domain="square", seed=7, n=1)
    assert np.array_equal(np.asarray(again[0]), arrays[0])
    other, _ = demo.translate("v2", str(photo), domain="square", seed=8, n=1)
    assert not np.array_equal(np.asarray(other[0]), arrays[0])
    # a reference gives its one style whatever n says; its own domain when the page says so
    ref, status = demo.translate("v2", str(photo), domain=REFERENCE_DOMAIN, n=3, reference=str(demo.samples[1]))
    assert len(ref) == 1 and "the reference's style" in status


def test_controls_follow_the_model(demo):
    assert demo.controls("stargan") == {"attributes": ["striped", "large"], "groups": [["red", "green", "blue"]],
                                        "domains": [], "style": False}
    v2 = demo.controls("v2")
    assert v2["style"] and [v for _, v in v2["domains"]] == ["circle", "square", "triangle", REFERENCE_DOMAIN]


def test_generative_runs_and_bad_settings_are_refused(tmp_path, runs):
    out = tmp_path / "dcgan"
    assert main(["train", "dcgan", "--data", "digits", "--out", str(out), "--no-progress", "steps=1",
                 "image_size=16", "ngf=8", "ndf=8", "batch_size=8", "logger=none", "amp=none"]) == 0
    with pytest.raises(I2IError, match="generates rather than translates"):
        Demo.from_runs([out])
    with pytest.raises(I2IError, match="--max-upload-mb must be positive"):
        Demo.from_runs(runs[:1], max_upload_mb=0)
    with pytest.raises(I2IError, match="--concurrency must be at least 1"):
        build_app(runs[:1], concurrency=0)


def test_the_app_is_queued_and_bound_to_localhost_by_default(runs):
    assert HOST == "127.0.0.1" and inspect.signature(serve).parameters["host"].default == HOST
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    page, url = serve(runs[:1], port=port, concurrency=2, block=False, quiet=True)
    try:
        assert page.server_name == "127.0.0.1" and url == f"http://127.0.0.1:{port}/"
        assert page._queue.default_concurrency_limit == 2
        assert b"i2i demo" in urllib.request.urlopen(url, timeout=10).read()
        with pytest.raises(I2IError, match=f"cannot serve on 127.0.0.1:{port} .*pick another --port"):
            serve(runs[:1], port=port, block=False, quiet=True)
    finally:
        page.close()
