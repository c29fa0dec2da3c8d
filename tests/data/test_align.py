"""i2i.data.align against StarGAN v2's official face alignment (core/wing.py, main.py --mode align).

The fixtures in tests/fixtures/official/stargan_v2/align were written by the official code itself
(FaceAligner, pad_mirror, landmarks2mat, cv2.warpPerspective(INTER_LANCZOS4), align_faces and its
save_image; OpenCV 4.11, scikit-image 0.20, numpy 1.26, torch 2.13) on synthetic images, with:
- FAN weights that this test rebuilds (`_fan_state`: i2i's FAN() right after torch.manual_seed(24),
  l0.bias + 1.0, saved as {'state_dict': ...} like wing.ckpt); their fingerprint is stored;
- a made-up 98-point reference layout, celeba_lm_mean.npz (committed; 1 kB).
Float arrays in official.npz are float32, strided (every 4th or 8th pixel) to keep it small.

Measured here against those fixtures (numpy 2.4):
- landmarks: identical (max |diff| 0.0); matrices: identical (0.0);
- mirror padding: 1.1e-13 grey levels against the official float64 array (7.6e-6 against the
  float32-stored fixture); the bare Lanczos-4 warp, same input: 3.6e-14 against OpenCV;
- aligned image before rounding: max 7.6e-6 grey levels, which is the fixture's float32 storage
  (against the official float64 array directly: 0.0); the saved uint8 images: identical
  (max 0, mean 0 grey levels), for 256 px (square and squashed input) and 512 px. The asserts
  allow 1e-4 for landmarks, matrices and floats, and max 1 / mean 0.01 grey levels for the PNGs.
"""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from i2i.data import align as A
from i2i.data import warp as W
from i2i.errors import I2IError
from i2i.nn.fan import FAN

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "official" / "stargan_v2" / "align"
OFF = dict(np.load(FIX / "official.npz"))
LM_MEAN = FIX / "celeba_lm_mean.npz"


def _fan_state(bias_shift=1.0, seed=24):
    torch.manual_seed(seed)
    fan = FAN()
    with torch.no_grad():
        fan.l0.bias.add_(bias_shift)
    return fan.state_dict()


def _fingerprint(sd):
    return np.array([float(sd["conv1.conv.weight"].double().sum()), float(sd["l0.weight"].double().sum()),
                     float(sd["l0.bias"].double().sum()), float(sd["m0.b2_plus_1.conv3.weight"].double().abs().sum())])


@pytest.fixture(scope="module")
def wing(tmp_path_factory):
    sd = _fan_state(float(OFF["fan_bias"]), int(OFF["fan_seed"]))
    np.testing.assert_allclose(_fingerprint(sd), OFF["fan_fingerprint"], rtol=1e-6,
                               err_msg="the test FAN recipe no longer gives the weights the fixtures were made with")
    path = tmp_path_factory.mktemp("align") / "wing.ckpt"
    torch.save({"state_dict": sd}, path)
    return path


@pytest.fixture(scope="module")
def aligner(wing):
    return A.Aligner(wing, LM_MEAN, 256)


def _rgb(name):
    return np.asarray(Image.open(FIX / name).convert("RGB"))


def _squash(photo_hw, s=256):
    h, w = photo_hw
    return np.array([[s / w, 0, 0.5 * s / w - 0.5], [0, s / h, 0.5 * s / h - 0.5], [0, 0, 1.0]])


def _official_pixels(img):
    """The official's uint8 image: ToTensor + Normalize, then tensor2numpy255 (truncating)."""
    x = torch.from_numpy(np.array(img)).permute(2, 0, 1).float().div(255).sub(0.5).div(0.5)
    return ((x.permute(1, 2, 0).numpy() * 0.5 + 0.5) * 255).astype(np.uint8)


# ------------------------------------------------------------------ the pieces, on fixed inputs

