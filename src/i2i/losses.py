"""Losses shared by the methods, with the names the papers use."""
import torch
import torch.nn.functional as F


def wgan_critic_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Wasserstein critic terms: (−E[D(x)], E[D(G(z))])."""
    return -real_out.float().mean(), fake_out.float().mean()


def wgan_generator_loss(fake_out: torch.Tensor) -> torch.Tensor:
    return -fake_out.float().mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = αx + (1−α)x̃, one α per sample.

    `critic` maps images to the critic's score map; the gradient is of its sum, so every
    output element counts with weight one, as in the official code.
    """
    alpha = torch.rand(real.size(0), 1, 1, 1, device=real.device)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.float().sum(), x_hat, create_graph=True)
    norm = grad.float().flatten(1).norm(2, dim=1)
    return ((norm - 1) ** 2).mean()


def classification_loss(logits: torch.Tensor, target: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """Domain classification: BCE summed over attributes and averaged over the batch
    for attribute labels; softmax cross-entropy for single-label domains."""
    logits = logits.float()
    if multi_label:
        return F.binary_cross_entropy_with_logits(logits, target.float(), reduction="sum") / logits.size(0)
    return F.cross_entropy(logits, target.long())


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.float() - b.float()).abs().mean()
