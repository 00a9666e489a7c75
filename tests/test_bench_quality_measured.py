"""The figures docs/benchmarks.md and 06_dcgan quote from the bench quality records in docs/records."""

import json
from pathlib import Path

import pytest

from gancourse.bench.quality import QualityResult

RECORDS = Path(__file__).parents[1] / "docs" / "records"


def record(*names) -> QualityResult:
    results = [QualityResult.from_dict(json.loads((RECORDS / name).read_text())) for name in names]
    merged = results[0]
    for other in results[1:]:
        merged = merged.merged(other)
    return merged


def test_the_recipe_chosen_on_the_train_split_is_dcgan_and_no_trick_beats_it():
    chosen = record("quality_train_5min_a.json", "quality_train_5min_b.json")
    assert chosen.split == "train" and chosen.budget_seconds == 300 and len(chosen.of("dcgan")) == 3
    assert chosen.best() == "dcgan"
    assert chosen.mean("dcgan-ema", "fd") - chosen.mean("dcgan", "fd") < 1.0  # 06: the moving average "ties"
    for trick in ("ttur", "sngan", "diffaugment", "sngan-ema-augment"):  # 06: "all score worse at that budget"
        assert chosen.mean(trick, "fd") > 1.3 * chosen.mean("dcgan", "fd")


def test_the_test_split_figures_the_docs_quote():
    final = record("quality_test_5min.json")
    assert final.split == "test" and final.best() == "dcgan"
    assert final.floor["fd"] == pytest.approx(1.21, abs=0.005)
    assert final.mean("dcgan", "fd") == pytest.approx(68.7, abs=0.05)
    assert final.gap("dcgan") == pytest.approx(67.5, abs=0.05)
    assert final.inception == pytest.approx({"dcgan": 82.6, "real floor": 12.5}, abs=0.05)
    long = record("quality_test_20min_sngan-ema-augment.json")
    assert long.budget_seconds == 1200 and long.gap("sngan-ema-augment") == pytest.approx(46.6, abs=0.05)


def test_the_shipped_generator_is_the_20_minute_dcgan_row():
    """docs/benchmarks.md's 20-minute dcgan row: the shipped generator scored as the benchmark scores a seed-0 run."""
    from gancourse import pretrained
    from gancourse.metrics.report import reference_sets, sample_report
    from gancourse.models import generate

    assert pretrained.entry("fashion-mnist")["recipe"] == "dcgan"
    reference, _ = reference_sets("fashion-mnist", "test", 2000)
    report = sample_report(generate(pretrained.load("fashion-mnist"), n=2000, seed=1000), reference)
    assert report.fd == pytest.approx(23.0, rel=0.05) and report.recall == pytest.approx(0.724, abs=0.03)
    floor = record("quality_test_5min.json").floor["fd"]
    long = record("quality_test_20min_sngan-ema-augment.json")
    assert long.gap("sngan-ema-augment") / (report.fd - floor) == pytest.approx(2.1, abs=0.15)  # "2.1× further"