def test_lanczos4_warp_equals_opencv():
    """cv2.warpPerspective(INTER_LANCZOS4), constant-0 border: a perspective matrix, and one whose
    output reaches past the source (windows partly and wholly outside). Measured: 3.6e-14."""
    src = OFF["warp_src"].astype(np.float64)
    for k in ("persp", "out"):
        out = W.warp_perspective(src, OFF[f"warp_matrix_{k}"], (60, 70))
        assert np.abs(out - OFF[f"warp_out_{k}"]).max() < 1e-9
    assert (OFF["warp_out_out"] == 0).any()  # the second case does reach the border


def test_lanczos4_table_is_a_partition_of_unity():
    t = W.lanczos4_table()
    assert t.shape == (32, 8) and t.dtype == np.float32
    np.testing.assert_allclose(t.sum(1), 1, atol=1e-6)
    assert t[0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0]
    np.testing.assert_allclose(t[16], t[16][::-1], atol=1e-6)  # half a pixel: symmetric


def test_resizes_equal_opencv_inter_linear():
    src = OFF["resize_src"]
    assert np.array_equal(W.halve_u8(src), OFF["resize_down_even"])  # uint8, exactly 2x down
    np.testing.assert_allclose(W.double(src.astype(np.float64) / 255), OFF["resize_up_float"], atol=1e-7)


@pytest.mark.parametrize("name", ["face", "wide"])
def test_pad_mirror_equals_the_official(name):
    """Measured: 1.1e-13 grey levels against the official float64 array, 7.6e-6 against the
    float32-stored fixture."""
    img = _official_pixels(np.asarray(Image.fromarray(_rgb(f"in_{name}.png")).resize((256, 256), Image.BILINEAR)))
    padded, lm = A.pad_mirror(img, OFF[f"{name}_landmarks"])
    assert padded.shape == (512, 512, 3)
    assert np.abs(padded[::8, ::8] - OFF[f"{name}_padded_s8"]).max() < 1e-4
    assert np.array_equal(lm, OFF[f"{name}_landmarks_padded"]) and lm.dtype == np.float32
    assert np.array_equal(padded[128:384, 128:384], img)  # the image itself is untouched


@pytest.mark.parametrize("name", ["face", "wide", "given"])
def test_transform_matrix_equals_the_official(name):
    """landmarks2mat on the padded landmarks. Measured: identical (0.0)."""
    lm = OFF[f"{name}_landmarks_padded"] if name != "given" else OFF["given_landmarks"] + np.float32(128)
    m = A.transform_matrix(lm, np.load(LM_MEAN)["mean"])
    assert np.abs(m - OFF[f"{name}_matrix"]).max() < 1e-4


# ------------------------------------------------------------------ end to end, as align_faces

@pytest.mark.parametrize("name", ["face", "wide"])
def test_align_equals_the_official_align_faces(aligner, name):
    """in_face.png is 256 px, in_wide.png 200 x 160 (squashed, as align_faces' Resize). Measured:
    landmarks and matrix identical; aligned floats max 7.6e-6 grey levels (float32 storage);
    saved PNG identical (max 0, mean 0 grey levels)."""
    photo = _rgb(f"in_{name}.png")
    a = aligner.run(FIX / f"in_{name}.png")
    sq = _squash(photo.shape[:2])
    lm_256 = a.landmarks @ sq[:2, :2].T + sq[:2, 2]
    assert np.abs(lm_256 - OFF[f"{name}_landmarks"]).max() < 1e-4
    official_to_crop = OFF[f"{name}_matrix"] @ A._translation([128, 128]) @ sq
    assert np.abs(a.matrix - official_to_crop).max() < 1e-4
    assert np.abs(a.aligned[::4, ::4] - OFF[f"{name}_aligned_s4"]).max() < 1e-4
    diff = np.abs(a.image.astype(int) - _rgb(f"official_{name}.png"))
    assert diff.max() <= 1 and diff.mean() <= 0.01
    image, matrix = aligner.align(photo)  # an array in, the same
    assert np.array_equal(image, a.image) and np.array_equal(matrix, a.matrix)


