"""Which network turns images into the features a Fréchet distance compares: Inception, or the classifier.

``features="inception"`` is pytorch-fid's network (:mod:`gancourse.metrics.inception`), as papers report
FID; ``features="classifier"`` the course's small Fashion-MNIST classifier
(:mod:`gancourse.metrics.classifier`): far faster on a CPU, comparable only with itself.
"""

from __future__ import annotations

import numpy as np
import torch

from gancourse.errors import ConfigError
from gancourse.metrics.classifier import WEIGHTS, classifier_features
from gancourse.metrics.inception import inception_features, install_weights, weights_source

FEATURES = ("inception", "classifier")


def network_key(features: str) -> str:
    """A short name for the feature network in use, for caches: which weights, and their file's size."""
    if features == "classifier":
        return f"classifier-{WEIGHTS.stat().st_size}"
    if weights_source() is None:
        return "inception-none"
    path = install_weights()  # the file the features will come from, converted now if it must be
    return f"inception-{weights_source()[0]}-{path.stat().st_size}"


def features_of(images: torch.Tensor, features: str = "inception", batch_size: int = 50, device=None) -> np.ndarray:
    """The features FID compares: Inception pool3, or the course classifier's penultimate layer."""
    if features not in FEATURES:
        raise ConfigError(f"unknown features {features!r}; choose one of {', '.join(FEATURES)} (--features).")
    if features == "classifier":
        return classifier_features(images, device=device)
    return inception_features(images, batch_size=batch_size, device=device)
