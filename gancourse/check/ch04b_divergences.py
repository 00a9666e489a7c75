"""The exercise checks of 04b_divergences."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
from scipy.stats import norm

from gancourse import divergences
from gancourse.check._compare import ExerciseError, compare


def _neyman_conjugate(t: torch.Tensor) -> torch.Tensor:
    # f(u) = (1 - u)²/u: t = f'(u) = 1 - 1/u² at the supremum, so u = (1 - t)^(-1/2) and f*(t) = 2 - 2√(1 - t)
    return 2 - 2 * torch.sqrt(1 - t)


def neyman_conjugate(answer: Callable) -> int:
    """04b: f*(t) = sup_u [u t − (1 − u)²/u] for t < 1, Neyman's χ², as a function of t (a tensor)."""
    hint = ("the supremum over u > 0 is where the derivative in u vanishes: t = f'(u). Solve that for u, put it "
            "back into u t − f(u) and simplify. At t = 0 the answer is 0 (u = 1 gives −f(1) = 0), and as t → −∞ "
            "it falls like −2√(−t).")
    cases = [(t,) for t in (-8.0, -1.0, -0.25, 0.0, 0.3, 0.75, 0.99)]
    return compare("neyman_conjugate", lambda t: answer(torch.tensor(t, dtype=torch.float64)),
                   lambda t: _neyman_conjugate(torch.tensor(t, dtype=torch.float64)), cases, hint=hint,
                   show=lambda case: f"t = {case[0]:g}")


def _kl_bound(critic: Callable, mu_p: float, mu_q: float) -> float:
    # E_p[T] − E_q[exp(T − 1)] by quadrature, p = N(mu_p, 1), q = N(mu_q, 1)
    x = np.linspace(min(mu_p, mu_q) - 10, max(mu_p, mu_q) + 10, 4001)
    values = critic(torch.tensor(x), mu_p, mu_q)
    T = np.asarray(values.detach() if isinstance(values, torch.Tensor) else values, dtype=np.float64)
    if T.shape != x.shape:
        raise ExerciseError(f"kl_critic: expected one value per point, shape {x.shape}, got shape {T.shape}.")
    return divergences.variational_bound("kl", T, norm.pdf(x, mu_p, 1.0), norm.pdf(x, mu_q, 1.0), x)


def kl_critic(answer: Callable) -> int:
    """04b: a critic T(x) whose variational bound on KL(N(μ_p, 1) ‖ N(μ_q, 1)) is tight.

    The answer is measured, not compared with a formula: the bound E_p[T] − E_q[exp(T − 1)] it reaches
    must equal KL = (μ_p − μ_q)²/2 within 10⁻⁴ on every pair.
    """
    hint = ("the bound is tight where T(x) maximises t·u − f*(t) pointwise for u = p(x)/q(x), that is at "
            "T = f'(p/q) with f(u) = u log u. Write log p(x) − log q(x) for two Gaussians of variance 1 first "
            "(the x² terms cancel).")
    pairs = [(0.0, 1.0), (2.0, -1.0), (-0.5, 0.0), (1.0, 1.0)]
    return compare("kl_critic", lambda mu_p, mu_q: _kl_bound(answer, mu_p, mu_q),
                lambda mu_p, mu_q: (mu_p - mu_q) ** 2 / 2, pairs, hint=hint, rtol=0.0, atol=1e-4,
                show=lambda case: f"p = N({case[0]:g}, 1), q = N({case[1]:g}, 1) (the bound your T reaches is "
                                  "compared with KL)")


@functools.cache
def _kl_fit_sigma(separation: float, std: float) -> float:
    return divergences.fits_by_separation(["kl"], [separation], std)["kl"][0].sigma


def kl_fit_sigma(answer: Callable) -> int:
    """04b: the σ of the Gaussian closest to two modes under KL(p ‖ q), predicted as a formula.

    Compared with the σ that :func:`gancourse.divergences.closest_gaussian` finds numerically, within 1 %.
    """
    hint = ("write KL(p ‖ q) = −H(p) − E_p[log q] and keep only what depends on q's μ and σ; set both derivatives "
            "to 0. The σ² you get is a moment of p: compute that moment for the mixture.")
    cases = [(4.0, 0.5), (2.0, 0.5), (6.0, 1.0), (1.0, 0.3)]
    return compare("kl_fit_sigma", answer, _kl_fit_sigma, cases, hint=hint, rtol=0.01, atol=0.0,
                   show=lambda case: f"separation {case[0]:g}, std {case[1]:g}")

