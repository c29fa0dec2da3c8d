"""What import_checkpoint refuses before any mapping: unknown kinds, missing or unreadable files.
(No fixture: the files are written here, but for the float32 check, which uses the others' fixtures.)"""
from pathlib import Path

import pytest
import torch

from i2i.errors import I2IError
from i2i.official import import_checkpoint, plan_for


def test_unknown_kind_and_missing_file(tmp_path):
    with pytest.raises(I2IError, match="unknown checkpoint kind 'stargan2'"):
        plan_for("stargan2", [tmp_path / "G.ckpt"])
    with pytest.raises(I2IError, match="G.ckpt does not exist"):
        import_checkpoint("stargan", [tmp_path / "G.ckpt"], tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_files_holding_code_or_no_state_dict_are_refused(tmp_path):
    # a whole pickled module (torch.save(net)): weights_only refuses it, and so do we, in one line
    torch.save(torch.nn.Linear(2, 2), tmp_path / "code.ckpt")
    with pytest.raises(I2IError, match="more than tensors"):
        plan_for("stargan", [tmp_path / "code.ckpt"])
    torch.save([torch.zeros(1)], tmp_path / "list.ckpt")
    with pytest.raises(I2IError, match="holds a list, not a state dict"):
        plan_for("cyclegan", [tmp_path / "list.ckpt"])
    torch.save({"epoch": 3}, tmp_path / "meta.pth")
    with pytest.raises(I2IError, match="not a state dict of tensors"):
        plan_for("pix2pix", [tmp_path / "meta.pth"])


def test_a_directory_a_truncated_file_and_a_file_not_of_torch_are_named(tmp_path):
    (tmp_path / "ckpts").mkdir()
    torch.save({"w": torch.zeros(2)}, tmp_path / "ckpts" / "100000_nets_ema.ckpt")
    with pytest.raises(I2IError, match=r"ckpts is a directory; give the checkpoint file\(s\) in it: 100000_nets_ema"
                                       r"\.ckpt \[100000_nets\.ckpt\] \(it holds 100000_nets_ema\.ckpt\)"):
        plan_for("stargan-v2", [tmp_path / "ckpts"])
    raw = (tmp_path / "ckpts" / "100000_nets_ema.ckpt").read_bytes()
    for cut in (raw[:len(raw) // 2], raw[:-30], raw[:10]):  # the zip's central directory (or more) is missing
        (tmp_path / "cut.ckpt").write_bytes(cut)
        with pytest.raises(I2IError, match=r"^cannot read .*cut\.ckpt: it is truncated or damaged, not a complete "
                                           r"PyTorch file \(copy or download it again\)$"):
            plan_for("stargan-v2", [tmp_path / "cut.ckpt"])
    legacy = tmp_path / "legacy.pth"  # torch.save's format before the zip one
    torch.save({"w": torch.zeros(100)}, legacy, _use_new_zipfile_serialization=False)
    legacy.write_bytes(legacy.read_bytes()[:-100])
    with pytest.raises(I2IError, match="legacy.pth: it is truncated or damaged"):
        plan_for("pix2pix", [legacy])
    (tmp_path / "notes.ckpt").write_bytes(b"# notes\n")
    with pytest.raises(I2IError, match="notes.ckpt: it is not a PyTorch file"):
        plan_for("stargan", [tmp_path / "notes.ckpt"])


@pytest.mark.parametrize("kind, names", [("stargan", ["stargan/20-G.ckpt", "stargan/20-D.ckpt"]),
                                         ("stargan-v2", ["stargan_v2/000010_nets_ema.ckpt"]),
                                         ("pix2pix", ["junyanz/unet_latest_net_G.pth"])])
def test_imports_run_in_float32_as_the_official_outputs(kind, names, tmp_path):
    import i2i
    fix = Path(__file__).parents[1] / "fixtures" / "official"
    run = import_checkpoint(kind, [fix / n for n in names], tmp_path / "run")
    assert i2i.load(run, device="cpu").method.amp_dtype is None
