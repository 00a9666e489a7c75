"""The project's own promises: installable as documented, notebooks clean, fast mode read once."""

import ast
import importlib.metadata
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser from PyPI (dev extra)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_installs_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    deps = env["dependencies"]
    pip_lists = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert pip_lists == [["-e .[dev,teach]"]], "environment.yml must install the course with pip from pyproject"
    conda = [d for d in deps if isinstance(d, str)]
    names = {_name(d) for d in conda}
    assert {"python", "pip"} <= names
    # anything else conda installs must be a dependency pyproject declares too
    declared = {_name(r) for r in _pyproject()["project"]["dependencies"]}
    assert names - {"python", "pip"} <= declared
    python = next(d for d in conda if _name(d) == "python")
    version = tuple(int(p) for p in re.findall(r"\d+", python)[:2])
    minimum = tuple(int(p) for p in re.findall(r"\d+", _pyproject()["project"]["requires-python"])[:2])
    assert version >= minimum


def test_pyproject_declares_the_design_dependencies():
    declared = {_name(r) for r in _pyproject()["project"]["dependencies"]}
    for name in ("torch", "torchvision", "matplotlib", "ipywidgets", "jupyterlab", "nbval", "pytorch-fid",
                 "scipy", "tqdm"):
        assert name in declared
    assert _pyproject()["project"]["scripts"]["gancourse"] == "gancourse.cli:entry"


def _imported_distributions(folder: Path) -> dict[str, str]:
    """Distribution name -> a file importing it, for every third-party import under ``folder``."""
    owners = importlib.metadata.packages_distributions()
    found = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "gancourse" or (path.parent / f"{top}.py").exists():
                    continue  # the standard library, the package, or a sibling test module
                for dist in owners.get(top, [top]):
                    found.setdefault(_name(dist), str(path.relative_to(ROOT)))
    return found


