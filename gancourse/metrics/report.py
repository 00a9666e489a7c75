"""One report of a set of generated images against real ones: Fréchet distance, precision and recall, classes.

:func:`sample_report` measures them in one feature space (:mod:`gancourse.metrics.features`): the
Fréchet distance (:mod:`gancourse.metrics.frechet`), precision and recall
(:func:`gancourse.metrics.classifier.precision_recall`), and, in the classifier's space, the class
coverage. :func:`beats_noise` and :func:`worse_than` compare two reports. Explained in 06_dcgan,
07_wgan_gp and 09_conditional_and_beyond.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
