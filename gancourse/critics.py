"""Looking inside a Wasserstein critic: its surface, its input gradients, its weights.

The two ways of keeping a critic f roughly 1-Lipschitz, compared in 05_wgan:

* weight clipping (Arjovsky et al. 2017): after every critic step each parameter is clamped to
  [-c, c]; the paper trains with RMSProp at 5e-5, c = 0.01 and 5 critic steps per generator step;
* the gradient penalty (Gulrajani et al. 2017): λ E[(‖∇f(x̂)‖ - 1)²] on points x̂ between real and
  fake samples, λ = 10, with Adam.

:data:`WGAN_SETTINGS` holds both recipes as :func:`gancourse.train.train` keywords and
:func:`train_wgan` runs one on a toy distribution. The measurements are plain functions:
:func:`critic_surface` (f on a grid, no sigmoid: a critic's output is a score, not a probability),
:func:`input_gradient_norms` (‖∇ₓf‖ at given points), :func:`interpolates`, and
:func:`fraction_at_bound` (the share of parameters sitting on ±c).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gancourse.data.toy import ToyBatches
from gancourse.models import MLPDiscriminator, MLPGenerator
from gancourse.train import History, train

WGAN_SETTINGS = {
    # Arjovsky et al.: momentum-free RMSProp, tiny step, clip every parameter to ±0.01
    "clipping": dict(loss="wasserstein", optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, clip_value=0.01, n_critic=5),
    # Gulrajani et al.: penalty weight 10, Adam with β = (0.5, 0.9) as in their toy code
    "penalty": dict(loss="wasserstein", optimizer="adam", lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.9), gp_weight=10.0,
                    n_critic=5),
}


def interpolates(x_real: torch.Tensor, x_fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x̂ = α x_real + (1 - α) x_fake with α ~ U(0, 1) per row: where the gradient penalty looks."""
    if x_real.shape != x_fake.shape:
        raise ValueError(f"real and fake batches differ in shape: {tuple(x_real.shape)} vs {tuple(x_fake.shape)}.")
    alpha = torch.rand(x_real.shape[0], *([1] * (x_real.dim() - 1)), generator=generator)
    return alpha.to(x_real.device) * x_real + (1 - alpha.to(x_real.device)) * x_fake


def input_gradient_norms(D: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """‖∇ₓ D(x)‖₂ for every row of ``x`` (N,); D's parameters get no gradient."""
    device = next(D.parameters()).device
    x = x.detach().to(device).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x)  # rows are independent: the sum's gradient is per row
    return grad.flatten(1).norm(dim=1).cpu()


@torch.no_grad()
def critic_surface(D: torch.nn.Module, bounds, resolution: int = 100):
    """(xx, yy, f) with f = D's raw output on a ``resolution``² grid over ``bounds`` ((x0, x1), (y0, y1))."""
    (x0, x1), (y0, y1) = bounds
    xx, yy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
    values = D(points.to(next(D.parameters()).device)).cpu().numpy().reshape(xx.shape)
    return xx, yy, values


@torch.no_grad()
def fraction_at_bound(module: torch.nn.Module, c: float, rtol: float = 1e-3) -> float:
    """Share of all parameters with |w| >= c (1 - rtol): after clipping, those sitting on ±c."""
    if c <= 0:
        raise ValueError(f"the clip value must be positive, got {c}.")
    flat = torch.cat([p.detach().flatten().abs().cpu() for p in module.parameters()])
    return float((flat >= c * (1 - rtol)).float().mean())


@dataclass
class WGANRun:
    """One WGAN trained on a toy: the networks, the history (with ``w_estimate``) and the settings used."""

    name: str
    G: torch.nn.Module
    D: torch.nn.Module
    history: History
    settings: dict


def train_wgan(name: str, dist, steps: int, *, batch_size: int = 256, hidden: int = 128, depth: int = 3,
               seed: int = 0, log_every: int = 10, **overrides) -> WGANRun:
    """Train an MLP WGAN on ``dist`` with the recipe ``name`` of :data:`WGAN_SETTINGS` (keywords override it)."""
    if name not in WGAN_SETTINGS:
        raise ValueError(f"unknown WGAN recipe {name!r}; choose one of {', '.join(WGAN_SETTINGS)}.")
    settings = {"device": "cpu", **WGAN_SETTINGS[name], **overrides}  # tiny MLPs: the CPU is fastest
    torch.manual_seed(seed)
    G = MLPGenerator(z_dim=2, out_dim=dist.dim, hidden=hidden, depth=depth)
    D = MLPDiscriminator(in_dim=dist.dim, hidden=hidden, depth=depth)
    history = train(G, D, ToyBatches(dist, batch_size, seed=seed), steps=steps, seed=seed, log_every=log_every,
                    progress=False, **settings)
    return WGANRun(name, G, D, history, settings)
