"""01_first_gan: the exercise on the generator losses' gradients in D's logit, and the race's arrival check,
each against the wrong variants it must reject."""

import numpy as np
import pytest

from gancourse import check
from gancourse.check import ExerciseError
from gancourse.check import ch01_first_gan as ch01


def _placeholder(*args):
    raise NotImplementedError()


def test_logit_gradients_check_passes_the_derivation_and_fails_a_blank_and_the_usual_slips(capsys):
    assert check.logit_gradients(lambda d: (-d, -(1 - d))) == 6
    out = capsys.readouterr().out
    assert "right at 6 values of d" in out and "1.0e-03 times as large" in out  # why the minimax loss saturates
    wrong = {"blank": _placeholder,
             "the two swapped": lambda d: (-(1 - d), -d),
             "the signs dropped": lambda d: (d, 1 - d),
             "σ'(ℓ) = d(1 - d), the log forgotten": lambda d: (-d * (1 - d), -d * (1 - d)),
             "the derivative in d, not in ℓ": lambda d: (-1 / (1 - d), -1 / d),
             "only the minimax one": lambda d: -d}
    for name, answer in wrong.items():
        with pytest.raises(ExerciseError):
            check.logit_gradients(answer)
            pytest.fail(f"passed: {name}")


def test_the_reference_is_autograd_through_the_package_losses():
    minimax, nonsaturating = ch01._measured_logit_gradients(0.2)
    assert minimax == pytest.approx(-0.2) and nonsaturating == pytest.approx(-0.8)


def _saturates(minimax, nonsaturating):
    # 01's check where D has caught the fakes: the minimax gradient under 0.01, the non-saturating one over 0.99
    return abs(minimax) < 0.01 and abs(nonsaturating) > 0.99


def test_01_saturation_check_passes_the_package_losses_and_fails_them_swapped():
    minimax, nonsaturating = ch01._measured_logit_gradients(1e-3)
    assert _saturates(minimax, nonsaturating)
    assert not _saturates(nonsaturating, minimax)


def _arrived(track, within=1.5, by_step=50, record_every=10):
    # 01's check: the first record within 1.5 of the data's mean comes by step 50
    first = int(np.argmax(np.asarray(track) < within))
    return track[first] < within and first * record_every <= by_step


def test_01_arrival_check_passes_the_nonsaturating_run_and_fails_the_minimax_one():
    from gancourse.data import make_toy
    from gancourse.experiments import saturation_race

    race = saturation_race(make_toy("gaussian2d"), steps=50, pretrain_steps=200, seed=0)
    assert race.steps[1] == 10  # a record every 10 steps, as in 01
    assert _arrived(race.distance["nonsaturating"])
    assert not _arrived(race.distance["minimax"])  # the stalled generator never comes within 1.5
