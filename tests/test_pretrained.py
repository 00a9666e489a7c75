import json

import pytest
import torch

from gancourse import pretrained
from gancourse.checkpoint import CheckpointError
from gancourse.models import image_networks
from gancourse.pretrained import UnknownGenerator, export, load, manifest, measure, read, rebuild, verify, within

SHIPPED = manifest()


def tiny_manifest(tmp_path, steps=2, recipe="dcgan", raw=False):
    path = tmp_path / "generators.json"
    record = {"file": "tiny.pt", "recipe": recipe, "notebooks": [],
              "train_arguments": ["--steps", str(steps), "--width", "8", "--threads", "1"],
              "rebuild": "gancourse pretrained rebuild tiny", "metrics": {"n": 100, "seed": 0}}
    records = {"tiny": record}
    if raw:
        records["tiny-raw"] = {**record, "file": "tiny_raw.pt", "average": False}
    path.write_text(json.dumps(records))
    return path


def test_one_run_writes_the_average_and_the_raw_generator_of_one_command(tmp_path):
    path = tiny_manifest(tmp_path, steps=30, recipe="dcgan-ema", raw=True)
    rebuild("tiny-raw", path, work_dir=tmp_path, log=lambda line: None)
    average, raw = load("tiny", path), load("tiny-raw", path)
    records = manifest(path)
    assert records["tiny"]["sha256"] != records["tiny-raw"]["sha256"]
    # thirty steps of decay 0.995 leave the average near the initial weights (about a tenth of the way the
    # raw G moved: Adam moves each weight about lr a step, the average follows at 0.5 % a step)
    torch.manual_seed(0)  # train_image_recipe's seed 0: the same initial networks
    G0, _ = image_networks(1, 28, width=8)
    gap = {name: torch.cat([(a - b).abs().flatten() for a, b in zip(G.parameters(), G0.parameters(), strict=True)])
           .mean().item() for name, G in (("average", average), ("raw", raw))}
    assert gap["average"] < 0.25 * gap["raw"]


def test_export_keeps_half_precision_weights_and_read_returns_float32(tmp_path):
    torch.manual_seed(0)
    G, _ = image_networks(1, 28, width=8)
    export(G, tmp_path / "g.pt")
    H = read(tmp_path / "g.pt")
    for (k, a), b in zip(G.state_dict().items(), H.state_dict().values(), strict=True):
        assert b.dtype == a.dtype, k
        torch.testing.assert_close(b, a.half().float() if a.is_floating_point() else a, rtol=0, atol=0)
    torch.save(G.state_dict(), tmp_path / "full.pt")
    assert (tmp_path / "g.pt").stat().st_size < 0.6 * (tmp_path / "full.pt").stat().st_size


def test_rebuild_trains_by_the_recorded_command_and_verify_measures_the_file_again(tmp_path):
    path = tiny_manifest(tmp_path, steps=200)
    record = rebuild("tiny", path, work_dir=tmp_path, log=lambda line: None)
    assert record["bytes"] == (tmp_path / "tiny.pt").stat().st_size and record["metrics"]["n"] == 100
    assert verify("tiny", path) == pytest.approx(record["metrics"])
    assert record["metrics"]["classes_present"] > 1  # 200 steps: G draws more than one kind of picture
    # the wrong file under the same record: an untrained generator fails the checksum, and with its checksum
    # written in, fails the scores
    torch.manual_seed(1)
    G, _ = image_networks(1, 28, width=8)
    export(G, tmp_path / "tiny.pt")
    with pytest.raises(CheckpointError, match="checksum differs.*gancourse pretrained rebuild tiny"):
        load("tiny", path)
    records = json.loads(path.read_text())
    records["tiny"]["sha256"] = pretrained.sha256(tmp_path / "tiny.pt")
    path.write_text(json.dumps(records))
    with pytest.raises(CheckpointError, match="FD"):
        verify("tiny", path)


