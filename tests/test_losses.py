import math

import pytest
import torch
from torch.testing import assert_close

from gancourse import losses
from gancourse.models import MLPDiscriminator


def test_bce_at_chance_is_2_log_2():
    zero = torch.zeros(8)
    assert_close(losses.d_bce(zero, zero), torch.tensor(2 * math.log(2)))


def test_bce_losses_match_the_textbooks_sigmoid_form():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    assert_close(losses.d_bce(real, fake), -(sig(real).log().mean() + (1 - sig(fake)).log().mean()))
    assert_close(losses.g_minimax(fake), (1 - sig(fake)).log().mean())
    assert_close(losses.g_nonsaturating(fake), -sig(fake).log().mean())


def test_other_losses_at_hand_computed_values():
    # real logits (2, -1), fake logits (0.5, -3): means 0.5 and -1.25
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    assert_close(losses.d_wasserstein(real, fake), torch.tensor(-1.75))  # -(0.5 - (-1.25))
    assert_close(losses.g_wasserstein(fake), torch.tensor(1.25))
    assert_close(losses.d_hinge(real, fake), torch.tensor(1.75))  # mean(0, 2) + mean(1.5, 0)
    assert_close(losses.g_hinge(fake), torch.tensor(1.25))
    assert_close(losses.d_least_squares(real, fake), torch.tensor(3.5625))  # ½ mean(1, 4) + ½ mean(0.25, 9)
    assert_close(losses.g_least_squares(fake), torch.tensor(4.0625))  # ½ mean(0.25, 16)


def test_losses_stay_finite_for_huge_logits():
    big = torch.tensor([-200.0, 200.0])
    for fn in (losses.g_minimax, losses.g_nonsaturating):
        assert torch.isfinite(fn(big))
    assert torch.isfinite(losses.d_bce(big, big))


def _logit_grad(fn, logit):
    x = torch.tensor([logit], requires_grad=True)
    fn(x).backward()
    return x.grad.item()


def test_minimax_gradient_vanishes_where_nonsaturating_does_not():
    # D(G(z)) = sigmoid(-10) ≈ 4.5e-5: G is easily spotted
    sat = _logit_grad(losses.g_minimax, -10.0)
    ns = _logit_grad(losses.g_nonsaturating, -10.0)
    assert abs(sat) < 1e-4  # -σ(ℓ)
    assert abs(ns + 1) < 1e-4  # σ(ℓ) - 1 ≈ -1
    assert_close(torch.tensor(sat), -torch.sigmoid(torch.tensor(-10.0)))


def test_minimax_and_nonsaturating_differ():
    fake = torch.tensor([-2.0, 0.3])
    assert not torch.allclose(losses.g_minimax(fake), losses.g_nonsaturating(fake))
    assert losses.LOSS_FAMILIES["minimax"][1] is losses.g_minimax
    assert losses.LOSS_FAMILIES["nonsaturating"][1] is losses.g_nonsaturating


