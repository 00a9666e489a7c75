"""Closed forms behind the GAN objective, checked numerically in the theory notebooks.

For one-dimensional densities evaluated on a grid, this module computes the optimal
discriminator D* = p_data / (p_data + p_g), the value function V(D, G) and the KL and
Jensen-Shannon divergences by the trapezoid rule, so a notebook can verify
V(D*, G) = 2 JS(p_data, p_g) - log 4 to many digits. It also holds the parallel-lines pair
(JS = log 2 for every theta != 0, W1 = |theta|) with JS computed numerically between blurred lines, the
lower bound on JS that any discriminator's value certifies, a sample estimate of W1, the derivative
of the two generator losses with respect to the discriminator's logit, and which divergence each of
those losses follows against D* (:func:`frozen_d_gradients`), and the gradient norm of the best critic under
a gradient penalty (:func:`gp_critic_slope`, :func:`gp_slope_from_estimate`).
Explained in 01_first_gan, 02_optimal_discriminator, 03_js_vs_wasserstein and 07_wgan_gp.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.special import rel_entr, xlogy
from scipy.stats import norm, wasserstein_distance_nd

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)


def _as_numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def _integrate(values, x) -> float:
    """Trapezoid rule on the grid ``x`` (any spacing, increasing)."""
    return float(np.trapezoid(_as_numpy(values), _as_numpy(x)))


def density_on_grid(dist, x) -> np.ndarray:
    """exp(dist.log_prob(x)) for a 1-D distribution from ``gancourse.data.toy``; x: (n,) grid."""
    x_col = torch.as_tensor(_as_numpy(x), dtype=torch.float32).reshape(-1, 1)  # (n, 1)
    with torch.no_grad():
        log_p = dist.log_prob(x_col)
    return np.exp(_as_numpy(log_p))


def optimal_discriminator(p_data, p_g) -> np.ndarray:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)), pointwise on density values.

    Where both densities vanish D* is not determined by the objective; we return 1/2 there.
    """
    p_data, p_g = _as_numpy(p_data), _as_numpy(p_g)
    total = p_data + p_g
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, p_data / safe, 0.5)


def value_function(D, p_data, p_g, x, *, logits: bool = False) -> float:
    """V(D, G) = ∫ p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx on the grid x.

    ``D`` holds probabilities on the same grid, or the discriminator's raw outputs l when
    ``logits=True``; then log D = -softplus(-l) and log(1 - D) = -softplus(l), which stay finite
    where the sigmoid rounds to exactly 0 or 1. 0 log 0 counts as 0.
    """
    p_data, p_g, D = _as_numpy(p_data), _as_numpy(p_g), _as_numpy(D)
    if logits:
        log_d, log_1md = -np.logaddexp(0.0, -D), -np.logaddexp(0.0, D)
        integrand = np.where(p_data > 0, p_data * log_d, 0.0) + np.where(p_g > 0, p_g * log_1md, 0.0)
    else:
        integrand = xlogy(p_data, D) + xlogy(p_g, 1.0 - D)
    return _integrate(integrand, x)


def optimal_value(p_data, p_g, x) -> float:
    """V(D*, G), the best the discriminator can do against a fixed generator.

    Written with the densities themselves, p log(p / (p + q)), so that D* rounding to 1 where
    p_g is tiny cannot produce 0 · log 0 = nan or -inf.
    """
    p_data, p_g = _as_numpy(p_data), _as_numpy(p_g)
    total = p_data + p_g
    integrand = xlogy(p_data, p_data) + xlogy(p_g, p_g) - xlogy(total, total)
    return _integrate(integrand, x)


def kl_divergence(p, q, x) -> float:
    """KL(p || q) = ∫ p log(p / q) dx on the grid x (inf where q = 0 < p)."""
    return _integrate(rel_entr(_as_numpy(p), _as_numpy(q)), x)


def js_divergence(p, q, x) -> float:
    """JS(p, q) = ½ KL(p || m) + ½ KL(q || m) with m = (p + q) / 2; between 0 and log 2."""
    p, q = _as_numpy(p), _as_numpy(q)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, x) + 0.5 * kl_divergence(q, m, x)


