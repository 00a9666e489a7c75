"""The exercise checks of 04_mode_collapse."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from gancourse.check._compare import compare


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
                        f"{HIGH_QUALITY_STDS:g}·std (torch has pairwise distances); "
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


def blind_spot(answer: Callable) -> int:
    """04: 2,500 samples that every mode counts as captured (m = 1) and whose reverse KL is still above 2.

    Built by the student for a mixture's ``centres`` and ``std``; held on grid25 and on a 7 × 7 grid.
    Construction, not comparison: any samples with both properties pass.
    """
    from gancourse.check._compare import ExerciseError, _run
    from gancourse.data import grid25
    from gancourse.data.toy import make_mixture
    from gancourse.metrics.modes import mode_coverage

    mixtures = {"grid25": grid25(), "a 7 × 7 grid 1.5 apart, std 0.05": make_mixture("grid:49:1.5:0.05")}
    hint = ("a mode counts as captured when a single high-quality sample has it as its nearest mode; the "
            "reverse KL looks at where all 2,500 samples go. What is the largest reverse KL that still leaves "
            "every mode one sample?")
    for name, mixture in mixtures.items():
        samples = _run(answer, mixture.centres.clone(), mixture.std)
        if samples is None:
            raise ExerciseError("blind_spot: your function returned None; did you forget `return`?")
        samples = torch.as_tensor(samples, dtype=torch.float32)
        if samples.shape != (2500, 2):
            raise ExerciseError(f"blind_spot: on {name} expected 2,500 points in the plane, shape (2500, 2); "
                                f"got {tuple(samples.shape)}.")
        r = mode_coverage(samples, mixture.centres, mixture.std)
        if not (r.modes_captured == len(mixture.centres) and r.reverse_kl > 2):
            raise ExerciseError(f"blind_spot: on {name} your samples capture {r.modes_captured} of "
                                f"{len(mixture.centres)} modes with reverse KL {r.reverse_kl:.2f}; the task asks "
                                f"for all of them and a reverse KL above 2.\nHint: {hint}")
        print(f"blind_spot: on {name}, {r.modes_captured}/{len(mixture.centres)} modes captured, "
              f"reverse KL {r.reverse_kl:.2f} (one mode alone: {math.log(len(mixture.centres)):.2f}).")
    return len(mixtures)
