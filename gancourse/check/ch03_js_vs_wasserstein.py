"""The exercise checks of 03_js_vs_wasserstein."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gancourse.check._compare import compare


def js_lower_bound(answer: Callable) -> int:
    """03: the JS that a discriminator certifies, (V̂ + log 4) / 2, from its logits on real and fake samples."""
    from gancourse import theory

    g = torch.Generator().manual_seed(3)
    cases = [(torch.randn(16, generator=g) + shift, torch.randn(16, generator=g) - shift) for shift in (4, 1, -1)]
    cases.append((torch.zeros(16), torch.zeros(16)))  # a discriminator that shrugs certifies nothing
    return compare("js_lower_bound", answer, theory.js_lower_bound, cases,
                   hint="no D scores more than D* does, and 02 says what D* scores in terms of JS: turn "
                        "that inequality round so that it bounds JS from below by the value V̂ this D "
                        "reaches on the two batches. A D that says ½ everywhere must certify 0.",
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
                   hint="with equal weights every point of one cloud must be sent to a different point of the other "
                        "(a matching), and W1 is the mean distance of the best matching: an assignment "
                        "problem, which scipy solves. Sending each point to its nearest neighbour lets several "
                        "share one, and is too small.",
                   show=lambda case: names[id(case)])


THETAS = (0.0, 0.5, -0.5, 1.0, -1.0, 0.25, 2.0, -2.0, 1.5, 0.999, -3.0)  # with the shifts where points meet


def two_points_distances(answer: Callable) -> int:
    """03: predicted JS(θ) and W1(θ) between p = ½δ₀ + ½δ₁ and p shifted by θ, held to the point masses.

    The answer returns the pair (JS, W1) for one θ. The reference computes both from the masses
    (:func:`gancourse.theory.two_points_distances`: the sum defining JS, and scipy's ``wasserstein_distance``),
    at shifts where the two distributions share no point, one point, or both.
    """
    from gancourse import theory
    from gancourse.check._compare import ExerciseError, _run

    if not callable(answer):
        raise ExerciseError(f"two_points_distances: expected a function, got {type(answer).__name__}.")

    def part(i):
        def one(theta):
            got = _run(answer, theta)
            if got is None:
                return None
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise ExerciseError("two_points_distances: return the pair (JS, W1) for the given θ.")
            return got[i]
        return one

    show = lambda case: f"θ = {case[0]:g}"  # noqa: E731
    n = compare("two_points_distances (JS)", part(0), lambda t: theory.two_points_distances(t)[0],
                [(t,) for t in THETAS], atol=1e-6, show=show,
                hint="JS only sees where the masses sit, not how far apart: work out, for each θ, which points of "
                     "q land on points of p, and what the mixture m = (p + q)/2 is then. A point that only one of "
                     "the two charges adds its mass times log 2.")
    n += compare("two_points_distances (W1)", part(1), lambda t: theory.two_points_distances(t)[1],
                 [(t,) for t in THETAS], atol=1e-6, show=show,
                 hint="a distance is never negative. Every plan carries the mean of p to the mean of q, so none costs "
                      "less than the distance between the two means; look for a plan that costs no more, "
                      "for small shifts and for large ones.")
    return n