def frozen_d_gradients(p_data, p_g_of, theta: float, x, h: float = 1e-4) -> dict[str, float]:
    """The generator's gradient in θ against D* frozen at θ, for each loss, beside two divergences' gradients.

    ``p_g_of(θ)`` gives the generator's density on the grid ``x``; D* = p_data / (p_data + p_g(θ)) is
    computed once and held fixed, as a discriminator is during a generator step. Central differences
    of step ``h`` give:

    - ``"minimax"``: d/dθ' E_{p_g(θ')} log(1 - D*);
    - ``"nonsaturating"``: d/dθ' -E_{p_g(θ')} log D*;
    - ``"2 JS"``: d/dθ' 2 JS(p_data, p_g(θ'));
    - ``"KL - 2 JS"``: d/dθ' [KL(p_g(θ') || p_data) - 2 JS(p_data, p_g(θ'))].

    The first equals the third (Goodfellow et al. 2014: at D* the minimax generator follows JS); the
    second equals the fourth, not the third (Arjovsky & Bottou 2017, Theorem 2.5).
    """
    p_data, p_g = _as_numpy(p_data), _as_numpy(p_g_of(theta))
    log_d = np.log(p_data) - np.log(p_data + p_g)
    log_not_d = np.log(p_g) - np.log(p_data + p_g)

    def derivative(f):
        return (f(_as_numpy(p_g_of(theta + h))) - f(_as_numpy(p_g_of(theta - h)))) / (2 * h)

    return {
        "minimax": derivative(lambda q: _integrate(q * log_not_d, x)),
        "nonsaturating": derivative(lambda q: -_integrate(q * log_d, x)),
        "2 JS": derivative(lambda q: 2 * js_divergence(p_data, q, x)),
        "KL - 2 JS": derivative(lambda q: kl_divergence(q, p_data, x) - 2 * js_divergence(p_data, q, x)),
    }


def mass_interval(p, x, mass: float = 0.99) -> tuple[float, float]:
    """The central interval [lo, hi] of the grid that holds ``mass`` of the density p.

    Cuts (1 - mass) / 2 of the probability from each tail, using the cumulative trapezoid sum.
    """
    p, x = _as_numpy(p), _as_numpy(x)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
    cdf /= cdf[-1]
    tail = 0.5 * (1.0 - mass)
    return float(np.interp(tail, cdf, x)), float(np.interp(1.0 - tail, cdf, x))


# --- the parallel lines: real (0, U), fake (theta, U), U uniform on [0, 1] ---------------------


def parallel_lines_js(theta):
    """JS between the lines x=0 and x=theta: log 2 when they are apart, 0 when they coincide.

    This is the closed form (the limit of :func:`blurred_lines_js` as the blur goes to 0), used to
    draw the curve; the notebook checks it against the numerical value.
    """
    theta = np.asarray(theta, dtype=np.float64)
    return np.where(theta != 0, LOG2, 0.0)


def blurred_lines_js(theta, width: float = 0.02, points: int = 2001):
    """JS between the lines x₁ = 0 and x₁ = θ, each blurred sideways by N(0, width²), by quadrature.

    A line has no density in the plane, a blurred one does: p(x₁, u) = N(x₁; 0, width²)·1[0 ≤ u ≤ 1],
    and q the same around θ. The height factor is the same in p, q and m = (p + q)/2, so it cancels in
    every log ratio and the JS of the plane is the JS of the two x₁ densities, integrated here by the
    trapezoid rule on ``points`` grid points within 10 widths of each line (outside, both densities are
    below e⁻⁵⁰). As width → 0 the value tends to log 2 for θ ≠ 0 and is 0 at θ = 0.
    """
    if width <= 0:
        raise ValueError(f"the blur width must be positive, got {width}.")
    thetas = np.asarray(theta, dtype=np.float64)
    values = []
    for t in thetas.ravel():
        x1 = np.union1d(np.linspace(-10 * width, 10 * width, points),
                        np.linspace(t - 10 * width, t + 10 * width, points))
        values.append(js_divergence(norm.pdf(x1, 0.0, width), norm.pdf(x1, t, width), x1))
    return np.reshape(values, thetas.shape)


def js_lower_bound(real_logits, fake_logits) -> float:
    """(V̂ + log 4) / 2, with V̂ = mean log D(x_real) + mean log(1 - D(x_fake)) from D's logits.

    For every discriminator V(D, G) <= V(D*, G) = 2 JS - log 4, so any D certifies this lower bound
    on JS (up to the sampling noise of V̂), and the optimal one attains it. D = 1/2 everywhere gives 0.
    """
    real_logits, fake_logits = _as_numpy(real_logits), _as_numpy(fake_logits)
    # log sigmoid(l) = -softplus(-l) and log(1 - sigmoid(l)) = -softplus(l): finite for any logit
    v_hat = -np.logaddexp(0.0, -real_logits).mean() - np.logaddexp(0.0, fake_logits).mean()
    return float(0.5 * (v_hat + LOG4))


def parallel_lines_w1(theta):
    """W1 between the lines x=0 and x=theta: every point moves sideways by |theta|."""
    return np.abs(np.asarray(theta, dtype=np.float64))


def gp_critic_slope(theta, gp_weight: float = 10.0):
    """Slope of the best *linear* critic f(x) = -s·sign(θ)·x₁ under a gradient penalty of weight λ.

    Such a critic scores s|θ| and pays λ(s - 1)², since every interpolate sees gradient norm s;
    maximising s|θ| - λ(s - 1)² gives s = 1 + |θ| / (2λ). The penalty is soft, so the slope
    overshoots 1 a little: 1.05 at θ = 1 with λ = 10.
    """
    return 1.0 + np.abs(np.asarray(theta, dtype=np.float64)) / (2.0 * gp_weight)


