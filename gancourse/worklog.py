"""How much training each notebook's fast mode does, against its share of the test suite's budget.

``make test`` must finish within 12 minutes on two cores, with every notebook in fast mode. Each
notebook has a share of that time (:data:`BUDGET`, and the README's table) and a cap on the training
its fast mode may do, counted where no clock can be fooled by a busy machine:

- ``updates``: optimizer steps of every player (D and G) in every run the notebook trains;
- ``work``: the sum over those steps of batch size × parameters of the networks trained, which is a
  dense network's multiply-adds for one pass over the batch. A convolution does more per parameter,
  but the same network does the same each step, so wider networks, larger batches and more steps all
  count, and a fast mode that grows in any of them grows here.

With ``GANCOURSE_WORK_LOG`` set to a file, every :func:`~gancourse.train.fit` appends one JSON line to
it: the notebook it ran in (``GANCOURSE_NOTEBOOK``, else the notebook Jupyter started the kernel for),
its updates and its work. The test suite sets both and fails a notebook whose run goes past its cap.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from gancourse.config import fast_mode

LOG_ENV = "GANCOURSE_WORK_LOG"
NOTEBOOK_ENV = "GANCOURSE_NOTEBOOK"
SUITE_SECONDS = 720  # `make test` on a fresh clone, two idle cores
WORKERS = 2  # pytest's processes in `make test`


@dataclass(frozen=True)
class Share:
    """A notebook's part of the test suite: seconds it may take, and the most training its fast mode may do."""

    seconds: int  # measured under `make test` (browser test or nbval), rounded up: what the README budgets
    updates: int
    work: float  # updates × batch × parameters, summed over the notebook's runs


# Measured with `make test` on two cores, on the notebooks as they are; caps a little above what each does.
BUDGET = {
    "00_setup.ipynb": Share(seconds=15, updates=0, work=0),
    "01_first_gan.ipynb": Share(seconds=40, updates=4300, work=8.7e+09),
    "02_optimal_discriminator.ipynb": Share(seconds=35, updates=1000, work=2.2e+09),
    "03_js_vs_wasserstein.ipynb": Share(seconds=40, updates=2200, work=2.5e+09),
    "04_mode_collapse.ipynb": Share(seconds=130, updates=17600, work=3.04e+11),
    "04b_divergences.ipynb": Share(seconds=75, updates=30500, work=3.4e+10),
    "05_wgan.ipynb": Share(seconds=90, updates=5700, work=6.6e+10),
    "06_dcgan.ipynb": Share(seconds=105, updates=3300, work=3.7e+10),
    "07_wgan_gp.ipynb": Share(seconds=180, updates=6700, work=7.4e+10),
    "08_evaluation.ipynb": Share(seconds=35, updates=0, work=0),
    "09_conditional_and_beyond.ipynb": Share(seconds=190, updates=13000, work=1.25e+11),
}


def notebook_name() -> str | None:
    """The notebook this process runs for: ``GANCOURSE_NOTEBOOK``, or the one Jupyter started the kernel for."""
    name = os.environ.get(NOTEBOOK_ENV) or os.environ.get("JPY_SESSION_NAME")
    return Path(name).name if name else None


def record(updates: int, batch_size: float, networks) -> None:
    """Append one run's training to the work log, if ``GANCOURSE_WORK_LOG`` names one (else do nothing).

    ``batch_size``: the run's mean global batch; ``networks``: every network the run trains or runs.
    """
    log = os.environ.get(LOG_ENV)
    if not log:
        return
    parameters = sum(p.numel() for net in networks for p in net.parameters())
    entry = {"notebook": notebook_name(), "updates": int(updates), "work": float(updates * batch_size * parameters)}
    with open(log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def totals(log: str | os.PathLike, notebook: str) -> dict:
    """The updates, work and number of runs the log holds for ``notebook`` (zeros if none or no log)."""
    entries = []
    if Path(log).exists():
        entries = [e for e in map(json.loads, Path(log).read_text().splitlines()) if e["notebook"] == notebook]
    return {"runs": len(entries), "updates": sum(e["updates"] for e in entries),
            "work": sum(e["work"] for e in entries)}


def over_budget(notebook: str, done: dict) -> str | None:
    """Why ``notebook``'s fast mode is over its share (one line), or None when it fits."""
    share = BUDGET.get(notebook)
    where = "gancourse/worklog.py BUDGET and the README's test budget"
    if share is None:
        return f"{notebook} has no share of the test suite's time: give it one in {where}."
    shown = {"updates": "{:d}", "work": "{:.3g}"}
    over = [f"{shown[k].format(done[k])} {k} (cap {shown[k].format(getattr(share, k))})" for k in shown
            if done[k] > getattr(share, k)]
    if not over:
        return None
    return (f"{notebook}'s fast mode trained {' and '.join(over)} in {done['runs']} runs: cut its fast-mode "
            f"steps, batch or width, or raise its share in {where} if `make test` still fits in "
            f"{SUITE_SECONDS // 60} minutes.")


def check(notebook: str) -> str | None:
    """:func:`over_budget` for what the log named by ``GANCOURSE_WORK_LOG`` holds for ``notebook``.

    Only in fast mode: the caps are fast mode's, and a full-mode run under the test suite is not capped.
    """
    if not fast_mode():
        return None
    return over_budget(notebook, totals(os.environ[LOG_ENV], notebook))
