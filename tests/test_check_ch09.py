"""09_conditional_and_beyond: the exercise on where a relabelled D says 1/2, and the notebook's check of
variety within a class, each against the wrong variants it must reject."""

import math

import pytest
import torch

from gancourse import check
from gancourse.check import ExerciseError
from gancourse.check import ch09_conditional_and_beyond as ch09


def _placeholder(*args):
    raise NotImplementedError()


def _half_point(mu, alpha, beta):
    return mu / 2 + math.log((alpha - 0.5) / (0.5 - beta)) / mu


def test_half_point_check_passes_the_derivation_and_fails_a_blank_and_the_usual_slips(capsys):
    assert check.half_point(_half_point) == 7
    out = capsys.readouterr().out
    assert "a trained D crosses 1/2 at" in out
    wrong = {"blank": _placeholder,
             "the plain labels' midpoint": lambda mu, alpha, beta: mu / 2,
             "the ratio upside down": lambda mu, alpha, beta: mu / 2 - math.log((alpha - 0.5) / (0.5 - beta)) / mu,
             "no 1/μ": lambda mu, alpha, beta: mu / 2 + math.log((alpha - 0.5) / (0.5 - beta)),
             "β forgotten": lambda mu, alpha, beta: mu / 2 + math.log((alpha - 0.5) / 0.5) / mu,
             "the odds of α": lambda mu, alpha, beta: mu / 2 + math.log(alpha / (1 - alpha)) / mu}
    for name, answer in wrong.items():
        with pytest.raises(ExerciseError):
            check.half_point(answer)
            pytest.fail(f"passed: {name}")


def test_a_trained_discriminator_crosses_one_half_where_the_formula_says():
    # the measurement the check holds answers to: smoothing moves the point towards the data, flips do not
    assert abs(ch09.measured_half_point(2.0, 0.2, 0.0) - ch09._half_point(2.0, 0.8, 0.0)) < 0.05
    assert abs(ch09.measured_half_point(2.0, 0.0, 0.2) - 1.0) < 0.05
    assert abs(ch09._half_point(2.0, 0.8, 0.0) - 0.745) < 1e-3 and ch09._half_point(2.0, 0.8, 0.2) == pytest.approx(1.0)


def test_notebook_09_variety_check_fails_on_one_image_per_class_though_its_hit_rate_is_perfect():
    # 09 asserts more_varied_than(G's per-class report, the one-image-per-class control's): mean recall over
    # the classes above ten times the control's. Stand-ins for G, scored against the test split as there:
    # training images of the requested class pass; the control itself and five images per class fail, while
    # the control's class hit rate is 100 %.
    from gancourse.data.images import load_images
    from gancourse.metrics.classifier import accuracy
    from gancourse.metrics.report import more_varied_than, one_image_per_class, per_class_report

    try:
        x_test, y_test = load_images("fashion-mnist", split="test", download=False).tensors()
        x_train, y_train = load_images("fashion-mnist", download=False).tensors(limit=5000)
    except Exception:
        pytest.skip("Fashion-MNIST is not on disk (Debian's dataset-fashion-mnist, or $GANCOURSE_DATA)")
    per_class = 100
    x_ctrl, y_ctrl = one_image_per_class(x_test, y_test, per_class)
    control = per_class_report(x_ctrl, y_ctrl, x_test, y_test)
    assert accuracy(x_ctrl, y_ctrl) == 1.0
    assert control.mean_recall == pytest.approx(1 / 1000)  # each class reaches its one image only
    picked = torch.cat([torch.nonzero(y_train == c)[:per_class, 0] for c in range(10)])
    real_g = per_class_report(x_train[picked], y_train[picked], x_test, y_test)
    assert more_varied_than(real_g, control)
    assert not more_varied_than(control, control)
    five = torch.cat([torch.nonzero(y_test == c)[:5, 0].repeat(per_class // 5) for c in range(10)])
    assert not more_varied_than(per_class_report(x_test[five], y_test[five], x_test, y_test), control)
