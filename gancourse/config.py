"""Run-wide settings: fast mode and the device to train on.

Fast mode (``GANCOURSE_FAST=1``) runs every notebook on the same code path with fewer steps, so the
whole course executes as a test in minutes on two CPU cores. This module is the only place that
reads the variable; notebooks call :func:`scale` instead of parsing it themselves. A notebook whose
full mode takes hours on a CPU calls :func:`choose_mode` first: without a GPU, and unless full mode
is asked for, it runs in fast mode and says so.
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


LONG_ON_CPU_MINUTES = 10.0  # a full mode longer than this does not start unasked on a machine without a GPU


def _duration(minutes: float) -> str:
    value, unit = (round(minutes), "minute") if minutes < 120 else (round(minutes / 60), "hour")
    return f"{value} {unit}{'' if value == 1 else 's'}"


def choose_mode(cpu_full_minutes: float, fast_minutes: float) -> bool:
    """Fast mode for a notebook whose full mode would take long here, unless full mode was asked for.

    With ``GANCOURSE_FAST`` set to a value, that value decides, as everywhere. Unset (or empty), on a
    machine without a GPU, a notebook whose full mode takes about ``cpu_full_minutes`` on two CPU cores,
    more than :data:`LONG_ON_CPU_MINUTES`, switches its kernel to fast mode and says so in one line, with
    how to ask for full mode. Called once at the top of such a notebook; returns :func:`fast_mode`.
    """
    asked = os.environ.get(FAST_ENV, "").strip() != ""
    if not asked and cpu_full_minutes > LONG_ON_CPU_MINUTES and default_device().type == "cpu":
        os.environ[FAST_ENV] = "1"
        print(f"Full mode of this notebook takes about {_duration(cpu_full_minutes)} on two CPU cores and no GPU "
              f"is here, so it runs in fast mode (about {_duration(fast_minutes)}). For full mode, run "
              f"%env {FAST_ENV}=0 in a cell and run the notebook again from the top, or start JupyterLab with "
              f"'{FAST_ENV}=0 make lab'.")
    return fast_mode()


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
