"""02_optimal_discriminator: the exercise on where D* = 1/2 for two Gaussians, against the wrong variants it
must reject, and the measurements its check holds answers to."""

import math

import numpy as np
import pytest

from gancourse import check
from gancourse.check import ExerciseError
from gancourse.check import ch02_optimal_discriminator as ch02


def _placeholder(*args):
    raise NotImplementedError()


def _roots(mu, sigma, a_of=lambda s: s**2 - 1, b_sign=1, log_term=True):
    # log N(x; 0, 1) = log N(x; μ, σ²)  <=>  (σ² - 1) x² + 2μ x - μ² - 2σ² log σ = 0
    if sigma == 1:
        return [mu / 2]
    a, b = a_of(sigma), b_sign * 2 * mu
    c = -mu**2 - (2 * sigma**2 * math.log(sigma) if log_term else 0.0)
    root = math.sqrt(b**2 - 4 * a * c)
    return [(-b - root) / (2 * a), (-b + root) / (2 * a)]


def test_d_star_half_points_check_passes_the_derivation_and_fails_a_blank_and_the_usual_slips(capsys):
    assert check.d_star_half_points(_roots) == 8
    out = capsys.readouterr().out
    assert "right for 7 generators" in out and "a D trained on samples crosses ½ at" in out
    wrong = {"blank": _placeholder,
             "σ = 1's midpoint for every σ": lambda mu, sigma: [mu / 2],
             "the normalising factors cancelled": lambda mu, sigma: _roots(mu, sigma, log_term=False),
             "μ's sign flipped": lambda mu, sigma: _roots(mu, sigma, b_sign=-1),
             "σ for σ²": lambda mu, sigma: _roots(mu, sigma, a_of=lambda s: s - 1),
             "one root only": lambda mu, sigma: _roots(mu, sigma)[-1]}
    for name, answer in wrong.items():
        with pytest.raises(ExerciseError):
            check.d_star_half_points(answer)
            pytest.fail(f"passed: {name}")


def test_the_grid_crossings_find_one_point_at_sigma_one_and_two_otherwise():
    np.testing.assert_allclose(ch02.exact_half_points(3.0, 1.0), [1.5], atol=1e-6)
    np.testing.assert_allclose(ch02.exact_half_points(0.0, 2.0), [-1.35956, 1.35956], atol=1e-5)


def test_a_trained_discriminator_crosses_one_half_near_the_exact_points():
    np.testing.assert_allclose(ch02.trained_half_points(0.5, 2.0), _roots(0.5, 2.0), atol=0.1)
