"""The test suite's budget for the notebooks (see gancourse/worklog.py and the README's test budget).

Every notebook that runs under nbval writes its training to a work log (``GANCOURSE_WORK_LOG``, one
per pytest process), and its last cell fails when the notebook trained more than its share allows.
The browser test does the same check for the notebooks it runs. Work units go to pytest-xdist's
workers longest first, so that the workers finish together.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from gancourse import worklog

pytest_plugins = ["pytester"]  # tests/test_worklog.py runs pytest on a notebook past its cap
_LAST_CELLS: set[str] = set()
_CREATED: list[Path] = []


def pytest_configure(config):
    if not os.environ.get(worklog.LOG_ENV):  # one log for the run (pytest-xdist's workers inherit it), unless given
        folder = Path(tempfile.mkdtemp(prefix="gancourse-worklog-"))
        os.environ[worklog.LOG_ENV] = str(folder / "work.jsonl")
        _CREATED.append(folder)


def pytest_unconfigure(config):
    for folder in _CREATED:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(trylast=True)  # after tests/conftest.py has left out the notebooks that the browser test runs
def pytest_collection_modifyitems(config, items):
    """Longest first: notebooks and browser runs by their share of the budget, the unit tests after them."""
    def seconds(item) -> int:
        share = worklog.BUDGET.get(_notebook(item) or "")
        return share.seconds if share else 0

    items.sort(key=seconds, reverse=True)  # stable: each file's tests stay together and in order
    _LAST_CELLS.clear()
    _LAST_CELLS.update({item.path: item.nodeid for item in items if item.path.suffix == ".ipynb"}.values())


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, with each notebook of the browser test a work unit of its own.

    A notebook (its cells share one kernel) and every other test file stay on one worker, in order; the
    browser test's notebooks are independent, so the two workers share them out. With
    ``--no-loadscope-reorder`` the units go out in the order above, longest first.
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class NotebookScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid if nodeid.startswith("tests/test_browser.py::") else super()._split_scope(nodeid)

    return NotebookScheduling(config, log)


def _notebook(item) -> str | None:
    """The notebook an item runs: its file for nbval, its parameter for the browser test."""
    if item.path.suffix == ".ipynb":
        return item.path.name
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("notebook") if callspec is not None and item.path.name == "test_browser.py" else None


@pytest.hookimpl(tryfirst=True)  # before nbval's file collector starts the kernel, which copies the environment
def pytest_runtest_setup(item):
    if item.path.suffix == ".ipynb":
        os.environ[worklog.NOTEBOOK_ENV] = item.path.name
    else:
        os.environ.pop(worklog.NOTEBOOK_ENV, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "call" and item.nodeid in _LAST_CELLS and report.passed:
        if why := worklog.check(item.path.name):
            report.outcome, report.longrepr = "failed", why
    return report
