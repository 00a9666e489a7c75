"""The classifier metrics on hand-built inputs, the shipped weights, their training loop and command."""

import math

import numpy as np
import pytest
import scipy.stats
import torch
from fakes import fashion_mnist
from torch import nn

from gancourse.errors import UserError
from gancourse.metrics import classifier as clf
from gancourse.metrics import report as rep
from gancourse.models import FashionClassifier, build, describe
from gancourse.train import train_classifier

# --- Inception Score -------------------------------------------------------------------------


def _inception_score_closed_forms_hold(score) -> bool:
    """Identical (unsure) predictions score 1; ten sure classes in equal shares score 10."""
    same = np.tile([0.5, 0.3, 0.2] + [0.0] * 7, (100, 1))  # every x gets the same p(y|x)
    sure = np.eye(10)[np.arange(100) % 10]  # each split of 10 holds every class once
    return bool(np.allclose(score(same, 10), (1.0, 0.0)) and np.allclose(score(sure, 10), (10.0, 0.0)))


def test_inception_score_is_one_for_identical_predictions_and_ten_for_ten_sure_even_classes():
    assert _inception_score_closed_forms_hold(clf.inception_score)
    two = np.eye(10)[np.arange(100) % 2]  # two sure classes, evenly
    np.testing.assert_allclose(clf.inception_score(two, splits=5), (2.0, 0.0))


def test_inception_score_closed_forms_catch_the_entropy_of_the_marginal_alone():
    def marginal_entropy_only(probs, splits):  # exp H(p(y)): forgets that each p(y|x) must be sure
        return math.exp(scipy.stats.entropy(np.asarray(probs).mean(0))), 0.0

    assert not _inception_score_closed_forms_hold(marginal_entropy_only)


def test_inception_score_std_is_the_spread_across_splits():
    probs = np.concatenate([np.eye(10)[np.arange(50) % 10], np.eye(10)[np.arange(50) % 2]])  # halves score 10, 2
    np.testing.assert_allclose(clf.inception_score(probs, splits=2), (6.0, 4.0))
    with pytest.raises(ValueError, match="N >= splits"):
        clf.inception_score(probs[:5], splits=10)


# --- class coverage --------------------------------------------------------------------------


def test_class_coverage_of_a_hand_made_set():
    labels = np.repeat([0, 1, 2, 3], [100, 60, 39, 1])  # shares 0.5, 0.3, 0.195 and 0.005 (under 1 %)
    report = clf.coverage_of_labels(labels)
    assert report.classes_present == 3
    np.testing.assert_allclose(report.histogram, [0.5, 0.3, 0.195, 0.005] + [0.0] * 6)
    q = np.array([0.5, 0.3, 0.195, 0.005])
    assert report.kl_to_uniform == pytest.approx(math.log(10) - scipy.stats.entropy(q))  # KL(q||u) = log K - H(q)
    assert clf.coverage_of_labels(np.repeat([0, 9], [99, 1])).classes_present == 2  # exactly 1 % counts
    one = clf.coverage_of_labels(np.full(50, 4))
    assert (one.classes_present, one.kl_to_uniform) == (1, pytest.approx(math.log(10)))
    even = clf.coverage_of_labels(np.arange(100) % 10)
    assert (even.classes_present, even.kl_to_uniform) == (10, pytest.approx(0.0, abs=1e-12))
    with pytest.raises(ValueError, match="0..9"):
        clf.coverage_of_labels([3, 12])


# --- the metrics through a network, with a stub in place of the shipped one --------------------


