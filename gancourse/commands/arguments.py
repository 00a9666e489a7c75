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


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def count_or_zero(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive whole number, got {text}")
    return value


def sample_count(text: str) -> int:
    value = positive_int(text)
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(f"at most {MAX_SAMPLES:,} samples at once, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def float_or_zero(text: str) -> float:
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive number, got {text}")
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
