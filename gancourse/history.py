"""What a training run did, step by step, and the guard that stops it on a NaN.

:class:`History` holds one entry per generator step (losses, logged extras, elapsed seconds) and is
saved as ``history.json``. :class:`LossLog` keeps each step's losses on the training device and
copies them to the host in one transfer, so a GPU is not synchronised every step; a non-finite
value stops training with :class:`NonFiniteLossError`. Used by :func:`gancourse.train.train`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch

from gancourse.checkpoint import atomic_write
from gancourse.errors import RunFailed


@dataclass
class History:
    """What a run did, one entry per generator step: losses, extras and elapsed seconds."""

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    interrupted: bool = False
    stop_signal: int = 0  # the signal that stopped the run early (2: Ctrl-C, 15: SIGTERM), 0 otherwise

    def __len__(self) -> int:
        return len(self.step)

    def __getitem__(self, key: str) -> list:
        if key in ("step", "d_loss", "g_loss", "seconds"):
            return getattr(self, key)
        return self.extra[key]

    def window_mean(self, key: str, steps, window: int) -> list[float]:
        """For each of ``steps``, the mean of ``key`` over the ``window`` steps up to and including it.

        Puts a noisy per-step curve (a loss, the critic's estimate) beside measurements taken at a few
        steps, such as the sample grids of :class:`gancourse.callbacks.SampleGrids`.
        """
        if window < 1:
            raise ValueError(f"window must be at least 1 step, got {window}.")
        at = dict(zip(self.step, self[key], strict=True))
        means = []
        for s in steps:
            values = [at[t] for t in range(s - window + 1, s + 1) if t in at]
            if not values:
                raise ValueError(f"no {key} logged in the {window} steps up to step {s}.")
            means.append(sum(values) / len(values))
        return means

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})

    def save(self, path) -> None:
        atomic_write(Path(path), json.dumps(self.to_dict()).encode())

    @classmethod
    def load(cls, path) -> History:
        return cls.from_dict(json.loads(Path(path).read_text()))


# No healthy GAN loss of the course comes near this (BCE losses stay below ~50, critic estimates of
# image distances below ~1e3); a run beyond it has diverged and will soon be NaN.
LOSS_BOUND = 1e6


class NonFiniteLossError(RunFailed, FloatingPointError):
    """A loss became NaN, infinite or impossibly large, or a weight did; the message names the step and what to try."""


def check_finite_state(step: int, named: dict, hint: str) -> None:
    """Stop when any tensor of the networks or optimizer states in ``named`` (name -> state_dict) is not finite.

    One flag per state, one transfer for all: cheap enough to run whenever losses are flushed.
    """
    flags, names = [], []
    for name, state in named.items():
        tensors = [t for t in _tensors(state) if t.is_floating_point()]
        if tensors:
            flags.append(torch.stack([torch.isfinite(t.detach()).all() for t in tensors]).all())
            names.append(name)
    if not flags:
        return
    bad = [n for n, ok in zip(names, torch.stack(flags).cpu().tolist(), strict=True) if not ok]
    if bad:
        raise NonFiniteLossError(f"step {step}: {' and '.join(bad)} hold NaN or infinite values: training "
                                 f"diverged. {hint}")


def _tensors(state):
    if isinstance(state, torch.Tensor):
        yield state
    elif isinstance(state, dict):
        for value in state.values():
            yield from _tensors(value)
    elif isinstance(state, (list, tuple)):
        for value in state:
            yield from _tensors(value)


class LossLog:
    """Per-step losses kept on the device and copied into a :class:`History` in one transfer when flushed.

    ``hint`` ends the error raised on a NaN or infinite loss: what to try.
    """

    def __init__(self, history: History, hint):
        self.history, self.hint = history, hint
        self.pending: list[tuple[int, float, dict[str, torch.Tensor]]] = []

    def add(self, step: int, seconds: float, values: dict[str, torch.Tensor]) -> None:
        self.pending.append((step, seconds, values))

    def flush(self) -> None:
        """Append pending losses to the history; stop on the first non-finite or diverged one."""
        if not self.pending:
            return
        names = list(self.pending[0][2])
        rows = torch.stack([torch.stack([v[n].float() for n in names]) for _, _, v in self.pending]).cpu().tolist()
        pending, self.pending = self.pending, []
        h = self.history
        for (step, seconds, _), row in zip(pending, rows, strict=True):
            for name, value in zip(names, row, strict=True):
                if not math.isfinite(value):
                    raise NonFiniteLossError(f"step {step}: {name} = {value}. {self.hint}")
                if name in ("d_loss", "g_loss") and abs(value) > LOSS_BOUND:
                    raise NonFiniteLossError(f"step {step}: {name} = {value:.3g}, beyond ±{LOSS_BOUND:.0e}, which no "
                                             f"healthy run reaches: training diverged. {self.hint}")
            h.step.append(step)
            h.seconds.append(seconds)
            for name, value in zip(names, row, strict=True):
                if name in ("d_loss", "g_loss"):
                    getattr(h, name).append(value)
                else:
                    h.extra.setdefault(name, []).append(value)


def agreement_after_peak(curve, scores) -> tuple[float, int]:
    """(Spearman's ρ between ``curve`` and ``scores`` from the curve's peak on, index of the peak).

    Both are measured at the same moments of a run: for example the critic's Wasserstein estimate
    (:meth:`History.window_mean`) and a Fréchet distance of the samples. The critic's estimate first
    rises while the critic learns, so agreement is asked only after its highest point; ρ = 1 when
    the two fall in the same order. Needs at least three points from the peak on.
    """
    from scipy.stats import spearmanr

    curve, scores = [float(v) for v in curve], [float(v) for v in scores]
    if len(curve) != len(scores):
        raise ValueError(f"curve and scores must have one value per moment, got {len(curve)} and {len(scores)}.")
    peak = max(range(len(curve)), key=curve.__getitem__)
    if len(curve) - peak < 3:
        raise ValueError(f"the curve peaks at moment {peak} of {len(curve)}: fewer than three moments after it.")
    return float(spearmanr(curve[peak:], scores[peak:]).statistic), peak


def relative_span(values) -> float:
    """(largest − smallest) / mean of ``values``: how far a measurement moves, on its own scale."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    if mean == 0:
        raise ValueError("relative_span needs values whose mean is not 0.")
    return (max(values) - min(values)) / abs(mean)


def orders_while_pinned(estimate, pinned, scores, *, rho: float = 0.8, ratio: float = 10.0) -> bool:
    """True when ``estimate`` follows ``scores`` in rank (Spearman's ρ ≥ ``rho``) while it moves, on its own
    scale, more than ``ratio`` times as far as ``pinned`` (:func:`relative_span`).

    All three are measured on the same frozen checkpoints of one run, with fresh networks fitted to each
    (:func:`gancourse.experiments.estimates_on_checkpoints`): for example the critic's Wasserstein estimate,
    the discriminator's Jensen–Shannon estimate and the samples' Fréchet distance. Time plays no part,
    so an estimate that passes measures the checkpoint, not how long the run had trained.
    """
    from scipy.stats import spearmanr

    estimate, pinned, scores = ([float(v) for v in x] for x in (estimate, pinned, scores))
    if not len(estimate) == len(pinned) == len(scores) >= 3:
        raise ValueError(f"one value per checkpoint and at least three checkpoints, got {len(estimate)}, "
                         f"{len(pinned)} and {len(scores)}.")
    return bool(spearmanr(estimate, scores).statistic >= rho - 1e-9  # ρ is a ratio of sums: 0.8 can be 0.79999…
                and relative_span(estimate) > ratio * relative_span(pinned))
