"""Measurements made with the course's Fashion-MNIST classifier: what a CPU can tell about GAN samples.

A small CNN (:class:`gancourse.models.FashionClassifier`) ships trained with the package; its
probabilities p(y|x) and its penultimate features measure images of Fashion-MNIST's kind:

* :func:`class_coverage`: how the samples spread over the ten classes (the image analogue of modes
  captured and reverse KL in :mod:`gancourse.metrics.modes`);
* :func:`classifier_inception_score`: Salimans et al.'s Inception Score with this classifier in place of
  Inception, exp(E_x KL(p(y|x) || p(y))), from 1 (every sample alike or unsure) to 10 (sure and even);
* :func:`precision_recall`: Kynkäänniemi et al. (2019) in the feature space: precision is the share of
  samples that look real, recall the share of the data the samples cover; :func:`density_coverage`
  (Naeem et al. 2020) counts the same real balls per sample, which few outlying real points can fool;
* :mod:`gancourse.metrics.report` gathers them, with a Fréchet distance, in one report of a sample.

Each score is computed from plain arrays (labels, probabilities, features) apart from the network, so
it is tested on hand-built inputs whose answer is known. The numbers compare runs with each other;
they are not the Inception-based scores of papers. Explained in 08_evaluation.
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from gancourse.config import resolve_device
from gancourse.errors import UserError
from gancourse.metrics.modes import reverse_kl
from gancourse.models import FashionClassifier

WEIGHTS = Path(str(resources.files("gancourse") / "weights" / "fashion_mnist_classifier.pt"))
N_CLASSES = 10
MIN_SHARE = 0.01  # a class is present when at least 1 % of the samples fall in it
_NETWORKS: dict = {}


class ClassifierWeightsMissing(UserError, FileNotFoundError):
    """The classifier's weight file is not where the package keeps it, or is not the classifier's."""


class ClassifierInputError(UserError, ValueError):
    """Images the Fashion-MNIST classifier cannot take (another size, colour)."""


def load_classifier(device=None):
    """The shipped :class:`~gancourse.models.FashionClassifier` in evaluation mode, loaded once per device."""
    device = resolve_device(device)
    if str(device) not in _NETWORKS:
        if not WEIGHTS.is_file():
            raise ClassifierWeightsMissing(
                f"the classifier's weights are missing ({WEIGHTS}); run 'gancourse train classifier --out {WEIGHTS}' "
                f"to train them (about a minute on a CPU)."
            )
        model = FashionClassifier()
        try:
            model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
        except (RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as e:
            raise ClassifierWeightsMissing(
                f"{WEIGHTS} does not hold the classifier's weights ({type(e).__name__}); replace it by "
                f"running 'gancourse train classifier --out {WEIGHTS} --force'."
            ) from None
        _NETWORKS[str(device)] = model.eval().to(device)
    return _NETWORKS[str(device)]


def _check_images(images) -> torch.Tensor:
    images = torch.as_tensor(images)
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ClassifierInputError(
            f"the classifier takes 1×28×28 Fashion-MNIST-like images, shape (N, 1, 28, 28) in [-1, 1]; got "
            f"{tuple(images.shape)}. Grey 28 px samples only (not colour, not 32 or 64 px)."
        )
    return images


@torch.no_grad()
def _apply(images, fn, batch_size: int, device, classifier) -> np.ndarray:
    images = _check_images(images)
    net = classifier if classifier is not None else load_classifier(device)
    where = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        out = [fn(net, chunk.float().to(where)).double().cpu() for chunk in images.split(batch_size)]
    finally:
        net.train(was_training)
    return torch.cat(out).numpy()


def classifier_features(images, batch_size: int = 512, device=None, classifier=None) -> np.ndarray:
    """The penultimate layer (N, F) float64 of images (N, 1, 28, 28) in [-1, 1].

    ``classifier``: another trained :class:`~gancourse.models.FashionClassifier` (default: the shipped one).
    """
    return _apply(images, lambda net, x: net.features(x), batch_size, device, classifier)


def classify(images, batch_size: int = 512, device=None, classifier=None) -> tuple[np.ndarray, np.ndarray]:
    """(labels (N,) int64, probabilities p(y|x) (N, 10) float64) of images (N, 1, 28, 28) in [-1, 1]."""
    probs = _apply(images, lambda net, x: net(x).softmax(1), batch_size, device, classifier)
    return probs.argmax(1), probs


def accuracy(images, labels, batch_size: int = 512, device=None, classifier=None) -> float:
    """Share of ``images`` whose predicted class is ``labels``."""
    predicted, _ = classify(images, batch_size, device, classifier)
    return float((predicted == np.asarray(labels)).mean())


# --- scores from labels, probabilities and features -------------------------------------------


@dataclass
class CoverageReport:
    """How samples spread over the classes; ``histogram`` holds the share of each class (sums to 1)."""

    classes_present: int  # classes holding at least min_share of the samples
    histogram: list[float]
    kl_to_uniform: float  # KL(q || uniform) in nats: 0 when even, log 10 when all in one class

    def to_dict(self) -> dict:
        return asdict(self)


def coverage_of_labels(labels, n_classes: int = N_CLASSES, min_share: float = MIN_SHARE) -> CoverageReport:
    """:class:`CoverageReport` of predicted ``labels`` (N,): a class counts when its share is >= ``min_share``.

    The 1 % floor keeps a few stray samples from counting as a class the generator produces.
    KL(q || u) = Σ_c q_c log(q_c · n_classes), with 0 log 0 = 0: a missing class costs nothing in this
    direction, so a generator stuck on one class scores log 10 ≈ 2.30.
    """
    labels = np.asarray(labels).reshape(-1)
    if len(labels) == 0:
        raise ValueError("class coverage needs at least one sample.")
    counts = np.bincount(labels, minlength=n_classes)
    if len(counts) != n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got {labels.max()}.")
    q = counts / counts.sum()
    return CoverageReport(classes_present=int((q >= min_share).sum()), histogram=q.tolist(),
                          kl_to_uniform=reverse_kl(torch.as_tensor(counts)))


def class_coverage(images, min_share: float = MIN_SHARE, device=None, classifier=None) -> CoverageReport:
    """:func:`coverage_of_labels` of the classes the classifier sees in images (N, 1, 28, 28)."""
    labels, _ = classify(images, device=device, classifier=classifier)
    return coverage_of_labels(labels, min_share=min_share)


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over ``splits`` equal parts of exp(E_x KL(p(y|x) || p(y))), p(y) the part's mean of p(y|x).

    As Salimans et al. (2016) compute it, with their population std across the parts. The score is
    high when each p(y|x) is sure (low entropy) and p(y) is even (high entropy): between 1 and the
    number of classes.
    """
    probs = torch.as_tensor(np.asarray(probs), dtype=torch.float64)
    if probs.dim() != 2 or len(probs) < splits or splits < 1:
        raise ValueError(f"need probabilities (N, classes) with N >= splits={splits}, got {tuple(probs.shape)}.")
    scores = []
    for part in probs.tensor_split(splits):
        marginal = part.mean(0, keepdim=True)  # p(y)
        kl = (torch.special.xlogy(part, part) - torch.special.xlogy(part, marginal)).sum(1)  # KL(p(y|x) || p(y))
        scores.append(kl.mean().exp().item())
    return float(np.mean(scores)), float(np.std(scores))


