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
