"""The toy networks: MLPs on points of the plane (or of any ℝ^d), and generators with one idea each.

Generators map noise ``z`` (B, z_dim) to samples; discriminators map samples to one logit each, shape (B,).
:class:`MLPGenerator` / :class:`MLPDiscriminator`; :class:`MixtureLatentGenerator`, whose latent is a
mixture of small Gaussians (no bridges between modes, 04_mode_collapse); :class:`ParallelLinesGenerator`,
one parameter θ (03_js_vs_wasserstein); :class:`GaussianGenerator`, N(μ, σ²) on a line, two parameters
(04b_divergences); :class:`DistributionSampler`, a fixed "generator" that draws from
a known distribution (02_optimal_discriminator).
"""

from __future__ import annotations

import math

import torch
from torch import nn

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}



def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(_ACTIVATIONS)}.")
    return _ACTIVATIONS[name]()


def _mlp(in_dim: int, out_dim: int, hidden: int, depth: int, activation: str) -> nn.Sequential:
    if depth < 1:
        raise ValueError(f"depth (number of hidden layers) must be at least 1, got {depth}.")
    layers, width = [], in_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), _activation(activation)]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def sample_z(n: int, z_dim: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Standard normal noise, shape (n, z_dim)."""
    z = torch.randn(n, z_dim, generator=generator)
    return z if device is None else z.to(device)


class MLPGenerator(nn.Module):
    """G: z (B, z_dim) -> x (B, out_dim), a plain MLP with a linear output (toys live on all of ℝ^d)."""

    def __init__(self, z_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3,
                 activation: str = "relu"):
        super().__init__()
        self.z_dim, self.out_dim, self.n_classes = z_dim, out_dim, None
        self.hparams = dict(z_dim=z_dim, out_dim=out_dim, hidden=hidden, depth=depth, activation=activation)
        self.net = _mlp(z_dim, out_dim, hidden, depth, activation)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)  # (B, out_dim)


class MixtureLatentGenerator(nn.Module):
    """G: z (B, 1 + latent_dim) -> x (B, out_dim) through a latent mixture of ``n_codes`` small Gaussians.

    An MLP is continuous and N(0, I) fills a connected space, so a plain generator must leave a bridge
    of samples between two modes, and the sharper the modes the larger the share on the bridges
    (Khayatkhoei et al. 2018). A mixture latent removes the bridges:

        c ~ Uniform{1, ..., K},   ε ~ N(0, I),   z' = μ_c + σ ε,   x = net(z'),

    with learned centres μ_c and a small fixed σ (DeLiGAN, Gurumurthy et al. 2017, learns σ too).
    K = 200 exceeds the modes of either mixture, so G is not told how many there are. The loop draws
    plain Gaussian noise, so the code is read off the first coordinate: c = ⌊K·Φ(z₀)⌋ is uniform
    because Φ(z₀) ~ U(0, 1); the other coordinates are ε. Explained in 04_mode_collapse.

    :meth:`refit_prior` refits c's prior to data after training: c is then drawn with the weights of the
    buffer ``code_weights`` (all 1, a uniform c, until then).
    """

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
        self.register_buffer("code_weights", torch.ones(n_codes))  # c's prior, up to a factor
        self.net = _mlp(latent_dim, out_dim, hidden, depth, activation)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.setdefault(prefix + "code_weights", torch.ones(self.n_codes))  # saved before refit_prior
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def code(self, z: torch.Tensor) -> torch.Tensor:
        """The code c of each noise vector (B,): Φ(z₀) through the inverse of c's distribution function.

        With weights all 1 that is ⌊K·Φ(z₀)⌋, uniform over 0..K-1; the cumulative weights of whole numbers
        are exact, so the comparison is too. A code of weight 0 is never drawn, not even where Φ(z₀) rounds
        to 1 (z₀ above about 5.4).
        """
        u = 0.5 * (1 + torch.erf(z[:, 0] / math.sqrt(2)))  # Φ(z₀) ~ U(0, 1)
        cumulative = self.code_weights.cumsum(0)
        c = torch.searchsorted(cumulative, (u * cumulative[-1]).contiguous(), right=True)
        return c.clamp_(max=int(self.code_weights.nonzero().max()))  # u = 1 gives K: the last code in use

    @torch.no_grad()
    def refit_prior(self, real: torch.Tensor) -> int:
        """After training, weight each code by the share of the data ``real`` (N, out_dim) nearest to it.

        Training leaves the prior uniform, and two faults with it: a code stranded between two modes, or
        a few σ beside one, keeps its share although D, flat on the data under R1, hardly pushes it back;
        and a mode held by three codes gets three times the samples of a mode held by one. Each real
        sample goes to the code whose point net(μ_c) (the centre of the code's samples) is nearest, and
        a code's weight is how many it receives: codes sharing a mode share its data, so every mode gets
        the mass the data give it, and a code with no data nearer to it than to another code gets
        weight 0. The networks do not change; the modes are not needed. Returns how many codes keep a
        weight above 0.
        """
        real = torch.as_tensor(real, device=self.centres.device).to(self.centres.dtype)
        if real.dim() != 2 or real.shape[1] != self.out_dim or not len(real):
            raise ValueError(f"refit_prior needs data samples (N, {self.out_dim}), got {tuple(real.shape)}.")
        nearest = torch.cdist(real, self.net(self.centres)).argmin(1)
        self.code_weights.copy_(torch.bincount(nearest, minlength=self.n_codes))
        return int((self.code_weights > 0).sum())

    def latent(self, z: torch.Tensor) -> torch.Tensor:
        """z' = μ_c + σ ε (B, latent_dim)."""
        return self.centres[self.code(z)] + self.sigma * z[:, 1:]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"expected noise of shape (B, {self.z_dim}), got {tuple(z.shape)}.")
        return self.net(self.latent(z))  # (B, out_dim)


