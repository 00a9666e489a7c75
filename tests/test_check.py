import math

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance_nd

from gancourse import check, losses, models
from gancourse.check import ExerciseError
from gancourse.check import ch02_optimal_discriminator as ch02
from gancourse.check import ch09_conditional_and_beyond as ch09
from gancourse.models import DCGANGenerator


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
    for _, x, p, q in ch02._density_pairs():
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
# --- 05_wgan ---


def test_wasserstein_critic_loss_check_passes_the_reference_and_fails_the_flipped_sign_and_the_bce_loss():
    assert check.wasserstein_critic_loss(losses.d_wasserstein) == 3
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.wasserstein_critic_loss(lambda real, fake: real.mean() - fake.mean())  # the objective, not the loss
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.wasserstein_critic_loss(losses.d_bce)
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.wasserstein_critic_loss(_placeholder)


def _clip_weights_only(module, c):
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.weight.clamp_(-c, c)


def test_clip_weights_check_passes_the_reference_and_fails_a_copy_and_weights_without_biases():
    assert check.clip_weights(losses.clip_weights_) == 3
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.clip_weights(lambda module, c: [p.clamp(-c, c) for p in module.parameters()])  # not in place
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.clip_weights(_clip_weights_only)  # the biases stay out of the box
    with pytest.raises(check.ExerciseError, match="torch.no_grad"):
        check.clip_weights(lambda module, c: [p.clamp_(-c, c) for p in module.parameters()])
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.clip_weights(_placeholder)
    with pytest.raises(check.ExerciseError, match="expected a function"):
        check.clip_weights(0.01)


def _linear_shapes(D):
    return [layer.weight.shape for layer in D.modules() if isinstance(layer, torch.nn.Linear)]


def test_clipped_lipschitz_bound_check_passes_the_reference_and_fails_without_the_square_root():
    from gancourse.metrics.probes import clipped_lipschitz_bound

    assert check.clipped_lipschitz_bound(clipped_lipschitz_bound) == 3
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.clipped_lipschitz_bound(lambda D, c: math.prod(c * m * n for m, n in _linear_shapes(D)))
    with pytest.raises(check.ExerciseError, match="Hint"):  # counting the biases as a layer's stretch too
        check.clipped_lipschitz_bound(lambda D, c: math.prod(c * p.numel() ** 0.5 for p in D.parameters()))
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.clipped_lipschitz_bound(_placeholder)


# --- 06_dcgan ---


def test_conv_output_side_check_passes_the_reference_and_fails_without_the_floor():
    assert check.conv_output_side(lambda i, k, s, p: (i + 2 * p - k) // s + 1) == 7
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.conv_output_side(lambda i, k, s, p: (i + 2 * p - k) / s + 1)
    with pytest.raises(check.ExerciseError, match="Hint"):  # the transposed formula where the direct one is asked
        check.conv_output_side(models.conv_transpose_output_side)
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.conv_output_side(_placeholder)


def test_conv_transpose_output_side_check_passes_the_reference_and_fails_without_the_minus_one():
    assert check.conv_transpose_output_side(lambda i, k, s, p: (i - 1) * s - 2 * p + k) == 6
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.conv_transpose_output_side(lambda i, k, s, p: i * s - 2 * p + k)
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.conv_transpose_output_side(_placeholder)


def _slerp(z0, z1, t):
    omega = torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm()))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def test_slerp_check_passes_the_textbook_formula_and_fails_lerp_and_swapped_weights():
    assert check.slerp(_slerp) == 5
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.slerp(lambda z0, z1, t: (1 - t) * z0 + t * z1)
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.slerp(lambda z0, z1, t: _slerp(z0, z1, 1 - t))  # walks from z1 to z0
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.slerp(_placeholder)


# --- 07_wgan_gp ---


def _interpolates(x_real, x_fake, alpha):
    alpha = alpha.view(-1, *[1] * (x_real.dim() - 1))
    return alpha * x_real + (1 - alpha) * x_fake


def test_interpolates_check_passes_the_reference_and_fails_swapped_roles_and_one_alpha_for_all():
    assert check.interpolates(_interpolates) == 3
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.interpolates(lambda x_real, x_fake, alpha: _interpolates(x_fake, x_real, alpha))
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.interpolates(lambda x_real, x_fake, alpha: alpha[0] * x_real + (1 - alpha[0]) * x_fake)
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.interpolates(_placeholder)


def _penalty(D, x_real, x_fake, alpha, per_sample=True, square_norm=False, create_graph=True):
    x_hat = _interpolates(x_real, x_fake, alpha).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=create_graph)
    norms = grad.flatten(1).norm(dim=1) if per_sample else grad.norm()
    return (((norms ** 2 if square_norm else norms) - 1) ** 2).mean()


