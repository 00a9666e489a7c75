"""Checks for the exercises in the notebooks: one function per exercise.

Each check runs the student's answer against the package's reference on several inputs. It prints
what is right; at the first input where the answer differs it raises :class:`ExerciseError` (an
``AssertionError``, so an nbgrader test cell fails and gives no points) with a message saying what
was expected, what came back, and a hint. A student working alone reads the message; a teacher
grading with nbgrader gets the points of each test cell that passes.

    from gancourse import check
    check.nonsaturating_loss(my_loss)   # prints "nonsaturating_loss: right on 4 inputs." or raises

The exercises themselves live in the notebooks, between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` in cells that carry nbgrader's metadata; ``gancourse exercises build`` writes
the student versions. Explained in the README ("Homework").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from gancourse import losses


class ExerciseError(AssertionError):
    """The answer to an exercise differs from the reference; the message says where and gives a hint."""


def _as_float(value) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ExerciseError(f"expected one number, got a tensor of shape {tuple(value.shape)}.")
        return float(value.detach())
    return float(value)


def _close(answer, expected, rtol: float, atol: float) -> bool:
    if isinstance(expected, torch.Tensor) and expected.numel() > 1:
        answer = torch.as_tensor(answer, dtype=expected.dtype)
        return answer.shape == expected.shape and bool(torch.allclose(answer, expected, rtol=rtol, atol=atol))
    a, e = _as_float(answer), _as_float(expected)
    return math.isfinite(a) and abs(a - e) <= atol + rtol * abs(e)


def _run(answer: Callable, *args):
    try:
        return answer(*args)
    except NotImplementedError:
        raise ExerciseError("not answered yet: replace `raise NotImplementedError()` by your code.") from None


def compare(name: str, answer: Callable, reference: Callable, cases: Iterable[tuple], hint: str,
            rtol: float = 1e-4, atol: float = 1e-6, show: Callable[[tuple], str] = repr) -> int:
    """Call ``answer(*case)`` and ``reference(*case)`` for every case; raise :class:`ExerciseError` at the
    first that differs, with ``hint``; print a one-line success and return the number of cases."""
    if not callable(answer):
        raise ExerciseError(f"{name}: expected a function, got {type(answer).__name__}.")
    n = 0
    for case in cases:
        expected = reference(*case)
        got = _run(answer, *case)
        if got is None:
            raise ExerciseError(f"{name}: your function returned None; did you forget `return`?")
        try:
            ok = _close(got, expected, rtol, atol)
        except (TypeError, ValueError, RuntimeError) as err:
            raise ExerciseError(f"{name}: cannot compare your answer with the expected one ({err}).") from None
        if not ok:
            raise ExerciseError(f"{name}: on input {show(case)} expected {_fmt(expected)}, got {_fmt(got)}.\n"
                                f"Hint: {hint}")
        n += 1
    print(f"{name}: right on {n} inputs.")
    return n


def _fmt(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"{value.item():.6g}" if value.numel() == 1 else f"tensor of shape {tuple(value.shape)}"
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError):
        return repr(value)


def _logit_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, generator=g) * scale + shift,) for scale, shift in ((1, 0), (3, -4), (3, 4), (0.1, 0))]


# --- 01_first_gan -----------------------------------------------------------------------------


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


# --- 02_optimal_discriminator -----------------------------------------------------------------


def _density_pairs() -> list[tuple]:
    """(description, grid, p, q): Gaussian densities, positive everywhere on the grid (no 0/0, no log 0)."""
    import numpy as np
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
    import numpy as np

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


# --- 03_js_vs_wasserstein ---------------------------------------------------------------------


def js_lower_bound(answer: Callable) -> int:
    """03: the JS that a discriminator certifies, (V̂ + log 4) / 2, from its logits on real and fake samples."""
    from gancourse import theory

    g = torch.Generator().manual_seed(3)
    cases = [(torch.randn(16, generator=g) + shift, torch.randn(16, generator=g) - shift) for shift in (4, 1, -1)]
    cases.append((torch.zeros(16), torch.zeros(16)))  # a discriminator that shrugs certifies nothing
    return compare("js_lower_bound", answer, theory.js_lower_bound, cases,
                   hint="V(D, G) ≤ V(D*, G) = 2 JS − log 4 for every D, so JS ≥ (V̂ + log 4) / 2 with "
                        "V̂ = mean(log σ(ℓ_real)) + mean(log(1 − σ(ℓ_fake))); D = ½ everywhere gives 0.",
                   show=lambda case: f"real logits with mean {case[0].mean():.2f}, fake with mean {case[1].mean():.2f}")


def sample_w1(answer: Callable) -> int:
    """03: W1 between two clouds of n points each: the least mean distance over the matchings of the points."""
    from gancourse import theory
    from gancourse.data import Gaussian, ParallelLines

    g = torch.Generator().manual_seed(4)
    clouds = [("N(0, 1) against N((1, 0), 1) in the plane", Gaussian([0.0, 0.0], 1.0), Gaussian([1.0, 0.0], 1.0)),
              ("the parallel lines at θ = 1", ParallelLines(0.0), ParallelLines(1.0)),
              ("the parallel lines at θ = 0.25", ParallelLines(0.0), ParallelLines(0.25))]
    cases, names = [], {}
    for name, real, fake in clouds:
        cases.append((real.sample(40, generator=g), fake.sample(40, generator=g)))
        names[id(cases[-1])] = f"40 points of each, {name}"
    return compare("sample_w1", answer, theory.sample_w1, cases,
                   hint="every point of one cloud must be sent to a different point of the other (a matching); "
                        "W1 is the mean distance of the best matching, which scipy.optimize.linear_sum_assignment "
                        "finds from the matrix of distances scipy.spatial.distance.cdist(x_real, x_fake). "
                        "Sending each point to its nearest neighbour lets several share one, and is too small.",
                   show=lambda case: names[id(case)])


# --- 04_mode_collapse -------------------------------------------------------------------------


def _mixture_cases() -> list[tuple]:
    """(samples, centres, std) for the mode checks, each with what it is, for the messages."""
    from gancourse.data import grid25, ring8

    g = torch.Generator().manual_seed(5)
    ring, grid = ring8(), grid25()
    everywhere = ring.sample(400, generator=g)
    three = everywhere[(ring.centres[:3, None] - everywhere[None]).norm(dim=2).min(0).values < 0.1]
    between = 0.97 * ring.sample(400, generator=g)  # every sample 3 std inside the ring: near a mode, not on it
    blurred = grid.sample(400, generator=g) + 0.1 * torch.randn(400, 2, generator=g)
    return [(everywhere, ring.centres, ring.std, "400 samples of ring8 itself"),
            (three, ring.centres, ring.std, "samples on three of ring8's modes only"),
            (between, ring.centres, ring.std, "ring8 shrunk by 3 %: every sample between its mode and the centre"),
            (torch.zeros(50, 2), ring.centres, ring.std, "50 samples at the origin, far from every mode"),
            (blurred, grid.centres, grid.std, "grid25 samples with noise of std 0.1 added")]


def high_quality_share(answer: Callable) -> int:
    """04: the share of samples within 3 standard deviations of their nearest mode."""
    from gancourse.metrics.modes import HIGH_QUALITY_STDS, mode_coverage

    cases = _mixture_cases()
    return compare("high_quality_share", lambda s, c, std, _: answer(s, c, std),
                   lambda s, c, std, _: mode_coverage(s, c, std).high_quality_fraction, cases,
                   hint=f"a sample is of high quality when its distance to the nearest centre is at most "
                        f"{HIGH_QUALITY_STDS:g}·std (torch.cdist(samples, centres).min(1) gives that distance); "
                        f"the threshold scales with std, it is not {HIGH_QUALITY_STDS:g} itself.",
                   show=lambda case: case[3])


def modes_captured(answer: Callable) -> int:
    """04: the number of modes that hold at least one high-quality sample."""
    from gancourse.metrics.modes import HIGH_QUALITY_STDS, mode_coverage

    cases = _mixture_cases()
    return compare("modes_captured", lambda s, c, std, _: answer(s, c, std),
                   lambda s, c, std, _: mode_coverage(s, c, std).modes_captured, cases,
                   hint=f"a mode is captured when some sample lies within {HIGH_QUALITY_STDS:g}·std of it and it is "
                        f"that sample's nearest mode; being some sample's nearest mode is not enough (samples "
                        f"far from every mode still have a nearest one).",
                   show=lambda case: case[3])