def test_every_import_is_declared():
    project = _pyproject()["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    teach = {_name(r) for r in project["optional-dependencies"]["teach"]}  # gancourse.exercises only
    dev = runtime | teach | {_name(r) for r in project["optional-dependencies"]["dev"]}
    undeclared = {d: f for d, f in _imported_distributions(ROOT / "gancourse").items()
                  if d not in runtime and not (d in teach and f == "gancourse/exercises.py")}
    assert not undeclared, f"the package imports undeclared distributions: {undeclared}"
    undeclared = {d: f for d, f in _imported_distributions(ROOT / "tests").items() if d not in dev}
    assert not undeclared, f"the tests import distributions missing from the dev extra: {undeclared}"


def test_readme_gives_the_two_commands_and_every_notebook():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    for nb in NOTEBOOKS:
        assert nb.stem in readme, f"README does not list {nb.name}"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "GANCOURSE_FAST=1" in makefile and "--nbval-lax" in makefile


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: code cells {dirty} store outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_checks_its_claims(path):
    nb = json.loads(path.read_text())
    source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "assert " in source, f"{path.name} has no assert"
    assert "GANCOURSE_FAST" not in source, f"{path.name} reads GANCOURSE_FAST itself; use gancourse.config"


def _reference_split(code: str) -> str | None:
    """Which split the real images that samples are compared with (``reference, held_out = x[...]``) come from."""
    found = re.search(r"^reference, held_out = (\w+)\[", code, re.M)
    if found is None:
        return None
    loaded = re.search(rf"^{found.group(1)}, \w+ = (.+)$", code, re.M)
    return "test" if loaded and 'split="test"' in loaded.group(1) else "train"


def test_samples_are_compared_with_images_the_generator_never_saw():
    """06, 07 and 09 say so; G trains on the train split, so the images must come from the test split."""
    comparing = {}
    for nb in NOTEBOOKS:
        code = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
        if (split := _reference_split(code)) is not None:
            comparing[nb.name] = split
    assert set(comparing) >= {"06_dcgan.ipynb", "07_wgan_gp.ipynb", "09_conditional_and_beyond.ipynb"}
    assert set(comparing.values()) == {"test"}, comparing
    # the wrong variant, as the notebooks had it: a sample of the training images
    assert _reference_split("x_all, y_all = data.tensors(limit=4000)\n"
                            "reference, held_out = x_all[:2000], x_all[2000:]") == "train"


def test_fast_mode_is_read_in_one_place():
    readers = [p.relative_to(ROOT) for p in (ROOT / "gancourse").rglob("*.py")
               if "GANCOURSE_FAST" in p.read_text() and p.name != "config.py"]
    assert not readers, f"only gancourse/config.py may read GANCOURSE_FAST, also found in {readers}"


def test_python_is_supported():
    minimum = tuple(int(p) for p in re.findall(r"\d+", _pyproject()["project"]["requires-python"])[:2])
    assert sys.version_info[:2] >= minimum


def test_make_lab_starts_as_root_and_turns_the_news_pop_up_off(tmp_path):
    import os
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "-s", "lab", f"VENV={tmp_path}"], cwd=ROOT, capture_output=True, text=True)
    lab_line = [line for line in dry.stdout.splitlines() if " lab " in line][-1]
    assert ("--allow-root" in lab_line) == (os.geteuid() == 0)
    subprocess.run(["make", "-s", "lab-settings", f"VENV={tmp_path}"], cwd=ROOT, check=True)
    overrides = json.loads((tmp_path / "share/jupyter/lab/settings/overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}  # "false" is the schema's "Never"


# Where an optimizer may step: the one training loop, and the peer's loop the speed benchmark measures it against.
STEPPERS = {("gancourse/train.py", None), ("gancourse/bench/speed.py", "pytorch_examples_dcgan_loop")}


def _optimizer_steps(tree: ast.AST):
    """(function, line) of every ``<optimizer>.step()`` call: a name starting with ``opt`` (``opt``, ``opt_d``)."""
    for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
        for node in ast.walk(fn):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "step"
                    and "opt" in ast.unparse(node.func.value).split(".")[-1]):
                yield fn.name, node.lineno


def test_optimizers_step_only_in_the_training_loop():
    found = set()
    for path in sorted((ROOT / "gancourse").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for fn, line in _optimizer_steps(ast.parse(path.read_text())):
            where = (rel, None) if rel == "gancourse/train.py" else (rel, fn)
            assert where in STEPPERS, f"{rel}:{line} ({fn}) steps an optimizer outside gancourse.train"
            found.add(where)
    assert found == STEPPERS
    # the wrong variant: a loss that steps its optimizer is found
    wrong = ast.parse("def loss(D, opt_d):\n    l = D.mean()\n    opt_d.step()\n    return l\n")
    assert list(_optimizer_steps(wrong)) == [("loss", 3)]


def _package_imports() -> dict[str, set[str]]:
    """module -> the package's modules it imports anywhere in its file (at the top or inside a function)."""
    files = {}
    for path in (ROOT / "gancourse").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        files[name] = path
    graph = {}
    for name, path in files.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in files else node.module
                          for a in node.names}
        graph[name] = {m for m in found if m in files and m != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``graph``: each a path that starts and ends at the same module."""
    circles, done = [], set()

    def visit(module, path):
        if module in path:
            circles.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        for other in sorted(graph[module]):
            visit(other, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return circles


def test_no_module_of_the_package_imports_itself_through_others():
    graph = _package_imports()
    assert "gancourse.metrics.frechet" in graph["gancourse.metrics.fid"]  # the graph sees imports
    assert "gancourse.metrics.classifier" in graph["gancourse.metrics.features"]
    assert _circles(graph) == []
    # the wrong variant: the circle metrics/fid.py and metrics/classifier.py once made is found
    wrong = {**graph, "gancourse.metrics.classifier": graph["gancourse.metrics.classifier"] | {"gancourse.metrics.fid"}}
    assert any("gancourse.metrics.classifier" in c and "gancourse.metrics.fid" in c for c in _circles(wrong))
