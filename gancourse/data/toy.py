"""Toy distributions with known densities: the laboratory of the first notebooks.

Every distribution draws samples with ``sample(n, generator=None)`` and, where a density exists,
evaluates ``log_prob(x)``, so the theory (optimal discriminator, JS divergence) can be computed
exactly and compared with what a trained network does. The mixtures ``ring8`` and ``grid25`` are the
benchmarks of the mode-collapse literature (VEEGAN, PacGAN); :func:`make_mixture` builds rings and grids
of any size from a spec such as ``ring:12:2:0.02``. Explained in 00_setup and 04_mode_collapse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from gancourse.errors import ConfigError


def _as_tensor(value, name: str) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float32)
    if t.dim() == 0:
        t = t.reshape(1)
    if t.dim() != 1:
        raise ValueError(f"{name} must be a number or a 1-D sequence, got shape {tuple(t.shape)}.")
    return t


def _check_n(n: int) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"the number of samples must be a positive integer, got {n!r}.")


def _points(x: torch.Tensor, dim: int) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float32)
    if dim == 1 and x.dim() == 1:
        x = x[:, None]  # (N,) is accepted for 1-D densities
    if x.dim() != 2 or x.shape[1] != dim:
        raise ValueError(f"expected points of shape (N, {dim}), got {tuple(x.shape)}.")
    return x


class Gaussian:
    """Axis-aligned Gaussian N(mean, diag(std²)) in any dimension; ``Gaussian(0.0, 1.0)`` is 1-D."""

    def __init__(self, mean: float | Sequence[float] = 0.0, std: float | Sequence[float] = 1.0):
        self.mean = _as_tensor(mean, "mean")
        self.std = _as_tensor(std, "std").expand_as(self.mean).clone()
        if (self.std <= 0).any():
            raise ValueError(f"std must be positive, got {self.std.tolist()}.")
        self.dim = self.mean.numel()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_n(n)
        return self.mean + self.std * torch.randn(n, self.dim, generator=generator)  # (n, d)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = _points(x, self.dim)
        z = (x - self.mean) / self.std
        # log N(x) = -½‖z‖² - Σ log σ - (d/2) log 2π
        return -0.5 * (z**2).sum(1) - self.std.log().sum() - 0.5 * self.dim * math.log(2 * math.pi)

    def __repr__(self) -> str:
        return f"Gaussian(mean={self.mean.tolist()}, std={self.std.tolist()})"


class GaussianMixture:
    """Mixture of isotropic Gaussians with a shared ``std``, one per row of ``centres`` (K, d)."""

    def __init__(self, centres, std: float, weights: Sequence[float] | None = None):
        self.centres = torch.as_tensor(centres, dtype=torch.float32)
        if self.centres.dim() == 1:
            self.centres = self.centres[:, None]
        if std <= 0:
            raise ValueError(f"std must be positive, got {std}.")
        self.std = float(std)
        k = len(self.centres)
        w = torch.full((k,), 1.0 / k) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        if w.shape != (k,) or (w < 0).any() or not math.isclose(float(w.sum()), 1.0, rel_tol=1e-5):
            raise ValueError(f"weights must be {k} non-negative numbers summing to 1.")
        self.weights = w
        self.dim = self.centres.shape[1]

    @property
    def n_modes(self) -> int:
        return len(self.centres)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_n(n)
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator)
        return self.centres[k] + self.std * noise  # (n, d)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = _points(x, self.dim)
        sq = torch.cdist(x, self.centres) ** 2  # (n, K)
        # log Σ_k w_k N(x; μ_k, σ²I), computed stably with logsumexp
        log_comp = -0.5 * sq / self.std**2 - self.dim * math.log(self.std) - 0.5 * self.dim * math.log(2 * math.pi)
        return torch.logsumexp(log_comp + self.weights.log(), dim=1)

    def __repr__(self) -> str:
        return f"GaussianMixture({self.n_modes} modes in {self.dim}-D, std={self.std})"


def ring(k: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """``k`` Gaussians evenly spaced on a circle of ``radius``, the first on the positive x axis."""
    _check_mixture(k, radius, std, "radius")
    angles = torch.arange(k) * (2 * math.pi / k)
    return GaussianMixture(radius * torch.stack([angles.cos(), angles.sin()], 1), std)


def grid(k: int = 25, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """``k`` = n² Gaussians on an n × n square grid of ``spacing``, centred on the origin."""
    _check_mixture(k, spacing, std, "spacing")
    n = math.isqrt(k)
    if n * n != k:
        raise ConfigError(f"a grid needs a square number of modes (4, 9, 16, 25, ...), got {k}.")
    ticks = spacing * (torch.arange(n, dtype=torch.float32) - (n - 1) / 2)
    xs, ys = torch.meshgrid(ticks, ticks, indexing="ij")
    return GaussianMixture(torch.stack([xs.flatten(), ys.flatten()], 1), std)


def _check_mixture(k: int, size: float, std: float, size_name: str) -> None:
    if int(k) != k or k < 1:
        raise ConfigError(f"the number of modes must be a positive whole number, got {k}.")
    if not (math.isfinite(size) and size > 0):
        raise ConfigError(f"the {size_name} must be a positive number, got {size}.")
    if not (math.isfinite(std) and std > 0):
        raise ConfigError(f"the standard deviation must be a positive number, got {std}.")


def ring8(radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """Eight Gaussians evenly spaced on the unit circle, σ 0.01 (the VEEGAN/PacGAN ring)."""
    return ring(8, radius, std)


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """Twenty-five Gaussians on the grid {-4, -2, 0, 2, 4}², σ 0.05 (the VEEGAN/PacGAN grid)."""
    return grid(25, spacing, std)


MIXTURE_SPEC_HELP = "ring8, grid25, ring:K:RADIUS:STD or grid:K:SPACING:STD (K a square for a grid)"
_SHAPES = {"ring": ring, "grid": grid}


def make_mixture(spec: str) -> GaussianMixture:
    """A mixture from its name: ``ring8``, ``grid25``, ``ring:K:RADIUS:STD`` or ``grid:K:SPACING:STD``.

    ``ring:12:2:0.02`` is 12 modes on a circle of radius 2 with σ 0.02; ``grid:36:1.5:0.05`` a 6 × 6 grid
    1.5 apart with σ 0.05. A spec that does not parse raises :class:`~gancourse.errors.ConfigError`.
    """
    if spec in ("ring8", "grid25"):
        return _TOYS[spec]()
    parts = str(spec).split(":")
    if len(parts) != 4 or parts[0] not in _SHAPES:
        raise ConfigError(f"unknown mixture {spec!r}; write {MIXTURE_SPEC_HELP}.")
    try:
        k, size, std = int(parts[1]), float(parts[2]), float(parts[3])
    except ValueError:
        raise ConfigError(f"mixture {spec!r}: K must be a whole number and the other two numbers; "
                          f"write {MIXTURE_SPEC_HELP}.") from None
    try:
        return _SHAPES[parts[0]](k, size, std)
    except ConfigError as err:
        raise ConfigError(f"mixture {spec!r}: {err}") from None


class TwoDomains:
    """Two distributions sampled side by side: ``sample(n)`` is ``(x_a, x_b)``, independent draws of each.

    Unpaired data for :class:`gancourse.objectives.CycleGAN`: nothing ties the i-th sample of A to the
    i-th of B. ``ToyBatches(TwoDomains(a, b), 128)`` gives such pairs of batches, resumably.
    """

    def __init__(self, a, b):
        if a.dim != b.dim:
            raise ConfigError(f"both domains need points of one dimension, got {a.dim} and {b.dim}.")
        self.a, self.b, self.dim = a, b, a.dim

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a.sample(n, generator=generator), self.b.sample(n, generator=generator)  # (n, d) each

    def __repr__(self) -> str:
        return f"TwoDomains({self.a!r}, {self.b!r})"


class ParallelLines:
    """The pair of Arjovsky et al.: x = θ, y ~ U(0, 1). Two such lines have disjoint supports for θ ≠ 0.

    There is no density in the plane (the mass lives on a line), so ``log_prob`` raises; the
    divergences between two of these are in :mod:`gancourse.theory`. Explained in 03_js_vs_wasserstein.
    """

    dim = 2

    def __init__(self, theta: float = 0.0):
        self.theta = float(theta)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_n(n)
        y = torch.rand(n, generator=generator)
        return torch.stack([torch.full_like(y, self.theta), y], 1)  # (n, 2)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            "a line in the plane has no density; use gancourse.theory for JS and W1 between lines."
        )

    def __repr__(self) -> str:
        return f"ParallelLines(theta={self.theta})"


_TOYS = {
    "gaussian1d": lambda: Gaussian(0.0, 1.0),
    "gaussian2d": lambda: Gaussian([1.0, -1.0], [0.5, 1.0]),
    "ring8": ring8,
    "grid25": grid25,
}
TOY_NAMES = tuple(_TOYS)


def make_toy(name: str):
    """A toy distribution by name: one of :data:`TOY_NAMES`."""
    if name not in _TOYS:
        raise ConfigError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_NAMES)}.")
    return _TOYS[name]()


class ToyBatches:
    """Infinite iterator of fresh batches from a toy distribution, with a resumable generator."""

    def __init__(self, dist, batch_size: int, seed: int = 0, device=None):
        if batch_size < 1:
            raise ConfigError(f"batch_size (--batch-size) must be at least 1, got {batch_size}.")
        self.dist = dist
        self.batch_size = batch_size
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        return self

    def __next__(self) -> torch.Tensor:
        x = self.dist.sample(self.batch_size, generator=self.generator)
        if self.device is None:
            return x
        return tuple(t.to(self.device) for t in x) if isinstance(x, tuple) else x.to(self.device)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])

    def identity(self) -> dict:
        """What a resumed run must see again: the distribution (a fingerprint of fixed draws) and batch size."""
        from gancourse.data.batches import fingerprint

        draws = self.dist.sample(256, generator=torch.Generator().manual_seed(0))
        if isinstance(draws, tuple):  # two domains: both draws side by side
            draws = torch.cat(draws, 1)
        return {"data": repr(self.dist), "batch_size": self.batch_size, "fingerprint": fingerprint(draws)}
