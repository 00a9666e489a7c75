"""The exercise checks of 02_optimal_discriminator."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch

from gancourse.check._compare import ExerciseError, _run, compare


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
                   hint="at each x, D maximises a·log D + b·log(1 − D) with a = p_data(x), b = p_g(x): set the "
                        "derivative in D to 0 and solve. Write it with array operations, so that it works on "
                        "whole grids too.",
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
                   hint="compare both densities with their mixture, not with each other, and average the two KL "
                        "divergences; each KL is an integral on the grid x (numpy has the trapezoid rule). "
                        "The answer lies between 0 and log 2.",
                   show=lambda case: names[id(case)])


def _crossings(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The points where d passes ½ on the grid x, each placed by linear interpolation."""
    i = np.nonzero(np.diff(d > 0.5))[0]
    return x[i] + (0.5 - d[i]) * (x[i + 1] - x[i]) / (d[i + 1] - d[i])


def exact_half_points(mu: float, sigma: float) -> np.ndarray:
    """Where the package's D* for data N(0, 1) and p_g = N(μ, σ²) crosses ½, on [-10, 10] in steps of 0.001."""
    from scipy.stats import norm

    from gancourse import theory

    x = np.linspace(-10, 10, 20001)
    return _crossings(x, theory.optimal_discriminator(norm.pdf(x), norm.pdf(x, mu, sigma)))


@functools.cache
def trained_half_points(mu: float, sigma: float, steps: int = 100, seed: int = 0) -> tuple[float, ...]:
    """Where an MLP discriminator, trained by :func:`gancourse.experiments.fit_discriminator` on samples of
    N(0, 1) against N(μ, σ²), crosses ½ inside the interval holding 99 % of the two samples' mixture."""
    from scipy.stats import norm

    from gancourse import theory
    from gancourse.data import Gaussian
    from gancourse.experiments import fit_discriminator
    from gancourse.models import MLPDiscriminator

    with torch.random.fork_rng():  # leave the notebook's random state as it was
        torch.manual_seed(seed)
        D = MLPDiscriminator(in_dim=1, hidden=32, depth=2)
        fit_discriminator(D, Gaussian(0.0, 1.0), Gaussian(mu, sigma), steps=steps, batch_size=1024, lr=1e-2, seed=seed)
    grid = np.linspace(-10, 10, 20001)
    lo, hi = theory.mass_interval(0.5 * (norm.pdf(grid) + norm.pdf(grid, mu, sigma)), grid, mass=0.99)
    x = np.linspace(lo, hi, 4001)
    with torch.no_grad():
        d = torch.sigmoid(D(torch.tensor(x, dtype=torch.float32)[:, None])).reshape(-1).double().numpy()
    return tuple(_crossings(x, d))


def _points(name: str, answer: Callable, mu: float, sigma: float) -> np.ndarray:
    got = _run(answer, mu, sigma)
    if got is None:
        raise ExerciseError(f"{name}: your function returned None; did you forget `return`?")
    try:
        points = np.sort(np.atleast_1d(np.asarray(got, dtype=np.float64)).ravel())
    except (TypeError, ValueError):
        raise ExerciseError(f"{name}: return the points as a list of numbers; got {got!r}.") from None
    return points


def _say(points) -> str:
    return ", ".join(f"{p:.3f}" for p in points) or "none"


def d_star_half_points(answer: Callable) -> int:
    """02: the points where D* = ½ for data N(0, 1) and a generator N(μ, σ²): one when σ = 1, two otherwise.

    ``answer(mu, sigma)`` returns the points (a list, in any order); they are compared, within 10⁻³, with
    where the package's D* crosses ½ on a grid of step 0.001 at seven (μ, σ), then, within 0.1, with where
    a discriminator trained for 100 steps on samples crosses ½ for μ = 0.5, σ = 2 (under a second).
    """
    name = "d_star_half_points"
    if not callable(answer):
        raise ExerciseError(f"{name}: expected a function, got {type(answer).__name__}.")
    hint = ("D* = ½ exactly where p_data = p_g. Take the logarithm of both sides and keep the normalising factor "
            "1/(σ√(2π)): it does not cancel when σ ≠ 1. With σ = 1 the x² terms cancel and one point is left; "
            "otherwise you get a quadratic in x with two roots. Check yours at μ = 0, where the points lie "
            "symmetrically about 0.")
    cases = [(1.0, 1.0), (-2.0, 1.0), (1.0, 0.5), (0.0, 2.0), (0.5, 2.0), (2.0, 1.5), (-1.0, 0.8)]
    measured = {(0.5, 2.0): np.array(trained_half_points(0.5, 2.0))}
    checks = [(case, exact_half_points(*case), 1e-3, "D*") for case in cases]
    checks += [(case, points, 0.1, "a trained D") for case, points in measured.items()]
    for (mu, sigma), expected, tol, who in checks:
        got = _points(name, answer, mu, sigma)
        if len(got) != len(expected) or not np.all(np.abs(got - expected) <= tol):
            raise ExerciseError(f"{name}: for p_g = N({mu:g}, {sigma:g}²), {who} crosses ½ at {_say(expected)}; "
                                f"your points: {_say(got)}.\nHint: {hint}")
    print(f"{name}: right for {len(cases)} generators.")
    for (mu, sigma), points in measured.items():
        print(f"  p_g = N({mu:g}, {sigma:g}²): your points {_say(_points(name, answer, mu, sigma))}; a D trained "
              f"on samples crosses ½ at {_say(points)}")
    return len(checks)