def classifier_inception_score(images, splits: int = 10, device=None, classifier=None) -> tuple[float, float]:
    """:func:`inception_score` of the classifier's p(y|x) on images (N, 1, 28, 28) in [-1, 1]."""
    _, probs = classify(images, device=device, classifier=classifier)
    return inception_score(probs, splits)


def knn_radii(features, k: int = 3, chunk: int = 1024) -> torch.Tensor:
    """Distance (N,) from each point to its k-th nearest neighbour in the same set, the point itself excluded."""
    x = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    if not 1 <= k < len(x):
        raise ValueError(f"k must be between 1 and the number of points - 1 ({len(x) - 1}), got {k}.")
    radii = []
    for start in range(0, len(x), chunk):
        d = torch.cdist(x[start:start + chunk], x)  # (c, N)
        rows = torch.arange(len(d))
        d[rows, rows + start] = float("inf")  # a point is not its own neighbour
        radii.append(d.kthvalue(k, dim=1).values)
    return torch.cat(radii)


def _share_inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> float:
    """Share of ``points`` within radii[j] of some centres[j]: inside the manifold the balls make."""
    inside = [(torch.cdist(p, centres) <= radii[None]).any(1) for p in points.split(chunk)]
    return torch.cat(inside).double().mean().item()


def precision_recall(real_features, fake_features, k: int = 3, chunk: int = 1024) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature sets (N, F) and (M, F).

    Each set's manifold is the union of balls around its points, each ball reaching the point's k-th
    nearest neighbour in its own set (k = 3 as in the paper). Precision: the share of fake points
    inside the real manifold (the samples look real); recall: the share of real points inside the fake
    manifold (the samples cover the data). Distances are taken ``chunk`` rows at a time, so 10,000 ×
    10,000 points of 96 features take a few seconds and about 300 MB on a CPU.
    """
    real = torch.as_tensor(np.asarray(real_features), dtype=torch.float64)
    fake = torch.as_tensor(np.asarray(fake_features), dtype=torch.float64)
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"need two feature sets (N, F) with the same F, got {tuple(real.shape)} and "
                         f"{tuple(fake.shape)}.")
    precision = _share_inside(fake, real, knn_radii(real, k, chunk), chunk)
    recall = _share_inside(real, fake, knn_radii(fake, k, chunk), chunk)
    return precision, recall


def keeps_classes_loses_recall(real: dict, sample: dict, share: float = 1 / 3, n_classes: int = N_CLASSES) -> bool:
    """True when ``sample`` keeps every class yet covers little of the data, judged against ``real``.

    Both are dicts with ``classes``, ``precision`` and ``recall``: every class present, recall under ``share``
    of the real images', and precision lower than the real images' by less than ``share`` of what recall
    lost. 08_evaluation reads noisy and blurred images this way.
    """
    lost_recall, lost_precision = real["recall"] - sample["recall"], real["precision"] - sample["precision"]
    return (sample["classes"] == n_classes and sample["recall"] < share * real["recall"]
            and lost_precision < share * lost_recall)


def density_coverage(real_features, fake_features, k: int = 3, chunk: int = 1024) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) of feature sets (N, F) and (M, F), with the real balls of precision.

    Density: how many real balls hold each sample, averaged and divided by k (about 1 for samples of the
    data's own distribution); coverage: the share of real balls that hold at least one sample. A few
    large balls around outlying real points can hold a whole set of poor samples: precision then counts
    them all as real, while coverage counts only those few balls.
    """
    real = torch.as_tensor(np.asarray(real_features), dtype=torch.float64)
    fake = torch.as_tensor(np.asarray(fake_features), dtype=torch.float64)
    radii = knn_radii(real, k, chunk)
    held = 0.0
    covered = torch.zeros(len(real), dtype=torch.bool)
    for part in fake.split(chunk):
        inside = torch.cdist(part, real) <= radii[None]  # (c, N): sample in real ball
        held += inside.sum().item()
        covered |= inside.any(0)
    return held / (k * len(fake)), covered.double().mean().item()


# --- one report for a set of generated images -------------------------------------------------
