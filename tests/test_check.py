import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance_nd

from gancourse import check, losses


def _placeholder(*args):
    raise NotImplementedError()


def test_nonsaturating_loss_check_passes_the_reference_and_fails_the_minimax_loss_and_the_placeholder(capsys):
    assert check.nonsaturating_loss(lambda logits: -F.logsigmoid(logits).mean()) == 4
    assert "right on 4 inputs" in capsys.readouterr().out
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.nonsaturating_loss(losses.g_minimax)
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.nonsaturating_loss(_placeholder)


def test_an_answer_that_forgets_to_return_or_gives_a_tensor_says_so():
    with pytest.raises(check.ExerciseError, match="forget `return`"):
        check.nonsaturating_loss(lambda logits: None)
    with pytest.raises(check.ExerciseError, match="one number"):
        check.nonsaturating_loss(lambda logits: F.softplus(-logits))  # no mean
    assert issubclass(check.ExerciseError, AssertionError)  # an nbgrader test cell fails on it


# --- 01_first_gan ---


def test_discriminator_loss_check_passes_the_bce_and_fails_a_wrong_sign_and_swapped_labels():
    assert check.discriminator_loss(lambda r, f: -F.logsigmoid(r).mean() - torch.log1p(-torch.sigmoid(f)).mean()) == 4
    with pytest.raises(check.ExerciseError, match="Hint"):  # −E log D(x) + E log(1 − D(G(z))): V's second term's sign
        check.discriminator_loss(lambda r, f: F.softplus(-r).mean() - F.softplus(f).mean())
    with pytest.raises(check.ExerciseError, match="Hint"):  # real called fake and fake called real
        check.discriminator_loss(lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean())
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.discriminator_loss(_placeholder)


# --- 02_optimal_discriminator ---


def test_optimal_discriminator_check_passes_the_density_ratio_and_fails_the_ratio_upside_down():
    assert check.optimal_discriminator(lambda p_data, p_g: p_data / (p_data + p_g)) == 5
    with pytest.raises(check.ExerciseError, match="expected 0.8, got 0.2"):
        check.optimal_discriminator(lambda p_data, p_g: p_g / (p_data + p_g))
    with pytest.raises(check.ExerciseError, match="two arrays"):  # right on numbers, but a grid of them is not 0.5
        check.optimal_discriminator(lambda p_data, p_g: np.float64(p_data / (p_data + p_g)).mean())
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.optimal_discriminator(_placeholder)


def _kl(p, q, x):
    return np.trapezoid(p * np.log(p / q), x)


def test_js_divergence_check_passes_the_definition_and_fails_js_without_the_half_and_kl():
    def js(p, q, x):
        m = 0.5 * (p + q)
        return 0.5 * _kl(p, m, x) + 0.5 * _kl(q, m, x)

    assert check.js_divergence(js) == 4
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.js_divergence(lambda p, q, x: 2 * js(p, q, x))
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.js_divergence(_kl)  # KL(p || q): compared with each other, not with the mixture
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.js_divergence(_placeholder)


# --- 03_js_vs_wasserstein ---


def test_js_lower_bound_check_passes_the_bound_and_fails_it_without_the_half_or_the_log_4():
    def bound(real_logits, fake_logits):
        v_hat = F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean()
        return 0.5 * (v_hat + math.log(4))

    assert check.js_lower_bound(bound) == 4
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.js_lower_bound(lambda r, f: 2 * bound(r, f))
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.js_lower_bound(lambda r, f: bound(r, f) - 0.5 * math.log(4))
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.js_lower_bound(_placeholder)


def test_sample_w1_check_passes_the_best_matching_and_fails_nearest_neighbours():
    def w1(x_real, x_fake):
        cost = cdist(x_real, x_fake)
        rows, cols = linear_sum_assignment(cost)
        return cost[rows, cols].mean()

    assert check.sample_w1(w1) == 3
    assert check.sample_w1(lambda x_real, x_fake: wasserstein_distance_nd(x_real, x_fake)) == 3
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.sample_w1(lambda x_real, x_fake: cdist(x_real, x_fake).min(axis=1).mean())
    with pytest.raises(check.ExerciseError, match="Hint"):  # the lines' sideways gap alone, without the samples
        check.sample_w1(lambda x_real, x_fake: abs(x_fake[:, 0].mean() - x_real[:, 0].mean()))
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.sample_w1(_placeholder)


def test_the_densities_the_02_checks_use_are_positive_on_their_grid_so_no_log_of_0_comes_up():
    for _, x, p, q in check._density_pairs():
        assert (p > 0).all() and (q > 0).all() and len(x) == len(p) == len(q)
        assert abs(np.trapezoid(p, x) - 1) < 1e-6 and abs(np.trapezoid(q, x) - 1) < 1e-6


# --- 04_mode_collapse ---


def _high_quality_share(samples, centres, std):
    return (torch.cdist(samples, centres).min(1).values <= 3 * std).double().mean().item()


def _modes_captured(samples, centres, std):
    d = torch.cdist(samples, centres)
    return len(set(d.argmin(1)[d.min(1).values <= 3 * std].tolist()))


def test_high_quality_share_check_passes_the_reference_and_fails_a_fixed_radius_and_the_placeholder():
    assert check.high_quality_share(_high_quality_share) == 5
    with pytest.raises(check.ExerciseError, match="scales with std"):
        check.high_quality_share(lambda s, c, std: (torch.cdist(s, c).min(1).values <= 3).double().mean())
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.high_quality_share(_placeholder)


def test_modes_captured_check_passes_the_reference_and_fails_counting_nearest_modes_alone():
    assert check.modes_captured(_modes_captured) == 5
    with pytest.raises(check.ExerciseError, match="not enough"):
        check.modes_captured(lambda s, c, std: len(set(torch.cdist(s, c).argmin(1).tolist())))
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.modes_captured(_placeholder)
