import base64
import html
import io
import json
import re
import shutil

import pytest
from PIL import Image

from i2i.cli import main
from i2i.errors import I2IError
from i2i.tools.report import thin, write_report

# Logs every step and samples every step: D's terms at 4 steps, G's at 2 (n_critic=2), 4 grids.
TINY = ["steps=4", "data.image_size=32", "n_train=16", "n_test=4", "g_conv_dim=8", "d_conv_dim=8",
        "g_repeat_num=1", "d_repeat_num=3", "n_critic=2", "batch_size=4", "log_every=1", "sample_every=1",
        "logger=none", "amp=none", "threads=1"]
SVG = re.compile(r'<svg [^>]*data-key="([^"]*)"[^>]*>(.*?)</svg>', re.S)
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny StarGAN run whose folder name holds HTML (read-only: tests copy it to change it)."""
    out = tmp_path_factory.mktemp("report") / 'run<script>&"x'
    assert main(["train", "stargan", "--data", "shapes", "--out", str(out), "--no-progress", *TINY]) == 0
    return out


@pytest.fixture
def run(trained, tmp_path):
    return shutil.copytree(trained, tmp_path / trained.name)


def logged(run) -> list[dict]:
    return [json.loads(line) for line in (run / "logs" / "metrics.jsonl").read_text().splitlines()]


def charts(page: str) -> dict[str, int]:
    """Points of each chart's polyline, by the key the chart plots."""
    return {html.unescape(k): len(re.search(r'<polyline points="([^"]*)"', body)[1].split())
            for k, body in SVG.findall(page)}


def test_the_report_plots_every_logged_key_and_embeds_the_samples(run):
    before = set(run.iterdir())
    path = write_report(run)
    assert path == run / "report.html" and set(run.iterdir()) - before == {path}  # one file, no temporary left
    page = path.read_text()

    lines = logged(run)
    keys = {k for line in lines for k in line} - {"step"}
    assert {"D/loss_real", "G/loss_rec", "lr_factor", "steps_per_s"} <= keys
    assert charts(page) == {k: sum(k in line for line in lines) for k in keys}
    assert charts(page)["D/loss_real"] == 4 and charts(page)["G/loss_rec"] == 2

    grids = [base64.b64decode(b) for b in IMG.findall(page)]
    assert len(grids) == 4 and grids[-1] == (run / "samples" / "step_0000004.png").read_bytes()
    assert Image.open(io.BytesIO(grids[0])).size == Image.open(run / "samples" / "step_0000001.png").size

    assert "<td>steps done</td><td>4 of 4</td>" in page
    assert "red, green, blue, striped, large" in page and "training time" in page
    assert html.escape((run / "config.yaml").read_text()) in page
    assert "<script" not in page and "run&lt;script&gt;&amp;&quot;x" in page  # the folder name, escaped
    assert not re.search(r"https?://", page)
    assert set(re.findall(r'(?:src|href)="([a-z]+):', page)) == {"data"}


def test_html_in_the_config_is_escaped_and_grids_are_thinned(run):
    with open(run / "config.yaml", "a") as f:
        f.write("# <script>alert('x')</script> & <img src=x>\n")
    page = write_report(run, run / "other.html", max_grids=3).read_text()
    assert "# &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;img src=x&gt;" in page
    assert "<script" not in page and "<img src=x" not in page
    assert re.findall(r"<figcaption>step (\d+)</figcaption>", page) == ["1", "3", "4"]
    assert "3 of 4 sample grids" in page


def test_evaluation_results_become_tables_the_latest_only(run):
    tasks = ["circle2square", "square2circle", "mean"]
    old, new = run / "eval" / "stargan-v2_0000002", run / "eval" / "stargan-v2_0000004"
    old.mkdir(parents=True)
    new.mkdir()
    (old / "FID_00002_latent.json").write_text(json.dumps({"FID_latent/circle2square": 987.5}))
    (new / "FID_00004_latent.json").write_text(json.dumps({f"FID_latent/{t}": 10.0 + i for i, t in enumerate(tasks)}))
    (new / "LPIPS_00004_latent.json").write_text(json.dumps({f"LPIPS_latent/{t}": 0.25 for t in tasks}))
    (run / "eval.json").write_text(json.dumps({"n": 8, "target_accuracy": {"red": 0.875}}))
    (run / "eval_broken.json").write_text("{")
    page = write_report(run).read_text()

    assert "987.5" not in page  # an older evaluation of the same kind
    assert "<tr><th>task</th><th>FID_latent</th><th>LPIPS_latent</th></tr>" in page
    assert "<tr><th>square2circle</th><td>11</td><td>0.25</td></tr>" in page
    assert page.index("<th>circle2square</th>") < page.index("<th>mean</th>")
    assert "<tr><th>target_accuracy.red</th><td>0.875</td></tr>" in page
    assert "eval_broken.json: not readable JSON" in page


def test_a_run_without_logs_or_with_torn_lines_still_gives_a_page(run):
    shutil.rmtree(run / "logs")
    page = write_report(run).read_text()
    assert "nothing has been logged" in page and "<svg" not in page and "<td>steps done</td><td>4 of 4</td>" in page

    (run / "logs").mkdir()
    (run / "logs" / "metrics.jsonl").write_text(
        '{"step": 1, "D/loss": 0.5}\n[1, 2]\n{"step": 2, "D/loss": 0.25}\n{"step": 3, "D/lo'  # killed mid-write
        '\n{"step": 2, "D/loss": 0.125}\n{"step": 3, "D/loss": 0.0625}\n')  # resumed from step 1's checkpoint
    page = write_report(run).read_text()
    assert "skipped 2 unreadable line(s) of logs/metrics.jsonl (line 2, 4)" in page
    assert charts(page) == {"D/loss": 3} and "last 0.0625" in page

    shutil.rmtree(run / "samples")
    shutil.rmtree(run / "checkpoints")
    page = write_report(run).read_text()
    assert "no sample grids yet" in page and "no checkpoint yet of 4" in page


def test_a_folder_that_is_not_a_run_is_one_clear_error(tmp_path):
    with pytest.raises(I2IError, match="does not exist") as e:
        write_report(tmp_path / "nope")
    assert "\n" not in str(e.value)
    with pytest.raises(I2IError, match="is not a run directory .no config.yaml."):
        write_report(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_thin_keeps_the_first_and_the_last():
    assert thin(list(range(5)), 12) == list(range(5))
    picked = thin(list(range(30)), 12)
    assert len(picked) == 12 and picked[0] == 0 and picked[-1] == 29 and picked == sorted(set(picked))


def test_the_report_command(trained, tmp_path, capsys):
    assert main(["report", str(trained), "--out", str(tmp_path / "r.html")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "r.html").is_file()
    assert main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("i2i: error: ") and err.count("\n") == 1
