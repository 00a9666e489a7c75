"""The notebooks' exercises in nbgrader's format, and the student versions written from them.

An exercise is a solution cell (nbgrader metadata ``"solution": true``) whose function body lies
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, followed by a locked test cell with points
that calls a check of :mod:`gancourse.check`. The committed notebooks hold the reference solutions;
:func:`build_student_versions` writes copies with the solutions cleared by nbgrader's own
``ClearSolutions`` (which leaves ``raise NotImplementedError()`` in their place) and the outputs cleared by
nbconvert, every other cell unchanged. ``gancourse exercises build OUT`` calls it. nbgrader comes with
the ``teach`` extra. Explained in the README ("Homework").
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gancourse.errors import UserError

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# the course's notebooks, beside the package in a checkout (pip install -e .)
NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
TEACH_EXTRA = "pip install -e '.[teach]'"


class NbgraderMissing(UserError, ImportError):
    """nbgrader, which clears the solutions, is not installed."""


def grading(cell) -> dict:
    """The cell's nbgrader metadata ({} for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell) -> bool:
    return bool(grading(cell).get("solution"))


def is_test(cell) -> bool:
    return bool(grading(cell).get("grade")) and cell.get("cell_type") == "code"


def has_exercises(nb) -> bool:
    return any(is_solution(cell) for cell in nb["cells"])


def exercise_count(path: Path) -> int:
    """How many solution cells the notebook file holds."""
    import json

    return sum(is_solution(cell) for cell in json.loads(Path(path).read_text())["cells"])


def solution_lines(source: str) -> list[str]:
    """The reference solution's lines: those strictly between the BEGIN and END markers, stripped."""
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == END:
            inside = False
        if inside and line.strip():
            lines.append(line.strip())
        if line.strip() == BEGIN:
            inside = True
    return lines


def _clear_solutions():
    try:
        from nbconvert.preprocessors import ClearOutputPreprocessor
        from nbgrader.preprocessors import ClearSolutions
    except ImportError:
        raise NbgraderMissing(f"nbgrader is needed to clear the solutions; {TEACH_EXTRA}") from None
    return ClearSolutions(), ClearOutputPreprocessor()


def student_version(nb, name: str = "notebook"):
    """A copy of the notebook ``nb`` with its solutions and outputs cleared (the original is untouched)."""
    import copy

    clear_solutions, clear_outputs = _clear_solutions()
    nb = copy.deepcopy(nb)
    try:
        nb, resources = clear_solutions.preprocess(nb, {})
    except RuntimeError as err:  # a marker outside a solution cell, or an END without a BEGIN
        raise UserError(f"{name}: {err}") from None
    nb, _ = clear_outputs.preprocess(nb, resources)
    return nb


def build_student_versions(notebooks: Iterable[Path], out: Path, *, force: bool = False) -> list[Path]:
    """Write the student version of each notebook into ``out``, under the same name; return their paths.

    A folder ``out`` that already holds files is written into only with ``force`` (files of the same
    names are replaced, others are left alone). Notebooks without exercises are copied with their
    outputs cleared, so ``out`` holds the whole course.
    """
    import nbformat

    from gancourse.errors import CommandError

    notebooks, out = [Path(p) for p in notebooks], Path(out)
    if not notebooks:
        raise CommandError("no notebooks to write student versions of.")
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} is a file; give a folder for the student versions.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise CommandError(f"{out} is not empty; pass --force to write the student versions into it anyway.")
    _clear_solutions()  # a missing nbgrader is said before anything is written
    students = [student_version(nbformat.read(path, as_version=4), name=str(path)) for path in notebooks]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path, nb in zip(notebooks, students, strict=True):
        nbformat.validate(nb)
        nbformat.write(nb, out / path.name)
        written.append(out / path.name)
    return written