def test_gradient_penalty_check_passes_autograd_on_the_formula_and_fails_the_usual_slips():
    assert check.gradient_penalty(_penalty) == 3
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.gradient_penalty(lambda *args: _penalty(*args, per_sample=False))  # one norm for the whole batch
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.gradient_penalty(lambda *args: _penalty(*args, square_norm=True))  # ‖∇‖² where ‖∇‖ is asked
    with pytest.raises(check.ExerciseError, match="create_graph=True"):
        check.gradient_penalty(lambda *args: _penalty(*args, create_graph=False))  # right value, cannot train
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.gradient_penalty(_placeholder)


# --- 08_evaluation ---


def _frechet(mu1, sigma1, mu2, sigma2, product_of_roots=False, factor=2):
    root = (scipy.linalg.sqrtm(sigma1) @ scipy.linalg.sqrtm(sigma2) if product_of_roots
            else scipy.linalg.sqrtm(sigma1 @ sigma2)).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1 + sigma2 - factor * root))


def test_frechet_distance_check_passes_the_formula_and_fails_the_product_of_roots_and_a_lost_factor():
    assert check.frechet_distance(_frechet) == 5
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.frechet_distance(lambda *stats: _frechet(*stats, product_of_roots=True))
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.frechet_distance(lambda *stats: _frechet(*stats, factor=1))
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.frechet_distance(_placeholder)


def _inception_score(probs, reverse=False):
    marginal = probs.mean(0, keepdims=True)
    p, q = (marginal, probs) if reverse else (probs, marginal)
    return float(np.exp(scipy.special.rel_entr(p, q).sum(1).mean()))


def test_inception_score_check_passes_the_formula_and_fails_the_reversed_kl_and_a_careless_log():
    assert check.inception_score(_inception_score) == 4
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.inception_score(lambda probs: _inception_score(probs, reverse=True))
    with pytest.raises(check.ExerciseError, match="Hint"), np.errstate(divide="ignore", invalid="ignore"):
        check.inception_score(  # log(0) on sure predictions gives nan
            lambda probs: np.exp((probs * np.log(probs / probs.mean(0))).sum(1).mean()))
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.inception_score(_placeholder)


def _kl_to_uniform(labels, n_classes, reverse=False):
    q = np.bincount(labels, minlength=n_classes) / len(labels)
    u = np.full(n_classes, 1 / n_classes)
    return float(scipy.special.rel_entr(*((u, q) if reverse else (q, u))).sum())


def test_kl_to_uniform_check_passes_the_formula_and_fails_the_other_direction_and_log2():
    assert check.kl_to_uniform(_kl_to_uniform) == 5
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.kl_to_uniform(lambda labels, n: _kl_to_uniform(labels, n, reverse=True))
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.kl_to_uniform(lambda labels, n: _kl_to_uniform(labels, n) / np.log(2))  # bits, not nats
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.kl_to_uniform(_placeholder)


# --- 09_conditional_and_beyond ---


def _placeholder(*args):
    raise NotImplementedError()


def test_hinge_check_passes_the_reference_and_fails_the_placeholder_and_a_hinge_without_its_clamp(capsys):
    assert check.hinge_d_loss(lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean()) == 4
    assert "right on 4 inputs" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="Hint"):  # without max(0, ·): the Wasserstein loss plus 2
        check.hinge_d_loss(lambda real, fake: (1 - real).mean() + (1 + fake).mean())
    with pytest.raises(ExerciseError, match="Hint"):  # the fake margin on the wrong side
        check.hinge_d_loss(lambda real, fake: F.relu(1 - real).mean() + F.relu(1 - fake).mean())
    with pytest.raises(ExerciseError, match="not answered yet"):
        check.hinge_d_loss(_placeholder)
    assert check.hinge_d_loss(losses.d_hinge) == 4


def test_conditioned_input_check_passes_the_reference_and_fails_the_placeholder_and_wrong_encodings(capsys):
    assert check.conditioned_input(lambda z, y, k: torch.cat([z, F.one_hot(y, k).float()], 1)) == 3
    assert "right on 3 inputs" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="Hint"):  # one-hot as wide as the batch's largest label
        check.conditioned_input(lambda z, y, k: torch.cat([z, F.one_hot(y).float()], 1))
    with pytest.raises(ExerciseError, match="Hint"):  # label first
        check.conditioned_input(lambda z, y, k: torch.cat([F.one_hot(y, k).float(), z], 1))
    with pytest.raises(ExerciseError, match="Hint"):  # the label as one number instead of a one-hot code
        check.conditioned_input(lambda z, y, k: torch.cat([z, y[:, None].float()], 1))
    with pytest.raises(ExerciseError, match="not answered yet"):
        check.conditioned_input(_placeholder)


