"""The demo in a real browser: Debian's chromium driven by playwright (never `playwright install`).

The app runs in this process (Gradio's server thread) on 127.0.0.1 over a small StarGAN run and the
session's tiny StarGAN v2 run; each test opens a fresh page.
"""
import io
import os
import shutil
import socket

import numpy as np
import pytest
from PIL import Image


CHROMIUM = shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if os.path.exists(p)), None)
if CHROMIUM is None and os.environ.get("I2I_REQUIRE_BROWSER"):  # CI sets it: there, no browser is a failure
    pytest.fail("I2I_REQUIRE_BROWSER is set but no chromium was found; apt-get install -y --no-install-recommends "
                "chromium", pytrace=False)
if CHROMIUM is None:
    pytest.skip("no chromium on this machine: apt-get install -y --no-install-recommends chromium "
                "(make test does it)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from i2i.cli import main  # noqa: E402
from i2i.serve.app import serve  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LIMIT_MB = 0.05
# Gradio 6.31's queue uses pandas options that pandas 3 deprecates: its noise, not ours
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


# StarGAN trained just enough (about 5 s) for D to tell the samples' colours: red_circle is seen red
SEEING = ["steps=60", "data.image_size=32", "n_train=64", "n_test=4", "g_conv_dim=8", "d_conv_dim=8", "g_repeat_num=1",
          "d_repeat_num=3", "n_critic=1", "batch_size=8", "d_lr=0.002", "decay_steps=0", "logger=none", "amp=none"]


@pytest.fixture(scope="module")
def url(tmp_path_factory, run_v2):
    out = tmp_path_factory.mktemp("browser") / "stargan"
    assert main(["train", "stargan", "--data", "shapes", "--out", str(out), "--no-progress", *SEEING]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    page, url = serve([out, run_v2], port=port, max_upload_mb=LIMIT_MB, block=False, quiet=True)
    yield url
    page.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, url):
    """A fresh page on the demo; it must ask nothing of any other host (the machine is offline)."""
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    outside = []
    pg.on("request", lambda r: r.url.startswith((url, "data:", "blob:")) or outside.append(r.url))
    pg.goto(url)
    pg.wait_for_selector("#translate")
    yield pg
    body = pg.locator("body").inner_text()
    context.close()
    assert "Traceback" not in body and 'File "' not in body  # never a stack trace in the page
    assert outside == []


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    a = np.full((37, 50, 3), 90, np.uint8)
    a[5:30, 10:40] = (200, 30, 30)
    Image.fromarray(a).save(path)
    return path


def upload(pg, path):
    pg.locator("#upload input[type=file]").set_input_files(str(path))


def outputs(pg, count):
    """The gallery's images, fetched from their src and decoded."""
    imgs = pg.locator("#outputs img")
    expect(imgs).to_have_count(count)
    srcs = [imgs.nth(k).get_attribute("src") for k in range(count)]
    bodies = [pg.request.get(src).body() for src in srcs]
    assert all(b.startswith(b"\x89PNG\r\n\x1a\n") for b in bodies), srcs  # PNG, not Gradio's default WebP
    return [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in bodies]


def test_upload_pick_attributes_translate_and_get_the_input_size(page, photo):
    upload(page, photo)
    expect(page.locator("#status")).to_contain_text("50×37 image ready")
    expect(page.locator("#shown img")).to_be_visible()
    page.locator("#group0 input[value=blue]").check()
    page.locator("#attributes input[name=large]").uncheck()
    page.locator("#attributes input[name=striped]").check()
    page.locator("#translate").click()
    expect(page.locator("#status")).to_contain_text("1 output by stargan")
    (out,) = outputs(page, 1)
    assert out.shape == (37, 50, 3)
    assert np.abs(out.astype(int) - np.asarray(Image.open(photo)).astype(int)).mean() > 1


def test_a_sample_seen_red_translates_to_green(page):
    """Colours exclude each other: one choice, which the preview sets to what the model sees."""
    page.get_by_role("button", name="red_circle.png").click()
    expect(page.locator("#status")).to_contain_text("96×96 image ready")
    expect(page.locator("#group0 input[value=red]")).to_be_checked()
    page.locator("#group0 input[value=green]").check()
    expect(page.locator("#group0 input:checked")).to_have_count(1)
    page.locator("#translate").click()
    expect(page.locator("#status")).to_contain_text("1 output by stargan")
    (out,) = outputs(page, 1)
    assert out.shape == (96, 96, 3) and "at most one" not in page.locator("#status").inner_text()


def test_stargan_v2_domain_and_several_outputs(page, photo):
    upload(page, photo)
    expect(page.locator("#attributes")).to_be_visible()
    page.locator("#model input").click()
    page.get_by_role("option", name="v2").click()
    expect(page.locator("#domain")).to_be_visible()
    expect(page.locator("#attributes")).to_be_hidden()
    expect(page.locator("#group0")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("50×37 image ready")
    page.locator("#domain input").click()
    page.get_by_role("option", name="square", exact=True).click()
    page.locator("#n input[type=number]").fill("3")
    page.locator("#n input[type=number]").press("Enter")
    page.locator("#translate").click()
    expect(page.locator("#status")).to_contain_text("3 outputs by stargan_v2")
    a, b, c = outputs(page, 3)
    assert a.shape == (37, 50, 3) and not np.array_equal(a, b) and not np.array_equal(b, c)


def test_garbage_upload_gets_a_message(page, tmp_path):
    garbage = tmp_path / "holiday.png"
    garbage.write_text("this is not a picture\n")
    upload(page, garbage)
    expect(page.locator("#status")).to_contain_text("holiday.png: not an image format Pillow recognises")
    page.locator("#translate").click()
    expect(page.locator("#status")).to_contain_text("not an image format Pillow recognises")
    expect(page.locator("#outputs img")).to_have_count(0)


def test_an_upload_over_the_limit_is_refused_with_a_message(page, tmp_path):
    big = tmp_path / "huge.png"
    big.write_bytes(os.urandom(int(LIMIT_MB * 2**20) + 10_000))
    upload(page, big)
    # Gradio's own guard (launch's max_file_size = --max-upload-mb): refused before the bytes are sent
    expect(page.get_by_text("exceed the maximum allowed size")).to_be_visible()
    expect(page.get_by_text('"huge.png"', exact=False)).to_be_visible()
    page.locator("#translate").click()
    expect(page.locator("#status")).to_contain_text("upload an image or pick a sample first")