def test_align_512_equals_the_official(wing):
    """512 px: FAN still sees 256 px, landmarks x 8, the reference x 2. Measured: identical."""
    a = A.Aligner(wing, LM_MEAN, 512).run(FIX / "in_face.png")
    assert np.abs(a.landmarks * 2 + 0.5 - OFF["face512_landmarks"]).max() < 1e-4  # 256 px photo -> 512
    assert np.abs(a.aligned[::8, ::8] - OFF["face512_aligned_s8"]).max() < 1e-4
    official_to_crop = OFF["face512_matrix"] @ A._translation([256, 256]) @ _squash((256, 256), 512)
    assert np.abs(a.matrix - official_to_crop).max() < 1e-4


def test_given_landmarks_case_equals_the_official():
    """A drawn face at a known similarity (15 degrees, x 0.75) with plausible landmarks: pad,
    matrix, warp, rounding as FaceAligner.align. Measured: floats 7.6e-6 (storage), PNG identical."""
    ref = np.load(LM_MEAN)["mean"]
    pixels = _official_pixels(_rgb("in_given.png"))
    padded, lm = A.pad_mirror(pixels, OFF["given_landmarks"])
    m = A.transform_matrix(lm, ref)
    aligned = W.warp_perspective(padded, m, (256, 256))
    assert np.abs(aligned[::4, ::4] - OFF["given_aligned_s4"]).max() < 1e-4
    assert np.abs(aligned[96:160, 96:160] - OFF["given_aligned_center"]).max() < 1e-4
    diff = np.abs(A._rounded(aligned).astype(int) - _rgb("official_given.png"))
    assert diff.max() <= 1 and diff.mean() <= 0.01
    # the similarity undoes the drawing's: scale 1 / 0.75, and the landmarks land on the reference
    assert np.sqrt(np.linalg.det(m[:2, :2])) == pytest.approx(1 / 0.75, rel=0.02)
    moved = lm.astype(np.float64) @ m[:2, :2].T + m[:2, 2]
    np.testing.assert_allclose(moved.mean(0), ref.mean(0), atol=1e-3)
    assert np.abs(moved - ref).max() < 4  # only the 0.7 px noise the fixture added, scaled


def test_matrix_maps_photo_pixels_into_the_crop(aligner):
    """Warping the photo itself with the returned matrix gives the aligned crop (up to the squash's
    resampling and the official's truncation to uint8) where the crop shows the photo. Measured:
    92% of the crop, mean |diff| 0.38 grey levels."""
    photo = _rgb("in_wide.png")
    a = aligner.run(photo)
    direct = W.warp_perspective(photo.astype(np.float64), a.matrix, (256, 256))
    inside = W.warp_perspective(np.ones(photo.shape[:2]), a.matrix, (256, 256)) > 0.999
    assert inside.mean() > 0.5
    assert np.abs(direct - a.aligned)[inside].mean() < 1.5


# ------------------------------------------------------------------ paste back

def test_paste_back_round_trip_on_the_given_face():
    """The official aligned crop pasted back into its photo gives the photo again (two Lanczos
    resamplings apart) under the mask, and leaves the rest of the photo untouched. Measured: 30% of
    the photo fully under the mask, mean |diff| 0.05 grey levels there, 99th percentile 1, max 2;
    the mask's largest step between neighbouring pixels 0.067."""
    photo = _rgb("in_given.png")
    crop = _rgb("official_given.png")
    matrix = OFF["given_matrix"] @ A._translation([128, 128])  # a 256 px photo: no squash
    out = A.paste_back(photo, crop, matrix)
    assert out.shape == photo.shape and out.dtype == np.uint8
    mask = A.paste_back(np.zeros_like(photo), np.full_like(crop, 255), matrix)[..., 0] / 255
    full, none = mask > 0.999, mask == 0
    assert full.mean() > 0.2 and none.any()
    err = np.abs(out.astype(int) - photo)
    assert err[full].mean() < 0.5 and np.percentile(err[full], 99) <= 2
    assert np.array_equal(out[none], photo[none])
    # no seam: the blend weight changes by little from one pixel to the next
    assert max(np.abs(np.diff(mask, axis=0)).max(), np.abs(np.diff(mask, axis=1)).max()) < 0.1


