"""The exercise checks of 01_first_gan."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from gancourse import losses
from gancourse.check._compare import ExerciseError, _logit_cases, _run, compare


def nonsaturating_loss(answer: Callable) -> int:
    """01: the non-saturating generator loss, −E[log D(G(z))], from D's logits on fake samples."""
    return compare("nonsaturating_loss", answer, losses.g_nonsaturating, _logit_cases(),
                   hint="G wants D(G(z)) near 1 and a loss is minimised: which sign, and which of log σ(ℓ) and "
                        "log(1 − σ(ℓ)), is this loss? From logits, σ then log loses everything once σ(ℓ) "
                        "rounds to 0; torch.nn.functional has a stable form of log σ. Average over the batch.",
                   show=lambda case: f"logits with mean {case[0].mean():.2f}")


def discriminator_loss(answer: Callable) -> int:
    """01: the discriminator's BCE loss, −E[log D(x)] − E[log(1 − D(G(z)))], from its logits on both batches."""
    g = torch.Generator().manual_seed(1)
    cases = [(torch.randn(8, generator=g) * scale + shift, torch.randn(8, generator=g) * scale - shift)
             for scale, shift in ((1, 0), (2, 3), (2, -3), (0.1, 0))]
    return compare("discriminator_loss", answer, losses.d_bce, cases,
                   hint="D maximises V and a loss is minimised. Rewrite log(1 − σ(ℓ)) with σ(−ℓ) = 1 − σ(ℓ), so that "
                        "both terms take the same stable function of a logit (torch.nn.functional has one), "
                        "each averaged over its own batch.",
                   show=lambda case: f"real logits with mean {case[0].mean():.2f}, fake with mean {case[1].mean():.2f}")


def _measured_logit_gradients(d: float) -> tuple[float, float]:
    """∂/∂ℓ of the package's minimax and non-saturating generator losses at the logit ℓ with σ(ℓ) = d, by autograd."""
    logit = torch.tensor([math.log(d) - math.log1p(-d)], dtype=torch.float64, requires_grad=True)  # σ(ℓ) = d
    grads = [torch.autograd.grad(loss(logit), logit)[0].item() for loss in (losses.g_minimax, losses.g_nonsaturating)]
    return grads[0], grads[1]


def _pair(name: str, answer: Callable, d: float) -> tuple[float, float]:
    got = _run(answer, d)
    if got is None:
        raise ExerciseError(f"{name}: your function returned None; did you forget `return`?")
    try:
        minimax, nonsaturating = (float(g) for g in got)
    except (TypeError, ValueError):
        raise ExerciseError(f"{name}: return two numbers, (minimax, non-saturating); got {got!r}.") from None
    return minimax, nonsaturating


def logit_gradients(answer: Callable) -> int:
    """01: the derivative of each generator loss in D's logit ℓ, as a function of d = D(G(z)) = σ(ℓ).

    ``answer(d)`` returns (∂/∂ℓ log(1 − σ(ℓ)), ∂/∂ℓ (−log σ(ℓ))); both are compared, at six values of d
    from 10⁻³ to 0.999, with autograd through :func:`gancourse.losses.g_minimax` and
    :func:`gancourse.losses.g_nonsaturating`. The last line prints the two gradients' ratio at d = 10⁻³,
    where D has caught the fakes.
    """
    name = "logit_gradients"
    if not callable(answer):
        raise ExerciseError(f"{name}: expected a function, got {type(answer).__name__}.")
    hint = ("write each loss as a function of ℓ and use the chain rule with σ'(ℓ) = σ(ℓ)(1 − σ(ℓ)), then put d "
            "for σ(ℓ): the derivative is in ℓ, not in d. For the sign: both losses are minimised, and a step "
            "ℓ ← ℓ − η · gradient must raise ℓ (make the fake look more real). At d = ½ the two are equal.")
    ds = (1e-3, 0.05, 0.3, 0.5, 0.8, 0.999)
    for d in ds:
        expected = _measured_logit_gradients(d)
        got = _pair(name, answer, d)
        for loss, e, g in zip(("minimax", "non-saturating"), expected, got, strict=True):
            if not (math.isfinite(g) and abs(g - e) <= 1e-9 + 1e-4 * abs(e)):
                raise ExerciseError(f"{name}: at d = {d:g} autograd gives the {loss} loss the gradient {e:.6g}, "
                                    f"your formula {g:.6g}.\nHint: {hint}")
    print(f"{name}: right at {len(ds)} values of d.")
    minimax, nonsaturating = _measured_logit_gradients(1e-3)
    print(f"  at d = 0.001 (D has caught the fakes) the minimax gradient is {minimax:.2e} and the non-saturating "
          f"one {nonsaturating:.4f}: {minimax / nonsaturating:.1e} times as large")
    return len(ds)
