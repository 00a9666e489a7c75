"""Run-wide settings: fast mode and the device to train on.

Fast mode (``GANCOURSE_FAST=1``) runs every notebook on the same code path with fewer steps, so the
whole course executes as a test in minutes on two CPU cores. This module is the only place that
reads the variable; notebooks call :func:`scale` instead of parsing it themselves.
"""

from __future__ import annotations

import os
from typing import TypeVar

import torch

from gancourse.errors import ConfigError, DeviceError

T = TypeVar("T")

FAST_ENV = "GANCOURSE_FAST"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def fast_mode() -> bool:
    """True when ``GANCOURSE_FAST`` is 1, true, yes or on (any case)."""
    value = os.environ.get(FAST_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"{FAST_ENV}={os.environ[FAST_ENV]!r} is not understood; "
        f"use 1/true/yes for fast mode or 0/false/no (or unset it) for full mode."
    )


def scale(full: T, fast: T) -> T:
    """``fast`` in fast mode, ``full`` otherwise: ``steps = scale(5000, 300)``."""
    return fast if fast_mode() else full


def default_device() -> torch.device:
    """The best device here: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn ``None``/``"auto"`` into :func:`default_device`; check that a named device exists."""
    if device is None or device == "auto":
        return default_device()
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {str(device)!r} was asked for but no CUDA GPU is visible; use cpu (--device cpu).")
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("device 'mps' was asked for but Apple's MPS is not available; use cpu (--device cpu).")
    return dev
