import math

import pytest
import torch
from torch.testing import assert_close

from gancourse import losses
from gancourse.models import DCGANDiscriminator, MLPDiscriminator


def test_bce_at_chance_is_2_log_2():
    zero = torch.zeros(8)
    assert_close(losses.d_bce(zero, zero), torch.tensor(2 * math.log(2)))


def test_closed_forms():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    assert_close(losses.d_bce(real, fake), -(sig(real).log().mean() + (1 - sig(fake)).log().mean()))
    assert_close(losses.g_saturating(fake), (1 - sig(fake)).log().mean())
    assert_close(losses.g_nonsaturating(fake), -sig(fake).log().mean())
    assert_close(losses.d_wasserstein(real, fake), fake.mean() - real.mean())
    assert_close(losses.g_wasserstein(fake), -fake.mean())
    assert_close(losses.d_hinge(real, fake), torch.tensor(((0.0 + 2.0) / 2) + ((1.5 + 0.0) / 2)))
    assert_close(losses.g_hinge(fake), -fake.mean())
    assert_close(losses.d_least_squares(real, fake), 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean())
    assert_close(losses.g_least_squares(fake), 0.5 * ((fake - 1) ** 2).mean())


def test_losses_stay_finite_for_huge_logits():
    big = torch.tensor([-200.0, 200.0])
    for fn in (losses.g_saturating, losses.g_nonsaturating):
        assert torch.isfinite(fn(big))
    assert torch.isfinite(losses.d_bce(big, big))


def _logit_grad(fn, logit):
    x = torch.tensor([logit], requires_grad=True)
    fn(x).backward()
    return x.grad.item()


def test_saturating_gradient_vanishes_where_nonsaturating_does_not():
    # D(G(z)) = sigmoid(-10) ≈ 4.5e-5: G is easily spotted
    sat = _logit_grad(losses.g_saturating, -10.0)
    ns = _logit_grad(losses.g_nonsaturating, -10.0)
    assert abs(sat) < 1e-4  # -σ(ℓ)
    assert abs(ns + 1) < 1e-4  # σ(ℓ) - 1 ≈ -1
    assert_close(torch.tensor(sat), -torch.sigmoid(torch.tensor(-10.0)))


def test_minimax_and_nonsaturating_differ():
    fake = torch.tensor([-2.0, 0.3])
    assert not torch.allclose(losses.g_saturating(fake), losses.g_nonsaturating(fake))
    assert losses.LOSS_FAMILIES["minimax"][1] is losses.g_saturating
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


def test_gradient_penalty_on_image_critic():
    D = DCGANDiscriminator(image_size=28, channels=1, width=8, norm="layer")
    gp = losses.gradient_penalty(D, torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28))
    assert gp.dim() == 0 and gp >= 0


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
