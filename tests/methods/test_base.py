import pytest
import torch

from i2i.methods.base import fused


def params():
    torch.manual_seed(0)
    return [torch.randn(7, 5, requires_grad=True), torch.randn(3, requires_grad=True)]


@pytest.mark.parametrize("make", [
    lambda p: torch.optim.Adam(p, 1e-2, (0.5, 0.999)),
    lambda p: torch.optim.Adam([{"params": p[:1], "lr": 1e-2}, {"params": p[1:], "lr": 1e-3}], weight_decay=1e-4),
    lambda p: torch.optim.AdamW(p, 1e-2),
    lambda p: torch.optim.SGD(p, 1e-2, momentum=0.9),
])
def test_fused_keeps_groups_and_hyper_parameters_and_gives_the_same_updates(make):
    plain_p, fused_p = params(), params()
    plain, fast = make(plain_p), fused(make(fused_p))
    assert type(fast) is type(plain) and all(g["fused"] for g in fast.param_groups)
    strip = lambda o: [{k: v for k, v in g.items() if k not in ("params", "fused", "foreach")} for g in o.param_groups]  # noqa: E731
    assert strip(fast) == strip(plain)
    for step in range(5):
        for ps in (plain_p, fused_p):
            torch.manual_seed(step)
            for p in ps:
                p.grad = torch.randn_like(p)
        plain.step()
        fast.step()
    for a, b in zip(plain_p, fused_p):
        torch.testing.assert_close(a, b)


def test_optimisers_without_a_fused_kernel_are_kept():
    opt = torch.optim.RMSprop(params(), 1e-3)
    assert fused(opt) is opt
