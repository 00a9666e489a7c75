"""The exercises in nbgrader's format: the notebooks' metadata, the student versions, and nbgrader itself.

The notebooks' format itself is checked in test_exercises_meta.py. The nbgrader runs use
the real ``nbgrader`` command (the ``teach`` extra) in a course folder under tmp_path.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gancourse import exercises

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WITH_EXERCISES = [p for p in NOTEBOOKS if exercises.exercise_count(p)]
ROUND_TRIP = ROOT / "notebooks" / "02_optimal_discriminator.ipynb"  # the fastest notebook with exercises


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_some_notebooks_hold_exercises():
    assert ROUND_TRIP in WITH_EXERCISES


def test_solution_lines_are_those_between_the_markers():
    source = "def f(x):\n    \"\"\"doc\"\"\"\n    ### BEGIN SOLUTION\n    y = x\n\n    return y\n    ### END SOLUTION\n"
    assert exercises.solution_lines(source) == ["y = x", "return y"]


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    exercises.build_student_versions(NOTEBOOKS, out, force=True)
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_student_version_has_the_placeholders_and_no_solution_and_is_otherwise_unchanged(path, student_dir):
    student = nbformat.read(student_dir / path.name, as_version=4)
    nbformat.validate(student)
    original = _cells(path)
    assert len(student.cells) == len(original)
    for cell, source in zip(student.cells, original, strict=True):
        if exercises.is_solution(source):
            text = "".join(source["source"])
            assert "raise NotImplementedError()" in cell.source
            assert "SOLUTION" not in cell.source
            left = [line for line in exercises.solution_lines(text) if line in cell.source]
            assert not left, f"{path.name}: the student version keeps solution lines {left}"
            assert cell.source.split("\n")[0] == text.split("\n")[0]  # the function's signature stays
        else:
            assert cell.source == "".join(source["source"])
            assert cell.metadata == source["metadata"]
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_build_command_refuses_a_folder_with_files_unless_forced(cli, tmp_path, capsys):
    (tmp_path / "old.txt").write_text("a student's work")
    assert cli(["exercises", "build", tmp_path]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--force" in err
    assert not (tmp_path / ROUND_TRIP.name).exists()
    assert cli(["exercises", "build", tmp_path, "--force"]) == 0
    assert f"{len(NOTEBOOKS)} student notebooks" in capsys.readouterr().out
    assert (tmp_path / ROUND_TRIP.name).exists() and (tmp_path / "old.txt").exists()


def test_build_command_without_nbgrader_says_how_to_install_it(cli, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "nbgrader.preprocessors", None)  # import fails as if not installed
    assert cli(["exercises", "build", tmp_path / "out"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install -e '.[teach]'" in err
    assert not (tmp_path / "out").exists()


def test_a_solution_marker_outside_a_solution_cell_is_one_line(cli, tmp_path, capsys):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    nbformat.write(nb, tmp_path / "bad.ipynb")
    assert cli(["exercises", "build", tmp_path / "out", "--notebooks", tmp_path]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.ipynb" in err


# --- nbgrader itself --------------------------------------------------------------------------


def _course(tmp_path, notebooks):
    """A course folder with its own gradebook and the notebooks as assignment ps1."""
    root = tmp_path / "course"
    (root / "source" / "ps1").mkdir(parents=True)
    for path in notebooks:
        shutil.copy(path, root / "source" / "ps1" / path.name)
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = {db_url!r}\n"
        "c.Execute.timeout = 600\n")  # a cell of a notebook may train for a while on two busy cores
    return root, db_url


def _nbgrader(root, *args):
    bin_dir = os.path.dirname(sys.executable)  # nbgrader calls alembic, and the kernel is `python`, from there
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), PYTHONPATH=str(ROOT),
               GANCOURSE_FAST="1", MPLBACKEND="Agg")
    done = subprocess.run([os.path.join(bin_dir, "nbgrader"), *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_nbgrader_generates_the_assignment_from_every_notebook_with_exercises(tmp_path):
    root, _ = _course(tmp_path, WITH_EXERCISES)
    _nbgrader(root, "generate_assignment", "ps1", "--force")
    for path in WITH_EXERCISES:
        release = nbformat.read(root / "release" / "ps1" / path.name, as_version=4)
        sources = [c.source for c in release.cells if exercises.is_solution(c)]
        assert len(sources) == exercises.exercise_count(path)
        assert all("raise NotImplementedError()" in s and "SOLUTION" not in s for s in sources)


@pytest.mark.slow
def test_nbgrader_gives_full_marks_to_the_reference_solutions(tmp_path):
    from nbgrader.api import Gradebook

    root, db_url = _course(tmp_path, [ROUND_TRIP])
    _nbgrader(root, "generate_assignment", "ps1", "--force")
    submitted = root / "submitted" / "alice" / "ps1"
    submitted.mkdir(parents=True)
    shutil.copy(ROUND_TRIP, submitted / ROUND_TRIP.name)  # the reference notebook, handed in
    _nbgrader(root, "autograde", "ps1", "--force")
    with Gradebook(db_url) as gb:
        notebook = gb.find_submission_notebook(ROUND_TRIP.stem, "ps1", "alice")
        assert notebook.max_score == exercises.exercise_count(ROUND_TRIP) > 0
        assert notebook.score == notebook.max_score
        assert not notebook.failed_tests