def test_within_flags_each_score_off_its_record():
    recorded = {"fd": 10.0, "precision": 0.7, "recall": 0.5, "classes_present": 10}
    assert within(dict(recorded), recorded) == []
    assert within({**recorded, "fd": 10.4}, recorded) == []
    assert len(within({**recorded, "fd": 11.0}, recorded)) == 1
    assert len(within({**recorded, "recall": 0.4, "classes_present": 9}, recorded)) == 2
    conditional = {**recorded, "accuracy": 0.8}  # a conditional G's record holds its hit rate too
    assert within(dict(conditional), conditional) == []
    assert within({**conditional, "accuracy": 0.7}, conditional) == ["accuracy 0.700 against 0.800 recorded"]
    assert within(dict(recorded), conditional) == ["accuracy -1.000 against 0.800 recorded"]  # no hit rate measured


def test_a_conditional_generator_is_measured_on_the_classes_in_turn(monkeypatch):
    import gancourse.metrics.classifier as classifier
    import gancourse.models as models

    asked, scored = [], []
    real_generate = models.generate
    monkeypatch.setattr(models, "generate", lambda G, **kw: asked.append(kw.get("y")) or real_generate(G, **kw))
    monkeypatch.setattr(classifier, "accuracy", lambda images, labels, **kw: scored.append(labels) or 0.25)
    torch.manual_seed(0)
    G, _ = image_networks(1, 28, width=8, z_dim=16, n_classes=10)
    scores = measure(G, n=40)
    assert torch.equal(asked[0], torch.arange(40) % 10) and torch.equal(scored[0], asked[0])  # classes in turn
    assert scores["accuracy"] == 0.25  # the hit rate of those samples on those labels
    assert "accuracy" not in measure(image_networks(1, 28, width=8)[0], n=40)


def test_an_unknown_name_and_a_missing_file_are_one_line(tmp_path, cli, capsys):
    path = tiny_manifest(tmp_path)
    with pytest.raises(UnknownGenerator, match="no shipped generator 'nope'; the package has tiny"):
        load("nope", path)
    with pytest.raises(CheckpointError, match="lacks .*tiny.pt; rebuild it with 'gancourse pretrained rebuild tiny'"):
        load("tiny", path)
    assert cli(["sample", "--pretrained", "nope", "--out", str(tmp_path / "a.png")]) == 2
    assert "gancourse pretrained list" in capsys.readouterr().err
    for argv in (["sample", "--out", str(tmp_path / "a.png")],
                 ["sample", str(tmp_path), "--pretrained", "nope", "--out", str(tmp_path / "a.png")]):
        assert cli(argv) == 2 and "give one source of samples" in capsys.readouterr().err
    records = json.loads(path.read_text())
    records["tiny"]["train_arguments"] += ["--dataset", "mnist"]
    path.write_text(json.dumps(records))
    with pytest.raises(CheckpointError, match="trains on mnist"):
        rebuild("tiny", path, work_dir=tmp_path, log=lambda line: None)


def test_the_package_ships_a_generator():
    assert SHIPPED, "gancourse/weights/generators.json lists no generator"
    assert sum(r["bytes"] for r in SHIPPED.values()) < 20e6


@pytest.mark.parametrize("name", list(SHIPPED))
def test_each_shipped_generator_reaches_its_recorded_scores(name):
    record = SHIPPED[name]
    measured = verify(name)
    assert measured["classes_present"] == record["metrics"]["classes_present"]
    # the wrong variant: the same network untrained, measured the same way, is far off every record
    torch.manual_seed(0)
    G = load(name)
    untrained = type(G)(**G.hparams)
    assert len(within(measure(untrained, n=record["metrics"]["n"]), record["metrics"])) >= 2


def test_sample_draws_from_a_shipped_generator(tmp_path, cli, capsys):
    name = next(iter(SHIPPED))
    assert cli(["sample", "--pretrained", name, "--n", "16", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").is_file() and name in capsys.readouterr().out


def test_the_benchmarks_table_quotes_each_shipped_record():
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "benchmarks.md").read_text()
    for name, record in SHIPPED.items():
        row = re.search(rf"^\| `{re.escape(name)}` \|.*$", text, re.M)
        assert row, f"docs/benchmarks.md has no row for {name}"
        cells = [c.strip() for c in row.group(0).strip("|").split("|")]
        m = record["metrics"]
        assert cells[2] == f"{record['bytes'] / 1e6:.1f} MB" and cells[3] == f"{m['fd']:.1f}"
        assert cells[4:7] == [f"{m['precision']:.3f}", f"{m['recall']:.3f}", str(m["classes_present"])]
        assert cells[7] == (f"{100 * m['accuracy']:.1f} %" if "accuracy" in m else "")
