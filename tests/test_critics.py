import math

import pytest
import torch
from torch.testing import assert_close

from gancourse.critics import (
    WGAN_SETTINGS,
    critic_surface,
    fraction_at_bound,
    input_gradient_norms,
    interpolates,
    train_wgan,
)
from gancourse.data.toy import ring8


def _linear_critic(w=(3.0, 4.0), b=0.5):
    f = torch.nn.Linear(2, 1)
    with torch.no_grad():
        f.weight.copy_(torch.tensor([w]))
        f.bias.fill_(b)
    return torch.nn.Sequential(f, torch.nn.Flatten(0))


def test_interpolates_lie_on_the_segments():
    gen = torch.Generator().manual_seed(0)
    x_real, x_fake = torch.zeros(500, 2), torch.ones(500, 2)
    x_hat = interpolates(x_real, x_fake, gen)
    assert_close(x_hat[:, 0], x_hat[:, 1])  # on the diagonal between (0, 0) and (1, 1)
    assert 0 <= x_hat.min() and x_hat.max() <= 1
    assert abs(x_hat.mean().item() - 0.5) < 0.05  # α is uniform
    with pytest.raises(ValueError):
        interpolates(torch.zeros(3, 2), torch.zeros(4, 2))


def test_gradient_norm_of_a_linear_critic_is_its_slope():
    norms = input_gradient_norms(_linear_critic(), torch.randn(50, 2))
    assert_close(norms, torch.full((50,), 5.0))


def test_critic_surface_is_the_raw_output():
    xx, yy, f = critic_surface(_linear_critic(), ((-1, 1), (0, 2)), resolution=11)
    assert f.shape == (11, 11)
    assert_close(torch.tensor(f), torch.tensor(3 * xx + 4 * yy + 0.5, dtype=torch.float32))


def test_fraction_at_bound_counts_parameters_on_plus_minus_c():
    layer = torch.nn.Linear(3, 1)  # 3 weights and 1 bias
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.01, -0.01, 0.005]]))
        layer.bias.fill_(0.0)
    assert fraction_at_bound(layer, 0.01) == 0.5
    assert fraction_at_bound(layer, 0.005) == 0.75
    with pytest.raises(ValueError):
        fraction_at_bound(layer, 0.0)


def test_settings_are_the_papers():
    clip, gp = WGAN_SETTINGS["clipping"], WGAN_SETTINGS["penalty"]
    assert (clip["optimizer"], clip["lr_d"], clip["clip_value"], clip["n_critic"]) == ("rmsprop", 5e-5, 0.01, 5)
    assert (gp["optimizer"], gp["gp_weight"], gp["n_critic"]) == ("adam", 10.0, 5)


def test_clipped_critic_stays_in_the_box_and_piles_on_the_bound():
    run = train_wgan("clipping", ring8(), steps=5, batch_size=64, hidden=32, depth=2, log_every=1)
    flat = torch.cat([p.detach().flatten() for p in run.D.parameters()])
    assert flat.abs().max() <= 0.01 + 1e-7
    # initial weights ~U(-1/√32, 1/√32) are mostly beyond 0.01, so most land on ±c
    assert fraction_at_bound(run.D, 0.01) > 0.5
    assert len(run.history["w_estimate"]) == 5
    x = ring8().sample(200)
    assert input_gradient_norms(run.D, x).max() < 0.5  # a clipped MLP is far from 1-Lipschitz


def test_penalty_run_logs_the_penalty_and_rejects_unknown_names():
    run = train_wgan("penalty", ring8(), steps=3, batch_size=64, hidden=32, depth=2, log_every=1)
    assert len(run.history["gp"]) == 3 and all(math.isfinite(v) for v in run.history["gp"])
    assert run.settings["gp_weight"] == 10.0
    with pytest.raises(ValueError, match="clipping"):
        train_wgan("spectral", ring8(), steps=1)