class _Linear(torch.nn.Module):
    """f(x) = <w, x>: its gradient norm is ‖w‖ everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = w

    def forward(self, x):
        return (x.flatten(1) * self.w.flatten()).sum(1)


@pytest.mark.parametrize("shape", [(2,), (1, 28, 28), (3, 32, 32), (5, 8, 8)])
def test_gradient_penalty_closed_form_any_shape(shape):
    w = torch.randn(*shape)
    D = _Linear(w)
    x_real, x_fake = torch.randn(6, *shape), torch.randn(6, *shape)
    expected = (w.norm() - 1) ** 2
    assert_close(losses.gradient_penalty(D, x_real, x_fake), expected)


def test_gradient_penalty_backpropagates_into_D():
    D = MLPDiscriminator()
    gp = losses.gradient_penalty(D, torch.randn(8, 2), torch.randn(8, 2))
    gp.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())


class _Square(torch.nn.Module):
    """f(x) = ‖x‖²: ∇f(x) = 2x, so the gradient norm is 2‖x‖ and depends on where it is taken."""

    def forward(self, x):
        return x.flatten(1).pow(2).sum(1)


def test_gradient_penalty_is_taken_between_real_and_fake():
    # real at 0, fake at (1, 1, 1, 1): x̂ = (1 - α)·1, so ‖∇f(x̂)‖ = 2‖x̂‖ = 4(1 - α) with α ~ U(0, 1)
    torch.manual_seed(0)
    gp = losses.gradient_penalty(_Square(), torch.zeros(20_000, 4), torch.ones(20_000, 4))
    # E[(4u - 1)²] for u ~ U(0, 1) = 16/3 - 4 + 1 = 7/3; taken at x_real alone it would be 1, at x_fake alone 9
    assert_close(gp, torch.tensor(7 / 3), atol=0.05, rtol=0)


def test_interpolates_lie_on_the_segments():
    gen = torch.Generator().manual_seed(0)
    x_real, x_fake = torch.zeros(500, 2), torch.ones(500, 2)
    x_hat = losses.interpolates(x_real, x_fake, gen)
    assert_close(x_hat[:, 0], x_hat[:, 1])  # one α per sample: on the diagonal between (0, 0) and (1, 1)
    assert 0 <= x_hat.min() and x_hat.max() <= 1
    assert abs(x_hat.mean().item() - 0.5) < 0.05  # α is uniform
    assert_close(losses.interpolates(x_real, x_fake, torch.Generator().manual_seed(0)), x_hat)  # seeded
    with pytest.raises(ValueError, match="differ in shape"):
        losses.interpolates(torch.zeros(3, 2), torch.zeros(4, 2))


def test_r1_penalty_closed_forms():
    w = torch.tensor([3.0, 4.0])
    assert_close(losses.r1_penalty(_Linear(w), torch.randn(10, 2)), torch.tensor(25.0))  # ‖w‖²
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert_close(losses.r1_penalty(_Square(), x), torch.tensor(10.0))  # mean of ‖2x‖² = (4 + 16) / 2
    D = MLPDiscriminator()
    losses.r1_penalty(D, torch.randn(8, 2)).backward()  # trainable: the graph is kept
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())


def test_gradient_penalty_shape_mismatch():
    with pytest.raises(ValueError, match="differ in shape"):
        losses.gradient_penalty(MLPDiscriminator(), torch.randn(4, 2), torch.randn(5, 2))


def test_clip_weights():
    D = MLPDiscriminator()
    losses.clip_weights_(D, 0.01)
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01
    with pytest.raises(ValueError, match="positive"):
        losses.clip_weights_(D, 0)


def test_unknown_loss_lists_names():
    with pytest.raises(ValueError, match="minimax, nonsaturating, wasserstein, hinge, least_squares"):
        losses.get_loss_family("vanilla")


# --- label smoothing and noisy labels (09_conditional_and_beyond) ------------------------------


def _check_one_sided_smoothing(loss_fn, s=0.1):
    """D's loss with one-sided smoothing on logits whose loss is worked out by hand."""
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([0.0, -1.0])
    # real: (1 - s)·softplus(-ℓ) + s·softplus(ℓ) per sample; fake: softplus(ℓ) (its target stays 0)
    sp = lambda v: math.log1p(math.exp(v))  # noqa: E731
    want_real = ((1 - s) * sp(0) + s * sp(0) + (1 - s) * sp(-2) + s * sp(2)) / 2
    want_fake = (sp(0) + sp(-1)) / 2
    assert_close(loss_fn(real, fake, s), torch.tensor(want_real + want_fake))  # 0.5907 + 0.5032 for s = 0.1


def _smoothed_reference(real, fake, s):
    no_flip = torch.zeros(len(real), dtype=torch.bool)
    return losses.d_bce_targets(real, fake, *losses.bce_targets(no_flip, no_flip, s))


def test_one_sided_smoothing_at_hand_computed_values():
    _check_one_sided_smoothing(_smoothed_reference)
    # s = 0 is the plain BCE loss
    real, fake = torch.randn(6), torch.randn(6)
    assert_close(_smoothed_reference(real, fake, 0.0), losses.d_bce(real, fake))


def test_two_sided_smoothing_fails_the_check():
    def two_sided(real, fake, s):  # fake targets raised to s as well: not what Salimans et al. advise
        return losses.d_bce_targets(real, fake, 1 - s, s)

    with pytest.raises(AssertionError):
        _check_one_sided_smoothing(two_sided)


def test_bce_targets_flip_labels_and_keep_smoothing_on_the_positive_side():
    flip_real, flip_fake = torch.tensor([False, True]), torch.tensor([True, False])
    real_t, fake_t = losses.bce_targets(flip_real, flip_fake, smoothing=0.2)
    assert_close(real_t, torch.tensor([0.8, 0.0]))  # a flipped real sample is labelled fake
    assert_close(fake_t, torch.tensor([0.8, 0.0]))  # a flipped fake one is labelled real, smoothed


