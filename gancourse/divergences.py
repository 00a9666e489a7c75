"""f-divergences: their generator functions, conjugates and variational bound (Nowozin et al. 2016).

An f-divergence between a data density p and a model density q is D_f(p ‖ q) = ∫ q(x) f(p(x) / q(x)) dx,
for a convex f with f(1) = 0. Its convex conjugate f*(t) = sup_u [u t − f(u)] gives, for every function T,

    D_f(p ‖ q) ≥ E_p[T(x)] − E_q[f*(T(x))],

with equality at T*(x) = f'(p(x) / q(x)). An f-GAN's discriminator outputs a logit v and T = g_f(v),
where the output activation g_f maps the real line into the domain of f*; it maximises the bound, and
the generator minimises it. :data:`F_DIVERGENCES` holds each row of the paper's Tables 1 and 2 (its
Jensen-Shannon row is 2·JS, as its f is; see :mod:`gancourse.theory` for JS itself); each formula
is written once, on torch tensors, and the NumPy functions here evaluate them on a grid.
:func:`closest_gaussian` finds, by quadrature and Nelder-Mead, the Gaussian that minimises a
divergence to a target: the fit an f-GAN's generator should reach. The losses are in
:mod:`gancourse.losses`. Explained in 04b_divergences.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import minimize
from scipy.stats import norm

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class FDivergence:
    """One row of the f-GAN tables: every function takes and returns tensors, elementwise."""

    name: str
    f: Callable  # the generator function, of u = p / q > 0
    f_prime: Callable  # f'(u): the best critic is T*(x) = f'(p(x) / q(x))
    conjugate: Callable  # f*(t), finite on the domain of f*
    activation: Callable  # g_f(v): a logit v into the domain of f*
    fake_term: Callable  # f*(g_f(v)), simplified by hand so that it stays finite for every logit
    in_domain: Callable  # whether t lies in the domain of f* (elsewhere f* is +∞)


def _kl_f(u):
    return torch.xlogy(u, u)


F_DIVERGENCES: dict[str, FDivergence] = {
    "kl": FDivergence(
        "KL(p ‖ q)", f=_kl_f, f_prime=lambda u: 1 + torch.log(u),
        conjugate=lambda t: torch.exp(t - 1), activation=lambda v: v,
        fake_term=lambda v: torch.exp(v - 1), in_domain=torch.isfinite),
    "reverse_kl": FDivergence(
        "KL(q ‖ p)", f=lambda u: -torch.log(u), f_prime=lambda u: -1 / u,
        conjugate=lambda t: -1 - torch.log(-t), activation=lambda v: -torch.exp(-v),
        fake_term=lambda v: v - 1,  # -1 - log(exp(-v))
        in_domain=lambda t: t < 0),
    "js": FDivergence(
        "2·JS(p, q)", f=lambda u: _kl_f(u) - torch.xlogy(u + 1, (u + 1) / 2),
        f_prime=lambda u: torch.log(2 * u / (u + 1)),
        conjugate=lambda t: -torch.log(2 - torch.exp(t)), activation=lambda v: LOG2 - F.softplus(-v),
        fake_term=lambda v: F.softplus(v) - LOG2,  # -log(2 - 2σ(v)) = -log 2 - log σ(-v)
        in_domain=lambda t: t < LOG2),
    "pearson": FDivergence(
        "Pearson χ²(p ‖ q)", f=lambda u: (u - 1) ** 2, f_prime=lambda u: 2 * (u - 1),
        conjugate=lambda t: t**2 / 4 + t, activation=lambda v: v,
        fake_term=lambda v: v**2 / 4 + v, in_domain=torch.isfinite),
    "hellinger": FDivergence(
        "squared Hellinger H²(p, q)", f=lambda u: (torch.sqrt(u) - 1) ** 2, f_prime=lambda u: 1 - 1 / torch.sqrt(u),
        conjugate=lambda t: t / (1 - t), activation=lambda v: 1 - torch.exp(-v),
        fake_term=torch.expm1,  # (1 - e^{-v}) / e^{-v}
        in_domain=lambda t: t < 1),
    "tv": FDivergence(
        "total variation TV(p, q)", f=lambda u: 0.5 * (u - 1).abs(), f_prime=lambda u: 0.5 * torch.sign(u - 1),
        conjugate=lambda t: t, activation=lambda v: 0.5 * torch.tanh(v),
        fake_term=lambda v: 0.5 * torch.tanh(v), in_domain=lambda t: t.abs() <= 0.5),
}


def get_divergence(name: str) -> FDivergence:
    """The row of :data:`F_DIVERGENCES` called ``name``; a clear error listing the names otherwise."""
    if name not in F_DIVERGENCES:
        raise ValueError(f"unknown divergence {name!r}; choose one of {', '.join(F_DIVERGENCES)}.")
    return F_DIVERGENCES[name]


def _tensor(values) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64))


def _numpy(fn, *values) -> np.ndarray:
    with torch.no_grad():
        return fn(*(_tensor(v) for v in values)).numpy()


def f_divergence(name: str, p, q, x) -> float:
    """D_f(p ‖ q) = ∫ q f(p / q) dx on the grid x, for density values p, q > 0 on it (trapezoid rule)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if (q <= 0).any() or (p <= 0).any():
        raise ValueError("f_divergence needs both densities positive on the whole grid (a narrower grid helps).")
    integrand = q * _numpy(get_divergence(name).f, p / q)
    return float(np.trapezoid(integrand, np.asarray(x, dtype=np.float64)))


