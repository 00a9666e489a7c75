"""The exercise checks of 01_first_gan."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gancourse import losses
from gancourse.check._compare import _logit_cases, compare


def nonsaturating_loss(answer: Callable) -> int:
    """01: the non-saturating generator loss, −E[log D(G(z))], from D's logits on fake samples."""
    return compare("nonsaturating_loss", answer, losses.g_nonsaturating, _logit_cases(),
                   hint="G maximises log D(G(z)), so it minimises −mean(log σ(ℓ)); with logits ℓ, "
                        "−log σ(ℓ) = softplus(−ℓ). The minimax loss mean(log(1 − σ(ℓ))) is the other one.",
                   show=lambda case: f"logits with mean {case[0].mean():.2f}")


def discriminator_loss(answer: Callable) -> int:
    """01: the discriminator's BCE loss, −E[log D(x)] − E[log(1 − D(G(z)))], from its logits on both batches."""
    g = torch.Generator().manual_seed(1)
    cases = [(torch.randn(8, generator=g) * scale + shift, torch.randn(8, generator=g) * scale - shift)
             for scale, shift in ((1, 0), (2, 3), (2, -3), (0.1, 0))]
    return compare("discriminator_loss", answer, losses.d_bce, cases,
                   hint="D maximises V = mean(log σ(ℓ_real)) + mean(log(1 − σ(ℓ_fake))), so its loss is −V; "
                        "with logits, −log σ(ℓ) = softplus(−ℓ) and −log(1 − σ(ℓ)) = softplus(ℓ).",
                   show=lambda case: f"real logits with mean {case[0].mean():.2f}, fake with mean {case[1].mean():.2f}")