def test_bce_targets_one_and_zero_give_the_plain_bce_loss():
    real, fake = torch.randn(50) * 3, torch.randn(30) * 3
    assert_close(losses.d_bce_targets(real, fake, 1.0, 0.0), losses.d_bce(real, fake))
    assert_close(losses.d_bce_targets(real, fake, torch.ones(50), torch.zeros(30)), losses.d_bce(real, fake))


def test_fgan_js_is_the_gans_discriminator_loss_minus_log_4():
    # the f-GAN of the table's JS row (2·JS) trains D on the original GAN's loss, up to a constant
    real, fake = torch.tensor([2.0, -1.0, 0.3]), torch.tensor([0.5, -3.0, 1.0])
    d_js, g_js = losses.LOSS_FAMILIES["fgan_js"]
    assert_close(d_js(real, fake), losses.d_bce(real, fake) - math.log(4))
    assert_close(g_js(fake), -losses.F.softplus(fake).mean() + math.log(2))  # the minimax G, up to a constant
    d_kl, _ = losses.LOSS_FAMILIES["fgan_kl"]  # the wrong variant: another divergence's row is not that loss
    assert not torch.allclose(d_kl(real, fake), losses.d_bce(real, fake) - math.log(4))


def test_fgan_losses_at_hand_computed_values():
    real, fake = torch.tensor([0.0, 1.0]), torch.tensor([1.0, 3.0])
    d_kl, g_kl = losses.fgan_losses("kl")
    assert_close(d_kl(real, fake), torch.tensor(-0.5 + (1 + math.e**2) / 2))  # −mean(v) + mean(e^(v−1))
    assert_close(g_kl(fake), torch.tensor(-(1 + math.e**2) / 2))
    d_rkl, _ = losses.fgan_losses("reverse_kl")
    assert_close(d_rkl(real, fake), torch.tensor((1 + math.exp(-1)) / 2 + 1.0))  # mean(e^−v) + mean(v − 1)


def test_relativistic_average_losses_at_hand_computed_values():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([0.0, -2.0])  # means 1 and −1
    sp = losses.F.softplus
    # D: softplus(−(ℓ_r − (−1))) averaged, plus softplus(ℓ_f − 1) averaged
    expected_d = (sp(torch.tensor(-3.0)) + sp(torch.tensor(-1.0))) / 2 \
        + (sp(torch.tensor(-1.0)) + sp(torch.tensor(-3.0))) / 2
    assert_close(losses.d_relativistic_average(real, fake), expected_d)
    expected_g = (sp(torch.tensor(1.0)) + sp(torch.tensor(3.0))) / 2 \
        + (sp(torch.tensor(3.0)) + sp(torch.tensor(1.0))) / 2
    assert_close(losses.g_relativistic_average(fake, real), expected_g)
    # shifting every logit by the same amount changes nothing: only differences to the other side's mean count
    assert_close(losses.d_relativistic_average(real + 5, fake + 5), expected_d)
    assert not torch.allclose(losses.d_bce(real + 5, fake + 5), losses.d_bce(real, fake))  # the absolute loss does move


def test_relativistic_generator_sends_no_gradient_to_the_real_scores():
    real = torch.tensor([1.0, 0.5], requires_grad=True)
    fake = torch.tensor([0.0, -1.0], requires_grad=True)
    losses.g_relativistic_average(fake, real).backward()
    assert real.grad is None and fake.grad is not None and (fake.grad < 0).all()  # G raises its fakes' scores


def test_an_unknown_divergence_and_a_relativistic_probe_are_refused_in_one_line():
    from gancourse.metrics.probes import generator_gradient_norm
    from gancourse.models import MLPGenerator

    with pytest.raises(ValueError, match="unknown divergence 'foo'"):
        losses.fgan_losses("foo")
    G, D = MLPGenerator(z_dim=2, out_dim=2, hidden=8, depth=2), MLPDiscriminator(in_dim=2, hidden=8, depth=2)
    with pytest.raises(ValueError, match="compares fakes with real data"):
        generator_gradient_norm(G, D, "relativistic", torch.randn(4, 2))
    assert generator_gradient_norm(G, D, "nonsaturating", torch.randn(4, 2)) > 0
