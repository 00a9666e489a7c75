"""The exercise checks of 05_wgan."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gancourse import losses
from gancourse.check._compare import ExerciseError, _function, _score_cases, _toy_critic, compare


def wasserstein_critic_loss(answer: Callable) -> int:
    """05: the critic's loss to minimise, E[f(G(z))] − E[f(x)], from its scores on real and fake samples."""
    return compare("wasserstein_critic_loss", answer, losses.d_wasserstein, _score_cases(),
                   hint="the critic maximises the gap between its mean score on real points and on fakes, and an "
                        "optimizer minimises: which sign? The scores are not probabilities: no sigmoid, no log.",
                   show=lambda case: f"real scores with mean {case[0].mean():.2f}, fake scores with mean "
                                     f"{case[1].mean():.2f}")


def _clipped(clip: Callable, seed: int, c: float) -> torch.Tensor:
    D = _toy_critic(seed)
    try:
        clip(D, c)
    except RuntimeError as err:
        if "in-place" not in str(err):
            raise
        raise ExerciseError("clip_weights: torch refuses to change a parameter in place while it records "
                            "gradients.\nHint: put the loop inside `with torch.no_grad():`.") from None
    return torch.cat([p.detach().flatten() for p in D.parameters()])


def clip_weights(answer: Callable) -> int:
    """05: WGAN's weight clipping, every parameter of a module clamped into [−c, c] in place."""
    _function("clip_weights", answer)
    return compare("clip_weights", lambda seed, c: _clipped(answer, seed, c),
                   lambda seed, c: _clipped(losses.clip_weights_, seed, c), [(0, 0.01), (1, 0.1), (2, 0.5)],
                   hint="every parameter tensor (weights and biases) must end in [−c, c], changed in place and without "
                        "autograd recording the change; assigning a clamped copy to a loop variable makes a "
                        "new tensor and leaves the module unchanged.",
                   show=lambda case: f"a fresh toy critic (seed {case[0]}) and c = {case[1]}")


def clipped_lipschitz_bound(answer: Callable) -> int:
    """05: the slope clipping guarantees for an MLP critic, the product of c·√(m·n) over its Linear layers."""
    from gancourse.metrics import probes

    cases = [(_toy_critic(0, hidden=128, depth=3), 0.01), (_toy_critic(1, hidden=16, depth=2), 0.1),
             (_toy_critic(2, hidden=64, depth=4), 0.05)]
    return compare("clipped_lipschitz_bound", answer, probes.clipped_lipschitz_bound, cases,
                   hint="an m×n matrix with entries in [−c, c] stretches a vector by at most c·√(m·n) (its "
                        "Frobenius norm); multiply that over every torch.nn.Linear in D.modules(). Biases and "
                        "LeakyReLU add no slope.",
                   show=lambda case: f"an MLP critic with Linear layers {_linear_shapes(case[0])} and c = {case[1]}")


def _linear_shapes(D) -> list[tuple[int, int]]:
    return [tuple(layer.weight.shape) for layer in D.modules() if isinstance(layer, torch.nn.Linear)]


def largest_safe_clip(answer: Callable) -> int:
    """05: the largest clip value c for which the clipping bound guarantees a slope of at most 1."""
    from gancourse.metrics import probes

    def reference(D):
        layers = len(_linear_shapes(D))
        return probes.clipped_lipschitz_bound(D, 1.0) ** (-1 / layers)  # the bound is c^L times its value at 1

    cases = [(_toy_critic(0, hidden=128, depth=3),), (_toy_critic(1, hidden=16, depth=2),),
             (_toy_critic(2, hidden=64, depth=4),)]
    n = compare("largest_safe_clip", answer, reference, cases, rtol=1e-6,
                hint="write the bound of the section on gradient norms as a function of c: one factor per "
                     "torch.nn.Linear, each proportional to c. Set it equal to 1 and solve for c; at your c the "
                     "package's clipped_lipschitz_bound should read exactly 1.",
                show=lambda case: f"an MLP critic with Linear layers {_linear_shapes(case[0])}")
    D = cases[0][0]
    c = float(answer(D))
    at_c, at_twice = probes.clipped_lipschitz_bound(D, c), probes.clipped_lipschitz_bound(D, 2 * c)
    print(f"for the critic with layers {_linear_shapes(D)}: c = {c:.4f} guarantees a slope of at most "
          f"{at_c:.3f}; c = {2 * c:.4f} only {at_twice:.3g}")
    return n
