"""Sample-quality metrics: mode coverage on Gaussian mixtures (modes.py)."""

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
