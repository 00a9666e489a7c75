"""What every exercise check shares: :func:`compare`, the :class:`ExerciseError` it raises, and the
inputs and small networks that several chapters' checks draw from."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch


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






def _function(name: str, answer) -> None:
    if not callable(answer):
        raise ExerciseError(f"{name}: expected a function, got {type(answer).__name__}.")


def _score_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, generator=g) * scale + shift, torch.randn(16, generator=g) * scale)
            for scale, shift in ((1, 0), (2, 3), (0.5, -1))]


def _toy_critic(seed: int, hidden: int = 16, depth: int = 2):
    from gancourse.models import toy_networks

    torch.manual_seed(seed)
    return toy_networks(2, hidden=hidden, depth=depth)[1]


def _per_sample(alpha: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return alpha.reshape(-1, *([1] * (like.dim() - 1)))  # (B,) -> (B, 1, ..., 1)
