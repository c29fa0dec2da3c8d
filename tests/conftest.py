import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "official"))  # parity_helpers, as a sibling import
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


@pytest.fixture(scope="session")
def benchmark_module():
    """benchmarks/<name>.py imported as a module (the benchmarks are scripts, not a package)."""
    import importlib.util
    from pathlib import Path

    def load(name: str):
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        if str(path.parent) not in sys.path:  # as when run as a script: `from record import ...`
            sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


TINY_STARGAN = ["steps=2", "data.image_size=32", "n_train=16", "n_test=4", "g_conv_dim=8", "d_conv_dim=8",
                "g_repeat_num=1", "d_repeat_num=3", "n_critic=1", "batch_size=4", "logger=none", "amp=none"]


@pytest.fixture(scope="session")
def run_stargan(tmp_path_factory):
    """A tiny StarGAN run on the shapes world, trained once through the CLI (read-only for tests)."""
    from i2i.cli import main
    out = tmp_path_factory.mktemp("cli") / "stargan"
    assert main(["train", "stargan", "--data", "shapes", "--out", str(out), "--no-progress", *TINY_STARGAN]) == 0
    return out