def variational_bound(name: str, T, p, q, x) -> float:
    """E_p[T] − E_q[f*(T)] on the grid x, T given by its values there: a lower bound on D_f(p ‖ q).

    Where T leaves the domain of f* (reverse KL's T must stay negative, TV's within ±½), f* is +∞
    and so the bound is −∞.
    """
    div = get_divergence(name)
    T = np.asarray(T, dtype=np.float64)
    if not _numpy(div.in_domain, T).all():
        return -math.inf
    integrand = np.asarray(p) * T - np.asarray(q) * _numpy(div.conjugate, T)
    return float(np.trapezoid(integrand, np.asarray(x, dtype=np.float64)))


def optimal_critic(name: str, p, q) -> np.ndarray:
    """T*(x) = f'(p(x) / q(x)) on the grid: the critic that makes the variational bound tight."""
    return _numpy(get_divergence(name).f_prime, np.asarray(p, dtype=np.float64) / np.asarray(q, dtype=np.float64))


@dataclass(frozen=True)
class GaussianFit:
    """The Gaussian N(mu, sigma²) closest to a target under one divergence, found numerically."""

    divergence: str
    mu: float
    sigma: float
    value: float  # D_f(target ‖ N(mu, sigma²)) there


def closest_gaussian(name: str, p, x, mus=None, sigmas=None) -> GaussianFit:
    """The (μ, σ) minimising D_f(p ‖ N(μ, σ²)) for a target density p on the grid x.

    A target of two modes has several local minima (one on each mode, one covering both), so a local
    search alone finds whichever is nearest its start. Here every pair of a coarse grid (``mus`` by
    ``sigmas``; by default 41 means across the grid's middle half and 25 widths from 1/100 to 1/2 of its
    span, spaced evenly in log σ) is evaluated first, and Nelder-Mead over (μ, log σ) polishes the best
    of them. The grid x must hold p's mass and the candidates' (it is not extended). Of two mirror-image
    minima of a symmetric target, the one of larger μ is returned.
    """
    p, x = np.asarray(p, dtype=np.float64), np.asarray(x, dtype=np.float64)
    span = x[-1] - x[0]
    mus = np.linspace(x[0] + span / 4, x[-1] - span / 4, 41) if mus is None else np.asarray(mus, dtype=np.float64)
    sigmas = np.geomspace(span / 100, span / 2, 25) if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    log_p = np.log(p)

    def values(mu, sigma):  # D_f(p ‖ N(mu, sigma²)) for arrays of candidates (K,), on the grid: (K,)
        log_q = norm.logpdf(x[None, :], np.asarray(mu)[:, None], np.asarray(sigma)[:, None])  # (K, n)
        with np.errstate(over="ignore", invalid="ignore"):
            integrand = np.exp(log_q) * _numpy(get_divergence(name).f, np.exp(log_p - log_q))
        integrand = np.where(np.maximum(log_p, log_q) > -700, integrand, 0.0)  # both densities round to 0 there
        total = np.trapezoid(integrand, x, axis=1)
        return np.where(np.isfinite(total), total, np.inf)  # inf: the ratio overflows, far from any minimum

    grid_mu, grid_sigma = (a.ravel() for a in np.meshgrid(mus, sigmas))
    on_grid = values(grid_mu, grid_sigma)
    ties = on_grid <= on_grid.min() + 1e-9 * (1 + abs(on_grid.min()))  # mirror images tie up to rounding
    first = np.flatnonzero(ties)[np.argmax(grid_mu[ties])]
    start = [grid_mu[first], math.log(grid_sigma[first])]
    result = minimize(lambda v: float(values([v[0]], [math.exp(v[1])])[0]), start, method="Nelder-Mead",
                      options={"xatol": 1e-6, "fatol": 1e-12, "maxiter": 4000})
    mu, log_sigma = result.x
    return GaussianFit(name, float(mu), float(math.exp(log_sigma)), float(result.fun))


