import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from gancourse import divergences, theory
from gancourse.divergences import F_DIVERGENCES

PAIRS = [(0.0, 1.0, 1.0, 1.5), (0.0, 1.0, 1.0, 1.0), (0.5, 1.2, -1.0, 1.0), (0.0, 1.0, 0.3, 0.8)]
X = np.linspace(-15, 15, 30001)


def _densities(mu_p, s_p, mu_q, s_q, x=X):
    return norm.pdf(x, mu_p, s_p), norm.pdf(x, mu_q, s_q)


@pytest.mark.parametrize("pair", PAIRS)
def test_quadrature_matches_the_closed_forms_between_gaussians(pair):
    p, q = _densities(*pair)
    closed = divergences.gaussian_divergences(*pair)
    for name, value in closed.items():
        assert divergences.f_divergence(name, p, q, X) == pytest.approx(value, rel=1e-5, abs=1e-8), name
    # the table's Jensen-Shannon row is twice JS, as its f is (Nowozin et al., Table 1)
    assert divergences.f_divergence("js", p, q, X) == pytest.approx(2 * theory.js_divergence(p, q, X), rel=1e-6)


def test_the_checks_fail_on_wrong_variants():
    p, q = _densities(*PAIRS[0])
    # JS itself is not the table's row: the check above would fail without the factor 2
    assert divergences.f_divergence("js", p, q, X) != pytest.approx(theory.js_divergence(p, q, X), rel=1e-3)
    # a Pearson χ² with σ_q for σ_q² in the prefactor of ∫p²/q is what quadrature refutes
    mu_p, s_p, mu_q, s_q = PAIRS[0]
    wrong = s_q / (s_p * math.sqrt(2 * s_q**2 - s_p**2)) * math.exp((mu_p - mu_q) ** 2 / (2 * s_q**2 - s_p**2)) - 1
    assert divergences.f_divergence("pearson", p, q, X) != pytest.approx(wrong, rel=1e-3)


def test_identical_gaussians_are_at_divergence_zero():
    assert divergences.gaussian_divergences(0.5, 1.3, 0.5, 1.3) == pytest.approx(
        {"kl": 0.0, "reverse_kl": 0.0, "pearson": 0.0, "hellinger": 0.0, "tv": 0.0}, abs=1e-12)


def test_pearson_is_infinite_when_q_has_the_lighter_tails():
    assert divergences.gaussian_divergences(0.0, 2.0, 0.0, 1.2)["pearson"] == math.inf


@pytest.mark.parametrize("name", list(F_DIVERGENCES))
def test_each_conjugate_is_the_supremum_of_its_definition(name):
    div = F_DIVERGENCES[name]
    ts = {"reverse_kl": (-3.0, -1.0, -0.2), "js": (-2.0, 0.0, 0.6), "hellinger": (-2.0, 0.0, 0.8),
          "tv": (-0.4, 0.0, 0.3)}.get(name, (-1.5, 0.0, 1.2))
    for t in ts:
        # sup_u [u t − f(u)] over u = e^r > 0, numerically
        def negative(r, t=t):
            return -(math.exp(r) * t - float(div.f(torch.tensor(math.exp(r), dtype=torch.float64))))

        best = minimize_scalar(negative,
                               bounds=(-12, 6), method="bounded", options={"xatol": 1e-10})
        assert -best.fun == pytest.approx(float(div.conjugate(torch.tensor(t, dtype=torch.float64))), abs=1e-5), t
    # a wrong variant: another divergence's conjugate, held to the same supremum, fails
    other = F_DIVERGENCES["pearson" if name != "pearson" else "kl"]
    wrong = float(other.conjugate(torch.tensor(t, dtype=torch.float64)))
    assert abs(wrong - (-best.fun)) > 1e-3


@pytest.mark.parametrize("name", list(F_DIVERGENCES))
def test_fake_term_is_the_conjugate_of_the_activation_and_stays_finite(name):
    div = F_DIVERGENCES[name]
    v = torch.linspace(-6, 6, 121, dtype=torch.float64)
    t = div.activation(v)
    assert div.in_domain(t).all()
    torch.testing.assert_close(div.fake_term(v), div.conjugate(t))
    wide = torch.tensor([-80.0, 80.0])  # float32, where the composite f*(g_f(v)) rounds to ±inf or nan
    assert torch.isfinite(div.fake_term(wide)).all()


