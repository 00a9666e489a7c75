"""A generator with a disconnected latent space, for data made of separate modes.

An MLP generator is continuous and its noise z ~ N(0, I) fills a connected space, so its samples
fill a connected set too: between two modes it must leave a bridge of samples, and the sharper
the modes the larger the share of samples on the bridges (the "disconnected manifold" argument
of Khayatkhoei et al. 2018). Making the latent itself a mixture removes the bridges:

    c ~ Uniform{1, ..., K},   ε ~ N(0, I),   z' = μ_c + σ ε,   x = G(z'),

with learned centres μ_c and a small fixed σ (DeLiGAN, Gurumurthy et al. 2017, learns σ too).
There are more codes than modes (K = 200 for 8 or 25 modes), so the generator is not told
how many modes the data has; the adversarial game decides where each code goes.

The training loop draws plain Gaussian noise, so the code is read off the first coordinate:
c = ⌊K·Φ(z₀)⌋ is uniform because Φ(z₀) ~ U(0, 1); the remaining coordinates are ε.
Explained in 04_mode_collapse.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gancourse.models import _mlp


class MixtureLatentGenerator(nn.Module):
    """G: z (B, 1 + latent_dim) -> x (B, out_dim) through a latent mixture of ``n_codes`` small Gaussians."""

    def __init__(self, n_codes: int = 200, latent_dim: int = 2, sigma: float = 0.05, out_dim: int = 2,
                 hidden: int = 128, depth: int = 3, activation: str = "relu"):
        super().__init__()
        if n_codes < 1 or latent_dim < 1:
            raise ValueError(f"n_codes and latent_dim must be positive, got {n_codes} and {latent_dim}.")
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}.")
        self.z_dim, self.out_dim, self.n_classes = 1 + latent_dim, out_dim, None
        self.n_codes, self.sigma = n_codes, float(sigma)
        self.hparams = dict(n_codes=n_codes, latent_dim=latent_dim, sigma=sigma, out_dim=out_dim, hidden=hidden,
                            depth=depth, activation=activation)
        self.centres = nn.Parameter(torch.randn(n_codes, latent_dim))  # μ_c, spread like N(0, I) at the start
        self.net = _mlp(latent_dim, out_dim, hidden, depth, activation)

    def code(self, z: torch.Tensor) -> torch.Tensor:
        """The code c of each noise vector (B,): ⌊K·Φ(z₀)⌋, uniform over 0..K-1."""
        u = 0.5 * (1 + torch.erf(z[:, 0] / math.sqrt(2)))  # Φ(z₀) ~ U(0, 1)
        return (u * self.n_codes).long().clamp_(0, self.n_codes - 1)

    def latent(self, z: torch.Tensor) -> torch.Tensor:
        """z' = μ_c + σ ε (B, latent_dim)."""
        return self.centres[self.code(z)] + self.sigma * z[:, 1:]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"expected noise of shape (B, {self.z_dim}), got {tuple(z.shape)}.")
        return self.net(self.latent(z))  # (B, out_dim)
