"""The exercise checks of 09_conditional_and_beyond."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from gancourse import losses
from gancourse.check._compare import compare


def _logit_pairs(seed: int = 0) -> list[tuple]:
    # logits of both signs and well beyond ±1, where the hinge's max(0, ·) cuts
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, generator=g) * scale + shift, torch.randn(8, generator=g) * scale - shift)
            for scale, shift in ((1, 0), (2, 2), (2, -2), (0.3, 0.5))]


def hinge_d_loss(answer: Callable) -> int:
    """09: the hinge loss of D, E[max(0, 1 - ℓ_real)] + E[max(0, 1 + ℓ_fake)], from D's logits."""
    return compare("hinge_d_loss", answer, losses.d_hinge, _logit_pairs(),
                   hint="each real logit is pushed above +1 and each fake one below -1, and a logit already past "
                        "its margin costs nothing: what does each term cost as a function of its logit?",
                   show=lambda case: f"real logits with mean {case[0].mean():.2f}, fake with mean {case[1].mean():.2f}")


def _conditioned_input(z: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    # what DCGANGenerator feeds its first layer: z, then the one-hot label, along dim 1
    return torch.cat([z, F.one_hot(y, n_classes).to(z.dtype)], 1)  # (B, z_dim + n_classes)


def _label_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    # the last case holds no label of the highest class: the width must come from n_classes, not from y
    return [(torch.randn(4, 3, generator=g), torch.tensor([0, 1, 2, 9]), 10),
            (torch.randn(5, 8, generator=g), torch.tensor([3, 3, 0, 1, 2]), 4),
            (torch.randn(3, 2, generator=g), torch.tensor([0, 1, 0]), 10)]


def conditioned_input(answer: Callable) -> int:
    """09: a conditional generator's input, z (B, z_dim) with the one-hot label of y (B,) appended."""
    return compare("conditioned_input", answer, _conditioned_input, _label_cases(),
                   hint="the label's code has width n_classes even when a batch lacks some class, and must have z's "
                        "dtype; it goes after z, along the feature axis, not the batch axis.",
                   show=lambda case: f"z of shape {tuple(case[0].shape)}, y = {case[1].tolist()}, n_classes {case[2]}")


def _half_point(mu: float, alpha: float, beta: float) -> float:
    # D* = (α p + β q)/(p + q) = 1/2  <=>  r = p/q = (1/2 - β)/(α - 1/2); for p = N(0, 1), q = N(μ, 1),
    # log r = μ²/2 - μx (the x² terms cancel), so x = μ/2 - log r / μ
    return mu / 2 - math.log((0.5 - beta) / (alpha - 0.5)) / mu


@functools.cache
def measured_half_point(mu: float, label_smoothing: float, label_flip: float, steps: int = 800,
                        seed: int = 0) -> float:
    """Where a D trained alone, data N(0, 1) against fakes N(μ, 1), crosses 1/2 (on a grid of step 0.002).

    D is an MLP trained alone by :func:`gancourse.experiments.fit_discriminator` with the labelling's
    options, so its real targets are α = (1 - p)(1 - s) and its fake ones β = p(1 - s) on average.
    """
    from gancourse.data.toy import Gaussian
    from gancourse.experiments import fit_discriminator
    from gancourse.models import MLPDiscriminator

    torch.manual_seed(seed)
    D = MLPDiscriminator(1, hidden=32, depth=2)
    fit_discriminator(D, Gaussian(0.0, 1.0), Gaussian(mu, 1.0), steps=steps, batch_size=512, lr=2e-3, seed=seed,
                      label_smoothing=label_smoothing, label_flip=label_flip)
    x = torch.linspace(-1.0, mu + 1.0, int(round((mu + 2) / 0.002)) + 1)[:, None]  # (n, 1)
    with torch.no_grad():
        d = torch.sigmoid(D(x)).reshape(-1)
    return float(x[int((d - 0.5).abs().argmin())])


def half_point(answer: Callable) -> int:
    """09: where D* = 1/2 for data N(0, 1), fakes N(μ, 1), real targets α and fake targets β.

    The answer is compared with the exact point on five cases, then with where a D trained on the two
    Gaussians crosses 1/2 under one-sided smoothing s = 0.2 (α = 0.8, β = 0) and under a share p = 0.2
    of labels flipped (α = 0.8, β = 0.2), within 0.08.
    """
    hint = ("set D*(x) = 1/2 in D* = (α p_data + β p_g)/(p_data + p_g) and solve for the ratio p_data/p_g first; "
            "then write the log of that ratio for two Gaussians of variance 1 (the x² terms cancel) and solve "
            "for x. Check your answer at α = 1, β = 0, where it must be the midpoint μ/2.")
    exact = [(2.0, 0.9, 0.0), (1.0, 0.7, 0.1), (3.0, 0.95, 0.3), (0.5, 0.6, 0.2), (1.5, 0.81, 0.09)]
    n = compare("half_point", answer, _half_point, exact, hint=hint,
                show=lambda case: f"μ = {case[0]:g}, α = {case[1]:g}, β = {case[2]:g}")
    trained = {(2.0, 0.8, 0.0): (0.2, 0.0), (2.0, 0.8, 0.2): (0.0, 0.2)}  # (μ, α, β) -> (s, p)
    measured = {case: measured_half_point(case[0], *labels) for case, labels in trained.items()}
    n += compare("half_point", answer, lambda *case: measured[case], list(trained), atol=0.08, rtol=0.0, hint=hint,
                 show=lambda case: f"μ = {case[0]:g}, α = {case[1]:g}, β = {case[2]:g} (a D trained on the two "
                                   f"Gaussians crosses 1/2 at {measured[case]:.3f})")
    for (mu, alpha, beta), x in measured.items():
        print(f"  μ = {mu:g}, α = {alpha:g}, β = {beta:g}: predicted {float(answer(mu, alpha, beta)):.3f}, "
              f"a trained D crosses 1/2 at {x:.3f}")
    return n
