"""Nearest neighbours in pixel space, with no pretrained network.

The distance from each image to its nearest real image and the memorisation check built on it
(08_evaluation), and that image's label, a crude classifier any labelled dataset provides (latent
arithmetic in 06_dcgan). References of any size are searched a chunk at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def _distances(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    return torch.cdist(x.flatten(1).float(), reference.flatten(1).float())  # (N, M)


def nearest(x: torch.Tensor, reference: torch.Tensor, chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image of ``x``, (the RMS pixel distance to its nearest image in ``reference``, that image's index).

    ``reference`` is read ``chunk`` images at a time, so all 60,000 training images of Fashion-MNIST are
    searched in a few hundred MB.
    """
    best = torch.full((len(x),), float("inf"))
    index = torch.zeros(len(x), dtype=torch.long)
    for start in range(0, len(reference), chunk):
        d, i = _distances(x, reference[start:start + chunk]).min(1)
        closer = d < best
        best[closer], index[closer] = d[closer], i[closer] + start
    return best / x[0].numel() ** 0.5, index


def nearest_distance(x: torch.Tensor, reference: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Per image of ``x``, the RMS pixel distance to its nearest image in ``reference``: (N,)."""
    return nearest(x, reference, chunk)[0]


@dataclass
class CopyCheck:
    """How close generated images come to the training set, measured against how close test images come."""

    threshold: float  # the ``quantile`` of the test images' distances to the training set
    share: float  # share of the generated images nearer a training image than ``threshold``
    distance: torch.Tensor  # (N,) each generated image's distance to its nearest training image
    index: torch.Tensor  # (N,) that training image's index
    test_distance: torch.Tensor  # (M,) the same for the test images


def copy_check(samples: torch.Tensor, test: torch.Tensor, train: torch.Tensor, quantile: float = 0.01,
               chunk: int = 8192) -> CopyCheck:
    """:class:`CopyCheck` of ``samples`` against every image of ``train``, calibrated on ``test`` images.

    Test images are new images of the data's kind, so a fraction ``quantile`` of them lies nearer the
    training set than ``threshold`` by definition. A generator that makes new images puts about that
    share of its samples there too; one that reproduces training images (at distance 0) puts them all.
    The search must cover the whole training set: a copy of an image left out of ``train`` goes unseen.
    """
    distance, index = nearest(samples, train, chunk)
    test_distance = nearest_distance(test, train, chunk)
    threshold = torch.quantile(test_distance, quantile).item()
    return CopyCheck(threshold=threshold, share=(distance < threshold).double().mean().item(), distance=distance,
                     index=index, test_distance=test_distance)


def nearest_labels(images: torch.Tensor, reference: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The label of each image's nearest reference image (Euclidean, pixels): a crude classifier.

    Enough to group generated samples by the class they resemble, so that their latent vectors
    can be averaged per class for latent arithmetic.
    """
    return labels[_distances(images, reference).argmin(1)]
