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
    alpha = torch.rand(real.size(0), *[1] * (real.dim() - 1), device=real.device)  # images or points
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


def nonsaturating_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """BCE with logits against all-real (1) or all-fake (0) targets; with real=True on fakes
    it is the generator's non-saturating loss −log D(G(z))."""
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))


def lsgan_loss(out: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN (Mao et al. 2017): mean (D(x) − 1)² for real targets, D(x)² for fake."""
    out = out.float()
    return F.mse_loss(out, torch.full_like(out, float(real)))


def gan_loss(out: torch.Tensor, real: bool, mode: str) -> torch.Tensor:
    """The adversarial loss by its name in junyanz's code: "vanilla" (BCE) or "lsgan"."""
    if mode == "vanilla":
        return nonsaturating_loss(out, real)
    if mode == "lsgan":
        return lsgan_loss(out, real)
    raise ValueError(f"gan_mode must be 'vanilla' or 'lsgan', got {mode!r}")


def r1_penalty(real_out: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): ½·E‖∇ₓD(x)‖² on real images; `real` must require grad
    and `real_out` be computed from it."""
    (grad,) = torch.autograd.grad(real_out.float().sum(), real, create_graph=True)
    return 0.5 * grad.float().pow(2).flatten(1).sum(1).mean()
