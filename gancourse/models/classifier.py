"""The course's Fashion-MNIST classifier, whose trained weights ship with the package (08_evaluation)."""

from __future__ import annotations

import torch
from torch import nn


class FashionClassifier(nn.Module):
    """A small CNN that tells the ten Fashion-MNIST classes apart: x (B, 1, 28, 28) in [-1, 1] -> logits (B, 10).

    Three 3×3 convolutions, each with 2× max pooling, batch norm and ReLU (28 -> 14 -> 7 -> 3 px), then
    a linear layer to ``features`` numbers and a last one to the logits. :meth:`features` is that
    penultimate layer: the space where :mod:`gancourse.metrics.classifier` compares real and generated
    images (a Fréchet distance, precision and recall), as Inception's pool layer serves for photographs.
    Trained weights ship with the package (:func:`gancourse.metrics.classifier.load_classifier`).
    Explained in 08_evaluation.
    """

    def __init__(self, width: int = 16, features: int = 96, n_classes: int = 10):
        super().__init__()
        self.n_features, self.n_classes = features, n_classes
        self.hparams = dict(width=width, features=features, n_classes=n_classes)
        layers: list[nn.Module] = []
        ch_in = 1
        for ch in (width, 2 * width, 4 * width):
            # pooling before batch norm and ReLU: a quarter of their cost on the CPU, and the same maxima
            # where the norm's scale is positive (both are then increasing functions of each pixel)
            layers += [nn.Conv2d(ch_in, ch, 3, 1, 1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(ch), nn.ReLU(True)]
            ch_in = ch
        self.conv = nn.Sequential(*layers)  # (B, 1, 28, 28) -> (B, 4·width, 3, 3)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(ch_in * 3 * 3, features), nn.ReLU(True))  # (B, F)
        self.head = nn.Linear(features, n_classes)  # (B, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer (B, F), after its ReLU."""
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            got = tuple(x.shape[1:]) if x.dim() == 4 else tuple(x.shape)
            raise ValueError(
                f"the Fashion-MNIST classifier takes 1×28×28 images (B, 1, 28, 28) in [-1, 1], got {got}; "
                f"it measures grey 28 px Fashion-MNIST-like images only."
            )
        return self.embed(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, n_classes)