@pytest.mark.parametrize("name", list(F_DIVERGENCES))
def test_the_bound_is_tight_at_the_best_critic_and_lower_elsewhere(name):
    p, q = _densities(*PAIRS[1], x=np.linspace(-10, 10, 8001))
    x = np.linspace(-10, 10, 8001)
    value = divergences.f_divergence(name, p, q, x)
    T_star = divergences.optimal_critic(name, p, q)
    assert divergences.variational_bound(name, T_star, p, q, x) == pytest.approx(value, rel=1e-4, abs=1e-6)
    constant = float(F_DIVERGENCES[name].f_prime(torch.tensor(1.0, dtype=torch.float64)))  # f'(1): the bound is 0
    assert divergences.variational_bound(name, np.full_like(x, constant), p, q, x) == pytest.approx(0.0, abs=1e-9)
    for lam in (0.5, 0.9):
        T = (1 - lam) * constant + lam * T_star
        assert divergences.variational_bound(name, T, p, q, x) < value - 1e-4


def test_the_bound_with_a_wrong_conjugate_is_not_tight():
    # KL's conjugate without the −1 (e^t instead of e^(t−1)): the same critic no longer reaches KL
    p, q = _densities(*PAIRS[1])
    T_star = divergences.optimal_critic("kl", p, q)
    wrong = np.trapezoid(p * T_star - q * np.exp(T_star), X)
    assert wrong != pytest.approx(divergences.f_divergence("kl", p, q, X), rel=1e-2)


def test_a_critic_outside_the_domain_gives_minus_infinity():
    p, q = _densities(*PAIRS[1])
    assert divergences.variational_bound("reverse_kl", np.full_like(X, 0.5), p, q, X) == -math.inf
    assert divergences.variational_bound("tv", np.full_like(X, 0.6), p, q, X) == -math.inf


@pytest.mark.parametrize("separation", [2.0, 4.0, 6.0])
def test_kl_fit_matches_the_mixtures_moments(separation):
    x = np.linspace(-10, 10, 2001)
    fit = divergences.closest_gaussian("kl", divergences.two_modes(separation, 0.5, x), x)
    assert fit.mu == pytest.approx(0.0, abs=1e-3)
    assert fit.sigma == pytest.approx(math.sqrt(separation**2 / 4 + 0.25), rel=1e-3)
    assert divergences.fit_shape(fit.mu, fit.sigma, separation, 0.5) == "covers"


def test_reverse_kl_fit_sits_on_the_mode_of_larger_mean():
    x = np.linspace(-10, 10, 2001)
    fit = divergences.closest_gaussian("reverse_kl", divergences.two_modes(6.0, 0.5, x), x)
    assert fit.mu == pytest.approx(3.0, abs=1e-2) and fit.sigma == pytest.approx(0.5, rel=2e-2)
    assert divergences.fit_shape(fit.mu, fit.sigma, 6.0, 0.5) == "one mode"
    # the wrong divergence fails the claim: KL's fit of the same target is not on one mode
    kl = divergences.closest_gaussian("kl", divergences.two_modes(6.0, 0.5, x), x)
    assert divergences.fit_shape(kl.mu, kl.sigma, 6.0, 0.5) == "covers"


def test_the_coarse_grid_finds_the_global_minimum_a_local_search_misses():
    # 2·JS at separation 4: covering both modes is the global minimum, but a local search started at
    # (0.3, 1) slides onto a mode, a higher local minimum
    from scipy.optimize import minimize

    x = np.linspace(-10, 10, 2001)
    p = divergences.two_modes(4.0, 0.5, x)
    fit = divergences.closest_gaussian("js", p, x)

    def value(v):
        return divergences.f_divergence("js", p, norm.pdf(x, v[0], math.exp(v[1])), x)

    local = minimize(value, [0.3, 0.0], method="Nelder-Mead")
    assert divergences.fit_shape(fit.mu, fit.sigma, 4.0, 0.5) == "covers"
    assert abs(local.x[0]) > 1.5 and local.fun > fit.value + 0.02


def test_switch_separations_order_reverse_kl_before_js_and_never_kl():
    separations = np.arange(1.0, 7.01, 0.5)
    fits = divergences.fits_by_separation(["kl", "reverse_kl", "js"], separations, 0.5)
    switch = {name: divergences.switch_separation(f, separations, 0.5) for name, f in fits.items()}
    assert switch["reverse_kl"] < switch["js"] < switch["kl"] == math.inf


def test_fit_shape_classifies_hand_made_fits():
    assert divergences.fit_shape(0.0, 2.0, 4.0, 0.5) == "covers"
    assert divergences.fit_shape(2.1, 0.5, 4.0, 0.5) == "one mode"
    assert divergences.fit_shape(-1.9, 0.6, 4.0, 0.5) == "one mode"
    assert divergences.fit_shape(1.0, 0.5, 4.0, 0.5) == "neither"
    assert divergences.fit_shape(0.0, 0.5, 4.0, 0.5) == "neither"  # in the middle but too narrow to cover


def test_unknown_divergence_is_refused_with_the_names():
    with pytest.raises(ValueError, match="choose one of kl, reverse_kl"):
        divergences.get_divergence("wasserstein")