def two_modes(separation: float, std: float, x) -> np.ndarray:
    """The density of ½N(−separation/2, std²) + ½N(separation/2, std²) on the grid x."""
    x = np.asarray(x, dtype=np.float64)
    half = separation / 2
    return 0.5 * norm.pdf(x, -half, std) + 0.5 * norm.pdf(x, half, std)


def fit_shape(mu: float, sigma: float, separation: float, std: float) -> str:
    """What a fitted N(μ, σ²) does with the two modes ±separation/2 of width ``std``.

    ``"covers"``: both centres lie within μ ± 2σ and μ sits in the middle half between them;
    ``"one mode"``: μ is within std/2 of one centre and σ below 1.5·std; ``"neither"`` otherwise.
    """
    half = separation / 2
    if abs(mu) < half / 2 and mu - 2 * sigma < -half and mu + 2 * sigma > half:
        return "covers"
    if abs(abs(mu) - half) < std / 2 and sigma < 1.5 * std:
        return "one mode"
    return "neither"


def fits_by_separation(names, separations, std: float, x=None) -> dict[str, list[GaussianFit]]:
    """:func:`closest_gaussian` to :func:`two_modes` at each separation, per divergence name.

    The default grid spans ±(largest separation / 2 + 8·std + 3), 1,601 points.
    """
    if x is None:
        reach = max(separations) / 2 + 8 * std + 3
        x = np.linspace(-reach, reach, 1601)
    return {name: [closest_gaussian(name, two_modes(s, std, x), x) for s in separations] for name in names}


def switch_separation(fits: list[GaussianFit], separations, std: float) -> float:
    """The first separation at which the fits sit on one mode (``inf`` if they never do)."""
    for fit, s in zip(fits, separations, strict=True):
        if fit_shape(fit.mu, fit.sigma, s, std) == "one mode":
            return float(s)
    return math.inf


def gaussian_divergences(mu_p: float, sigma_p: float, mu_q: float, sigma_q: float) -> dict[str, float]:
    """Each divergence of :data:`F_DIVERGENCES` between p = N(μ_p, σ_p²) and q = N(μ_q, σ_q²), in closed form.

    KL from the Gaussians' log-densities; χ² from ∫ p²/q, a Gaussian integral (infinite unless 2σ_q² > σ_p²);
    H² = 2(1 − BC) with the Bhattacharyya coefficient BC = ∫ √(p q); TV = P(A) − Q(A) on the set
    A = {p > q} (Scheffé), bounded by the points where the two densities cross. 2·JS has no closed form
    between Gaussians, so it is left out (:func:`gancourse.theory.js_divergence` computes it by quadrature).
    """
    d, vp, vq = mu_p - mu_q, sigma_p**2, sigma_q**2

    def kl(m1, v1, m2, v2):
        return 0.5 * (math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)

    pearson = (vq / (sigma_p * math.sqrt(2 * vq - vp)) * math.exp(d**2 / (2 * vq - vp)) - 1
               if 2 * vq > vp else math.inf)
    bc = math.sqrt(2 * sigma_p * sigma_q / (vp + vq)) * math.exp(-(d**2) / (4 * (vp + vq)))
    # log p − log q = a x² + b x + c: its roots bound A = {p > q}
    a, b = 0.5 / vq - 0.5 / vp, mu_p / vp - mu_q / vq
    c = -0.5 * mu_p**2 / vp + 0.5 * mu_q**2 / vq + math.log(sigma_q / sigma_p)
    if abs(a) > 1e-12:
        roots = sorted(np.roots([a, b, c]).real)
    else:  # equal widths: one crossing, or none when the two are the same Gaussian
        roots = [-c / b] if abs(b) > 1e-12 else []
    edges = [-math.inf, *roots, math.inf]
    tv = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mid = (lo + hi) / 2 if math.isfinite(lo) and math.isfinite(hi) else (hi - 1 if math.isfinite(hi) else lo + 1)
        if norm.logpdf(mid, mu_p, sigma_p) > norm.logpdf(mid, mu_q, sigma_q):
            tv += (norm.cdf(hi, mu_p, sigma_p) - norm.cdf(lo, mu_p, sigma_p)
                   - norm.cdf(hi, mu_q, sigma_q) + norm.cdf(lo, mu_q, sigma_q))
    return {"kl": kl(mu_p, vp, mu_q, vq), "reverse_kl": kl(mu_q, vq, mu_p, vp), "pearson": pearson,
            "hellinger": 2 * (1 - bc), "tv": float(tv)}
