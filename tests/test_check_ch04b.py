"""04b_divergences: the exercises' checks pass the derivations and fail a blank and the usual slips."""

import math

import pytest
import torch
from scipy.optimize import minimize_scalar

from gancourse import check
from gancourse.check import ExerciseError
from gancourse.check import ch04b_divergences as ch04b


def _placeholder(*args):
    raise NotImplementedError()


def test_the_reference_conjugate_is_the_supremum_of_its_definition():
    for t in (-8.0, -1.0, 0.0, 0.5, 0.9):
        best = minimize_scalar(lambda r, t=t: -(math.exp(r) * t - (1 - math.exp(r)) ** 2 / math.exp(r)),
                               bounds=(-12, 8), method="bounded", options={"xatol": 1e-10})
        assert -best.fun == pytest.approx(float(ch04b._neyman_conjugate(torch.tensor(t))), abs=1e-5)


@pytest.mark.parametrize("answer", [
    _placeholder,
    lambda t: 1 - torch.sqrt(1 - t),          # the factor 2 lost
    lambda t: t / (1 - t),                    # Hellinger's, from the table
    lambda t: t**2 / 4 + t,                   # Pearson's, the divergence with p and q the other way round
    lambda t: 2 - 2 * torch.sqrt(1 + t),      # a sign slip
])
def test_neyman_conjugate_fails_the_blank_and_the_slips(answer):
    with pytest.raises(ExerciseError):
        check.neyman_conjugate(answer)


def test_neyman_conjugate_passes_the_derivation():
    assert check.neyman_conjugate(lambda t: 2 - 2 * torch.sqrt(1 - t)) == 7


@pytest.mark.parametrize("answer", [
    _placeholder,
    lambda x, a, b: (a - b) * x - (a**2 - b**2) / 2,        # log p − log q: the bound falls short by 1/e
    lambda x, a, b: 1 + (a - b) * x,                          # the constant of the log-ratio lost
    lambda x, a, b: 1 + (b - a) * x - (b**2 - a**2) / 2,      # the ratio upside down
    lambda x, a, b: torch.zeros_like(x) + 1,                  # a constant critic: bound 0
])
def test_kl_critic_fails_the_blank_and_the_slips(answer):
    with pytest.raises(ExerciseError):
        check.kl_critic(answer)


def test_kl_critic_is_measured_by_its_bound_so_any_tight_critic_passes():
    assert check.kl_critic(lambda x, a, b: 1 + (a - b) * x - (a**2 - b**2) / 2) == 4
    # the same function written through the two log-densities passes too: the check integrates, it does not parse
    def through_densities(x, a, b):
        log_p = -0.5 * (x - a) ** 2
        log_q = -0.5 * (x - b) ** 2
        return 1 + log_p - log_q
    assert check.kl_critic(through_densities) == 4


@pytest.mark.parametrize("answer", [
    _placeholder,
    lambda s, w: s / 2,              # the spread of the centres alone
    lambda s, w: w,                  # one mode's width
    lambda s, w: s / 2 + w,          # standard deviations added instead of variances
    lambda s, w: math.sqrt(s**2 + w**2),  # the full separation for the half
])
def test_kl_fit_sigma_fails_the_blank_and_the_slips(answer):
    with pytest.raises(ExerciseError):
        check.kl_fit_sigma(answer)


def test_kl_fit_sigma_passes_the_moment_match():
    assert check.kl_fit_sigma(lambda s, w: math.sqrt(s**2 / 4 + w**2)) == 4
