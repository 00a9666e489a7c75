"""The Fréchet distance between two feature sets, each summed up by the mean and covariance of a Gaussian.

    FD = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}),

the squared 2-Wasserstein distance between N(μ_a, Σ_a) and N(μ_b, Σ_b) (Heusel et al. 2017 write it d²).
With Inception's features it is FID (:mod:`gancourse.metrics.fid`); with the course classifier's, the
classifier FD of 06–09. Statistics (:func:`statistics`) are computed apart from the distance
(:func:`frechet_distance`, pytorch-fid's ``calculate_frechet_distance``), as pytorch-fid splits them, so
the distance is tested on Gaussians whose answer is known. Explained in 08_evaluation.
"""

from __future__ import annotations

import warnings

import numpy as np

from gancourse.errors import ConfigError


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(μ, Σ) of a feature set (N, D), in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ConfigError(f"statistics need at least 2 feature vectors (N, D), got shape {features.shape}.")
    return features.mean(0), np.cov(features, rowvar=False)


_WARNED_FEW = False


def frechet_distance(stats_a, stats_b, n: int | None = None) -> float:
    """pytorch-fid's Fréchet distance between two (μ, Σ); always a finite real number.

    With fewer samples ``n`` than feature dimensions the covariances are singular: a small multiple of
    the identity is added (and a warning given once), so the square root stays real.
    """
    from pytorch_fid.fid_score import calculate_frechet_distance

    global _WARNED_FEW
    (mu_a, sigma_a), (mu_b, sigma_b) = stats_a, stats_b
    dim = len(mu_a)
    if n is not None and n <= dim:
        if not _WARNED_FEW:
            warnings.warn(f"{n} samples for {dim} feature dimensions: the covariance is singular and the "
                          f"distance is biased upwards; papers use 10,000 samples.", stacklevel=2)
            _WARNED_FEW = True
        ridge = 1e-6 * max(np.trace(sigma_a), np.trace(sigma_b), 1e-12) / dim * np.eye(dim)
        sigma_a, sigma_b = sigma_a + ridge, sigma_b + ridge
    from scipy.linalg import LinAlgWarning

    with warnings.catch_warnings():
        # a singular product (dead features, few samples) is handled by pytorch-fid's own offset and below
        warnings.simplefilter("ignore", LinAlgWarning)
        try:
            value = float(calculate_frechet_distance(mu_a, sigma_a, mu_b, sigma_b))
        except ValueError:  # a large imaginary part of the square root: regularise and try once more
            ridge = 1e-4 * max(np.trace(sigma_a), np.trace(sigma_b), 1e-12) / dim * np.eye(dim)
            value = float(calculate_frechet_distance(mu_a, sigma_a + ridge, mu_b, sigma_b + ridge))
    if not np.isfinite(value):
        raise ValueError(f"the Fréchet distance came out {value}; the statistics hold non-finite values.")
    return max(value, 0.0)  # tiny negative values are rounding
