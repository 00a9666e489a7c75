"""The test suite's budget: every run writes its training to the work log, and a notebook past its cap fails."""

import json
import re
from pathlib import Path

import pytest

from gancourse import worklog
from gancourse.data import ToyBatches, ring8
from gancourse.models import MLPDiscriminator, MLPGenerator
from gancourse.train import train

ROOT = Path(__file__).resolve().parents[1]


def _parameters(*networks) -> int:
    return sum(p.numel() for net in networks for p in net.parameters())


def test_every_run_logs_its_updates_and_work_under_its_notebook(tmp_path, monkeypatch):
    log = tmp_path / "work.jsonl"
    monkeypatch.setenv(worklog.LOG_ENV, str(log))
    monkeypatch.setenv(worklog.NOTEBOOK_ENV, "01_first_gan.ipynb")
    G, D = MLPGenerator(z_dim=2, hidden=16), MLPDiscriminator(hidden=16)
    train(G, D, ToyBatches(ring8(), 32, seed=0), steps=3, n_critic=2, progress=False)
    monkeypatch.setenv(worklog.NOTEBOOK_ENV, "05_wgan.ipynb")
    train(G, D, ToyBatches(ring8(), 16, seed=0), steps=4, train_g=False, progress=False)

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    params = _parameters(G, D)
    assert entries == [{"notebook": "01_first_gan.ipynb", "updates": 9, "work": 9 * 32 * params},  # 3 × (2 D + 1 G)
                       {"notebook": "05_wgan.ipynb", "updates": 4, "work": 4 * 16 * params}]    # D alone
    assert worklog.totals(log, "01_first_gan.ipynb") == {"runs": 1, "updates": 9, "work": 9 * 32 * params}
    assert worklog.totals(log, "07_wgan_gp.ipynb") == {"runs": 0, "updates": 0, "work": 0}


def test_nothing_is_logged_without_a_log(tmp_path, monkeypatch):
    monkeypatch.delenv(worklog.LOG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    train(MLPGenerator(z_dim=2, hidden=8), MLPDiscriminator(hidden=8), ToyBatches(ring8(), 8), steps=1, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_the_notebook_is_the_one_jupyter_started_the_kernel_for(monkeypatch):
    monkeypatch.delenv(worklog.NOTEBOOK_ENV, raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/student/course/notebooks/04_mode_collapse.ipynb")
    assert worklog.notebook_name() == "04_mode_collapse.ipynb"
    monkeypatch.setenv(worklog.NOTEBOOK_ENV, "06_dcgan.ipynb")  # the test suite's name wins
    assert worklog.notebook_name() == "06_dcgan.ipynb"


def test_a_notebook_at_its_cap_fits_and_one_update_more_does_not():
    share = worklog.BUDGET["04_mode_collapse.ipynb"]
    at_cap = {"runs": 3, "updates": share.updates, "work": share.work}
    assert worklog.over_budget("04_mode_collapse.ipynb", at_cap) is None
    why = worklog.over_budget("04_mode_collapse.ipynb", {**at_cap, "updates": share.updates + 1})
    assert why and "updates (cap" in why and "work" not in why.split(":")[0] and "\n" not in why
    why = worklog.over_budget("04_mode_collapse.ipynb", {**at_cap, "work": share.work * 1.01})
    assert why and "work (cap" in why
    assert "has no share" in worklog.over_budget("13_new_chapter.ipynb", at_cap)


def test_every_notebook_has_a_share_and_the_shares_fit_the_suite():
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(worklog.BUDGET) == notebooks
    # the notebooks leave room for the unit tests within the two workers' time
    assert sum(s.seconds for s in worklog.BUDGET.values()) < 0.8 * worklog.SUITE_SECONDS * worklog.WORKERS


def test_the_readme_states_the_budget_the_tests_hold():
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\d\d[a-z]?_\w+\.ipynb)` \| (\d+) s \|", readme, flags=re.M))
    assert {nb: int(s) for nb, s in rows.items()} == {nb: s.seconds for nb, s in worklog.BUDGET.items()}


NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {}, "outputs": [],
               "source": source} for i, source in enumerate( ("import torch\nfrom gancourse import worklog",
                             "worklog.record({updates}, 64, [torch.nn.Linear(2, 2)])", "print('the last cell')"))],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}


@pytest.mark.slow
def test_nbval_fails_the_last_cell_of_a_notebook_past_its_cap(pytester, monkeypatch):
    monkeypatch.delenv(worklog.LOG_ENV)  # the inner run keeps its own log, apart from this one's
    monkeypatch.delenv(worklog.NOTEBOOK_ENV, raising=False)
    monkeypatch.setenv("GANCOURSE_FAST", "1")  # the caps are fast mode's
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    over, at = worklog.BUDGET["04_mode_collapse.ipynb"].updates + 1, worklog.BUDGET["01_first_gan.ipynb"].updates
    for notebook, updates in (("04_mode_collapse.ipynb", over), ("01_first_gan.ipynb", at)):
        (pytester.path / notebook).write_text(json.dumps(NOTEBOOK).replace("{updates}", str(updates)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env")
    result.assert_outcomes(passed=5, failed=1)  # 01 at its cap passes; 04 one update past it fails its last cell
    result.stdout.fnmatch_lines([f"04_mode_collapse.ipynb's fast mode trained {over} updates (cap {over - 1})*",
                                 "FAILED 04_mode_collapse.ipynb::Cell 2*"])


def test_a_full_mode_run_is_not_held_to_fast_modes_cap(tmp_path, monkeypatch):
    log = tmp_path / "work.jsonl"
    share = worklog.BUDGET["01_first_gan.ipynb"]
    log.write_text(json.dumps({"notebook": "01_first_gan.ipynb", "updates": share.updates + 1, "work": 0.0}) + "\n")
    monkeypatch.setenv(worklog.LOG_ENV, str(log))
    monkeypatch.setenv("GANCOURSE_FAST", "1")
    assert worklog.check("01_first_gan.ipynb")  # fast mode: over its cap
    monkeypatch.setenv("GANCOURSE_FAST", "0")
    assert worklog.check("01_first_gan.ipynb") is None
