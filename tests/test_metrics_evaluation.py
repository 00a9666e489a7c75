"""08_evaluation's measurements: the sample-size study of the Fréchet distance, the copy check, density and
coverage, and the reading of noisy and blurred images. Each is run once on the wrong variant its notebook
claim rules out, and shown to fail there."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fakes import fashion_mnist

from gancourse.errors import ConfigError
from gancourse.metrics import classifier as clf
from gancourse.metrics.frechet import SampleSizeStudy, distance_by_sample_size, fit_inverse_n
from gancourse.metrics.pixels import copy_check, nearest

SIZES = np.array([50, 100, 200, 500, 1000])


# --- FD(n) ≈ FD∞ + c/n -------------------------------------------------------------------------


def test_the_fit_recovers_a_known_line_in_one_over_n():
    assert fit_inverse_n(SIZES, 1.5 + 300 / SIZES) == pytest.approx((1.5, 300.0))
    weighted = fit_inverse_n(SIZES, 1.5 + 300 / SIZES, weights=np.arange(1, 6))  # exact data: any weights agree
    assert weighted == pytest.approx((1.5, 300.0))
    with pytest.raises(ConfigError, match="two or more different sizes"):
        fit_inverse_n([100, 100], [1.0, 2.0])


def test_two_samples_of_one_gaussian_show_a_bias_in_one_over_n_that_vanishes():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5000, 8)), rng.normal(size=(5000, 8))
    study = distance_by_sample_size(a, b, SIZES, draws=5, seed=0)
    assert study.values.shape == (5, 5)
    assert study.bias_exceeds_noise(factor=2) and study.fit_describes_means(errors=3)
    fd_inf, c = study.fit
    assert abs(fd_inf) < 0.25 * study.mean[-1] and c > 0  # one distribution: FD∞ near 0
    # the draws are disjoint: five draws of 1,000 take all 5,000, and one more does not fit
    with pytest.raises(ConfigError, match="6 disjoint draws"):
        distance_by_sample_size(a, b, SIZES, draws=6)


def test_noise_around_a_constant_is_not_a_bias():
    # the wrong variant: a measurement that scatters but does not fall with n
    rng = np.random.default_rng(1)
    study = SampleSizeStudy(sizes=SIZES, values=3.0 + 0.5 * rng.normal(size=(5, 5)))
    assert abs(study.fit[1]) < 100  # hardly any 1/n term
    assert not study.bias_exceeds_noise(factor=2)
    assert abs(study.fit[0]) > 0.25 * study.mean[-1]  # and its FD∞ is the constant, not near 0


def test_a_trend_that_is_not_one_over_n_is_not_described_by_the_fit():
    # the wrong variant: the means fall as 1/√n, with little noise; FD∞ + c/n cannot follow them
    rng = np.random.default_rng(3)
    study = SampleSizeStudy(sizes=SIZES, values=20 / np.sqrt(SIZES)[:, None] * (1 + 0.01 * rng.normal(size=(5, 5))))
    assert not study.fit_describes_means(errors=3)


# --- the copy check -----------------------------------------------------------------------------


def _images(n, seed):
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_nearest_in_chunks_is_the_nearest_of_all():
    x, reference = _images(30, 0), _images(500, 1)
    full = torch.cdist(x.flatten(1), reference.flatten(1))
    distance, index = nearest(x, reference, chunk=64)
    assert torch.equal(index, full.argmin(1))
    torch.testing.assert_close(distance, full.min(1).values / 6)


def test_new_images_pass_the_copy_check_and_copies_of_any_training_image_fail_it():
    train, test, fresh = _images(3000, 2), _images(500, 3), _images(200, 4)
    honest = copy_check(fresh, test, train, quantile=0.01)
    assert honest.share < 0.05
    late_copies = train[-200:]  # the wrong variant: a generator that returns training images
    assert copy_check(late_copies, test, train).share == 1.0
    # searched in only the first part of the training set (the old pool), the same copies go unseen
    assert copy_check(late_copies, test, train[:2000]).share < 0.05


# --- density and coverage -----------------------------------------------------------------------


def test_identical_sets_have_full_coverage_and_density_one():
    x = np.random.default_rng(0).normal(size=(300, 4))
    density, coverage = clf.density_coverage(x, x)
    assert coverage == 1.0 and density >= 1.0  # each point lies in its own ball, and in about k others'


def test_a_cluster_inside_outliers_balls_fools_precision_but_not_coverage():
    rng = np.random.default_rng(1)
    cluster = rng.normal(size=(200, 2))  # the data, and four isolated real points with large balls
    outliers = np.array([[40.0, 0.0], [0.0, 40.0], [-40.0, 0.0], [0.0, -40.0]])
    real = np.concatenate([cluster, outliers])
    fake = rng.normal(loc=(25.0, 25.0), scale=0.1, size=(100, 2))  # far from the data, inside the outliers' balls
    precision, _ = clf.precision_recall(real, fake)
    density, coverage = clf.density_coverage(real, fake)
    assert precision == 1.0
    assert coverage <= 4 / len(real) and density <= 4 / 3


# --- noisy and blurred images: every class, little recall --------------------------------------

REAL = dict(classes=10, precision=0.86, recall=0.88)


@pytest.mark.parametrize("sample, expected", [
    (dict(classes=10, precision=0.82, recall=0.03), True),   # blurred, as 08 measures it
    (dict(classes=10, precision=0.85, recall=0.86), False),  # the wrong variant: real images, recall kept
    (dict(classes=4, precision=0.88, recall=0.10), False),   # collapsed: classes lost
    (dict(classes=10, precision=0.20, recall=0.10), False),  # precision lost as much as recall
])
def test_keeps_classes_loses_recall_on_hand_made_rows(sample, expected):
    assert clf.keeps_classes_loses_recall(REAL, sample) is expected


def test_blurred_test_images_keep_their_classes_and_lose_recall_and_noise_fools_precision():
    x, _ = fashion_mnist("test").tensors()
    reference, images = x[:1000], x[-1000:]
    blurred = F.interpolate(F.avg_pool2d(images, 2), size=28, mode="bilinear", align_corners=False)
    noise = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    f_ref = clf.classifier_features(reference)

    def row(batch):
        view = clf.classifier_features(batch)
        precision, recall = clf.precision_recall(f_ref, view)
        classes = clf.coverage_of_labels(clf.classify(batch)[0]).classes_present
        return dict(classes=classes, precision=precision, recall=recall,
                    coverage=clf.density_coverage(f_ref, view)[1])

    real, blur, uniform = row(images), row(blurred), row(noise)
    assert clf.keeps_classes_loses_recall(real, blur) and not clf.keeps_classes_loses_recall(real, real)
    assert uniform["precision"] > 0.5  # precision is fooled by noise: most of it counts as real
    assert uniform["coverage"] < 0.05 < 0.5 < real["coverage"]  # coverage is not
