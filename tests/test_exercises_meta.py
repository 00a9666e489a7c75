"""Every exercise in every notebook is in nbgrader's format and graded by a check that exists."""

import ast
import json
import re
from pathlib import Path

import pytest

from gancourse import check

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _source(cell) -> str:
    return "".join(cell["source"])


def exercise_problems(cells) -> list[str]:
    """What is wrong with the exercises of a notebook's cells; [] when all is well (or there are none)."""
    problems, ids = [], []
    section = next((i for i, c in enumerate(cells)
                    if c["cell_type"] == "markdown" and _source(c).startswith("## Exercises")), None)
    for i, cell in enumerate(cells):
        meta = _nbgrader(cell)
        if meta.get("grade_id"):
            ids.append(meta["grade_id"])
        if meta.get("grade") and not meta.get("solution"):
            if i == 0 or not _nbgrader(cells[i - 1]).get("solution"):
                problems.append(f"cell {i}: a test cell without a solution cell before it")
        if not meta.get("solution"):
            continue
        source = _source(cell)
        if section is None or i < section:
            problems.append(f"cell {i}: a solution cell outside the '## Exercises' section")
        if cell["cell_type"] != "code" or not re.search(r"^\s*### BEGIN SOLUTION$.*^\s*### END SOLUTION$", source,
                                                        re.M | re.S):
            problems.append(f"cell {i}: a solution cell without '### BEGIN SOLUTION' ... '### END SOLUTION' lines")
        if meta.get("grade") is not False or meta.get("locked") is not False:
            problems.append(f"cell {i}: a solution cell must be ungraded and unlocked")
        test = cells[i + 1] if i + 1 < len(cells) else None
        test_meta = _nbgrader(test) if test else {}
        if not (test and test["cell_type"] == "code" and test_meta.get("grade") and test_meta.get("locked")):
            problems.append(f"cell {i}: no locked, graded test cell right after the solution cell")
            continue
        if not isinstance(test_meta.get("points"), (int, float)) or test_meta["points"] <= 0:
            problems.append(f"cell {i + 1}: a test cell without points")
        if test_meta.get("grade_id") != f"{meta.get('grade_id')}_test":
            problems.append(f"cell {i + 1}: the test's grade_id should be the solution's followed by '_test'")
        called = re.findall(r"\bcheck\.(\w+)\(", _source(test))
        if not called:
            problems.append(f"cell {i + 1}: the test cell does not call check.<name>(...)")
        problems += [f"cell {i + 1}: check.{name} does not exist" for name in called
                     if not callable(getattr(check, name, None))]
        if _shows_a_value(_source(test)):
            problems.append(f"cell {i + 1}: the test cell shows its last value, which nbgrader takes for partial "
                            f"credit (a check returns how many inputs it tried); end the line with ';'")
    problems += [f"grade_id {gid!r} is used twice" for gid in sorted(set(ids)) if ids.count(gid) > 1]
    n = sum(bool(_nbgrader(c).get("solution")) for c in cells)
    if n == 1:
        problems.append("one exercise only; a notebook with exercises has at least two")
    return problems


def _shows_a_value(source: str) -> bool:
    """Whether IPython would display the cell's last expression (it does unless the line ends in ';')."""
    tree = ast.parse(source)
    return bool(tree.body) and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(";")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_exercises_are_in_nbgrader_format_and_call_a_check(path):
    assert exercise_problems(_cells(path)) == []


@pytest.mark.parametrize("path", NOTEBOOKS[1:], ids=[p.name for p in NOTEBOOKS[1:]])  # all but 00, the setup
def test_notebook_has_exercises(path):
    cells = _cells(path)
    assert sum(bool(_nbgrader(c).get("solution")) for c in cells) >= 2


def test_grade_ids_are_unique_across_the_notebooks():
    ids = [_nbgrader(c)["grade_id"] for path in NOTEBOOKS for c in _cells(path) if _nbgrader(c).get("grade_id")]
    assert len(ids) == len(set(ids))


def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def _solution(gid="nb00_x", body="def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"):
    return {"cell_type": "code", "source": [body], "metadata": {"nbgrader": {
        "grade": False, "grade_id": gid, "locked": False, "schema_version": 3, "solution": True, "task": False}}}


def _test(gid="nb00_x_test", body="check.nonsaturating_loss(f);", points=1):
    return {"cell_type": "code", "source": [body], "metadata": {"nbgrader": {
        "grade": True, "grade_id": gid, "locked": True, "points": points, "schema_version": 3, "solution": False,
        "task": False}}}


def _two(first=None, second=None):
    return [_md("## Exercises"), *(first or [_solution(), _test()]),
            *(second or [_solution("nb00_y"), _test("nb00_y_test")])]


def test_the_format_check_passes_good_exercises_and_names_each_fault():
    assert exercise_problems(_two()) == []
    assert exercise_problems([_md("# no exercises")]) == []
    faults = {
        "without '### BEGIN": _two([_solution(body="def f():\n    return 1"), _test()]),
        "no locked, graded test cell": _two([_solution(), _md("text")]),
        "without points": _two([_solution(), _test(points=0)]),
        "followed by '_test'": _two([_solution(), _test(gid="other")]),
        "does not call check": _two([_solution(), _test(body="assert f() == 1")]),
        "does not exist": _two([_solution(), _test(body="check.no_such_check(f);")]),
        "end the line with ';'": _two([_solution(), _test(body="check.nonsaturating_loss(f)")]),
        "used twice": _two(second=[_solution(), _test()]),
        "outside the '## Exercises' section": [_solution("nb00_z"), _test("nb00_z_test"), *_two()],
        "one exercise only": [_md("## Exercises"), _solution(), _test()],
        "without a solution cell before it": [*_two(), _test("nb00_w_test")],
    }
    for fault, cells in faults.items():
        problems = exercise_problems(cells)
        assert any(fault in p for p in problems), (fault, problems)
