"""Mode coverage of samples drawn from a model of a Gaussian mixture.

The protocol is the one of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018),
used on the 8-mode ring and the 25-mode grid with 2,500 generated samples:

* a sample is *high quality* when its Euclidean distance to the nearest centre is at most
  ``threshold`` standard deviations (3 by default);
* a mode is *captured* when at least ``min_count`` high-quality samples have it as their
  nearest centre (1 by default, as in both papers; raise it for a stricter count);
* the *reverse KL* is KL(q || p) where q is the histogram of all samples over their nearest
  centres and p the mixture weights (uniform for the presets). Empty modes contribute 0 to
  KL(q || p), so a model stuck on one of K equal modes scores log K.

Statistics (nearest centre, distance) are computed apart from the scores so each piece can be
checked on hand-built sample sets. Explained in 04_mode_collapse.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

N_SAMPLES = 2500  # the sample size of the VEEGAN / PacGAN tables
HIGH_QUALITY_STDS = 3.0  # "within three standard deviations of a mode"


def nearest_mode(samples: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the nearest centre (N,) and the Euclidean distance to it (N,)."""
    samples = torch.as_tensor(samples, dtype=torch.float32).reshape(len(samples), -1)
    centres = torch.as_tensor(centres, dtype=torch.float32).to(samples.device)
    dist = torch.cdist(samples, centres)  # (N, K)
    d_min, index = dist.min(dim=1)
    return index, d_min


def mode_counts(
    samples: torch.Tensor,
    centres: torch.Tensor,
    std: float,
    *,
    threshold: float = HIGH_QUALITY_STDS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per mode: (number of samples nearest to it, number of those that are high quality), both (K,)."""
    index, d_min = nearest_mode(samples, centres)
    k = len(centres)
    all_counts = torch.bincount(index, minlength=k)
    hq_counts = torch.bincount(index[d_min <= threshold * std], minlength=k)
    return all_counts.cpu(), hq_counts.cpu()


def reverse_kl(counts: torch.Tensor, weights: torch.Tensor | None = None) -> float:
    """KL(q || p) in nats, q = counts / counts.sum(), p = weights (uniform when None)."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if counts.sum() <= 0:
        raise ValueError("reverse_kl needs at least one sample")
    q = counts / counts.sum()
    p = (
        torch.full_like(q, 1.0 / len(q))
        if weights is None
        else torch.as_tensor(weights, dtype=torch.float64)
    )
    p = p / p.sum()
    nz = q > 0  # 0 log 0 = 0: a missed mode costs nothing in the reverse direction
    return float((q[nz] * (q[nz] / p[nz]).log()).sum())


@dataclass
class ModeReport:
    """Scores of one sample set; ``counts`` are high-quality samples per mode, ``nearest_counts`` all samples
    per nearest mode (the histogram q of the reverse KL)."""

    modes_captured: int
    n_modes: int
    high_quality_fraction: float
    reverse_kl: float
    n_samples: int
    counts: list[int]
    nearest_counts: list[int]

    def to_dict(self) -> dict:
        return asdict(self)


def mode_coverage(
    samples: torch.Tensor,
    centres: torch.Tensor,
    std: float,
    *,
    weights: torch.Tensor | None = None,
    threshold: float = HIGH_QUALITY_STDS,
    min_count: int = 1,
) -> ModeReport:
    """Modes captured, high-quality fraction and reverse KL of ``samples`` against a mixture.

    ``threshold`` is the high-quality radius in standard deviations and ``min_count`` the number
    of high-quality samples a mode needs to count as captured (see the module docstring).
    Use 2,500 samples to compare with the published tables.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    all_counts, hq_counts = mode_counts(samples, centres, std, threshold=threshold)
    n = int(all_counts.sum())
    return ModeReport(
        modes_captured=int((hq_counts >= min_count).sum()),
        n_modes=len(all_counts),
        high_quality_fraction=float(hq_counts.sum()) / n,
        reverse_kl=reverse_kl(all_counts, weights),
        n_samples=n,
        counts=[int(c) for c in hq_counts],
        nearest_counts=[int(c) for c in all_counts],
    )


def evaluate_generator(
    G: torch.nn.Module, mixture, *, n: int = N_SAMPLES, seed: int = 0, **kwargs
) -> ModeReport:
    """Score ``n`` samples of G from the fixed noise of ``seed`` (:func:`gancourse.models.generate`) on ``mixture``.

    ``mixture`` is anything with ``.centres`` and ``.std`` (``gancourse.data.toy.GaussianMixture``).
    """
    from gancourse.models import generate

    weights = getattr(mixture, "weights", None)
    return mode_coverage(generate(G, n=n, seed=seed), mixture.centres, float(mixture.std), weights=weights, **kwargs)


def max_reverse_kl(n_modes: int) -> float:
    """Reverse KL of a model that puts every sample on one of ``n_modes`` equal modes: log K."""
    return math.log(n_modes)


def modes_passed(path: torch.Tensor, centres: torch.Tensor, away: float = 0.5) -> list[int]:
    """The modes a moving point passes by, in order: the nearest centre at each point of ``path`` (T, 2)
    that lies more than ``away`` from the origin, with repeats in a row merged. 04 follows the mean of a
    collapsed generator's samples with it: a lump that chases the discriminator passes mode after mode."""
    far = path[path.norm(dim=1) > away]
    if len(far) == 0:
        return []
    visits = nearest_mode(far, centres)[0].tolist()
    return [k for i, k in enumerate(visits) if i == 0 or k != visits[i - 1]]