class ClassFromBrightness(nn.Module):
    """A stand-in classifier: the class is the image's mean brightness mapped to 0..9, very sure."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # gives the stub a device

    def features(self, x):
        return x.flatten(1)[:, :4]

    def forward(self, x):
        c = ((x.mean((1, 2, 3)) + 1) / 2 * 10).long().clamp(0, 9)
        return 50.0 * nn.functional.one_hot(c, 10).float()


def _images_of_classes(labels):
    level = (torch.as_tensor(labels).float() + 0.5) / 10 * 2 - 1  # the middle of each class's brightness band
    return level[:, None, None, None].expand(-1, 1, 28, 28).clone()


def test_the_metrics_read_the_networks_predictions():
    stub, labels = ClassFromBrightness(), np.arange(200) % 10
    x = _images_of_classes(labels)
    predicted, probs = clf.classify(x, batch_size=64, classifier=stub)
    np.testing.assert_array_equal(predicted, labels)
    assert probs.shape == (200, 10) and probs.dtype == np.float64
    np.testing.assert_allclose(clf.classifier_inception_score(x, classifier=stub), (10.0, 0.0))
    assert clf.class_coverage(x, classifier=stub).classes_present == 10
    assert clf.class_coverage(x[labels < 3], classifier=stub).kl_to_uniform == pytest.approx(math.log(10 / 3))
    assert clf.accuracy(x, (labels + 1) % 10, classifier=stub) == 0.0
    features = clf.classifier_features(x, batch_size=7, classifier=stub)
    assert features.shape == (200, 4) and features.dtype == np.float64


@pytest.mark.parametrize("shape", [(2, 3, 28, 28), (2, 1, 32, 32), (1, 28, 28)])
def test_images_of_another_shape_are_refused_with_what_the_classifier_takes(shape):
    with pytest.raises(clf.ClassifierInputError, match="1×28×28 Fashion-MNIST-like"):
        clf.classifier_features(torch.zeros(shape), classifier=ClassFromBrightness())
    assert issubclass(clf.ClassifierInputError, UserError) and issubclass(clf.ClassifierInputError, ValueError)


# --- precision and recall --------------------------------------------------------------------


def _two_clusters(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    square = torch.rand(2 * n, 2, generator=g)  # uniform in the unit square: no tails outside the manifold
    return square + torch.tensor([10.0, 0.0]) * (torch.arange(2 * n) % 2)[:, None]  # clusters at x=0 and x=10


def test_identical_sets_have_precision_and_recall_one():
    real = _two_clusters()
    assert clf.precision_recall(real, real.clone()) == (1.0, 1.0)


def _one_cluster_case(pr):
    real, other = _two_clusters(seed=0), _two_clusters(seed=1)
    return pr(real, other[other[:, 0] < 5])  # fresh samples of the left cluster only


def test_samples_of_one_cluster_of_two_have_full_precision_and_half_recall():
    precision, recall = _one_cluster_case(clf.precision_recall)
    assert precision == pytest.approx(1.0, abs=0.03)  # every sample lies on the real data
    assert recall == pytest.approx(0.5, abs=0.03)  # half the data (the right cluster) is never produced
    swapped = _one_cluster_case(lambda r, f: clf.precision_recall(r, f)[::-1])
    assert swapped[0] < 0.6 and swapped[1] > 0.9  # the same check tells precision from recall


def test_samples_far_away_have_precision_and_recall_zero():
    real = _two_clusters()
    assert clf.precision_recall(real, real + 100.0) == (0.0, 0.0)


def test_knn_radius_is_the_kth_neighbour_without_the_point_itself():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    for chunk in (1, 3, 1024):  # the point's own column sits at another offset in each chunk
        torch.testing.assert_close(clf.knn_radii(x, k=1, chunk=chunk), torch.tensor([1.0, 1.0, 2.0, 4.0]).double())
        torch.testing.assert_close(clf.knn_radii(x, k=2, chunk=chunk), torch.tensor([3.0, 2.0, 3.0, 6.0]).double())
    with pytest.raises(ValueError, match="k must be between 1 and"):
        clf.knn_radii(x, k=4)


def _jittered_copy(pr):
    real = _two_clusters()
    g = torch.Generator().manual_seed(3)
    return pr(real, real + 1e-4 * torch.randn(real.shape, generator=g))  # far below the neighbour spacing


def test_a_jittered_copy_is_inside_both_manifolds(monkeypatch):
    assert _jittered_copy(clf.precision_recall) == (1.0, 1.0)

    def radii_with_the_point_itself(features, k=3, chunk=1024):  # the wrong variant: radius 0 for k=1
        x = torch.as_tensor(np.asarray(features), dtype=torch.float64)
        return torch.cdist(x, x).kthvalue(1, dim=1).values

    monkeypatch.setattr(clf, "knn_radii", radii_with_the_point_itself)
    assert _jittered_copy(clf.precision_recall) == (0.0, 0.0)  # the check above would fail on it


def test_precision_recall_is_the_same_in_any_chunks():
    real, fake = _two_clusters(50, seed=0), _two_clusters(30, seed=1) * 1.1
    assert clf.precision_recall(real, fake, chunk=7) == clf.precision_recall(real, fake, chunk=1024)
    with pytest.raises(ValueError, match="same F"):
        clf.precision_recall(real, fake[:, :1])


# --- the shipped classifier ------------------------------------------------------------------


def test_the_weight_file_is_small_and_rebuilds_through_describe_and_build():
    assert clf.WEIGHTS.is_file(), f"{clf.WEIGHTS} is missing; run 'gancourse train classifier'"
    assert clf.WEIGHTS.stat().st_size < 1_000_000
    model = build(describe(FashionClassifier()))
    model.load_state_dict(torch.load(clf.WEIGHTS, map_location="cpu", weights_only=True))  # strict: every key
    assert sum(p.numel() for p in model.parameters()) < 100_000  # < 400 KB as float32
    x = torch.zeros(3, 1, 28, 28)
    assert model.eval().features(x).shape == (3, model.n_features) and model(x).shape == (3, 10)


def test_the_shipped_classifier_is_loaded_once_per_device():
    net = clf.load_classifier("cpu")
    assert not net.training and clf.load_classifier("cpu") is net


def test_missing_or_broken_weights_say_how_to_make_them(tmp_path, monkeypatch):
    monkeypatch.setattr(clf, "_NETWORKS", {})
    monkeypatch.setattr(clf, "WEIGHTS", tmp_path / "absent.pt")
    with pytest.raises(clf.ClassifierWeightsMissing, match="run 'gancourse train classifier"):
        clf.load_classifier("cpu")
    broken = tmp_path / "broken.pt"
    torch.save({"conv.0.weight": torch.zeros(1)}, broken)
    monkeypatch.setattr(clf, "WEIGHTS", broken)
    with pytest.raises(clf.ClassifierWeightsMissing, match="does not hold the classifier's weights"):
        clf.load_classifier("cpu")
    assert issubclass(clf.ClassifierWeightsMissing, UserError)


def test_the_shipped_classifier_reaches_90_percent_on_the_fashion_mnist_test_split():
    x, y = fashion_mnist("test").tensors()
    assert len(x) == 10_000
    assert clf.accuracy(x, y, device="cpu") >= 0.90


# --- training it -----------------------------------------------------------------------------


def _tiny_labelled(n=64):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 10
    x = 0.3 * torch.randn(n, 1, 28, 28, generator=g) - 0.5
    for i, c in enumerate(y.tolist()):
        x[i, 0, 2 * c : 2 * c + 3] += 1.0  # class c: a bright band at rows 2c..2c+2
    return x.clamp(-1, 1), y


def _trained(seed, epochs=3):
    torch.manual_seed(0)
    model = FashionClassifier()
    losses = train_classifier(model, _tiny_labelled(), epochs=epochs, batch_size=16, seed=seed, device="cpu",
                              progress=False)
    return model, losses


def test_train_classifier_lowers_the_loss_and_repeats_itself_for_a_seed():
    model, losses = _trained(seed=0)
    assert len(losses) == 3 and losses[-1] < 0.8 * losses[0]
    assert not model.training
    again, losses_again = _trained(seed=0)
    assert losses_again == losses
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    _, other = _trained(seed=1)
    assert other != losses  # the seed orders the batches


def test_train_classifier_refuses_no_epochs():
    with pytest.raises(UserError, match="epochs must be a positive integer"):
        train_classifier(FashionClassifier(), _tiny_labelled(), epochs=0, progress=False)


# --- the command -----------------------------------------------------------------------------


def _same(state, other) -> bool:
    return state.keys() == other.keys() and all(torch.equal(state[k], other[k]) for k in state)


def test_train_classifier_command_writes_weights_and_never_overwrites_without_force(fm_root, tmp_path, cli,
                                                                                   capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "classifier", "--epochs", "1", "--root", fm_root, "--device", "cpu", "--quiet"]
    assert cli(args) == 0
    said = capsys.readouterr().out
    assert "test accuracy" in said and "on 32 images" in said
    out = tmp_path / "fashion_mnist_classifier.pt"  # the default --out, in the current folder
    first = torch.load(out, weights_only=True)
    build(describe(FashionClassifier())).load_state_dict(first)
    assert cli(args) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert cli([*args, "--force", "--seed", "1"]) == 0
    assert not _same(first, torch.load(out, weights_only=True))
    assert cli([*args, "--force"]) == 0  # seed 0 again: the same weights as the first time
    assert _same(first, torch.load(out, weights_only=True))
    assert cli([*args, "--out", tmp_path]) == 2
    assert "is a folder" in capsys.readouterr().err


# --- the report 06 and 07 print ----------------------------------------------------------------




def test_sample_report_tells_real_images_from_one_class_of_them():
    (x_train, _), (x_test, y_test) = fashion_mnist("train").tensors(limit=600), fashion_mnist("test").tensors()
    real = rep.sample_report(x_test[:600], x_train)
    trousers = rep.sample_report(x_test[y_test == 1][:600], x_train)
    assert real.coverage.classes_present == 10 and trousers.coverage.classes_present <= 2
    assert real.precision > 0.6 and real.recall > 0.6
    assert trousers.recall < 0.3 < real.recall
    assert trousers.fd > 10 * real.fd


def test_sample_report_in_inception_space_compares_the_two_sets_and_skips_coverage(monkeypatch):
    from gancourse.metrics import report as reports

    seen = []

    def fake_features(x, features, device=None):
        seen.append(features)
        return x.flatten(1).double().numpy()

    monkeypatch.setattr(reports, "features_of", fake_features)
    g = torch.Generator().manual_seed(0)
    real = torch.randn(200, 1, 2, 2, generator=g)
    report = rep.sample_report(real + 1.0, real, features="inception")
    assert seen == ["inception", "inception"] and report.coverage is None
    assert report.fd == pytest.approx(4.0, rel=1e-6)  # a shift by 1 in each of 4 dimensions: |Δμ|² = 4


def _report(fd, classes=None):
    coverage = None if classes is None else clf.coverage_of_labels(np.arange(100) % classes)
    return rep.SampleReport("classifier", fd, 0.5, 0.1, coverage)


def test_beats_noise_is_a_distance_clearly_below_that_of_noise():
    noise = _report(300.0)
    assert rep.beats_noise(_report(239.0), noise) and not rep.beats_noise(_report(240.0), noise)  # 0.8 × 300
    assert not rep.beats_noise(noise, noise) and rep.beats_noise(_report(290.0), noise, ratio=1.0)


def test_worse_than_needs_a_larger_distance_and_fewer_classes():
    baseline = _report(100.0, classes=10)
    assert rep.worse_than(_report(111.0, classes=9), baseline)
    assert not rep.worse_than(_report(109.0, classes=5), baseline)  # the distance grew by less than 10 %
    assert not rep.worse_than(_report(500.0, classes=10), baseline)  # as many classes
    assert not rep.worse_than(baseline, baseline)
    assert rep.worse_than(_report(106.0, classes=9), baseline, fd_ratio=1.05)
    with pytest.raises(ValueError, match="features='classifier'"):
        rep.worse_than(_report(200.0), baseline)


def test_samples_are_judged_by_the_classifier_on_fashion_mnist_only():
    assert rep.features_for("fashion-mnist") == "classifier"
    assert rep.features_for("mnist") == rep.features_for("folder:/tmp/pictures") == "inception"
