"""Everything that measures samples and networks.

- ``modes``: mode coverage on Gaussian mixtures (modes captured, high-quality share, reverse KL);
- ``fid``: the Fréchet Inception Distance through pytorch-fid, with weights found offline;
- ``classifier``: metrics on the shipped Fashion-MNIST classifier (class coverage, IS, precision/recall);
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
