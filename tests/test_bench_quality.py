import json

import pytest

from gancourse.bench import quality
from gancourse.bench.quality import QualityResult, QualityRun, run_quality
from gancourse.errors import ConfigError
from gancourse.metrics.report import reference_sets, sample_report


def _rows(x):
    return {tuple(row.flatten().tolist()) for row in x}


@pytest.mark.parametrize("split", ["train", "test"])
def test_the_floor_is_other_real_images_than_the_reference(split):
    from gancourse.data.images import load_images

    reference, floor = reference_sets("fashion-mnist", split, 300)
    assert len(reference) == len(floor) == 300 and not _rows(reference) & _rows(floor)
    test_rows = _rows(load_images("fashion-mnist", split="test").tensors()[0])
    assert (_rows(reference) <= test_rows) == (split == "test")  # the test split only where it is asked for
    assert not _rows(floor) & test_rows  # the floor's images are always train images
    honest = sample_report(floor, reference).fd
    same = sample_report(reference, reference).fd  # the wrong floor: the reference scored against itself
    assert same < 1e-3 < 0.5 * honest


def test_a_time_budget_gives_a_costlier_recipe_fewer_steps(monkeypatch):
    cost = {"dcgan": 0.1, "sngan-ema-augment": 0.3}
    monkeypatch.setattr(quality, "cpu_seconds_per_step", lambda recipe, data, **kw: cost[recipe])
    result = run_quality(list(cost), minutes=0.05, seeds=1, n=64, width=8)  # 3 CPU seconds each
    steps = {run.recipe: run.steps for run in result.runs}
    assert steps == {"dcgan": 30, "sngan-ema-augment": 10}


def test_the_cost_per_step_leaves_out_the_setup(monkeypatch):
    import time

    import gancourse.experiments

    clock = [0.0]
    monkeypatch.setattr(time, "process_time", lambda: clock[0])

    def fake_run(recipe, data, *, steps, **kw):  # 7 s of setup, then 0.25 s a step
        clock[0] += 7.0 + 0.25 * steps

    monkeypatch.setattr(gancourse.experiments, "train_image_recipe", fake_run)
    per_step = quality.cpu_seconds_per_step("dcgan", None, width=8, batch_size=16, device="cpu", threads=1)
    assert per_step == pytest.approx(0.25)  # 24 steps' time over 24 would say 0.54: the setup counted as steps


def test_bench_quality_end_to_end_at_a_tiny_budget(cli, capsys):
    assert cli(["bench", "quality", "--recipes", "dcgan", "sngan-ema-augment", "--steps", "2", "--seeds", "2",
                "--n", "64", "--width", "8", "--json", "--quiet"]) == 0
    out = capsys.readouterr()
    record = json.loads(out.out)
    assert [(r["recipe"], r["seed"], r["steps"]) for r in record["runs"]] == [
        ("dcgan", 0, 2), ("dcgan", 1, 2), ("sngan-ema-augment", 0, 2), ("sngan-ema-augment", 1, 2)]
    assert record["split"] == "test" and record["n"] == 64 and record["budget_seconds"] is None
    # two steps teach G nothing: every run is far above the floor, and the table says so
    assert all(r["fd"] > 2 * record["floor"]["fd"] for r in record["runs"])
    assert record["best"] in ("dcgan", "sngan-ema-augment") and "real floor" in out.err
    for recipe, row in record["summary"].items():
        fds = [r["fd"] for r in record["runs"] if r["recipe"] == recipe]
        assert row["gap"] == pytest.approx(sum(fds) / 2 - record["floor"]["fd"])


def test_the_best_recipe_is_the_lowest_mean_fd_and_its_gap_is_against_the_floor():
    def run(recipe, seed, fd):
        return QualityRun(recipe, seed, 10, 1.0, 1.0, fd, 0.5, 0.5, 10)

    result = QualityResult("fashion-mnist", "train", "classifier", 64, 8, 16, "cpu", 1, None,
                           {"fd": 2.0, "precision": 0.7, "recall": 0.7, "classes_present": 10},
                           [run("dcgan", 0, 30.0), run("dcgan", 1, 10.0), run("sngan", 0, 18.0), run("sngan", 1, 16.0)])
    # dcgan's best seed (10) is the lowest single FD, but its mean (20) is above sngan's (17)
    assert result.best() == "sngan" and result.gap("sngan") == 15.0 and result.gap("dcgan") == 18.0
    assert "1.20× smaller" in result.summary()


def test_refusals_are_one_line(cli, capsys):
    with pytest.raises(ConfigError, match="give one budget"):
        run_quality(["dcgan"], minutes=5, steps=10)
    with pytest.raises(ConfigError, match="too few"):
        run_quality(["dcgan"], steps=1, n=3)
    with pytest.raises(ConfigError, match="unknown image recipe"):
        run_quality(["ring8"], steps=1)
    with pytest.raises(ConfigError, match="add --steps N"):
        run_quality(["dcgan"], device="meta")  # any device but the CPU: CPU time does not measure its work
    with pytest.raises(ConfigError, match="more than the test split's 10000"):
        reference_sets("fashion-mnist", "test", 10_001)


def test_table_merges_records_of_one_setting_and_refuses_others(tmp_path, cli, capsys):
    def record(recipe, fd, n=64):
        run = QualityRun(recipe, 0, 10, 1.0, 1.0, fd, 0.5, 0.5, 10)
        result = QualityResult("fashion-mnist", "train", "classifier", n, 8, 16, "cpu", 1, 60.0,
                               {"fd": 2.0, "precision": 0.7, "recall": 0.7, "classes_present": 10}, [run])
        return json.dumps(result.to_dict())

    (tmp_path / "a.json").write_text(record("dcgan", 30.0))
    (tmp_path / "b.json").write_text(record("sngan", 12.0))
    (tmp_path / "c.json").write_text(record("sngan", 12.0, n=128))
    assert cli(["bench", "quality", "--table", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    out = capsys.readouterr().out
    assert "best: sngan, FD − floor 10.0 against dcgan's 28.0 (2.80× smaller)" in out
    assert cli(["bench", "quality", "--table", str(tmp_path / "a.json"), str(tmp_path / "c.json")]) == 2
    assert "measured differently (n)" in capsys.readouterr().err
    assert cli(["bench", "quality", "--table", str(tmp_path / "a.json"), str(tmp_path / "a.json")]) == 2
    assert "both records hold dcgan seed 0" in capsys.readouterr().err
    no_floor = json.loads(record("dcgan", 30.0))
    del no_floor["floor"]["fd"]
    for i, text in enumerate(["{}", "[1, 2]", "7", "not json", json.dumps(no_floor)]):
        (tmp_path / f"bad{i}.json").write_text(text)
        assert cli(["bench", "quality", "--table", str(tmp_path / f"bad{i}.json")]) == 2
        assert "not a record" in capsys.readouterr().err
