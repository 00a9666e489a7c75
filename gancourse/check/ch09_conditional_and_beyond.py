"""The exercise checks of 09_conditional_and_beyond."""

from __future__ import annotations

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
                        "its margin costs nothing: clamp 1 - ℓ_real and 1 + ℓ_fake at 0 (F.relu) before averaging.",
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
                   hint="one_hot(y, n_classes) gives (B, n_classes); turn it to z's dtype and put it after z with "
                        "torch.cat([...], dim=1). Its width is n_classes even when a batch lacks some class.",
                   show=lambda case: f"z of shape {tuple(case[0].shape)}, y = {case[1].tolist()}, n_classes {case[2]}")
