import pytest
import torch
from torch import nn
from torch.testing import assert_close

from gancourse.losses import clip_weights_
from gancourse.metrics.probes import (
    clipped_lipschitz_bound,
    critic_gradient_norms,
    fraction_at_bound,
    generator_gradient_norm,
    input_gradient_norms,
    judge,
    theta_gradient,
    transport_alignment,
)
from gancourse.models import DCGANDiscriminator, MLPDiscriminator, ParallelLinesGenerator, toy_networks


class Linear(nn.Module):
    """f(x) = a·x, a known critic whose gradients are easy to write down."""

    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float32))

    def forward(self, x):
        return x.flatten(1) @ self.a.flatten()


def test_gradient_norm_of_a_linear_critic_is_its_slope():
    f = Linear([3.0, 4.0])
    assert_close(input_gradient_norms(f, torch.randn(50, 2)), torch.full((50,), 5.0))
    assert f.a.grad is None  # D's parameters get no gradient


def test_gradient_norm_of_a_quadratic_critic_depends_on_the_point():
    class Square(nn.Module):  # f(x) = ‖x‖²: ∇f = 2x, so the norm is 2‖x‖, not a constant
        def __init__(self):
            super().__init__()
            self.unused = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return (x**2).sum(1)

    x = torch.tensor([[3.0, 4.0], [0.0, 0.5]])
    assert_close(input_gradient_norms(Square(), x), torch.tensor([10.0, 1.0]))


def test_critic_gradient_norms_look_between_real_and_fake():
    class Square(nn.Module):  # f(x) = ‖x‖²: ‖∇f(x̂)‖ = 2‖x̂‖ tells where x̂ lies
        def __init__(self):
            super().__init__()
            self.unused = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x.flatten(1).pow(2).sum(1)

    x_real, x_fake = torch.zeros(200, 4), torch.ones(200, 4)  # ‖∇f‖ is 0 at x_real and 4 at x_fake
    norms = critic_gradient_norms(Square(), x_real, x_fake, seed=3)
    alpha = torch.rand(200, 1, generator=torch.Generator().manual_seed(3))[:, 0]  # the draws the probe makes
    assert_close(norms, 4 * (1 - alpha))  # x̂ = α·0 + (1 - α)·1
    assert 0.2 < norms.std() and 1.5 < norms.mean() < 2.5  # neither all at x_real nor all at x_fake


def test_fraction_at_bound_counts_parameters_on_plus_minus_c():
    layer = torch.nn.Linear(3, 1)  # 3 weights and 1 bias
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.01, -0.01, 0.005]]))
        layer.bias.fill_(0.0)
    assert fraction_at_bound(layer, 0.01) == 0.5
    assert fraction_at_bound(layer, 0.005) == 0.75
    with pytest.raises(ValueError):
        fraction_at_bound(layer, 0.0)


def test_judge_sees_batches_as_in_training_and_changes_nothing():
    D = DCGANDiscriminator(image_size=28, channels=1, width=8)
    D.eval()
    x = torch.rand(10, 1, 28, 28) * 2 - 1
    buffers = {k: v.clone() for k, v in D.named_buffers()}
    p = judge(D, x, batch_size=5)
    scores = judge(D, x, batch_size=5, probability=False)
    assert not D.training
    for k, v in D.named_buffers():
        assert_close(v, buffers[k])
    D.train()
    with torch.no_grad():
        expected = torch.cat([D(x[:5]), D(x[5:])])
    assert_close(scores, expected)
    assert_close(p, torch.sigmoid(expected))
    D.eval()
    with torch.no_grad():
        assert not torch.allclose(D(x), expected)  # in eval mode batch norm would answer otherwise


def test_theta_gradient_of_a_linear_critic():
    G = ParallelLinesGenerator(1.5)
    f = Linear([-2.0, 0.3])
    # generator loss -E f(θ, y) = 2θ - 0.3 E y, so d/dθ = 2 exactly
    assert theta_gradient(G, f, "wasserstein") == pytest.approx(2.0, abs=1e-6)
    # minimax: d/dθ E log(1 - σ(f)) = E[-σ(f) · ∂f/∂θ] = 2 E σ(f)
    z = torch.randn(2000, 1, generator=torch.Generator().manual_seed(0))
    expected = (2.0 * torch.sigmoid(f(G(z)))).mean().item()
    assert theta_gradient(G, f, "minimax") == pytest.approx(expected, rel=1e-5)
    # non-saturating: d/dθ -E log σ(f) = E[-(1 - σ(f)) · ∂f/∂θ] = 2 E (1 - σ(f)), another number
    assert theta_gradient(G, f, "nonsaturating") == pytest.approx(2.0 - expected, rel=1e-5)
    assert G.theta.grad is None and f.a.grad is None  # leaves no gradients behind


class Shift(nn.Module):
    """G(z) = z + b: ∂G/∂b is the identity, so G's gradient is the mean of the gradient at x."""

    def __init__(self, dim):
        super().__init__()
        self.z_dim = dim
        self.b = nn.Parameter(torch.zeros(dim))

    def forward(self, z):
        return z + self.b


def test_generator_gradient_norm_matches_the_closed_form_of_each_loss():
    # D(x) = sigmoid(a·x): minimax gives ∇_b = -mean(D) a, non-saturating -mean(1 - D) a
    a = torch.tensor([3.0, 4.0])
    G, D = Shift(2), Linear(a.tolist())
    z = torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) - 2.0  # D(G(z)) mostly small
    d_fake = torch.sigmoid(z @ a)
    assert_close(generator_gradient_norm(G, D, "minimax", z), (d_fake.mean() * 5.0).item(), rtol=1e-5, atol=0)
    assert_close(generator_gradient_norm(G, D, "nonsaturating", z), ((1 - d_fake).mean() * 5.0).item(),
                 rtol=1e-5, atol=0)
    assert G.b.grad is None and D.a.grad is None


