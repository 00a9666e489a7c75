"""The Fréchet distance between two feature sets, each summed up by the mean and covariance of a Gaussian.

    FD = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}),

the squared 2-Wasserstein distance between N(μ_a, Σ_a) and N(μ_b, Σ_b) (Heusel et al. 2017 write it d²).
With Inception's features it is FID (:mod:`gancourse.metrics.fid`); with the course classifier's, the
classifier FD of 06–09. Statistics (:func:`statistics`) are computed apart from the distance
(:func:`frechet_distance`, pytorch-fid's ``calculate_frechet_distance``), as pytorch-fid splits them, so
the distance is tested on Gaussians whose answer is known. :func:`distance_by_sample_size` measures how
the estimate depends on the number of samples, over disjoint draws, and fits FD(n) ≈ FD∞ + c/n
(Chong & Forsyth 2020). Explained in 08_evaluation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

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


def fit_inverse_n(sizes, values, weights=None) -> tuple[float, float]:
    """(FD∞, c) of the least-squares line FD(n) ≈ FD∞ + c/n through ``values`` at ``sizes``.

    ``weights`` multiply each residual (1 / its standard error, for a weighted fit); by default all are 1.
    Chong & Forsyth (2020) fit FID against 1/n this way and report the intercept FD∞ as FID∞.
    """
    sizes, values = np.asarray(sizes, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if sizes.shape != values.shape or len(sizes) < 2 or len(np.unique(sizes)) < 2:
        raise ConfigError(f"the fit needs values at two or more different sizes, got sizes {sizes.tolist()}.")
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    design = np.stack([np.ones_like(sizes), 1 / sizes], axis=1) * w[:, None]  # columns: FD∞, c
    (fd_inf, c), *_ = np.linalg.lstsq(design, values * w, rcond=None)
    return float(fd_inf), float(c)


@dataclass(frozen=True)
class SampleSizeStudy:
    """The distance measured on several disjoint draws of n samples from each set, for several n.

    ``values[i, j]`` is the distance of draw j at ``sizes[i]``. The fit FD∞ + c/n weighs each size by
    1 / the standard error of its mean, so each mean counts as much as its draws allow.
    """

    sizes: np.ndarray  # (S,) samples per set
    values: np.ndarray  # (S, draws)

    @property
    def mean(self) -> np.ndarray:
        return self.values.mean(1)

    @property
    def sd(self) -> np.ndarray:
        """The spread of the draws at each size (sample standard deviation): the noise of one measurement."""
        return self.values.std(1, ddof=1)

    @property
    def sem(self) -> np.ndarray:
        """The standard error of each mean: sd / √draws."""
        return self.sd / np.sqrt(self.values.shape[1])

    @property
    def fit(self) -> tuple[float, float]:
        """(FD∞, c) of FD(n) ≈ FD∞ + c/n through the means, weighted by 1 / their standard errors."""
        floor = 1e-12 + 1e-9 * np.abs(self.mean).max()  # draws that agree exactly must not get infinite weight
        return fit_inverse_n(self.sizes, self.mean, 1 / np.maximum(self.sem, floor))

    @property
    def bias(self) -> np.ndarray:
        """How far each mean lies above the fitted FD∞."""
        return self.mean - self.fit[0]

    @property
    def residual(self) -> np.ndarray:
        """Each mean minus the fitted FD∞ + c/n."""
        fd_inf, c = self.fit
        return self.mean - (fd_inf + c / self.sizes)

    def bias_exceeds_noise(self, factor: float = 2.0) -> bool:
        """At every size, the bias is more than ``factor`` times the spread of the draws."""
        return bool(np.all(self.bias > factor * self.sd))

    def fit_describes_means(self, errors: float = 3.0) -> bool:
        """At every size, the fitted curve lies within ``errors`` standard errors of the mean."""
        return bool(np.all(np.abs(self.residual) <= errors * self.sem))


def distance_by_sample_size(features_a, features_b, sizes, draws: int = 5, seed: int = 0) -> SampleSizeStudy:
    """:class:`SampleSizeStudy` of the Fréchet distance between sets (N, D) and (M, D) at each n in ``sizes``.

    At each n, each set is shuffled and cut into ``draws`` disjoint slices of n samples, so the draws
    share no sample and their spread is the estimate's noise; different sizes reuse the same pools.
    """
    a, b = np.asarray(features_a), np.asarray(features_b)
    sizes = np.asarray(sorted(sizes), dtype=np.int64)
    if draws < 2 or sizes[0] < 2 or draws * sizes[-1] > min(len(a), len(b)):
        raise ConfigError(f"{draws} disjoint draws of up to {sizes[-1]} samples need {draws * sizes[-1]} samples "
                          f"in each set; the sets hold {len(a)} and {len(b)} (and draws >= 2, n >= 2).")
    rng = np.random.default_rng(seed)
    values = np.empty((len(sizes), draws))
    for i, n in enumerate(sizes):
        order_a, order_b = rng.permutation(len(a)), rng.permutation(len(b))
        for j in range(draws):
            pick = slice(j * n, (j + 1) * n)
            values[i, j] = frechet_distance(statistics(a[order_a[pick]]), statistics(b[order_b[pick]]), n=int(n))
    return SampleSizeStudy(sizes=sizes, values=values)
