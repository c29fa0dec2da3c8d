import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


TINY_V2 = ["steps=3", "data.image_size=32", "n_train=32", "n_test=12", "data.domains=[circle,square,triangle]",
           "latent_dim=4", "style_dim=8", "hidden_dim=16", "dim_in=8", "max_conv_dim=16", "w_hpf=0",
           "batch_size=2", "logger=none", "amp=none"]


@pytest.fixture(scope="session")
def run_v2(tmp_path_factory):
    """A tiny StarGAN v2 run on the shapes domains, trained once through the CLI (read-only for tests)."""
    from i2i.cli import main
    out = tmp_path_factory.mktemp("cli") / "v2"
    assert main(["train", "stargan_v2", "--data", "shapes", "--out", str(out), "--no-progress", *TINY_V2]) == 0
    return out
