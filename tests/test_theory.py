import math

import numpy as np
import pytest
import torch
from scipy.stats import norm, wasserstein_distance_nd

from gancourse import theory
from gancourse.data.toy import Gaussian, GaussianMixture, ParallelLines
from gancourse.losses import g_minimax, g_nonsaturating

X = np.linspace(-15.0, 15.0, 20001)


def gauss(mean, std):
    return norm.pdf(X, mean, std)


def kl_gauss(m1, s1, m2, s2):
    # KL(N(m1, s1²) || N(m2, s2²)) in closed form
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def test_optimal_discriminator_is_density_ratio():
    p_data = np.array([0.0, 1.0, 3.0, 0.0, 2.0])
    p_g = np.array([0.0, 1.0, 1.0, 4.0, 0.0])
    np.testing.assert_allclose(theory.optimal_discriminator(p_data, p_g), [0.5, 0.5, 0.75, 0.0, 1.0])


def test_optimal_discriminator_accepts_tensors():
    d = theory.optimal_discriminator(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 1.0]))
    np.testing.assert_allclose(d, [0.5, 0.75])


def test_kl_matches_gaussian_closed_form():
    np.testing.assert_allclose(theory.kl_divergence(gauss(0, 1), gauss(1, 2), X), kl_gauss(0, 1, 1, 2), atol=1e-8)
    np.testing.assert_allclose(theory.kl_divergence(gauss(1, 2), gauss(0, 1), X), kl_gauss(1, 2, 0, 1), atol=1e-6)


def test_kl_is_infinite_without_overlap_of_support():
    x = np.linspace(0, 3, 301)
    p = ((x >= 0) & (x <= 1)).astype(float)
    q = ((x >= 2) & (x <= 3)).astype(float)
    assert theory.kl_divergence(p, q, x) == math.inf


def test_js_is_zero_for_equal_and_log2_for_disjoint():
    assert abs(theory.js_divergence(gauss(0, 1), gauss(0, 1), X)) < 1e-12
    x = np.linspace(0, 3, 3001)
    p = ((x > 0.0) & (x < 1.0)) * 1.0
    q = ((x > 2.0) & (x < 3.0)) * 1.0
    p, q = p / np.trapezoid(p, x), q / np.trapezoid(q, x)
    np.testing.assert_allclose(theory.js_divergence(p, q, x), math.log(2), atol=1e-12)


def test_js_is_symmetric_and_bounded():
    p, q = gauss(-1, 0.5), gauss(2, 1.5)
    js = theory.js_divergence(p, q, X)
    np.testing.assert_allclose(js, theory.js_divergence(q, p, X), atol=1e-12)
    assert 0 < js < math.log(2)


@pytest.mark.parametrize("m, s", [(0.0, 1.0), (0.5, 2.0), (3.0, 0.3), (-8.0, 1.0)])
def test_value_at_optimal_discriminator_is_two_js_minus_log4(m, s):
    p_data, p_g = gauss(0, 1), gauss(m, s)
    v = theory.optimal_value(p_data, p_g, X)
    np.testing.assert_allclose(v, 2 * theory.js_divergence(p_data, p_g, X) - math.log(4), atol=1e-9)


def test_equal_densities_give_half_and_minus_log4():
    p = gauss(0.3, 0.7)
    np.testing.assert_allclose(theory.optimal_discriminator(p, p), 0.5)
    np.testing.assert_allclose(theory.optimal_value(p, p, X), -math.log(4), atol=1e-6)


def test_any_other_discriminator_does_worse():
    p_data, p_g = gauss(0, 1), gauss(1, 2)
    best = theory.optimal_value(p_data, p_g, X)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d = np.clip(theory.optimal_discriminator(p_data, p_g) + rng.normal(0, 0.05, X.shape), 1e-6, 1 - 1e-6)
        assert theory.value_function(d, p_data, p_g, X) < best
    assert theory.value_function(np.full_like(X, 0.5), p_data, p_g, X) == pytest.approx(-math.log(4), abs=1e-6)


def test_density_on_grid_matches_scipy():
    np.testing.assert_allclose(theory.density_on_grid(Gaussian(1.0, 2.0), X), gauss(1, 2), rtol=1e-4, atol=1e-12)
    mix = GaussianMixture([[-1.0], [2.0]], 0.5, weights=[0.25, 0.75])
    expected = 0.25 * norm.pdf(X, -1, 0.5) + 0.75 * norm.pdf(X, 2, 0.5)
    np.testing.assert_allclose(theory.density_on_grid(mix, X), expected, rtol=1e-4, atol=1e-12)


