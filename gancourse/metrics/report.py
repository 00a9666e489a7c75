"""One report of a set of generated images against real ones: Fréchet distance, precision and recall, classes.

:func:`sample_report` measures them in one feature space (:mod:`gancourse.metrics.features`): the
Fréchet distance (:mod:`gancourse.metrics.frechet`), precision and recall
(:func:`gancourse.metrics.classifier.precision_recall`), and, in the classifier's space, the class
coverage. :func:`reference_sets` picks the real images to score against and the real floor beside them.
:func:`beats_noise` and :func:`worse_than` compare two reports. Explained in 06_dcgan,
07_wgan_gp and 09_conditional_and_beyond.

For a conditional generator, :func:`per_class_report` scores the samples drawn for each class against
the real images of that class only, and :func:`one_image_per_class` builds the control it is read
against: a "generator" that draws the same real image for every request of a class, whose class hit
rate is perfect and whose variety within a class is nil. Explained in 09_conditional_and_beyond.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from gancourse.errors import ConfigError
from gancourse.metrics.classifier import CoverageReport, class_coverage, precision_recall
from gancourse.metrics.features import features_of
from gancourse.metrics.frechet import frechet_distance, statistics


def features_for(dataset: str) -> str:
    """The feature space to judge samples of ``dataset`` in: the classifier's for Fashion-MNIST, else Inception.

    The classifier was trained on Fashion-MNIST only; on any other images its features mean nothing.
    """
    return "classifier" if dataset == "fashion-mnist" else "inception"


@dataclass
class SampleReport:
    """How a set of images compares with real ones: a Fréchet distance, precision and recall in one feature
    space and, with the classifier, the class coverage (``None`` in Inception's space)."""

    features: str
    fd: float
    precision: float
    recall: float
    coverage: CoverageReport | None

    def to_dict(self) -> dict:
        return asdict(self)


def sample_report(images, real, features: str = "classifier", device=None) -> SampleReport:
    """:class:`SampleReport` of ``images`` against ``real`` (both (N, C, H, W) in [-1, 1]).

    FD from :func:`gancourse.metrics.frechet.frechet_distance`, precision and recall from
    :func:`precision_recall`, both in ``features``; class coverage when ``features`` is the classifier's.
    """
    f_images, f_real = (features_of(x, features, device=device) for x in (images, real))
    precision, recall = precision_recall(f_real, f_images)
    coverage = class_coverage(images, device=device) if features == "classifier" else None
    fd = frechet_distance(statistics(f_images), statistics(f_real), n=min(len(f_images), len(f_real)))
    return SampleReport(features, fd, precision, recall, coverage)


def reference_sets(dataset: str, split: str, n: int, root=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(reference, floor)``: ``n`` real images to score against, and ``n`` other real images scored as a sample.

    ``split="test"``: ``n`` test images, and ``n`` train images for the floor. ``split="train"``: two disjoint
    sets of ``n`` train images, so choosing a recipe never looks at the test split.
    """
    from gancourse.data.images import load_images

    if split not in ("train", "test"):
        raise ConfigError(f"--split must be 'train' or 'test', got {split!r}.")
    train_x = load_images(dataset, root=root, split="train").tensors()[0]
    order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))
    if split == "train":
        if 2 * n > len(train_x):
            raise ConfigError(f"--n {n} needs {2 * n} train images; the train split has {len(train_x)}.")
        return train_x[order[:n]], train_x[order[n:2 * n]]
    test_x = load_images(dataset, root=root, split="test").tensors()[0]
    if n > len(test_x):
        raise ConfigError(f"--n {n} is more than the test split's {len(test_x)} images.")
    test_order = torch.randperm(len(test_x), generator=torch.Generator().manual_seed(0))
    return test_x[test_order[:n]], train_x[order[:n]]


def beats_noise(report: SampleReport, noise: SampleReport, ratio: float = 0.8) -> bool:
    """True when ``report``'s Fréchet distance is below ``ratio`` times that of uniform noise's ``noise``.

    09_conditional_and_beyond reads it as "G has learnt something": its samples sit clearly nearer the
    data than noise does, in the same feature space and against the same real images.
    """
    return report.fd < ratio * noise.fd


def worse_than(report: SampleReport, baseline: SampleReport, fd_ratio: float = 1.1) -> bool:
    """True when ``report`` is worse than ``baseline`` on two counts: a Fréchet distance at least ``fd_ratio``
    times ``baseline``'s, and fewer classes present. Both need the class coverage (the classifier's features).

    09_conditional_and_beyond compares a DCGAN whose generator lost its batch norm with the one that has it.
    """
    if report.coverage is None or baseline.coverage is None:
        raise ValueError("worse_than compares class coverage: make both reports with features='classifier'.")
    return (report.fd >= fd_ratio * baseline.fd
            and report.coverage.classes_present < baseline.coverage.classes_present)


@dataclass
class PerClassReport:
    """Precision and recall of each class's samples against the real images of that class.

    ``recall[i]`` is the share of the real images of class ``classes[i]`` that the samples drawn for that
    class reach: a class drawn from one image reaches only exact copies of it, whichever image it is.
    """

    classes: list[int]
    precision: list[float]
    recall: list[float]

    @property
    def mean_recall(self) -> float:
        return float(np.mean(self.recall))

    def to_dict(self) -> dict:
        return asdict(self)


def per_class_scores(f_images, labels, f_real, real_labels, k: int = 3) -> PerClassReport:
    """:class:`PerClassReport` from features: for each class c of ``real_labels``, the features of the images
    drawn for c (``labels == c``) against those of the real images of c, by
    :func:`gancourse.metrics.classifier.precision_recall` (each side needs more than ``k`` of each class)."""
    f_images, f_real = np.asarray(f_images), np.asarray(f_real)
    labels, real_labels = np.asarray(labels).reshape(-1), np.asarray(real_labels).reshape(-1)
    if len(labels) != len(f_images) or len(real_labels) != len(f_real):
        raise ValueError(f"one label per feature vector: got {len(labels)} labels for {len(f_images)} samples and "
                         f"{len(real_labels)} for {len(f_real)} real images.")
    classes = sorted(int(c) for c in np.unique(real_labels))
    precision, recall = [], []
    for c in classes:
        fake_c, real_c = f_images[labels == c], f_real[real_labels == c]
        if min(len(fake_c), len(real_c)) <= k:
            raise ValueError(f"class {c} has {len(fake_c)} samples and {len(real_c)} real images; each side needs "
                             f"more than k = {k}.")
        p, r = precision_recall(real_c, fake_c, k=k)
        precision.append(p)
        recall.append(r)
    return PerClassReport(classes, precision, recall)


def per_class_report(images, labels, real, real_labels, features: str = "classifier", k: int = 3,
                     device=None) -> PerClassReport:
    """:func:`per_class_scores` of ``images`` drawn for ``labels`` against ``real`` of ``real_labels``
    (images (N, C, H, W) in [-1, 1]), in ``features``."""
    f_images, f_real = (features_of(x, features, device=device) for x in (images, real))
    return per_class_scores(f_images, torch.as_tensor(labels).cpu(), f_real, torch.as_tensor(real_labels).cpu(), k=k)


def one_image_per_class(real, real_labels, per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The one-image-per-class control: for each class, in order, the first real image of it repeated
    ``per_class`` times; returns ``(images, labels)``, laid out as ``labels.repeat_interleave(per_class)``."""
    real_labels = torch.as_tensor(real_labels).cpu()
    classes = torch.unique(real_labels)
    first = torch.stack([torch.nonzero(real_labels == c)[0, 0] for c in classes])
    return real[first.to(real.device)].repeat_interleave(per_class, 0), classes.repeat_interleave(per_class)


def more_varied_than(report: PerClassReport, control: PerClassReport, factor: float = 10.0) -> bool:
    """True when ``report``'s recall, averaged over the classes, is above ``factor`` times ``control``'s.

    09_conditional_and_beyond reads it against :func:`one_image_per_class`: the samples of each class
    reach many more of that class's real images than one image per class can.
    """
    if report.classes != control.classes:
        raise ValueError(f"the two reports score other classes: {report.classes} and {control.classes}.")
    return report.mean_recall > factor * control.mean_recall
