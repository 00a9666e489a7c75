"""03's moving θ: where each generator loss takes the parallel-lines generator, and what sets the
non-saturating gradient; each check of the notebook is also run on a variant it must reject."""

import math

import numpy as np
import pytest

from gancourse import theory
from gancourse.experiments import discriminator_sharpening, parallel_lines_experiment, theta_walk


def stays(path, within=0.02) -> bool:  # 03's check on the minimax path
    return abs(path[-1] - path[0]) < within


def follows_the_penalised_critic(path, lr, gp_weight=10.0) -> bool:  # 03's check on the critic's path
    ideal = theory.penalised_critic_path(path[0], len(path) - 1, lr, gp_weight)
    before_home = ideal > 0.1
    return bool(np.abs(np.asarray(path) - ideal)[before_home].max() < 0.05 and np.abs(path).min() < lr)


def jumps(path, other, factor=5.0) -> bool:  # 03's check on the non-saturating path's first step
    return abs(path[1] - path[0]) > factor * abs(other[1] - other[0])


@pytest.fixture(scope="module")
def walk():
    return theta_walk(parallel_lines_experiment(1.0, 200), steps=25)


def test_minimax_stays_the_critic_walks_home_and_the_non_saturating_loss_jumps(walk):
    mm, ns, wass = walk.theta["minimax"], walk.theta["nonsaturating"], walk.theta["wasserstein"]
    assert len(mm) == len(ns) == len(wass) == 26
    assert stays(mm)
    assert follows_the_penalised_critic(wass, walk.lr_g)
    assert jumps(ns, wass)
    assert min(ns) < 0 and min(wass) < 0  # both pass home


def test_the_checks_reject_the_other_losses_paths(walk):
    mm, ns, wass = walk.theta["minimax"], walk.theta["nonsaturating"], walk.theta["wasserstein"]
    assert not stays(ns) and not stays(wass)
    assert not follows_the_penalised_critic(mm, walk.lr_g) and not follows_the_penalised_critic(ns, walk.lr_g)
    assert not jumps(mm, wass) and not jumps(wass, wass)


def test_the_minimax_generator_moves_against_a_discriminator_that_is_not_yet_sharp():
    weak = theta_walk(parallel_lines_experiment(1.0, 50), steps=25, losses=("minimax",))  # the wrong variant
    assert not stays(weak.theta["minimax"])


def test_a_critic_without_the_penalty_flings_theta_away():
    free = parallel_lines_experiment(1.0, 200, gp_weight=0.0)
    walk = theta_walk(free, steps=1, losses=("wasserstein",), gp_weight=0.0)  # a second step overflows
    assert not follows_the_penalised_critic(walk.theta["wasserstein"], walk.lr_g)
    assert abs(walk.theta["wasserstein"][1] - 1.0) > 1.0  # a step of more than 20 times the penalised one


def test_the_non_saturating_gradient_grows_as_d_trains_and_shrinks_with_the_gap():
    sharp = discriminator_sharpening(steps=100, record_every=25)
    assert sharp.steps == [25, 50, 75, 100]
    ns, mm = sharp.grad_nonsaturating, sharp.grad_minimax
    for theta in (0.25, 1.0, 2.0):
        assert ns[theta][-1] > 1.3 * ns[theta][0]  # 03's check: D sharpens, the gradient grows
        assert not abs(mm[theta][-1]) > 1.3 * abs(mm[theta][0])  # the minimax one shrinks: it fails the check
    assert ns[0.25][-1] > ns[1.0][-1] > ns[2.0][-1]  # not the slope of W1, which is 1 at every θ
    assert about_one_over_theta({t: g[-1] for t, g in ns.items()})
    slopes = {t: float(theory.gp_critic_slope(t)) for t in (0.25, 1.0, 2.0)}  # the wrong variant: W1's slope
    assert not slopes[0.25] > slopes[1.0] > slopes[2.0] and not about_one_over_theta(slopes)


def about_one_over_theta(grads) -> bool:  # 03's check: θ × gradient changes by less than half
    products = [theta * g for theta, g in grads.items()]
    return max(products) < 1.5 * min(products)


def test_instance_noise_gives_js_a_slope_only_where_the_noise_reaches():
    theta = np.linspace(-2, 2, 161)
    far, near = np.abs(theta) >= 0.25, (np.abs(theta) >= 0.1) & (np.abs(theta) <= 1)
    narrow, wide = theory.blurred_lines_js(theta, width=0.02), theory.blurred_lines_js(theta, width=0.25)
    flat = lambda js: np.abs(js - math.log(2))[far].max() < 1e-6  # noqa: E731 - 03's checks
    sloped = lambda js: np.abs(np.gradient(js, theta))[near].min() > 0.25  # noqa: E731
    assert flat(narrow) and sloped(wide) and math.log(2) - wide[-1] < 0.01
    assert not flat(wide) and not sloped(narrow)  # each width fails the other's check
    assert math.log(2) - theory.blurred_lines_js(2.0, width=1.0) > 0.01  # a wider noise still slopes at θ = 2


def test_penalised_critic_path_steps_towards_zero_by_lr_times_the_slope():
    path = theory.penalised_critic_path(1.0, 3, lr=0.1, gp_weight=10.0)
    np.testing.assert_allclose(path[:2], [1.0, 1.0 - 0.1 * 1.05])
    assert len(path) == 4 and np.all(np.diff(path) < 0)
    np.testing.assert_allclose(theory.penalised_critic_path(-1.0, 3, 0.1), -path)


@pytest.mark.parametrize("theta, js, w1", [(0.0, 0.0, 0.0), (1.0, 0.5 * math.log(2), 1.0),
                                           (-1.0, 0.5 * math.log(2), 1.0), (0.5, math.log(2), 0.5),
                                           (-2.5, math.log(2), 2.5), (3.0, math.log(2), 3.0)])
def test_two_points_distances(theta, js, w1):
    got_js, got_w1 = theory.two_points_distances(theta)
    assert got_js == pytest.approx(js, abs=1e-12) and got_w1 == pytest.approx(w1, abs=1e-12)


def test_point_masses_js_is_log_2_apart_and_0_on_the_same_masses():
    assert theory.point_masses_js({0: 1.0}, {1: 1.0}) == pytest.approx(math.log(2))
    assert theory.point_masses_js({0: 0.3, 1: 0.7}, {1: 0.7, 0: 0.3}) == pytest.approx(0.0)