def test_mass_interval_of_standard_normal():
    lo, hi = theory.mass_interval(gauss(0, 1), X, 0.99)
    np.testing.assert_allclose([lo, hi], [-2.5758, 2.5758], atol=2e-3)
    lo, hi = theory.mass_interval(gauss(2, 0.5), X, 0.5)
    np.testing.assert_allclose([lo, hi], [2 - 0.5 * 0.6745, 2 + 0.5 * 0.6745], atol=2e-3)


def test_parallel_lines_closed_forms():
    theta = np.array([-2.0, -0.1, 0.0, 1e-3, 1.5])
    np.testing.assert_allclose(theory.parallel_lines_js(theta), [math.log(2)] * 2 + [0.0] + [math.log(2)] * 2)
    np.testing.assert_allclose(theory.parallel_lines_w1(theta), np.abs(theta))
    assert float(theory.parallel_lines_js(0.0)) == 0.0


def test_gp_critic_slope_maximises_the_penalised_score():
    s = np.linspace(0.5, 1.5, 100001)
    for theta, lam in [(1.0, 10.0), (-2.0, 10.0), (0.5, 1.0)]:
        best = s[np.argmax(s * abs(theta) - lam * (s - 1) ** 2)]
        np.testing.assert_allclose(theory.gp_critic_slope(theta, lam), best, atol=1e-5)
    np.testing.assert_allclose(theory.gp_critic_slope(1.0), 1.05)


@pytest.mark.parametrize("theta", [-1.5, 0.5, 2.0])
def test_sample_w1_of_parallel_lines_is_close_to_abs_theta(theta):
    gen = torch.Generator().manual_seed(0)
    x_real = ParallelLines(0.0).sample(100, generator=gen)
    x_fake = ParallelLines(theta).sample(100, generator=gen)
    w1 = theory.sample_w1(x_real, x_fake)
    # every point moves sideways by exactly |θ|; matching the uniform heights adds a little more
    assert abs(theta) <= w1 < abs(theta) + 0.02
    # equal sizes go through the assignment problem; scipy's general solver must agree
    np.testing.assert_allclose(w1, wasserstein_distance_nd(x_real.numpy(), x_fake.numpy()), atol=1e-7)
    # unequal sizes go through scipy's general solver
    w1_uneven = theory.sample_w1(x_real, x_fake[:60])
    assert abs(theta) <= w1_uneven < abs(theta) + 0.03


def test_sample_w1_of_a_shift():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    np.testing.assert_allclose(theory.sample_w1(x, x + np.array([3.0, 4.0])), 5.0, atol=1e-9)


@pytest.mark.parametrize("kind, loss_fn", [("minimax", g_minimax), ("nonsaturating", g_nonsaturating)])
def test_generator_loss_grad_matches_autograd(kind, loss_fn):
    logits = torch.linspace(-8, 8, 33, dtype=torch.float64, requires_grad=True)
    loss_fn(logits).backward()
    autograd = logits.grad.numpy() * logits.numel()  # the losses are means over the batch
    d_fake = torch.sigmoid(logits).detach().numpy()
    np.testing.assert_allclose(theory.generator_loss_grad(d_fake, kind), autograd, atol=1e-12)


def test_minimax_gradient_vanishes_where_d_is_zero():
    d = np.array([1e-4, 0.5, 1 - 1e-4])
    np.testing.assert_allclose(np.abs(theory.generator_loss_grad(d, "minimax")), [1e-4, 0.5, 1 - 1e-4])
    np.testing.assert_allclose(np.abs(theory.generator_loss_grad(d, "nonsaturating")), [1 - 1e-4, 0.5, 1e-4])
    with pytest.raises(ValueError, match="minimax"):
        theory.generator_loss_grad(d, "wasserstein")


def test_value_function_from_logits_agrees_and_stays_finite():
    p_data, p_g = gauss(0, 1), gauss(1, 2)
    logits = np.tanh(X) * 3.0
    d = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(
        theory.value_function(logits, p_data, p_g, X, logits=True), theory.value_function(d, p_data, p_g, X), atol=1e-9
    )
    # a logit of 60 rounds to D = 1.0 exactly; the logit form still gives a finite answer
    assert math.isfinite(theory.value_function(np.full_like(X, 60.0), p_data, p_g, X, logits=True))


