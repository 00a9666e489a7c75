"""Everything that measures samples and networks.

Imports go one way: ``frechet``, ``inception`` and ``classifier`` import no other module here; ``features``
imports the two networks; ``fid`` and ``report`` import ``features`` and ``frechet`` (a test checks it).

- ``modes``: mode coverage on Gaussian mixtures (modes captured, high-quality share, reverse KL);
- ``frechet``: the Fréchet distance between two feature sets' Gaussians, and their statistics;
- ``inception``: pytorch-fid's Inception network and features, with weights found offline;
- ``classifier``: the shipped Fashion-MNIST classifier, its features and the scores it gives (class coverage,
  IS, precision/recall);
- ``features``: which of the two networks gives the features (``features="inception"`` or ``"classifier"``);
- ``fid``: FID between tensors, datasets, runs and folders, as papers compute it;
- ``report``: one sample's Fréchet distance, precision, recall and classes, and comparisons of reports;
- ``pixels``: nearest neighbours in pixel space (the memorisation check, a crude labeller);
- ``probes``: what a discriminator or critic tells the generator (input gradients, clipped weights).
"""

from gancourse.metrics.modes import (
    HIGH_QUALITY_STDS,
    N_SAMPLES,
    ModeReport,
    evaluate_generator,
    mode_counts,
    mode_coverage,
    nearest_mode,
    reverse_kl,
)

__all__ = [
    "HIGH_QUALITY_STDS",
    "N_SAMPLES",
    "ModeReport",
    "evaluate_generator",
    "mode_counts",
    "mode_coverage",
    "nearest_mode",
    "reverse_kl",
]