def test_paste_back_after_align_with_a_squashed_photo(aligner):
    """Measured: 49% of the photo fully under the mask, mean |diff| 0.26 grey levels there."""
    photo = _rgb("in_wide.png")
    crop, matrix = aligner.align(photo)
    out = A.paste_back(photo, crop, matrix)
    mask = A.paste_back(np.zeros_like(photo), np.full_like(crop, 255), matrix)[..., 0] / 255
    full = mask > 0.999
    assert full.mean() > 0.3
    assert np.abs(out.astype(int) - photo)[full].mean() < 1


def test_paste_back_outside_the_photo_changes_nothing():
    photo = _rgb("in_wide.png")
    far = A._translation([-5000, -5000])  # the crop's footprint lies far off the photo
    assert np.array_equal(A.paste_back(photo, np.zeros((64, 64, 3), np.uint8), far), photo)


def test_paste_back_bad_matrix():
    with pytest.raises(I2IError, match="invertible"):
        A.paste_back(np.zeros((8, 8, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), np.zeros((3, 3)))


# ------------------------------------------------------------------ errors, one line each

def _one_line(excinfo):
    text = str(excinfo.value)
    assert "\n" not in text
    return text


def test_missing_files(tmp_path, wing):
    with pytest.raises(I2IError) as e:
        A.Aligner(tmp_path / "nope.ckpt", LM_MEAN)
    assert "FAN weights" in _one_line(e) and "not found" in str(e.value)
    with pytest.raises(I2IError) as e:
        A.Aligner(wing, tmp_path / "nope.npz")
    assert "landmark mean file" in _one_line(e) and "not found" in str(e.value)


@pytest.mark.parametrize("kind", ["text", "npy", "no_mean", "shape", "nan", "strings"])
def test_bad_landmark_mean_file(tmp_path, kind):
    p = tmp_path / "lm.npz"
    good = np.load(LM_MEAN)["mean"]
    if kind == "text":
        p.write_text("not an archive")
    elif kind == "npy":
        with open(p, "wb") as f:
            np.save(f, good)
    elif kind == "no_mean":
        np.savez(p, average=good)
    elif kind == "shape":
        np.savez(p, mean=good[:97])
    elif kind == "nan":
        np.savez(p, mean=np.where(np.arange(98)[:, None] == 5, np.nan, good))
    else:
        np.savez(p, mean=good.astype(str))
    with pytest.raises(I2IError) as e:
        A.load_landmark_mean(p)
    text = _one_line(e)
    expected = {"text": "not a .npz archive", "npy": "not a .npz archive", "no_mean": "has no 'mean' array",
                "shape": "shape (97, 2)", "nan": "finite numbers", "strings": "finite numbers"}[kind]
    assert expected in text and str(p) in text


def test_bad_size(wing):
    with pytest.raises(I2IError, match="multiple of 64"):
        A.Aligner(wing, LM_MEAN, 100)


def test_no_face_low_heatmaps(tmp_path):
    """Every heatmap far below the threshold: 'no face found', naming the file and the peak."""
    path = tmp_path / "low.ckpt"
    torch.save({"state_dict": _fan_state(-5.0)}, path)
    with pytest.raises(I2IError) as e:
        A.Aligner(path, LM_MEAN).align(FIX / "in_face.png")
    text = _one_line(e)
    assert text.startswith(f"no face found in {FIX / 'in_face.png'}: the landmark heatmaps peak at -")


def test_no_face_degenerate_landmarks(tmp_path):
    """Flat heatmaps (peak 1, so past the first test) put all 98 landmarks on one point."""
    sd = _fan_state(0.0)
    sd["l0.weight"] = torch.zeros_like(sd["l0.weight"])
    sd["l0.bias"] = torch.ones_like(sd["l0.bias"])
    path = tmp_path / "flat.ckpt"
    torch.save({"state_dict": sd}, path)
    with pytest.raises(I2IError) as e:
        A.Aligner(path, LM_MEAN).align(_rgb("in_face.png"))
    assert "no face found in the image: the landmarks are degenerate" in _one_line(e)


# ------------------------------------------------------------------ files and the CLI

def test_cli_align_file_and_folder(tmp_path, wing, capsys):
    from i2i.cli import main
    out = tmp_path / "out"
    assert main(["align", str(FIX / "in_wide.png"), "--out", str(out), "--fan", str(wing),
                 "--landmarks", str(LM_MEAN)]) == 0
    assert np.array_equal(np.asarray(Image.open(out / "in_wide.png")), _rgb("official_wide.png"))
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(FIX / "in_face.png", folder / "a.png")
    Image.open(FIX / "in_wide.png").save(folder / "sub" / "b.jpg", quality=95)
    (folder / "broken.png").write_bytes(b"not a png")
    capsys.readouterr()
    assert main(["align", str(folder), "--out", str(tmp_path / "aligned"), "--fan", str(wing),
                 "--landmarks", str(LM_MEAN)]) == 0
    io_ = capsys.readouterr()
    assert np.array_equal(np.asarray(Image.open(tmp_path / "aligned" / "a.png")), _rgb("official_face.png"))
    assert Image.open(tmp_path / "aligned" / "sub" / "b.png").size == (256, 256)
    assert not (tmp_path / "aligned" / "broken.png").exists()
    assert "broken.png" in io_.err and "aligned 2 of 3" in io_.out


def test_cli_align_errors(tmp_path, wing, capsys):
    from i2i.cli import main
    capsys.readouterr()
    assert main(["align", str(FIX / "in_face.png"), "--out", str(tmp_path / "o"), "--fan", str(tmp_path / "x.ckpt"),
                 "--landmarks", str(LM_MEAN)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("i2i: error: FAN weights") and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
    assert main(["align", str(tmp_path / "missing.png"), "--out", str(tmp_path / "o"), "--fan", str(wing),
                 "--landmarks", str(LM_MEAN)]) == 2
    assert "does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------ translate --align

def test_translate_align_pastes_the_translated_face_back(tmp_path, wing, capsys):
    """`i2i translate RUN --align` on a w_hpf=1 StarGAN v2 the official code wrote (the 64 px
    fixture with its FAN inside): the face aligned at the model's size, translated, pasted back;
    the rest of the photo untouched, the same as the API's align -> translate -> paste_back."""
    import tarfile

    import i2i
    from i2i.cli import main
    from i2i.official import import_checkpoint
    with tarfile.open(FIX.parent / "celeba_fan_000010.tar.xz") as tar:
        tar.extract("000010_nets_ema.ckpt", tmp_path, filter="data")
    run = import_checkpoint("stargan-v2", [tmp_path / "000010_nets_ema.ckpt"], tmp_path / "run")
    photo, out = FIX / "in_wide.png", tmp_path / "out.png"
    args = ["translate", str(run), "-i", str(photo), "--target", "male", "--seed", "1", "-o", str(out)]
    assert main([*args, "--align", "--fan", str(wing), "--landmarks", str(LM_MEAN)]) == 0
    a, b = np.asarray(Image.open(out).convert("RGB")).astype(int), _rgb("in_wide.png").astype(int)
    assert a.shape == b.shape
    changed = (a != b).any(-1)
    assert 0.05 < changed.mean() < 0.95  # the face's footprint, not the whole photo
    crop, m = A.Aligner(wing, LM_MEAN, 64).align(photo)
    t = i2i.load(run, device="cpu")
    assert np.array_equal(a, A.paste_back(photo, t.translate(crop, "male", seed=1, fit="squash"), m))
    capsys.readouterr()
    assert main([*args, "--align", "--fan", str(wing)]) == 2
    assert "--align needs --landmarks celeba_lm_mean.npz" in capsys.readouterr().err
    assert main([*args, "--align", "--fan", str(wing), "--landmarks", str(LM_MEAN), "--fit", "crop"]) == 2
    assert "give --align or --fit, not both" in capsys.readouterr().err
    plain = import_checkpoint("stargan-v2", [FIX.parent / "000010_nets_ema.ckpt"], tmp_path / "plain")
    assert main(["translate", str(plain), "-i", str(photo), "--target", "dog", "-o", str(out), "--align",
                 "--landmarks", str(LM_MEAN)]) == 2
    assert "this run has no FAN of its own" in capsys.readouterr().err