def test_notebook_01_gradient_check_fails_when_the_discriminator_is_not_confident():
    # 01 asserts the minimax gradient is under 1 % of the non-saturating one where D(G(z)) ~ 0
    a = torch.tensor([3.0, 4.0])
    G, D = Shift(2), Linear(a.tolist())
    far = torch.full((100, 2), -2.0)  # logit -14: D(G(z)) ~ 1e-6
    ratio = generator_gradient_norm(G, D, "minimax", far) / generator_gradient_norm(G, D, "nonsaturating", far)
    assert ratio < 0.01
    near = torch.zeros(100, 2)  # logit 0: D(G(z)) = 1/2, both losses pull equally
    ratio = generator_gradient_norm(G, D, "minimax", near) / generator_gradient_norm(G, D, "nonsaturating", near)
    assert not ratio < 0.01
    # the check also catches a "minimax" that is secretly the non-saturating loss
    same = generator_gradient_norm(G, D, "nonsaturating", far) / generator_gradient_norm(G, D, "nonsaturating", far)
    assert not same < 0.01


def test_clipped_lipschitz_bound_of_a_known_network():
    # 2 -> 3 -> 1 with every weight +c: the bound is c·√6 · c·√3; a network of equal signs nearly reaches it
    D = MLPDiscriminator(2, hidden=3, depth=1)
    with torch.no_grad():
        for p in D.parameters():
            p.fill_(0.1)
    bound = clipped_lipschitz_bound(D, 0.1)
    assert bound == pytest.approx(0.1 * 6**0.5 * 0.1 * 3**0.5)
    x = torch.rand(50, 2) + 1.0  # where every unit is active: f(x) = 0.03 (x₁ + x₂) + const, slope 0.03·√2
    assert_close(input_gradient_norms(D, x), torch.full((50,), 0.03 * 2**0.5))
    assert input_gradient_norms(D, x).max() <= bound
    with pytest.raises(ValueError):
        clipped_lipschitz_bound(D, -1.0)


def test_notebook_05_slope_check_fails_on_an_unclipped_critic():
    # 05 asserts every ‖∇f‖ of the clipped critic is within clipped_lipschitz_bound(D, c)
    _, D = toy_networks(2)
    x = torch.randn(500, 2)
    assert not input_gradient_norms(D, x).max() <= clipped_lipschitz_bound(D, 0.01)  # as initialised: fails
    clip_weights_(D, 0.01)
    assert input_gradient_norms(D, x).max() <= clipped_lipschitz_bound(D, 0.01)


def test_notebook_05_first_clip_share_follows_from_the_initialisation():
    # 05 asserts a fresh critic clipped once has about 1 - c·√128 of its parameters on ±c (PyTorch's U(±1/√n))
    torch.manual_seed(0)
    c = 0.01
    _, D = toy_networks(2)
    clip_weights_(D, c)
    assert abs(fraction_at_bound(D, c) - (1 - c * 128**0.5)) < 0.02
    # drawn like DCGAN's N(0, 0.02) instead, about 62 % land on the walls: the check fails
    _, D = toy_networks(2)
    with torch.no_grad():
        for p in D.parameters():
            p.normal_(0.0, 0.02)
    clip_weights_(D, c)
    assert not abs(fraction_at_bound(D, c) - (1 - c * 128**0.5)) < 0.02


def test_transport_alignment_measures_the_direction_of_a_critic_not_its_scale():
    g = torch.Generator().manual_seed(0)
    x_fake = torch.randn(300, 2, generator=g)
    x_real = x_fake + torch.tensor([0.5, 0.0])  # the optimal plan moves every point by the same vector
    along, across = Linear([1.0, 0.0]), Linear([0.0, 1.0])
    assert_close(transport_alignment(along, x_fake, x_real), torch.ones(300))
    assert transport_alignment(across, x_fake, x_real).abs().max() < 1e-3  # a critic of the wrong shape
    assert_close(transport_alignment(Linear([1e-3, 0.0]), x_fake, x_real), torch.ones(300))  # scale is no shape
    assert_close(transport_alignment(Linear([-1.0, 0.0]), x_fake, x_real), -torch.ones(300))
    # the pairing is the plan's, not the order of the rows
    order = torch.randperm(300, generator=g)
    assert_close(transport_alignment(along, x_fake, x_real[order]), torch.ones(300))
    with pytest.raises(ValueError, match="one size"):
        transport_alignment(along, x_fake, x_real[:10])


def test_a_critic_that_has_not_learnt_the_plan_fails_05s_shape_check():
    # 05: the clipped critic, a thousand times flatter, still points along the transport plan (median cosine > 0.85);
    # the same network as initialised, before the fit, points anywhere
    from gancourse.data import make_toy
    from gancourse.data.toy import Gaussian
    from gancourse.experiments import fit_critics

    fit = fit_critics(make_toy("ring8"), Gaussian([0.0, 0.0], 0.3), clip_values=(0.01,), gp_weights=(), steps=300,
                      n_eval=500)["clipping", 0.01]
    assert transport_alignment(fit.D, fit.x_fake, fit.x_real).median() > 0.85
    torch.manual_seed(0)
    untrained = MLPDiscriminator(2)
    clip_weights_(untrained, 0.01)
    assert transport_alignment(untrained, fit.x_fake, fit.x_real).median() < 0.85
