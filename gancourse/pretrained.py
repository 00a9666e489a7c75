"""Generators that ship inside the package, each with the command that trained it and what it measured.

``gancourse/weights/generators.json`` is the manifest: for each name, the file (a generator's
description and its weights in half precision), its SHA-256 and size, the ``gancourse train``
arguments that rebuild it, and the scores its samples reached (:func:`measure`: ``n`` samples of the
noise of seed 0 against ``n`` test images, in the shipped classifier's features). :func:`load` checks
the file against the manifest and returns the generator in float32; :func:`rebuild` runs the training
command again, exports the result (the moving average, or the raw generator where a record says
``"average": false``) and records its checksum and scores; :func:`verify` measures a
shipped file again and compares it with its record (``gancourse pretrained check``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import torch
from torch import nn

from gancourse.checkpoint import CheckpointError
from gancourse.errors import UserError

WEIGHTS = Path(__file__).parent / "weights"
MANIFEST = WEIGHTS / "generators.json"
TOLERANCE = 0.05  # a score measured again may differ from its record by 5 % (other CPUs, other torch builds)


class UnknownGenerator(UserError, KeyError):
    """A name the manifest does not hold."""

    def __str__(self) -> str:  # KeyError's would quote the message
        return self.args[0]


def manifest(path: Path = MANIFEST) -> dict[str, dict]:
    """Every shipped generator's record, by name (an empty manifest where none has been built)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def entry(name: str, path: Path = MANIFEST) -> dict:
    records = manifest(path)
    if name not in records:
        known = ", ".join(records) or "none yet"
        raise UnknownGenerator(f"no shipped generator {name!r}; the package has {known} "
                               f"(see 'gancourse pretrained list').")
    return records[name]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def export(G: nn.Module, path: Path) -> None:
    """Write ``G`` as its description and its floating-point weights in half precision."""
    from gancourse.models import describe

    state = {k: (v.half() if v.is_floating_point() else v) for k, v in G.state_dict().items()}
    torch.save({"model": describe(G), "state_dict": state}, path)


def read(path: Path) -> nn.Module:
    """The generator :func:`export` wrote to ``path``, in float32 and in evaluation mode."""
    from gancourse.models import build

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        G = build(saved["model"])
        G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state_dict"].items()})
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path} is not a generator written by gancourse.pretrained.export: {e}") from None
    return G.eval()


def load(name: str, path: Path = MANIFEST) -> nn.Module:
    """The shipped generator ``name`` (float32, evaluation mode), once its file matches the manifest's checksum."""
    record = entry(name, path)
    file = path.parent / record["file"]
    if not file.is_file() or "sha256" not in record:
        raise CheckpointError(f"the package lacks {file}; rebuild it with '{record['rebuild']}'.")
    if sha256(file) != record["sha256"]:
        raise CheckpointError(f"{file} is not the file the manifest records (its checksum differs); "
                              f"rebuild it with '{record['rebuild']}'.")
    return read(file)


def measure(G: nn.Module, n: int = 1000, seed: int = 0, dataset: str = "fashion-mnist") -> dict:
    """Scores of ``n`` samples of ``G`` (the noise of ``seed``) against ``n`` test images, classifier features.

    A conditional G draws the classes in turn (``n / 10`` of each) and also gets ``accuracy``: the share of
    its samples that the shipped classifier reads as the class asked for.
    """
    from gancourse.metrics.classifier import accuracy
    from gancourse.metrics.report import reference_sets, sample_report
    from gancourse.models import generate

    reference, _ = reference_sets(dataset, "test", n)
    y = torch.arange(n) % G.n_classes if getattr(G, "n_classes", None) else None
    samples = generate(G, n=n, seed=seed, y=y)
    report = sample_report(samples, reference, "classifier")
    scores = {"n": n, "seed": seed, "split": "test", "fd": report.fd, "precision": report.precision,
              "recall": report.recall, "classes_present": report.coverage.classes_present}
    return {**scores, "accuracy": accuracy(samples, y)} if y is not None else scores


def within(measured: dict, recorded: dict, tolerance: float = TOLERANCE) -> list[str]:
    """What differs between two :func:`measure` results beyond ``tolerance``: FD relatively, the rest absolutely."""
    problems = []
    if abs(measured["fd"] - recorded["fd"]) > tolerance * recorded["fd"]:
        problems.append(f"FD {measured['fd']:.2f} against {recorded['fd']:.2f} recorded")
    for key in ("precision", "recall", "accuracy"):  # accuracy: a conditional G's hit rate, where recorded
        if key in recorded and abs((value := measured.get(key, -1.0)) - recorded[key]) > tolerance:
            problems.append(f"{key} {value:.3f} against {recorded[key]:.3f} recorded")
    if measured["classes_present"] < recorded["classes_present"]:
        problems.append(f"{measured['classes_present']} classes against {recorded['classes_present']} recorded")
    return problems


def verify(name: str, path: Path = MANIFEST) -> dict:
    """Load ``name``, measure it as its record was measured, and raise where a score is off; the measurement."""
    record = entry(name, path)
    metrics = record["metrics"]
    measured = measure(load(name, path), n=metrics["n"], seed=metrics["seed"])
    if problems := within(measured, metrics):
        raise CheckpointError(f"{name}: {'; '.join(problems)}.")
    return measured


def train_command(record: dict) -> list[str]:
    """The ``gancourse train`` arguments of a record, with the output folder left to add."""
    return ["train", record["recipe"], *record["train_arguments"]]


def rebuild(name: str, path: Path = MANIFEST, work_dir=None, log=print) -> dict:
    """Train ``name`` again by its record's command, export the result over its file, and record it afresh.

    Every record with the same command is written from the same run: the generator's moving average, or
    the raw generator where a record says ``"average": false``. Returns ``name``'s new record.
    """
    from gancourse.checkpoint import load_generator
    from gancourse.cli import main

    records = manifest(path)
    command = train_command(entry(name, path))
    if "--dataset" in command and command[command.index("--dataset") + 1] != "fashion-mnist":
        raise CheckpointError(f"{name} trains on {command[command.index('--dataset') + 1]}; shipped generators are "
                              "scored in the Fashion-MNIST classifier's features, so they train on fashion-mnist.")
    siblings = [key for key, record in records.items() if train_command(record) == command]
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        out = Path(tmp) / "run"
        argv = [*command, "--out", str(out), "--quiet"]
        log("gancourse " + " ".join(argv))
        if status := main(argv):
            raise CheckpointError(f"the training command of {name} ended with status {status}.")
        for key in siblings:
            record = records[key]
            G, _ = load_generator(out, average=record.get("average", True))
            file = path.parent / record["file"]
            export(G, file)
            record.update(sha256=sha256(file), bytes=file.stat().st_size,
                          metrics=measure(read(file), n=record["metrics"]["n"], seed=record["metrics"]["seed"]))
            log(f"wrote {file} ({record['bytes'] / 1e6:.1f} MB): FD {record['metrics']['fd']:.2f}")
    path.write_text(json.dumps(records, indent=2) + "\n")
    return records[name]