def test_blurred_lines_js_is_log2_apart_and_0_on_top():
    theta = np.array([-2.0, -0.25, 0.0, 0.25, 1.0])
    js = theory.blurred_lines_js(theta, width=0.02)
    np.testing.assert_allclose(js[theta != 0], math.log(2), atol=1e-6)
    assert abs(js[theta == 0][0]) < 1e-12
    assert js.shape == theta.shape and isinstance(float(theory.blurred_lines_js(1.0)), float)


def test_blurred_lines_js_matches_js_of_two_gaussians_by_an_independent_sum():
    # JS of N(0, w²) and N(θ, w²) by a plain Riemann sum on a uniform grid, written from the definition
    theta, width = 0.1, 0.05
    x = np.linspace(-1.0, 1.2, 200001)
    p, q = norm.pdf(x, 0, width), norm.pdf(x, theta, width)
    m = 0.5 * (p + q)
    expected = 0.5 * np.sum(p * np.log(p / m) + q * np.log(q / m)) * (x[1] - x[0])
    np.testing.assert_allclose(theory.blurred_lines_js(theta, width), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="width"):
        theory.blurred_lines_js(1.0, width=0.0)


def test_notebook_03_js_check_fails_on_overlapping_lines_and_on_a_wrong_formula():
    # 03 asserts |JS - log 2| < 1e-6 at every θ ≠ 0 it shows; lines blurred as wide as θ overlap and fail it
    theta = np.array([0.25, 0.5, 1.0])
    assert np.all(np.abs(theory.blurred_lines_js(theta, width=0.02) - math.log(2)) < 1e-6)
    assert np.any(np.abs(theory.blurred_lines_js(theta, width=0.25) - math.log(2)) >= 1e-6)
    # JS without the 1/2 (the sum of the two KL terms) is 2 log 2 on disjoint lines: the check fails too
    x1 = np.linspace(-0.5, 1.5, 20001)
    p, q = norm.pdf(x1, 0, 0.02), norm.pdf(x1, 1.0, 0.02)
    m = 0.5 * (p + q)
    assert abs(theory.kl_divergence(p, m, x1) + theory.kl_divergence(q, m, x1) - math.log(2)) >= 1e-6


def test_js_lower_bound_is_attained_by_the_optimal_discriminator():
    gen = np.random.default_rng(0)
    x_real, x_fake = gen.normal(0.0, 1.0, 400000), gen.normal(1.0, 1.0, 400000)
    def d_star_logit(x):  # log p_data(x) - log p_g(x)
        return norm.logpdf(x, 0, 1) - norm.logpdf(x, 1, 1)
    js = theory.js_divergence(gauss(0, 1), gauss(1, 1), X)
    np.testing.assert_allclose(theory.js_lower_bound(d_star_logit(x_real), d_star_logit(x_fake)), js, atol=2e-3)
    # any other D certifies less: a shrugging D certifies nothing, a blunter one less than D*
    assert theory.js_lower_bound(np.zeros(10), np.zeros(10)) == pytest.approx(0.0, abs=1e-12)
    blunt = theory.js_lower_bound(0.3 * d_star_logit(x_real), 0.3 * d_star_logit(x_fake))
    assert blunt < js - 0.02


def test_notebook_03_discriminator_check_fails_for_a_weak_discriminator():
    # 03 asserts js_lower > log 2 - 0.01: logits of ±8 on disjoint lines pass it, logits of ±2 do not
    assert theory.js_lower_bound(np.full(100, 8.0), np.full(100, -8.0)) > math.log(2) - 0.01
    assert theory.js_lower_bound(np.full(100, 2.0), np.full(100, -2.0)) <= math.log(2) - 0.01
    # and no logits, however large, certify more than log 2 (V <= 0 for every D)
    assert theory.js_lower_bound(np.full(100, 60.0), np.full(100, -60.0)) <= math.log(2)


def _notebook_02_pair():
    x = np.linspace(-12, 12, 4801)
    p_data = theory.density_on_grid(GaussianMixture([[-1.5], [1.5]], std=0.6), x)
    p_g = theory.density_on_grid(Gaussian(0.5, 1.2), x)
    return x, p_data, p_g


def test_notebook_02_identity_check_fails_on_the_formula_without_the_factor_2():
    x, p_data, p_g = _notebook_02_pair()
    v_star, js = theory.optimal_value(p_data, p_g, x), theory.js_divergence(p_data, p_g, x)
    assert abs(v_star - (2 * js - math.log(4))) < 1e-4
    assert not abs(v_star - (js - math.log(4))) < 1e-4  # V(D*, G) = JS - log 4, a misprint in circulation


