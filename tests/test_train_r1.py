"""The R1 penalty of train(): (γ/2)·E‖∇D(x_real)‖² added to the discriminator loss."""

import pytest
import torch
from torch.testing import assert_close

from gancourse.data.toy import ToyBatches, ring8
from gancourse.models import MLPGenerator
from gancourse.train import TrainConfig, train


class LinearD(torch.nn.Module):
    """D(x) = w·x + b: its input gradient is w everywhere, so R1 = ‖w‖² exactly."""

    def __init__(self, in_dim=2):
        super().__init__()
        self.f = torch.nn.Linear(in_dim, 1)
        with torch.no_grad():
            self.f.weight.copy_(torch.arange(1.0, in_dim + 1)[None])
            self.f.bias.zero_()

    def forward(self, x, y=None):
        return self.f(x).squeeze(1)


def _one_step(r1_weight, pack=1):
    torch.manual_seed(0)
    G, D = MLPGenerator(hidden=8, depth=1), LinearD(2 * pack)
    history = train(G, D, ToyBatches(ring8(), 8, seed=0), steps=1, optimizer="sgd", lr_d=0.1, lr_g=0.1,
                    r1_weight=r1_weight, pack=pack, log_every=1, progress=False, device="cpu")
    return D.f.weight.detach().clone(), history


def test_r1_is_logged_and_moves_d_by_its_exact_gradient():
    w0 = torch.tensor([[1.0, 2.0]])
    w_plain, h_plain = _one_step(0.0)
    w_r1, h_r1 = _one_step(2.0)
    assert "r1" not in h_plain.extra
    assert h_r1["r1"][0] == pytest.approx(5.0)  # ‖(1, 2)‖²
    # SGD: the penalty (γ/2)‖w‖² adds γ·w to the gradient, so the weights differ by -lr·γ·w0
    assert_close(w_r1 - w_plain, -0.1 * 2.0 * w0)


def test_r1_with_packing_sees_packed_real_batches():
    _, history = _one_step(1.0, pack=2)
    assert history["r1"][0] == pytest.approx(1 + 4 + 9 + 16)


def test_negative_r1_weight_is_refused():
    with pytest.raises(ValueError, match="r1_weight"):
        TrainConfig(r1_weight=-1.0).validate()
