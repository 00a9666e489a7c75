"""Argument types for the ``gancourse`` command: a bad value is refused where it is parsed.

argparse turns the ``ValueError`` of a type function into one line, ``gancourse ...: error: argument
--steps: ...``, with exit status 2, before anything is loaded or trained.
"""

from __future__ import annotations

import argparse
import math

# An image grid beyond this many samples is a mistake (64 is the usual grid; 10,000 images of 64 px
# already fill 0.5 GB as float32).
MAX_SAMPLES = 10_000


def _not_below(value, text: str, zero_allowed: bool, kind: str):
    if value < 0 or (value == 0 and not zero_allowed):
        raise argparse.ArgumentTypeError(f"must be {'0 or ' if zero_allowed else ''}a positive {kind}, got {text}")
    return value


def positive_int(text: str) -> int:
    return _not_below(_int(text), text, False, "whole number")


def count_or_zero(text: str) -> int:
    return _not_below(_int(text), text, True, "whole number")


def positive_float(text: str) -> float:
    return _not_below(_float(text), text, False, "number")


def float_or_zero(text: str) -> float:
    return _not_below(_float(text), text, True, "number")


def sample_count(text: str) -> int:
    value = positive_int(text)
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(f"at most {MAX_SAMPLES:,} samples at once, got {text}")
    return value


def device(text: str) -> str:
    """cpu, cuda, cuda:N, mps or auto; whether this machine has it is checked when training starts."""
    import torch

    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use cpu, cuda, cuda:0 or mps") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device for training; use cpu, cuda, cuda:0 or mps")
    return text


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value
