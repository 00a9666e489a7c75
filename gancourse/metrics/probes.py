"""Probes of a trained discriminator or critic: its input gradients, its weights, its verdicts.

These measure what D tells the generator, without changing D: ‖∇ₓD‖ at given points or between
real and fake samples (what the gradient penalty pushes towards 1), the share of weights sitting on
the clipping bound, D's probabilities for a batch of images, the gradient a generator receives
(one-parameter or any network), how well a critic's gradient follows the optimal transport
plan, and a penalised critic's norms against the optimum's (:func:`penalised_norms`).
Explained in 01_first_gan, 03_js_vs_wasserstein, 05_wgan, 06_dcgan and 07_wgan_gp.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gancourse.losses import G_NEEDS_REAL_LOGITS, get_loss_family, input_gradients, interpolates
from gancourse.models import sample_z


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


def input_gradient_norms(D: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """‖∇ₓ D(x)‖₂ for every sample of ``x``, shape (N,) on the CPU; D's parameters get no gradient."""
    return input_gradients(D, x.to(_device(D))).flatten(1).norm(dim=1).cpu()


def critic_gradient_norms(D: torch.nn.Module, x_real: torch.Tensor, x_fake: torch.Tensor,
                          seed: int = 0) -> torch.Tensor:
    """‖∇ₓD(x̂)‖ at random points x̂ between paired real and fake samples (N,): where the penalty looks.

    A 1-Lipschitz critic has every norm <= 1; WGAN-GP pushes them towards 1.
    """
    x_hat = interpolates(x_real.cpu(), x_fake.cpu(), generator=torch.Generator().manual_seed(seed))
    return input_gradient_norms(D, x_hat)


@dataclass
class PenalisedNorms:
    """A penalised critic's gradient norms between real and fake samples, beside what 03's optimum predicts."""

    norms: torch.Tensor  # ‖∇ₓD(x̂)‖ at random interpolates, (N,)
    w_estimate: float  # mean D(real) − mean D(fake) on the same samples: the critic's Ŵ
    predicted: float  # the best penalised critic's norm for that Ŵ (theory.gp_slope_from_estimate)

    @property
    def median(self) -> float:
        return float(self.norms.median())

    def agrees(self, tol: float) -> bool:
        """True when the median norm is within ``tol`` of the prediction."""
        return abs(self.median - self.predicted) <= tol


def penalised_norms(D: torch.nn.Module, x_real: torch.Tensor, x_fake: torch.Tensor, gp_weight: float = 10.0,
                    seed: int = 0, batch_size: int = 256) -> PenalisedNorms:
    """:class:`PenalisedNorms` of critic ``D`` on paired ``x_real`` and ``x_fake``, under a penalty of weight λ.

    A critic near the penalised optimum has norms around ``predicted``, above 1 by about Ŵ/(2λ); a critic
    trained without the penalty grows far beyond it. D is asked in the mode it is in (a WGAN-GP critic has
    no batch norm, so its mode changes nothing).
    """
    from gancourse import theory

    norms = critic_gradient_norms(D, x_real, x_fake, seed=seed)
    with torch.no_grad():
        scores = [torch.cat([D(chunk.to(_device(D))).float().flatten().cpu() for chunk in x.split(batch_size)])
                  for x in (x_real, x_fake)]
    w_estimate = float(scores[0].mean() - scores[1].mean())
    return PenalisedNorms(norms, w_estimate, float(theory.gp_slope_from_estimate(w_estimate, gp_weight)))


def transport_alignment(D: torch.nn.Module, x_fake: torch.Tensor, x_real: torch.Tensor) -> torch.Tensor:
    """Cosine between ∇ₓD at each fake point and the direction to the real point the optimal plan sends it to, (N,).

    The plan is the exact W1 coupling of the two clouds (equal sizes: an assignment problem). An optimal
    critic's gradient at a fake point points along that point's transport segment (Gulrajani et al. 2017,
    Prop. 1), so the cosine measures the critic's *shape*, whatever its scale: a critic multiplied by any
    positive constant has the same cosines.
    """
    from scipy.optimize import linear_sum_assignment

    if len(x_fake) != len(x_real):
        raise ValueError(f"the plan is an assignment between clouds of one size; got {len(x_fake)} and {len(x_real)}")
    x_fake, x_real = x_fake.cpu(), x_real.cpu()
    _, partner = linear_sum_assignment(torch.cdist(x_fake, x_real).numpy())  # rows come back as 0, 1, ..., N-1
    gradients = input_gradients(D, x_fake.to(_device(D))).cpu()
    return torch.nn.functional.cosine_similarity(gradients.flatten(1), (x_real[partner] - x_fake).flatten(1), dim=1)


