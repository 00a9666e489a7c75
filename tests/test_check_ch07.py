"""07's checks: the penalised critic's gradient norm against 03's optimum, and the exercise on batch norm."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from gancourse import check, theory
from gancourse.data.toy import ParallelLines
from gancourse.experiments import fit_discriminator
from gancourse.metrics.probes import penalised_norms
from gancourse.models import MLPDiscriminator, ParallelLinesGenerator

GP_NORM_TOL = 0.15  # the tolerance of 07's assert on the median gradient norm


def _placeholder(*args):
    raise NotImplementedError()


def test_the_slope_from_the_estimate_inverts_the_estimate_of_the_stretched_critic():
    w1 = np.array([0.0, 1.0, 6.0, 40.0])
    s = theory.gp_critic_slope(w1)  # the best slope between lines at distance W1 (03)
    np.testing.assert_allclose(theory.gp_slope_from_estimate(s * w1), s)  # that critic scores s·W1
    assert theory.gp_slope_from_estimate(-3.0) == 1.0  # a negative estimate is no distance


def _critic_between_lines(theta: float, gp_weight: float, seed: int = 0):
    torch.manual_seed(seed)
    critic = MLPDiscriminator(2, hidden=64, depth=2)
    fit_discriminator(critic, ParallelLines(0.0), ParallelLinesGenerator(theta), loss="wasserstein",
                      gp_weight=gp_weight, steps=300, lr=3e-3, betas=(0.5, 0.9), seed=seed)
    g = torch.Generator().manual_seed(5)
    return penalised_norms(critic, ParallelLines(0.0).sample(512, generator=g),
                           ParallelLines(theta).sample(512, generator=g), gp_weight=10.0)


@pytest.fixture(scope="module")
def penalised():
    return _critic_between_lines(8.0, gp_weight=10.0)


def test_a_penalised_critic_meets_the_prediction_and_norm_one_is_no_prediction(penalised):
    # between lines 8 apart the best penalised slope is 1 + 8/20 = 1.4, and the critic's own estimate says so
    assert abs(penalised.predicted - 1.4) < 0.02
    assert penalised.agrees(GP_NORM_TOL)
    # the wrong variant: "the penalty makes the norm 1" fails the same check
    assert not replace(penalised, predicted=1.0).agrees(GP_NORM_TOL)
    # and reading the estimate as W1, 1 + Ŵ/(2λ), counts the stretch twice: further off than the prediction
    assert abs(penalised.median - (1 + penalised.w_estimate / 20)) > abs(penalised.median - penalised.predicted)


def test_a_critic_trained_without_the_penalty_fails_the_prediction():
    free = _critic_between_lines(8.0, gp_weight=0.0)
    assert not free.agrees(GP_NORM_TOL)
    assert free.median > 10 * free.predicted  # its slope grows with training; the prediction only as √Ŵ


def _images(n: int = 65, seed: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 14, 14, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(coarse, size=28, mode="nearest")


def _other_companions(x0, pool):
    return torch.cat([x0, pool[:7]]), torch.cat([x0, pool[7:14]])


@pytest.mark.parametrize("images", [None, _images()], ids=["check's own images", "other images"])
def test_batch_dependence_check_passes_other_companions(images, capsys):
    assert check.batch_dependence(_other_companions, images=images) >= check.ch07_wgan_gp.BATCH_DEPENDENCE
    assert "right on 2 inputs" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [
    lambda x0, pool: (torch.cat([x0, pool[:7]]),) * 2,                                  # the same batch twice
    lambda x0, pool: (torch.cat([x0, pool[:7]]), torch.cat([x0, pool[:7].flip(0)])),   # the others shuffled
    lambda x0, pool: (torch.cat([x0, pool[:7]]), torch.cat([x0, pool[:7] * 1.001])),   # barely changed
], ids=["same batch", "shuffled", "barely changed"])
def test_batch_dependence_check_fails_batches_with_the_same_statistics(answer):
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.batch_dependence(answer)


def test_batch_dependence_check_refuses_a_changed_first_image_and_the_placeholder():
    with pytest.raises(check.ExerciseError, match="does not start with x0"):
        check.batch_dependence(lambda x0, pool: (pool[:8], pool[8:16]))
    with pytest.raises(check.ExerciseError, match="outside"):
        check.batch_dependence(lambda x0, pool: (torch.cat([x0, pool[:7]]), torch.cat([x0, 3 * pool[:7]])))
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.batch_dependence(_placeholder)


def test_uniform_noise_fails_the_garment_and_noise_checks_of_the_recipes_table():
    from gancourse.metrics.classifier import class_coverage
    from gancourse.metrics.report import SampleReport, beats_noise

    noise = torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert class_coverage(noise).classes_present < 8  # 07's "draws garments of most classes" fails on noise
    report = SampleReport("classifier", fd=300.0, precision=0.4, recall=0.0, coverage=None)
    assert not beats_noise(report, report)  # and noise does not beat itself
