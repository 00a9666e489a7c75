"""The exercise checks of 07_wgan_gp: the interpolates, the gradient penalty, and why its critic has no batch norm."""

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
                   hint="alpha holds one number per sample, shape (B,), and the images have more axes; "
                        "broadcasting lines shapes up from the last axis, so alpha as it comes would pair with the "
                        "last axis of each image, not with the batch. Give it as many axes as x_real, all of size 1 "
                        "but the first. Then x_real gets weight alpha and x_fake 1 − alpha.",
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
                hint="the gradient is with respect to x̂, so x̂ must ask autograd to track it; summing the scores "
                     "gives each image the gradient of its own score, since the images do not interact. The "
                     "penalty is itself trained on, so its graph must be kept. One norm per sample, over all "
                     "its pixels and channels.",
                show=lambda case: f"a critic {type(case[0]).__name__} and {_show_batch(case[1:])}")
    penalty = _run(answer, *cases[0])
    if not (isinstance(penalty, torch.Tensor) and penalty.requires_grad):
        raise ExerciseError("gradient_penalty: the value is right, but the critic cannot be trained on it: it "
                            "carries no gradient.\nHint: pass create_graph=True to torch.autograd.grad, so "
                            "the penalty can itself be differentiated.")
    return n


def _gradient_of_first(D, batch: torch.Tensor) -> torch.Tensor:
    """∇ of D(batch).sum() with respect to the batch's first image: what the penalty would see of it."""
    batch = batch.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(batch).sum(), batch)
    return grad[0]


def _relative_change(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / torch.maximum(a.norm(), b.norm()).clamp_min(1e-12))


BATCH_DEPENDENCE = 0.05  # the first image's gradient must move by 5 % (shuffling moves it by rounding only, 1e-6)


def _dependence_cases(images: torch.Tensor | None) -> list[tuple]:
    if images is None:  # smooth random pictures in [-1, 1]: 7 × 7 noise upsampled to 28 × 28
        g = torch.Generator().manual_seed(7)
        coarse = torch.rand(65, 1, 7, 7, generator=g) * 2 - 1
        images = torch.nn.functional.interpolate(coarse, size=28, mode="bilinear", align_corners=False)
    if images.dim() != 4 or len(images) < 33 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"batch_dependence needs at least 33 images of shape (1, 28, 28), got {tuple(images.shape)}.")
    images = images.detach().float().cpu()
    return [(images[:1], images[1:33]), (images[-1:], images[-33:-1])]


def batch_dependence(answer: Callable, images: torch.Tensor | None = None, batch: int = 8) -> float:
    """07: two batches sharing their first image x0 whose other images change x0's gradient through a
    critic with batch norm (in training mode, as it trains). Returns the smallest relative change seen.

    The answer is ``two_batches(x0, pool)``: x0 of shape (1, 1, 28, 28), a pool of 32 images; it returns two
    batches of ``batch`` images in [-1, 1], each starting with x0. For each case the check asks two
    DCGAN discriminators with batch norm (two initialisations) for the gradient of the batch's summed score
    with respect to x0, in each batch, and wants them to differ by at least 5 %; it also shows that 07's
    critic, without batch norm, gives x0 the same gradient in both batches.
    """
    from gancourse.models import image_networks

    _function("two_batches", answer)
    smallest = float("inf")
    for x0, pool in _dependence_cases(images):
        got = _run(answer, x0.clone(), pool.clone())
        if got is None:
            raise ExerciseError("two_batches: your function returned None; did you forget `return`?")
        if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(b, torch.Tensor) for b in got)):
            raise ExerciseError("two_batches: expected a pair of tensors (batch_a, batch_b).")
        a, b = (t.detach().float().cpu() for t in got)
        for name, t in (("batch_a", a), ("batch_b", b)):
            if tuple(t.shape) != (batch, 1, 28, 28):
                raise ExerciseError(f"two_batches: {name} has shape {tuple(t.shape)}; expected ({batch}, 1, 28, 28).")
            if not torch.equal(t[:1], x0):
                raise ExerciseError(f"two_batches: {name} does not start with x0. Both batches must hold the same "
                                    f"first image: the question is whether the *other* images change its gradient.")
            if not (torch.isfinite(t).all() and t.abs().max() <= 1):
                raise ExerciseError(f"two_batches: {name} holds values outside [-1, 1]; images live in [-1, 1].")
        changes = []
        for seed in (0, 1):
            torch.manual_seed(seed)
            D = image_networks(1, 28, width=8, norm="batch")[1].train()
            changes.append(_relative_change(_gradient_of_first(D, a), _gradient_of_first(D, b)))
        if min(changes) < BATCH_DEPENDENCE:
            raise ExerciseError(
                f"two_batches: through a critic with batch norm, x0's gradient changes by only "
                f"{100 * min(changes):.2g} % between your two batches; at least {100 * BATCH_DEPENDENCE:.0f} % "
                f"was asked for.\nHint: batch norm normalises each channel with the mean and the variance of the "
                f"whole batch. Which changes of the other images leave those numbers as they were, and which do not?")
        smallest = min(smallest, *changes)
    torch.manual_seed(0)
    critic = image_networks(1, 28, width=8, norm="none")[1]
    without = _relative_change(_gradient_of_first(critic, a), _gradient_of_first(critic, b))
    cases = len(_dependence_cases(images))
    print(f"two_batches: right on {cases} inputs. With batch norm in the critic, x0's gradient "
          f"changed by at least {100 * smallest:.0f} % between your batches; without it (07's critic), by "
          f"{100 * without:.1g} %.")
    return smallest