class ParallelLinesGenerator(nn.Module):
    """G_θ(z) = (θ, Φ(z)) with Φ the standard normal CDF: the line x₁ = θ with a uniform height.

    Its only parameter is ``theta``, so ``G.theta.grad`` is the gradient the generator receives.
    Explained in 03_js_vs_wasserstein.
    """

    def __init__(self, theta: float = 1.0):
        super().__init__()
        self.z_dim, self.n_classes = 1, None
        self.hparams = dict(theta=float(theta))
        self.theta = nn.Parameter(torch.tensor(float(theta)))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        height = 0.5 * (1 + torch.erf(z[:, 0] / math.sqrt(2)))  # Φ(z) ~ U(0, 1)
        return torch.stack([self.theta.expand_as(height), height], 1)  # (B, 2)


class GaussianGenerator(nn.Module):
    """G(z) = μ + σ z on a line, z ~ N(0, 1): a generator whose only family is the Gaussians N(μ, σ²).

    Its parameters are ``mu`` and ``log_sigma`` (σ > 0 whatever the optimizer does); :attr:`sigma` reads σ.
    Explained in 04b_divergences, where it is fitted to two modes under each f-divergence.
    """

    def __init__(self, mu: float = 0.0, sigma: float = 1.0):
        super().__init__()
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}.")
        self.z_dim, self.n_classes = 1, None
        self.hparams = dict(mu=float(mu), sigma=float(sigma))
        self.mu = nn.Parameter(torch.tensor(float(mu)))
        self.log_sigma = nn.Parameter(torch.tensor(math.log(sigma)))

    @property
    def sigma(self) -> float:
        return float(self.log_sigma.detach().exp())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.mu + self.log_sigma.exp() * z[:, :1]  # (B, 1)


class DistributionSampler(nn.Module):
    """A fixed "generator" whose samples are draws from ``dist`` (anything with ``sample(n, generator)``).

    It has no parameters; the noise only says how many samples and on which device, and the draws use
    torch's global generator, which :func:`gancourse.train.train` seeds and checkpoints. For training a
    discriminator against a known p_g (``train(..., train_g=False)``). Under torchrun every process
    draws the global batch from that generator (in the same state everywhere) and keeps its own rows,
    as the loop does with the noise, so the processes see different fakes whose union is one process's.
    """

    def __init__(self, dist):
        super().__init__()
        self.dist, self.z_dim, self.n_classes = dist, 1, None

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        from gancourse.distributed import Shard

        # z: this process's (b, 1) of the global (b·world, 1); the draw is the global batch's, cut to our rows
        return Shard.current().draw(lambda size: self.dist.sample(size[0]), len(z)).to(z.device)  # (b, dim)


class MLPDiscriminator(nn.Module):
    """D: x (B, in_dim) -> logit (B,). D(x) = sigmoid(logit) is the probability that x is real."""

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3, activation: str = "leaky_relu"):
        super().__init__()
        self.in_dim = in_dim
        self.hparams = dict(in_dim=in_dim, hidden=hidden, depth=depth, activation=activation)
        self.net = _mlp(in_dim, 1, hidden, depth, activation)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(
                f"the discriminator expects points of shape (B, {self.in_dim}), got {tuple(x.shape)}."
            )
        return self.net(x).squeeze(1)  # (B,)
