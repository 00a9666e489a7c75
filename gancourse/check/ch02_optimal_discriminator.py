"""The exercise checks of 02_optimal_discriminator."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from gancourse.check._compare import compare


def _density_pairs() -> list[tuple]:
    """(description, grid, p, q): Gaussian densities, positive everywhere on the grid (no 0/0, no log 0)."""
    from scipy.stats import norm

    x = np.linspace(-8, 8, 1601)
    mixture = 0.5 * (norm.pdf(x, -1.5, 0.6) + norm.pdf(x, 1.5, 0.6))
    return [("p = N(0, 1), q = N(1, 0.5)", x, norm.pdf(x, 0, 1), norm.pdf(x, 1, 0.5)),
            ("p = two bumps at ±1.5, q = N(0.5, 1.2)", x, mixture, norm.pdf(x, 0.5, 1.2)),
            ("p = N(-3, 0.5), q = N(3, 0.5), far apart", x, norm.pdf(x, -3, 0.5), norm.pdf(x, 3, 0.5)),
            ("p = q = N(0, 1)", x, norm.pdf(x, 0, 1), norm.pdf(x, 0, 1))]


def _as_tensors(answer: Callable) -> Callable:
    """The answer with an array result turned into a tensor, so a message about it stays one line."""
    if not callable(answer):
        return answer

    def wrapped(*args):
        got = answer(*args)
        return got if got is None or isinstance(got, torch.Tensor) else torch.as_tensor(got)

    return wrapped


def optimal_discriminator(answer: Callable) -> int:
    """02: D*(x) = p_data(x) / (p_data(x) + p_g(x)), on density values: numbers, then arrays on a grid."""

    from gancourse import theory

    cases = [(0.4, 0.1), (0.05, 0.3), (1e-4, 2.0), (0.25, 0.25)]  # the values of p_data(x) and p_g(x) at one x
    _, _, p, q = _density_pairs()[1]
    cases.append((p, q))
    return compare("optimal_discriminator", _as_tensors(answer),
                   lambda p_data, p_g: torch.as_tensor(theory.optimal_discriminator(p_data, p_g)), cases,
                   hint="at each x, D maximises p_data log D + p_g log(1 − D), which is largest at "
                        "D = p_data / (p_data + p_g): near 1 where the data outweigh the generator. "
                        "Write it with array operations, so that it works on whole grids too.",
                   show=lambda case: (f"p_data(x) = {case[0]:g}, p_g(x) = {case[1]:g}" if np.ndim(case[0]) == 0
                                      else f"two arrays of {len(case[0])} density values"))


def js_divergence(answer: Callable) -> int:
    """02: JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, by the trapezoid rule on the grid x."""
    from gancourse import theory

    cases, names = [], {}
    for name, x, p, q in _density_pairs():
        cases.append((p, q, x))
        names[id(cases[-1])] = f"{name} on {len(x)} points of [{x[0]:g}, {x[-1]:g}]"
    return compare("js_divergence", answer, theory.js_divergence, cases,
                   hint="compare both densities with their mixture m = (p + q) / 2, not with each other, and "
                        "average the two KL divergences: ½ KL(p ‖ m) + ½ KL(q ‖ m), each "
                        "np.trapezoid(p * np.log(p / m), x). It lies between 0 and log 2.",
                   show=lambda case: names[id(case)])
