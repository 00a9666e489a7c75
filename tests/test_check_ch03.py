"""The check of 03's exercise on two point masses: the right prediction passes, a blank and the typical
wrong ones fail."""

import math

import pytest

from gancourse.check import ExerciseError
from gancourse.check.ch03_js_vs_wasserstein import two_points_distances


def _placeholder(*args):
    raise NotImplementedError()


def _js(theta):
    if theta == 0:
        return 0.0
    return 0.5 * math.log(2) if abs(theta) == 1 else math.log(2)


def test_two_points_distances_passes_the_prediction():
    assert two_points_distances(lambda theta: (_js(theta), abs(theta))) == 22
    assert two_points_distances(lambda theta: [_js(theta), math.hypot(theta, 0.0)]) == 22


@pytest.mark.parametrize("wrong", [
    _placeholder,
    lambda theta: (math.log(2) if theta else 0.0, abs(theta)),  # JS flat everywhere but at 0: misses θ = ±1
    lambda theta: (math.log(2), abs(theta)),                     # JS = log 2 everywhere
    lambda theta: (_js(theta), theta),                           # W1 without the absolute value
    lambda theta: (_js(theta), min(abs(theta), 1.0)),            # W1 capped at the points' spacing
    lambda theta: (_js(theta), abs(theta) / 2),                  # W1 counting only half of the mass
    lambda theta: _js(theta),                                    # not a pair
    lambda theta: None,
])
def test_two_points_distances_fails_a_blank_and_the_typical_wrong_answers(wrong):
    with pytest.raises(ExerciseError):
        two_points_distances(wrong)
