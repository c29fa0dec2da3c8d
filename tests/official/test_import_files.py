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


@pytest.mark.parametrize("kind, name", [("stargan", "stargan/20-G.ckpt"), ("stargan-v2", "stargan_v2/000010_nets_ema.ckpt"),
                                        ("pix2pix", "junyanz/unet_latest_net_G.pth")])
def test_imports_run_in_float32_as_the_official_outputs(kind, name, tmp_path):
    import i2i
    fix = Path(__file__).parents[1] / "fixtures" / "official"
    assert i2i.load(import_checkpoint(kind, [fix / name], tmp_path / "run"), device="cpu").method.amp_dtype is None