def test_the_reference_is_what_the_conditional_generator_feeds_its_first_layer():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=6, image_size=28, channels=1, width=4, n_classes=10).eval()
    z, y = torch.randn(3, 6), torch.tensor([0, 4, 9])
    seen = {}
    G.net[0].register_forward_hook(lambda m, inputs, out: seen.update(x=inputs[0]))
    G(z, y)
    torch.testing.assert_close(seen["x"][:, :, 0, 0], ch09._conditioned_input(z, y, 10))


def test_predicted_fd_check_passes_the_closed_form_and_fails_a_blank_and_the_usual_slips(capsys):
    assert check.predicted_fd(lambda d, sigma: d * (1 - sigma) ** 2) == 5
    assert "from 100 samples" in capsys.readouterr().out
    wrong = {"blank": _placeholder, "zero": lambda d, sigma: 0.0,
             "no square root of the product": lambda d, sigma: d * (1 - sigma ** 2) ** 2,
             "the trace of I taken as 1": lambda d, sigma: (1 - sigma) ** 2,
             "the variances' difference": lambda d, sigma: d * abs(1 - sigma ** 2),
             "the standard deviations' difference": lambda d, sigma: d * abs(1 - sigma)}
    for name, answer in wrong.items():
        with pytest.raises(ExerciseError):
            check.predicted_fd(answer)
            pytest.fail(f"passed: {name}")


def _one_per_mode_and_the_rest_on_one(centres, std):
    return torch.cat([centres, centres[:1].repeat(2500 - len(centres), 1)])


def test_blind_spot_check_passes_a_construction_and_fails_a_blank_the_data_and_a_collapse(capsys):
    assert check.blind_spot(_one_per_mode_and_the_rest_on_one) == 2
    assert "reverse KL" in capsys.readouterr().out
    g = torch.Generator().manual_seed(0)
    wrong = {"blank": _placeholder,
             "samples of the data": lambda centres, std: centres[torch.randint(len(centres), (2500,), generator=g)]
             + std * torch.randn(2500, 2, generator=g),
             "all on one mode": lambda centres, std: centres[:1].repeat(2500, 1),
             "every mode but one": lambda centres, std: _one_per_mode_and_the_rest_on_one(centres[1:], std),
             "not 2,500": lambda centres, std: _one_per_mode_and_the_rest_on_one(centres, std)[:100],
             "forgot to return": lambda centres, std: None}
    for name, answer in wrong.items():
        with pytest.raises(ExerciseError):
            check.blind_spot(answer)
            pytest.fail(f"passed: {name}")


def _safe_clip(D, root=True, sqrt=True):
    shapes = [layer.weight.numel() for layer in D.modules() if isinstance(layer, torch.nn.Linear)]
    product = math.prod(n ** 0.5 if sqrt else n for n in shapes)
    return product ** (-1 / len(shapes)) if root else 1 / product


def test_largest_safe_clip_check_passes_the_root_and_fails_a_blank_and_the_usual_slips(capsys):
    assert check.largest_safe_clip(_safe_clip) == 3
    assert "guarantees a slope of at most 1.000" in capsys.readouterr().out
    wrong = {"blank": _placeholder, "no root": lambda D: _safe_clip(D, root=False),
             "m·n without the square root": lambda D: _safe_clip(D, sqrt=False), "the recipe's c": lambda D: 0.01}
    for name, answer in wrong.items():
        with pytest.raises(ExerciseError):
            check.largest_safe_clip(answer)
            pytest.fail(f"passed: {name}")


def test_doubling_layers_check_passes_two_doubling_triples_and_fails_the_usual_slips(capsys):
    assert check.doubling_layers(lambda: [(4, 2, 1), (2, 2, 0)]) == 2
    assert "4 → 8 → 16 → 32" in capsys.readouterr().out
    wrong = {"blank": _placeholder, "one triple twice": lambda: [(4, 2, 1), (4, 2, 1)],
             "kernel 3": lambda: [(4, 2, 1), (3, 2, 1)], "no padding": lambda: [(4, 2, 0), (2, 2, 0)],
             "stride 1": lambda: [(4, 2, 1), (3, 1, 1)], "not triples": lambda: [4, 2, 1],
             "forgot to return": lambda: None}
    for name, answer in wrong.items():
        with pytest.raises(ExerciseError):
            check.doubling_layers(answer)
            pytest.fail(f"passed: {name}")
