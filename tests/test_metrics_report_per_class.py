"""Per-class precision and recall of a conditional generator's samples, and the one-image-per-class control
(gancourse.metrics.report; 09_conditional_and_beyond)."""

import numpy as np
import pytest
import torch

from gancourse.metrics import report as rep


def _classes(seed=0, n=200, dim=4):
    # two well-separated classes of real features, labels 0 then 1
    rng = np.random.default_rng(seed)
    real = np.concatenate([rng.normal(size=(n, dim)), rng.normal(size=(n, dim)) + 20.0])
    return real, np.repeat([0, 1], n)


def test_samples_of_the_right_distribution_reach_their_class_and_one_repeated_image_reaches_only_its_copies():
    real, labels = _classes()
    rng = np.random.default_rng(1)
    fresh = rng.normal(size=(200, 4))  # class 0: new draws of class 0's distribution
    one = np.repeat(real[200 + 7][None], 200, 0)  # class 1: one real image of class 1, 200 times
    scores = rep.per_class_scores(np.concatenate([fresh, one]), np.repeat([0, 1], 200), real, labels)
    assert scores.classes == [0, 1]
    assert scores.recall[0] > 0.8 and scores.precision[0] > 0.8
    assert scores.recall[1] == 1 / 200  # its balls have radius 0: only the image itself is reached
    assert scores.precision[1] == 1.0  # and it is a real image
    assert scores.mean_recall == pytest.approx((scores.recall[0] + 1 / 200) / 2)
    # an image that is not among the real ones, repeated, reaches none of them
    off = np.repeat(real[200 + 7][None] + 0.01, 200, 0)
    assert rep.per_class_scores(np.concatenate([fresh, off]), np.repeat([0, 1], 200), real, labels).recall[1] == 0.0


def test_samples_drawn_for_the_wrong_class_score_nothing_there():
    real, labels = _classes()
    swapped = np.concatenate([real[200:], real[:200]])  # class 1's images labelled 0 and the other way round
    scores = rep.per_class_scores(swapped, labels, real, labels)
    assert scores.recall == [0.0, 0.0] and scores.precision == [0.0, 0.0]


def test_per_class_scores_refuse_mismatched_labels_and_too_few_images():
    real, labels = _classes()
    with pytest.raises(ValueError, match="one label per feature vector"):
        rep.per_class_scores(real, labels[:-1], real, labels)
    with pytest.raises(ValueError, match="class 1 has 3 samples"):
        rep.per_class_scores(real[:203], labels[:203], real, labels)


def test_one_image_per_class_repeats_the_first_image_of_each_class_in_class_order():
    x = torch.arange(6.0).reshape(6, 1, 1, 1)
    y = torch.tensor([2, 0, 0, 1, 2, 1])
    images, labels = rep.one_image_per_class(x, y, per_class=3)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert images.reshape(-1).tolist() == [1.0] * 3 + [3.0] * 3 + [0.0] * 3


def test_more_varied_than_needs_a_mean_recall_above_factor_times_the_controls():
    def scores(*recall):
        return rep.PerClassReport(list(range(len(recall))), [1.0] * len(recall), list(recall))

    control = scores(0.001, 0.001)
    assert rep.more_varied_than(scores(0.05, 0.001), control)  # 0.0255 > 0.01
    assert not rep.more_varied_than(scores(0.005, 0.005), control)  # five images per class
    assert not rep.more_varied_than(control, control)
    assert rep.more_varied_than(scores(0.005, 0.005), control, factor=4)
    with pytest.raises(ValueError, match="other classes"):
        rep.more_varied_than(scores(0.1, 0.1, 0.1), control)
