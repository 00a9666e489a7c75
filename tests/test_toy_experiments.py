import math

import numpy as np
import pytest
import torch
from torch import nn

from gancourse import theory
from gancourse.data.toy import Gaussian, make_toy
from gancourse.models import MLPDiscriminator
from gancourse.toy_experiments import (
    ParallelLinesGenerator,
    fit_discriminator,
    parallel_lines_experiment,
    saturation_race,
    theta_gradient,
)


class Linear(nn.Module):
    """f(x) = a·x, a known critic whose gradients are easy to write down."""

    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float32))

    def forward(self, x):
        return x @ self.a


def test_parallel_lines_generator_draws_the_line():
    G = ParallelLinesGenerator(0.7)
    x = G(torch.randn(5000, 1, generator=torch.Generator().manual_seed(0)))
    assert x.shape == (5000, 2)
    torch.testing.assert_close(x[:, 0], torch.full((5000,), 0.7))
    assert 0.0 <= x[:, 1].min() and x[:, 1].max() <= 1.0
    assert abs(x[:, 1].mean().item() - 0.5) < 0.02  # uniform heights
    assert abs(x[:, 1].var().item() - 1 / 12) < 0.005


def test_theta_gradient_of_a_linear_critic():
    G = ParallelLinesGenerator(1.5)
    f = Linear([-2.0, 0.3])
    # generator loss -E f(θ, y) = 2θ - 0.3 E y, so d/dθ = 2 exactly
    assert theta_gradient(G, f, "wasserstein") == pytest.approx(2.0, abs=1e-6)
    # minimax: d/dθ E log(1 - σ(f)) = E[-σ(f) · ∂f/∂θ] = 2 E σ(f)
    z = torch.randn(2000, 1, generator=torch.Generator().manual_seed(0))
    expected = (2.0 * torch.sigmoid(f(G(z)))).mean().item()
    assert theta_gradient(G, f, "minimax") == pytest.approx(expected, rel=1e-5)
    assert G.theta.grad is None and f.a.grad is None  # leaves no gradients behind


def test_fit_discriminator_approaches_the_optimal_discriminator():
    p_data, p_g = Gaussian(-1.0, 1.0), Gaussian(1.0, 1.0)
    torch.manual_seed(0)
    D = MLPDiscriminator(1, hidden=32, depth=2)
    losses = fit_discriminator(D, p_data, p_g, steps=300, lr=5e-3, seed=0)
    assert len(losses) == 300
    x = np.linspace(-3, 3, 61)
    with torch.no_grad():
        d = torch.sigmoid(D(torch.tensor(x, dtype=torch.float32)[:, None])).numpy()
    d_star = theory.optimal_discriminator(theory.density_on_grid(p_data, x), theory.density_on_grid(p_g, x))
    assert np.abs(d - d_star).max() < 0.1  # D* = σ(-2x) here
    # the loss at the end estimates -V(D*, G) = log 4 - 2 JS
    grid = np.linspace(-10, 10, 4001)
    v_star = theory.optimal_value(theory.density_on_grid(p_data, grid), theory.density_on_grid(p_g, grid), grid)
    assert abs(-np.mean(losses[-50:]) - v_star) < 0.05


def test_fit_discriminator_checks_its_arguments():
    D = MLPDiscriminator(1, hidden=8, depth=1)
    with pytest.raises(ValueError, match="bce"):
        fit_discriminator(D, Gaussian(0.0, 1.0), Gaussian(1.0, 1.0), loss="hinge")
    with pytest.raises(TypeError, match="toy distribution"):
        fit_discriminator(D, Gaussian(0.0, 1.0), [1.0, 2.0], steps=1)


def test_parallel_lines_bce_gradient_vanishes_and_critic_gradient_is_sign_theta():
    result = parallel_lines_experiment(1.0, steps=200)
    assert result.d_fake_max < 0.01
    assert abs(result.grad_minimax) < 0.02
    # the soft penalty makes the best slope 1 + |θ|/(2λ) = 1.05, not exactly 1
    assert result.grad_critic == pytest.approx(theory.gp_critic_slope(1.0), abs=0.03)
    assert result.w_estimate == pytest.approx(1.05, abs=0.03)
    flipped = parallel_lines_experiment(-0.5, steps=200)
    assert flipped.grad_critic == pytest.approx(-theory.gp_critic_slope(0.5), abs=0.03)


def test_saturation_race_minimax_stalls_and_nonsaturating_moves():
    race = saturation_race(make_toy("gaussian2d"), steps=60, pretrain_steps=200, record_every=20)
    assert race.steps == [0, 20, 40, 60]
    assert race.d_fake_start < 0.01
    start = race.distance["minimax"][0]
    assert start == pytest.approx(race.distance["nonsaturating"][0])  # same starting point
    assert start == pytest.approx(math.hypot(4.0, 4.0), abs=1.0)  # offset (-3, 3) from the mean (1, -1)
    assert race.distance["minimax"][-1] > 0.95 * start
    assert race.distance["nonsaturating"][-1] < 0.5 * start