def gp_slope_from_estimate(w_estimate, gp_weight: float = 10.0):
    """The gradient norm of the best penalised critic, predicted from that critic's own estimate Ŵ of W1.

    On images W1 is unknown; what training shows is Ŵ = E f(real) − E f(fake). The best penalised critic
    is the best 1-Lipschitz one stretched by s (:func:`gp_critic_slope`, with |θ| = W1), so it scores
    Ŵ = s·W1 while s = 1 + W1/(2λ). Eliminating W1 gives s(s − 1) = Ŵ/(2λ), whose positive root is
    s = (1 + √(1 + 2Ŵ/λ)) / 2. Reading Ŵ as W1 in 1 + Ŵ/(2λ) overshoots: that counts the stretch twice.
    Explained in 07_wgan_gp.
    """
    w = np.maximum(np.asarray(w_estimate, dtype=np.float64), 0.0)
    return 0.5 * (1.0 + np.sqrt(1.0 + 2.0 * w / gp_weight))


def sample_w1(x_real, x_fake) -> float:
    """W1 between two equal-weight point clouds, (n, d) and (m, d).

    Uses scipy's exact solver ``wasserstein_distance_nd``. When n = m the optimal plan is a
    permutation (Birkhoff's theorem), so the same number comes much faster from the assignment
    problem, which is what we solve then.
    """
    x_real, x_fake = _as_numpy(x_real), _as_numpy(x_fake)
    if len(x_real) != len(x_fake):
        return float(wasserstein_distance_nd(x_real, x_fake))
    cost = cdist(x_real, x_fake)  # (n, n) Euclidean distances
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


# --- generator losses as functions of the discriminator's logit l on a fake sample -----------


def generator_loss_grad(d_fake, loss: str) -> np.ndarray:
    """d(generator loss)/d(logit) written in terms of D(G(z)) = sigmoid(l).

    minimax,        loss log(1 - sigmoid(l)):  derivative -sigmoid(l)       = -D
    non-saturating, loss -log sigmoid(l):      derivative -(1 - sigmoid(l)) = -(1 - D)
    The first vanishes (saturates) where D(G(z)) -> 0, exactly where the generator is worst.
    """
    d_fake = _as_numpy(d_fake)
    if loss == "minimax":
        return -d_fake
    if loss == "nonsaturating":
        return -(1.0 - d_fake)
    raise ValueError(f"unknown generator loss {loss!r}; use 'minimax' or 'nonsaturating'")


# --- 03: where θ goes, and two points on a line ------------------------------------------------


def penalised_critic_path(theta: float, steps: int, lr: float, gp_weight: float = 10.0) -> np.ndarray:
    """θ before each of ``steps`` plain gradient steps of size ``lr`` against the best penalised critic.

    Against the best linear critic (:func:`gp_critic_slope`) the generator's loss -E f(G_θ(z)) has
    derivative s(θ)·sign(θ) with s = 1 + |θ| / (2λ), so each step moves θ by lr·s(θ) towards 0. The
    path is what a critic that is refit to its optimum before every step would give, as far as θ = 0
    (where the best critic turns round); a network that is refit for a few steps only follows it while it
    keeps up. Returns ``steps + 1`` values, the start first. Explained in 03_js_vs_wasserstein.
    """
    path = [float(theta)]
    for _ in range(steps):
        t = path[-1]
        path.append(t - lr * float(np.sign(t)) * float(gp_critic_slope(t, gp_weight)))
    return np.asarray(path)


def point_masses_js(p: dict, q: dict) -> float:
    """JS between two distributions of finitely many point masses, given as {point: mass}.

    The sum of the definition, ½ Σ p log(p/m) + ½ Σ q log(q/m) with m = (p + q)/2, over the points of
    either; a point only one of them charges contributes its mass times log 2.
    """
    points = sorted(set(p) | set(q))
    pv = np.array([p.get(x, 0.0) for x in points], dtype=np.float64)
    qv = np.array([q.get(x, 0.0) for x in points], dtype=np.float64)
    m = 0.5 * (pv + qv)
    return float(0.5 * rel_entr(pv, m).sum() + 0.5 * rel_entr(qv, m).sum())


def two_points_distances(theta: float) -> tuple[float, float]:
    """(JS, W1) between p = ½δ₀ + ½δ₁ and q = p shifted by θ, computed from the point masses.

    JS by :func:`point_masses_js`, W1 by scipy's one-dimensional ``wasserstein_distance``: neither
    uses a formula in θ. Explained in 03_js_vs_wasserstein (its exercise).
    """
    from scipy.stats import wasserstein_distance

    theta = float(theta)
    points_p, points_q = [0.0, 1.0], [theta, 1.0 + theta]
    p, q = {}, {}
    for x in points_p:
        p[x] = p.get(x, 0.0) + 0.5
    for x in points_q:
        q[x] = q.get(x, 0.0) + 0.5
    return point_masses_js(p, q), float(wasserstein_distance(points_p, points_q))