@torch.no_grad()
def fraction_at_bound(module: torch.nn.Module, c: float, rtol: float = 1e-3) -> float:
    """Share of all parameters with |w| >= c (1 - rtol): after clipping, those sitting on ±c."""
    if c <= 0:
        raise ValueError(f"the clip value must be positive, got {c}.")
    flat = torch.cat([p.detach().flatten().abs().cpu() for p in module.parameters()])
    return float((flat >= c * (1 - rtol)).float().mean())


@torch.no_grad()
def judge(D: torch.nn.Module, x: torch.Tensor, batch_size: int = 128, probability: bool = True) -> torch.Tensor:
    """D's view of each image as D sees batches during training: sigmoid(D(x)), or the raw score.

    A DCGAN discriminator trains in batch-norm training mode on batches that are all real or all
    fake, so that is how it is asked here; its running statistics and mode are left as they were.
    ``probability=False`` gives the raw score (a WGAN critic's output is no probability).
    """
    buffers = {k: v.clone() for k, v in D.named_buffers()}
    was_training = D.training
    D.train()
    try:
        scores = torch.cat([D(chunk.to(_device(D))).float().cpu() for chunk in x.split(batch_size)])
    finally:
        D.train(was_training)
        for k, v in D.named_buffers():
            v.copy_(buffers[k])
    return torch.sigmoid(scores) if probability else scores


def _fake_only_loss(loss: str):
    """G's loss of ``loss``, for the probes that score fakes alone; the relativistic loss needs real data too."""
    if loss in G_NEEDS_REAL_LOGITS:
        raise ValueError(f"the {loss!r} generator loss compares fakes with real data; this probe scores fakes alone.")
    return get_loss_family(loss)[1]


def theta_gradient(G, D, loss: str, n: int = 2000, seed: int = 0) -> float:
    """d(generator loss)/dθ of a one-parameter generator (``G.theta``) for the family ``loss``.

    For :class:`gancourse.models.ParallelLinesGenerator`: "minimax" (~0 through a confident D),
    "nonsaturating", or "wasserstein" (~sign θ through a Lipschitz critic).
    """
    g_loss_fn = _fake_only_loss(loss)
    z = sample_z(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    G.zero_grad(set_to_none=True)
    g_loss_fn(D(G(z))).backward()
    grad = G.theta.grad.item()
    D.zero_grad(set_to_none=True)
    G.zero_grad(set_to_none=True)
    return grad


def generator_gradient_norm(G, D, loss: str, z: torch.Tensor) -> float:
    """‖∇ of the generator loss of family ``loss`` with respect to all of G's parameters‖₂ at noise ``z``.

    What one step of plain SGD on G would be proportional to. Neither network keeps a gradient.
    """
    g_loss_fn = _fake_only_loss(loss)
    params = [p for p in G.parameters() if p.requires_grad]
    grads = torch.autograd.grad(g_loss_fn(D(G(z.to(_device(G))))), params, allow_unused=True)
    return float(torch.sqrt(sum((g.detach().double() ** 2).sum() for g in grads if g is not None)))


def clipped_lipschitz_bound(D: torch.nn.Module, c: float) -> float:
    """The slope that clipping every weight to [-c, c] guarantees for an MLP (Linear layers, 1-Lipschitz activations).

    A matrix with m·n entries of size at most c has spectral norm at most its Frobenius norm, c·√(m·n), and
    the slope of a composition is at most the product of its layers' slopes (biases add no slope).
    """
    if c <= 0:
        raise ValueError(f"the clip value must be positive, got {c}.")
    bound = 1.0
    for layer in D.modules():
        if isinstance(layer, torch.nn.Linear):
            bound *= c * layer.weight.numel() ** 0.5
    return bound
