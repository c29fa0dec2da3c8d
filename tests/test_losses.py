import pytest
import torch
import torch.nn.functional as F

from i2i import losses


def test_gradient_penalty_matches_hand_computation_for_a_quadratic_critic():
    # D(x) = ½‖x‖² has ∇D(x̂) = x̂, so the penalty is mean((‖x̂‖ − 1)²) at x̂ = αx + (1−α)x̃.
    real, fake = torch.randn(4, 3, 5, 5), torch.randn(4, 3, 5, 5)
    torch.manual_seed(1)
    gp = losses.gradient_penalty(lambda x: 0.5 * (x ** 2).flatten(1).sum(1), real, fake)
    torch.manual_seed(1)
    alpha = torch.rand(4, 1, 1, 1)
    x_hat = alpha * real + (1 - alpha) * fake
    expected = ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(gp, expected)


def test_gradient_penalty_of_a_linear_critic_sums_the_score_map():
    # A patch critic outputs a map; every element counts with weight one (grad_outputs = ones).
    w = torch.randn(1, 3, 4, 4)
    critic = lambda x: torch.cat([(x * w).sum((1, 2, 3), keepdim=True)] * 2, dim=1)  # two equal outputs
    gp = losses.gradient_penalty(critic, torch.randn(3, 3, 4, 4), torch.randn(3, 3, 4, 4))
    torch.testing.assert_close(gp, (2 * w.norm() - 1) ** 2)


def test_gradient_penalty_is_differentiable_for_the_critic_update():
    w = torch.randn(1, 3, 4, 4, requires_grad=True)
    gp = losses.gradient_penalty(lambda x: (x * w).sum((1, 2, 3)), torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4))
    gp.backward()
    torch.testing.assert_close(w.grad, 2 * (w.norm() - 1) * w / w.norm())


def test_classification_loss_multi_label_sums_attributes_and_averages_batch():
    logits, target = torch.randn(6, 5), torch.randint(0, 2, (6, 5)).float()
    expected = sum(F.binary_cross_entropy_with_logits(logits[i], target[i], reduction="sum") for i in range(6)) / 6
    torch.testing.assert_close(losses.classification_loss(logits, target, multi_label=True), expected)


def test_classification_loss_single_label_is_softmax_cross_entropy():
    logits, target = torch.randn(6, 4), torch.randint(0, 4, (6,))
    torch.testing.assert_close(losses.classification_loss(logits, target, multi_label=False),
                               F.cross_entropy(logits, target))


def test_nonsaturating_loss_is_softplus_of_the_logits():
    logits = torch.tensor([-2.0, 0.0, 3.0])
    torch.testing.assert_close(losses.nonsaturating_loss(logits, real=True), F.softplus(-logits).mean())
    torch.testing.assert_close(losses.nonsaturating_loss(logits, real=False), F.softplus(logits).mean())


def test_r1_penalty_of_a_quadratic_discriminator():
    # D(x) = ½‖x‖² per sample: ∇D = x, so R1 = ½·mean‖x‖².
    x = torch.randn(4, 3, 5, 5, requires_grad=True)
    r1 = losses.r1_penalty(0.5 * (x ** 2).flatten(1).sum(1), x)
    torch.testing.assert_close(r1, 0.5 * (x.detach() ** 2).flatten(1).sum(1).mean())
    r1.backward()  # differentiable for the discriminator update
    assert x.grad is not None


def test_gradient_penalty_is_zero_for_a_linear_critic_of_unit_gradient_norm():
    w = torch.randn(1, 3, 4, 4)
    w = w / w.norm()
    gp = losses.gradient_penalty(lambda x: (x * w).sum((1, 2, 3)), torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4))
    assert float(gp) < 1e-10


def test_gradient_penalty_on_points_uses_one_mixing_weight_per_point():
    w = torch.tensor([0.6, 0.8])  # unit norm: zero penalty
    assert float(losses.gradient_penalty(lambda x: x @ w, torch.randn(7, 2), torch.randn(7, 2))) < 1e-10
    gp = losses.gradient_penalty(lambda x: x @ (3 * w), torch.randn(7, 2), torch.randn(7, 2))
    assert float(gp) == pytest.approx(4.0)  # (‖∇‖ − 1)² = (3 − 1)²
