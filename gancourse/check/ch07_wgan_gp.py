"""The exercise checks of 07_wgan_gp."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gancourse import losses
from gancourse.check._compare import ExerciseError, _function, _per_sample, _run, _toy_critic, compare


def _image_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(*shape, generator=g) * 2 - 1, torch.rand(*shape, generator=g) * 2 - 1,
             torch.rand(shape[0], generator=g)) for shape in ((4, 1, 28, 28), (3, 3, 8, 8), (6, 2))]


def _show_batch(case: tuple) -> str:
    return f"batches of shape {tuple(case[0].shape)} and alpha {[round(a, 2) for a in case[2].tolist()]}"


def interpolates(answer: Callable) -> int:
    """07: the points of the penalty, x̂ = α·x_real + (1 − α)·x_fake with one α per sample."""
    return compare("interpolates", answer,
                   lambda x_real, x_fake, alpha: losses.interpolates(x_real, x_fake, alpha=_per_sample(alpha, x_real)),
                   _image_cases(),
                   hint="alpha has one number per sample, shape (B,); reshape it to (B, 1, ..., 1), "
                        "alpha.view(-1, *[1] * (x_real.dim() - 1)), so it multiplies a whole image, and weight "
                        "x_real by alpha and x_fake by 1 − alpha.",
                   show=_show_batch)


def _image_critic(seed: int):
    from gancourse.models import image_networks

    torch.manual_seed(seed)
    return image_networks(1, 28, width=4, norm="none")[1]  # a small critic without batch norm, as in 07


def gradient_penalty(answer: Callable) -> int:
    """07: the WGAN-GP penalty E[(‖∇D(x̂)‖₂ − 1)²] on the interpolates, kept differentiable for training."""
    _function("gradient_penalty", answer)
    images, _, points = _image_cases(1)
    cases = [(_image_critic(0), *images), (_image_critic(1), *images), (_toy_critic(0), *points)]

    def reference(D, x_real, x_fake, alpha):
        return losses.gradient_penalty(D, x_real, x_fake, alpha=_per_sample(alpha, x_real))

    n = compare("gradient_penalty", answer, reference, cases,
                hint="make x̂ (one alpha per sample), x_hat.requires_grad_(True), take "
                     "torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)[0], one norm per sample "
                     "over all its pixels (grad.flatten(1).norm(dim=1)), then the mean of (norm − 1)².",
                show=lambda case: f"a critic {type(case[0]).__name__} and {_show_batch(case[1:])}")
    penalty = _run(answer, *cases[0])
    if not (isinstance(penalty, torch.Tensor) and penalty.requires_grad):
        raise ExerciseError("gradient_penalty: the value is right, but the critic cannot be trained on it: it "
                            "carries no gradient.\nHint: pass create_graph=True to torch.autograd.grad, so "
                            "the penalty can itself be differentiated.")
    return n
