"""Walking and calculating in the generator's latent space.

A standard normal ``z`` in d dimensions almost never lies near the origin: its norm concentrates
around sqrt(d) (10 for d = 100). A straight line between two such points cuts through the middle
of that shell, where the generator saw no training inputs; the midpoint of two independent draws
has norm about sqrt(d / 2). Spherical interpolation (slerp) follows the great circle instead and
keeps the norm. Latent arithmetic averages the ``z`` of several samples that share a property
("mean of three sneakers") before adding and subtracting, because one sample's ``z`` carries
its own quirks. Explained in 06_dcgan.
"""

from __future__ import annotations

import math

import torch


def _steps(t, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return t.reshape(-1, *([1] * like.ndim))  # (T, 1, ..., 1) broadcasts against z


def lerp(z0: torch.Tensor, z1: torch.Tensor, t) -> torch.Tensor:
    """Points ``(1 - t) z0 + t z1`` for each ``t``: shape (T, *z0.shape)."""
    t = _steps(t, z0)
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the great circle from ``z0`` to ``z1``: shape (T, *z0.shape).

    slerp(t) = sin((1 - t) omega) / sin(omega) z0 + sin(t omega) / sin(omega) z1, with omega the
    angle between z0 and z1. When |z0| = |z1| every point has that norm. Nearly parallel
    endpoints (sin omega ~ 0) fall back to the straight line, which is then the same path.
    Vectors are the last dimension; leading dimensions are a batch of pairs.
    """
    t = _steps(t, z0)
    n0, n1 = z0.norm(dim=-1, keepdim=True), z1.norm(dim=-1, keepdim=True)
    cos = ((z0 * z1).sum(-1, keepdim=True) / (n0 * n1).clamp_min(eps)).clamp(-1, 1)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    parallel = sin.abs() < 1e-4
    safe_sin = torch.where(parallel, torch.ones_like(sin), sin)
    w0 = torch.where(parallel, 1 - t, torch.sin((1 - t) * omega) / safe_sin)
    w1 = torch.where(parallel, t, torch.sin(t * omega) / safe_sin)
    return w0 * z0 + w1 * z1


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 8, method: str = "slerp"):
    """``steps`` evenly spaced points from ``z0`` to ``z1`` (both ends included)."""
    paths = {"lerp": lerp, "linear": lerp, "slerp": slerp, "spherical": slerp}
    if method not in paths:
        raise ValueError(f"method must be one of {sorted(paths)}, got {method!r}.")
    return paths[method](z0, z1, torch.linspace(0, 1, steps))


def typical_norm(z_dim: int) -> float:
    """The norm a standard normal vector in ``z_dim`` dimensions concentrates around: sqrt(d)."""
    return math.sqrt(z_dim)


def latent_arithmetic(
    plus: list[torch.Tensor],
    minus: list[torch.Tensor] = (),
    *,
    rescale: bool = True,
) -> torch.Tensor:
    """sum of means of ``plus`` groups minus sum of means of ``minus`` groups, shape (z_dim,).

    Each group is a (k, z_dim) tensor of latent vectors that share a property; its mean is the
    property's direction with the individual quirks averaged out. The mean of k standard normal
    vectors has norm about sqrt(d / k), far inside the shell the generator was trained on, so by
    default the result is rescaled to the typical norm sqrt(d).
    """
    if not plus:
        raise ValueError("latent_arithmetic needs at least one group to add.")
    z = sum(group.mean(0) for group in plus) - sum((group.mean(0) for group in minus), 0)
    if rescale:
        z = z * (typical_norm(z.shape[-1]) / z.norm().clamp_min(1e-12))
    return z


def jitter(z: torch.Tensor, n: int, std: float = 0.25, generator=None) -> torch.Tensor:
    """``n`` neighbours of ``z``: z + std * noise, shape (n, z_dim). Nearby z, similar images."""
    noise = torch.randn(n, z.shape[-1], generator=generator, device=z.device)
    return z + std * noise


def group_latents(z: torch.Tensor, labels: torch.Tensor, label, k: int | None = None):
    """The rows of ``z`` whose label is ``label`` (the first ``k`` of them): shape (k, z_dim)."""
    rows = z[labels == label]
    if len(rows) == 0:
        raise ValueError(f"no latent vector carries the label {label!r}.")
    return rows[:k]


def random_directions(z_dim: int, k: int, seed: int = 0) -> torch.Tensor:
    """``k`` orthonormal directions (k, z_dim) in latent space, drawn at random from ``seed``."""
    if not 1 <= k <= z_dim:
        raise ValueError(f"need between 1 and z_dim = {z_dim} directions, got {k}.")
    q, _ = torch.linalg.qr(torch.randn(z_dim, k, generator=torch.Generator().manual_seed(seed)))
    return q.T.contiguous()


def walk(z: torch.Tensor, directions: torch.Tensor, amounts) -> torch.Tensor:
    """``z`` moved by ``amounts[i]`` along each of the orthonormal ``directions[i]``: z + Σ aᵢ uᵢ.

    With orthonormal directions the step's length is √(Σ aᵢ²), and ``z``'s coordinate along uᵢ
    changes by exactly aᵢ: what a latent-space slider shows.
    """
    amounts = torch.as_tensor(amounts, dtype=z.dtype).reshape(-1)
    if len(amounts) != len(directions):
        raise ValueError(f"one amount per direction: got {len(amounts)} for {len(directions)} directions.")
    return z + amounts @ directions
