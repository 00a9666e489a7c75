"""Nearest neighbours in pixel space, with no pretrained network.

The distance from each image to its nearest real image (the memorisation check of 08_evaluation)
and that image's label, a crude classifier any labelled dataset provides (latent arithmetic in 06_dcgan).
"""

from __future__ import annotations

import torch


def _distances(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    return torch.cdist(x.flatten(1).float(), reference.flatten(1).float())  # (N, M)


def nearest_distance(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per image of ``x``, the RMS pixel distance to its nearest image in ``reference``: (N,)."""
    return _distances(x, reference).min(1).values / x[0].numel() ** 0.5


def nearest_labels(images: torch.Tensor, reference: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The label of each image's nearest reference image (Euclidean, pixels): a crude classifier.

    Enough to group generated samples by the class they resemble, so that their latent vectors
    can be averaged per class for latent arithmetic.
    """
    return labels[_distances(images, reference).argmin(1)]
