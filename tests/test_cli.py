import json
import subprocess
import sys

import pytest
from PIL import Image

from i2i.cli import main

TINY = ["steps=4", "data.image_size=32", "n_train=32", "n_test=8", "g_conv_dim=8", "d_conv_dim=8",
        "g_repeat_num=1", "d_repeat_num=3", "n_critic=2", "batch_size=4", "logger=none", "amp=none"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "stargan", "--data", "shapes", "--out", str(out), "--no-progress", *TINY]) == 0
    return out


def test_translate_any_size_keeps_the_input_size(run, tmp_path, capsys):
    Image.new("RGB", (50, 37), (200, 30, 30)).save(tmp_path / "a.png")
    assert main(["translate", str(run), "--input", str(tmp_path / "a.png"), "--target", "green,striped",
                 "--output", str(tmp_path / "b.png")]) == 0
    out = Image.open(tmp_path / "b.png")
    assert out.size == (50, 37) and out.mode == "RGB"


def test_eval_prints_a_table_and_json(run, capsys):
    assert main(["eval", str(run), "-n", "8"]) == 0
    assert "shape kept" in capsys.readouterr().out
    assert main(["eval", str(run), "-n", "8", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["target_accuracy"]) == {"red", "green", "blue", "striped", "large"} and r["n"] == 8
    assert set(r["target_accuracy_set"]) == {"striped", "large"} and "size_changed" in r["shape_kept_by_size_change"]


def test_summary_prints_official_counts(capsys):
    assert main(["summary", "stargan", "image_size=128", "c_dim=5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"G": 8430528, "D": 44762048}
    assert main(["summary", "stargan", "image_size=128", "c_dim=5", "c2_dim=8", "--json"]) == 0  # CelebA + RaFD
    assert json.loads(capsys.readouterr().out) == {"G": 8_461_888, "D": 44_827_584}


def error_of(args, capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("i2i: error: ")
    return err


def test_bad_input_is_one_line_and_exit_2(run, tmp_path, capsys):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    out = str(tmp_path / "o.png")
    assert "bad.png" in error_of(["translate", str(run), "-i", str(tmp_path / "bad.png"), "-t", "red", "-o", out], capsys)
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    assert "unknown attribute 'purple'" in error_of(["translate", str(run), "-i", str(tmp_path / "ok.png"), "-t", "purple", "-o", out], capsys)
    assert "no checkpoint" in error_of(["translate", str(tmp_path), "-i", str(tmp_path / "ok.png"), "-t", "red", "-o", out], capsys)
    assert not (tmp_path / "o.png").exists()
    assert "already holds a training run" in error_of(["train", "stargan", "--out", str(run), *TINY], capsys)
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    (tmp_path / "empty" / "dog").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "empty" / "dog" / "1.png")
    assert "cat" in error_of(["train", "stargan", "--data", f"folders:{tmp_path / 'empty'}", "--out",
                              str(tmp_path / "r2"), *TINY], capsys)
    assert "list_attr_celeba" in error_of(["train", "stargan", "--data", f"celeba:{tmp_path}", "--out",
                                           str(tmp_path / "r3"), *TINY], capsys)


def test_console_script_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "i2i.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for cmd in ("train", "translate", "eval", "sample", "summary"):
        assert cmd in out
    for cmd in ("train", "translate", "eval", "sample", "summary"):
        sub = subprocess.run([sys.executable, "-m", "i2i.cli", cmd, "--help"], capture_output=True, text=True)
        assert sub.returncode == 0 and "usage: i2i " + cmd in sub.stdout


def test_v2_latent_translation_gives_n_outputs_that_differ(run_v2, tmp_path, capsys):
    Image.new("RGB", (40, 30), (30, 30, 200)).save(tmp_path / "a.png")
    assert main(["translate", str(run_v2), "-i", str(tmp_path / "a.png"), "--target", "square", "--seed", "3",
                 "-n", "3", "-o", str(tmp_path / "b.png")]) == 0
    outs = [Image.open(tmp_path / f"b_{k}.png") for k in range(3)]
    assert all(o.size == (40, 30) for o in outs) and outs[0].tobytes() != outs[1].tobytes()
    again = tmp_path / "c.png"
    assert main(["translate", str(run_v2), "-i", str(tmp_path / "a.png"), "-t", "square", "--seed", "3", "-n", "3",
                 "-o", str(again)]) == 0
    assert Image.open(tmp_path / "c_1.png").tobytes() == outs[1].tobytes()  # the seed fixes the codes


def test_v2_seed_is_honoured_with_one_output_and_no_reference(run_v2, tmp_path):
    Image.new("RGB", (32, 32), (30, 30, 200)).save(tmp_path / "a.png")
    outs = {}
    for seed in (1, 2):
        assert main(["translate", str(run_v2), "-i", str(tmp_path / "a.png"), "-t", "square", "--seed", str(seed),
                     "-o", str(tmp_path / f"s{seed}.png")]) == 0
        outs[seed] = Image.open(tmp_path / f"s{seed}.png").tobytes()
    assert outs[1] != outs[2]  # each seed its latent code, as with -n 2
    from i2i.api import load
    assert load(run_v2).translate(str(tmp_path / "a.png"), "square", seed=2).tobytes() == outs[2]


def test_v2_reference_translation_takes_the_reference_folder_as_domain(run_v2, tmp_path):
    (tmp_path / "triangle").mkdir()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(tmp_path / "triangle" / "r.png")
    Image.new("RGB", (32, 32), (30, 200, 30)).save(tmp_path / "a.png")
    assert main(["translate", str(run_v2), "-i", str(tmp_path / "a.png"), "--reference",
                 str(tmp_path / "triangle" / "r.png"), "-o", str(tmp_path / "b.png")]) == 0
    from i2i.api import load
    t = load(run_v2)
    ref = t.translate(str(tmp_path / "a.png"), reference=str(tmp_path / "triangle" / "r.png"))
    assert ref.tobytes() == Image.open(tmp_path / "b.png").tobytes()
    assert ref.tobytes() == t.translate(str(tmp_path / "a.png"), "triangle",
                                        reference=str(tmp_path / "triangle" / "r.png")).tobytes()


def test_v2_sample_writes_every_grid_and_gif(run_v2, tmp_path):
    assert main(["sample", str(run_v2), "--out", str(tmp_path / "s"), "--sources", "3", "--steps", "4"]) == 0
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == ["cycle.png", "interpolation_latent.gif", "interpolation_latent.png",
                     "interpolation_reference.gif", "interpolation_reference.png", "latent.png", "reference.png"]
    gif = Image.open(tmp_path / "s" / "interpolation_latent.gif")
    assert gif.n_frames == 4 + 2  # there and back


def test_v2_eval_reports_translation_content_diversity_and_reference(run_v2, capsys):
    assert main(["eval", str(run_v2), "-n", "6", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["translation_accuracy"]) == {"latent", "reference"} and 1 <= r["latent_colours"] <= 6
    assert 0 <= r["reference_colour_match"] <= 1
    assert main(["eval", str(run_v2), "-n", "6"]) == 0
    assert "target shape reached" in capsys.readouterr().out


def test_style_options_on_a_method_without_style_are_refused(run, tmp_path, capsys):
    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    assert main(["translate", str(run), "-i", str(tmp_path / "a.png"), "-t", "red", "-n", "2",
                 "-o", str(tmp_path / "b.png")]) == 2
    assert "no style input" in capsys.readouterr().err
    assert main(["sample", str(run)]) == 2


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "dcgan"
    assert main(["train", "dcgan", "--data", "digits", "--out", str(out), "--no-progress", "steps=3",
                 "image_size=16", "ngf=8", "ndf=8", "batch_size=16", "logger=none", "amp=none"]) == 0
    return out


def test_generate_writes_a_grid(dcgan_run, tmp_path, capsys):
    assert main(["generate", str(dcgan_run), "-n", "12", "--nrow", "4", "-o", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size == (4 * 18 + 2, 3 * 18 + 2)  # 16 px tiles, 2 px padding


def test_generate_refuses_a_translation_run(run, capsys):
    assert main(["generate", str(run), "-n", "4"]) == 2
    assert "use i2i translate" in capsys.readouterr().err


def test_eval_of_a_digits_run_reads_samples_with_the_oracle(dcgan_run, capsys):
    assert main(["eval", str(dcgan_run), "-n", "50", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 50 and len(r["class_share"]) == 10 and abs(sum(r["class_share"]) - 1) < 1e-3
    assert r["digits_fd"] > r["digits_fd_floor"] > 0  # 3 steps of training are far from real digits


def test_generate_a_requested_digit_from_a_cgan_run_and_its_eval(tmp_path, capsys):
    out = tmp_path / "cgan"
    assert main(["train", "cgan", "--data", "digits", "--out", str(out), "--no-progress", "steps=2",
                 "image_size=16", "ngf=8", "ndf=8", "batch_size=16", "logger=none", "amp=none"]) == 0
    assert main(["generate", str(out), "-n", "4", "--label", "7", "-o", str(tmp_path / "sevens.png")]) == 0
    assert main(["generate", str(out), "-n", "4", "--label", "x"]) == 2
    assert "unknown label 'x'" in capsys.readouterr().err
    assert main(["eval", str(out), "-n", "40", "--json"]) == 0
    assert 0 <= json.loads(capsys.readouterr().out)["requested_digit_read"] <= 1


def test_generate_refuses_a_label_for_an_unconditional_run(dcgan_run, capsys):
    assert main(["generate", str(dcgan_run), "-n", "4", "--label", "7"]) == 2
    assert "no class input" in capsys.readouterr().err


def test_a_world_brings_its_image_size_and_a_method_its_official_batch(tmp_path):
    from i2i.config import RunConfig
    out = tmp_path / "dcgan"
    assert main(["train", "dcgan", "--data", "digits", "--out", str(out), "--no-progress", "steps=1",
                 "ngf=8", "ndf=8", "logger=none", "amp=none"]) == 0
    cfg = RunConfig.load(out / "config.yaml")
    assert cfg.data.image_size == 16 and cfg.train.batch_size == 128


def test_infogan_traversal_grid_and_code_accuracy(tmp_path, capsys):
    out = tmp_path / "infogan"
    assert main(["train", "infogan", "--data", "digits", "--out", str(out), "--no-progress", "steps=2",
                 "batch_size=16", "logger=none", "amp=none"]) == 0
    assert main(["generate", str(out), "--traverse", "2", "-n", "5", "-o", str(tmp_path / "t.png")]) == 0
    assert Image.open(tmp_path / "t.png").size == (5 * 18 + 2, 10 * 18 + 2)  # 10 categories x 5 values
    assert main(["generate", str(out), "--traverse", "3"]) == 2
    assert "codes 1..2" in capsys.readouterr().err
    capsys.readouterr()
    assert main(["eval", str(out), "-n", "40", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert 0.1 <= r["code_accuracy"] <= 1 and sorted(r["code_to_digit"]) == list(range(10))


def test_traverse_needs_latent_codes(dcgan_run, capsys):
    assert main(["generate", str(dcgan_run), "--traverse"]) == 2
    assert "no latent codes" in capsys.readouterr().err


def test_ring_run_plots_and_evaluates(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["train", "wgan_gp", "--data", "ring", "--out", str(out), "--no-progress", "steps=5", "n_train=256",
                 "z_dim=2", "mlp_dim=16", "batch_size=32", "logger=none", "amp=none"]) == 0
    assert main(["generate", str(out), "-n", "500", "-o", str(tmp_path / "ring.png")]) == 0
    assert Image.open(tmp_path / "ring.png").size == (256, 256)
    capsys.readouterr()
    assert main(["eval", str(out), "-n", "200", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert len(r["mode_share"]) == 8 and 0 <= r["high_quality_share"] <= 1


def test_summary_of_the_original_gan_on_mnist(capsys):
    assert main(["summary", "gan", "image_size=28", "channels=1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"G": 2503984, "D": 1231441}  # 100-1200-1200-784; maxout 240x5


TWO_DOMAIN = ["steps=2", "data.image_size=32", "n_train=8", "n_test=4", "ngf=8", "ndf=8", "batch_size=2",
              "logger=none", "amp=none"]


def test_pix2pix_trains_translates_and_evaluates_on_shapes_pairs(tmp_path, capsys):
    out = tmp_path / "p2p"
    assert main(["train", "pix2pix", "--data", "shapes:paired", "--out", str(out), "--no-progress",
                 "netG=unet_32", *TWO_DOMAIN]) == 0
    Image.new("RGB", (40, 30), (0, 0, 0)).save(tmp_path / "labels.png")
    assert main(["translate", str(out), "-i", str(tmp_path / "labels.png"), "-o", str(tmp_path / "r.png")]) == 0
    assert Image.open(tmp_path / "r.png").size == (40, 30)
    capsys.readouterr()
    assert main(["eval", str(out), "-n", "4", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["task"] == "paired" and r["n"] == 4 and {"psnr", "ssim", "l1", "attribute_accuracy"} <= set(r)
    assert "labels → render only" in error_of(["translate", str(out), "-i", str(tmp_path / "labels.png"),
                                               "--direction", "BtoA", "-o", str(tmp_path / "x.png")], capsys)


@pytest.mark.parametrize("method", ["cyclegan", "opgan"])
def test_unpaired_methods_translate_both_ways_and_evaluate(method, tmp_path, capsys):
    out = tmp_path / method
    assert main(["train", method, "--data", "shapes:unpaired", "--out", str(out), "--no-progress",
                 "netG=resnet_1blocks", "pool_size=2", *TWO_DOMAIN]) == 0
    Image.new("RGB", (32, 32), (120, 120, 120)).save(tmp_path / "in.png")
    for d in ("AtoB", "BtoA"):
        assert main(["translate", str(out), "-i", str(tmp_path / "in.png"), "--direction", d,
                     "-o", str(tmp_path / f"{d}.png")]) == 0
    assert Image.open(tmp_path / "AtoB.png").tobytes() != Image.open(tmp_path / "BtoA.png").tobytes()
    assert "direction" in error_of(["translate", str(out), "-i", str(tmp_path / "in.png"),
                                    "-o", str(tmp_path / "x.png")], capsys)
    import numpy as np

    import i2i
    t = i2i.load(out)
    img = np.full((20, 24, 3), 120, dtype=np.uint8)
    a, b = t.translate(img, target="AtoB"), t.translate(img, target="plain")
    assert a.shape == img.shape and a.dtype == np.uint8 and not np.array_equal(a, b)
    capsys.readouterr()
    assert main(["eval", str(out), "-n", "4"]) == 0
    table = capsys.readouterr().out
    assert "plain_to_striped" in table and "mask_iou" in table


def test_summary_prints_the_official_two_domain_counts(capsys):
    assert main(["summary", "pix2pix", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"G": 54413955, "D": 2768705}
    assert main(["summary", "cyclegan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"G_A": 11378179, "G_B": 11378179, "D_A": 2764737, "D_B": 2764737}


def test_pix2pix_and_cyclegan_train_on_the_public_layouts(tmp_path):
    import numpy as np
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        (tmp_path / "facades" / split).mkdir(parents=True)
        for d in "AB":
            (tmp_path / "h2z" / f"{split}{d}").mkdir(parents=True)
        for k in range(3):
            Image.fromarray(rng.integers(0, 255, (36, 72, 3), dtype=np.uint8)).save(tmp_path / "facades" / split / f"{k}.jpg")
            for d in "AB":
                Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "h2z" / f"{split}{d}" / f"{k}.png")
    common = ["steps=1", "data.image_size=32", "ngf=8", "ndf=8", "batch_size=2", "logger=none", "amp=none"]
    assert main(["train", "pix2pix", "--data", f"paired:{tmp_path / 'facades'}", "--out", str(tmp_path / "p"),
                 "--no-progress", "netG=unet_32", *common]) == 0
    assert main(["train", "cyclegan", "--data", f"unpaired:{tmp_path / 'h2z'}", "--out", str(tmp_path / "c"),
                 "--no-progress", "netG=resnet_1blocks", *common]) == 0
    assert (tmp_path / "c" / "samples" / "step_0000001.png").is_file()


def test_dtn_trains_on_svhn_like_digits_and_reports_transfer_accuracy(tmp_path, capsys):
    out = tmp_path / "dtn"
    assert main(["train", "dtn", "--data", "digits:svhn", "--out", str(out), "--no-progress", "steps=3", "f_steps=1",
                 "batch_size=8", "logger=none", "amp=none"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["task"] == "transfer" and r["n"] == 299 and 0.3 < r["oracle_on_sources"] < 0.45
    assert 0 <= r["translation_accuracy"] <= 1 and "f_accuracy_on_sources" in r


def test_joint_stargan_translates_with_either_datasets_labels_and_evaluates(tmp_path, capsys):
    out = tmp_path / "joint"
    assert main(["train", "stargan", "--data", "shapes:joint", "--out", str(out), "--no-progress", *TINY]) == 0
    img = tmp_path / "in.png"
    Image.new("RGB", (32, 32), (200, 30, 30)).save(img)
    for target in ("mid_bg", "green"):
        assert main(["translate", str(out), "-i", str(img), "-t", target, "-o", str(tmp_path / f"{target}.png")]) == 0
    assert main(["translate", str(out), "-i", str(img), "-t", "green,mid_bg", "-o", str(tmp_path / "x.png")]) == 2
    assert "one dataset at a time" in capsys.readouterr().err
    assert main(["eval", str(out), "-n", "10", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert list(r["label_sets"]) == ["shapes-colours", "shapes-backgrounds"] and r["n"] == 8


def test_matchgan_alternates_labelled_and_unlabelled_iterations(tmp_path, capsys):
    out = tmp_path / "match"
    args = [o for o in TINY if not o.startswith(("batch_size", "steps", "n_train"))]
    assert main(["train", "matchgan", "--data", "shapes", "--out", str(out), "--no-progress", *args,
                 "steps=4", "batch_size=12", "n_train=48", "labelled_fraction=0.5", "log_every=1", "n_critic=1"]) == 0
    logs = [json.loads(line) for line in (out / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert ["D/loss_match" in r for r in logs] == [True, False, True, False]
    assert ["G/loss_rec" in r for r in logs] == [True, False, True, False]
    assert all("G/loss_match" in r for r in logs)
    capsys.readouterr()
    assert main(["eval", str(out), "-n", "10", "--json"]) == 0
    assert "target_accuracy" in json.loads(capsys.readouterr().out)


def test_serve_refuses_a_missing_run_with_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nope"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("i2i: error: ") and err.count("\n") == 1