def test_notebook_02_minimum_check_fails_for_a_discriminator_that_shrugs():
    # 02 asserts V(D*, G) > -log 4 + 1e-3 for every p_g but p_data; D = 1/2 scores -log 4 against all of them
    x, p_data, _ = _notebook_02_pair()
    others = [theory.density_on_grid(Gaussian(m, s), x) for m in (-1.5, 0.0, 1.5) for s in (0.6, 2.0)]
    assert min(theory.optimal_value(p_data, q, x) for q in others) > -math.log(4) + 1e-3
    shrug = np.full_like(x, 0.5)
    assert not min(theory.value_function(shrug, p_data, q, x) for q in others) > -math.log(4) + 1e-3


def test_notebook_02_shape_check_fails_on_the_flipped_ratio():
    # 02 asserts D* peaks (0.8-0.9) over the left bump, is below 0.15 near 0 and ~0 in the tails
    x, p_data, p_g = _notebook_02_pair()

    def shape_holds(d):
        return bool(0.8 < d.max() < 0.9 and x[d.argmax()] < -1 and d[np.abs(x) < 0.25].max() < 0.15
                    and max(d[x < -5].max(), d[x > 5].max()) < 0.01)

    assert shape_holds(theory.optimal_discriminator(p_data, p_g))
    assert not shape_holds(theory.optimal_discriminator(p_g, p_data))  # p_g / (p_data + p_g)


@pytest.mark.parametrize("parameter, theta", [("mean", 0.5), ("mean", -2.0), ("std", 0.7)])
def test_against_a_frozen_d_star_minimax_follows_js_and_nonsaturating_follows_kl_minus_2js(parameter, theta):
    x = np.linspace(-12, 12, 4801)
    p_data = theory.density_on_grid(GaussianMixture([[-1.5], [1.5]], std=0.6), x)

    def p_g_of(t):
        return theory.density_on_grid(Gaussian(t, 1.2) if parameter == "mean" else Gaussian(0.5, t), x)

    g = theory.frozen_d_gradients(p_data, p_g_of, theta, x)
    assert g["minimax"] == pytest.approx(g["2 JS"], abs=1e-4)
    assert g["nonsaturating"] == pytest.approx(g["KL - 2 JS"], abs=1e-4)
    # the wrong pairings, as 02 asserts them: each loss is told apart from the other's divergence
    assert abs(g["nonsaturating"] - g["2 JS"]) > 0.05
    assert abs(g["minimax"] - g["KL - 2 JS"]) > 0.05


def test_frozen_d_gradients_holds_d_star_fixed():
    # letting D* move with θ would change the non-saturating loss's gradient: the frozen one differs from it
    x = np.linspace(-12, 12, 4801)
    p_data = theory.density_on_grid(GaussianMixture([[-1.5], [1.5]], std=0.6), x)

    def p_g_of(t):
        return theory.density_on_grid(Gaussian(t, 1.2), x)

    def moving(t):
        p_g = p_g_of(t)
        return -np.trapezoid(p_g * (np.log(p_data) - np.log(p_data + p_g)), x)

    h = 1e-4
    moving_grad = (moving(3.0 + h) - moving(3.0 - h)) / (2 * h)
    assert abs(theory.frozen_d_gradients(p_data, p_g_of, 3.0, x)["nonsaturating"] - moving_grad) > 0.1


def test_01_coverage_check_fails_on_a_point_mass_and_on_a_streak():
    # 01 asks W1(generated, real) < 2 × W1(real, real); a streak passed the old test (half the start's 1.65)
    from gancourse.data import make_toy

    data = make_toy("gaussian2d")
    x_real = data.sample(500, generator=torch.Generator().manual_seed(2))
    floor = theory.sample_w1(data.sample(500, generator=torch.Generator().manual_seed(4)), x_real)
    x = data.sample(500, generator=torch.Generator().manual_seed(5))
    centred = x - x.mean(0)
    axis = torch.linalg.svd(centred, full_matrices=False).Vh[:1]
    collapsed = {"point mass at the mean": x.mean(0).expand(500, 2),
                 "streak along the widest axis": x.mean(0) + centred @ axis.T @ axis}
    for name, fake in collapsed.items():
        w1 = theory.sample_w1(fake, x_real)
        assert not w1 < 2 * floor, name
    assert theory.sample_w1(collapsed["streak along the widest axis"], x_real) < 0.5 * 1.65  # the old check passed it
    assert theory.sample_w1(x, x_real) < 2 * floor  # a sample of the data passes
