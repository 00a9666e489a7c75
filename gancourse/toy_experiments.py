"""Small experiments on the toy distributions that the theory notebooks run and assert on.

- :func:`fit_discriminator` trains D (or a critic) against a *fixed* generator: the inner loop of
  Algorithm 1 on its own, used to approach the optimal discriminator D*.
- :class:`ParallelLinesGenerator` is G_θ(z) = (θ, Φ(z)): one parameter, the line's position, so the
  gradient of a generator loss with respect to θ can be read off directly.
- :func:`parallel_lines_experiment` trains a BCE discriminator and a gradient-penalty critic at one θ
  and reports the gradient each gives the generator.
- :func:`saturation_race` starts the minimax and the non-saturating generator from the same place,
  against the same strong discriminator, and records how far their samples are from the data.
Explained in 01_first_gan, 02_optimal_discriminator and 03_js_vs_wasserstein.
"""

from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from gancourse.data.toy import ParallelLines, ToyBatches
from gancourse.losses import d_bce, d_wasserstein, get_loss_family, gradient_penalty
from gancourse.models import MLPDiscriminator, MLPGenerator, sample_z
from gancourse.train import SMALL_MODEL_PARAMS, train

DISCRIMINATOR_LOSSES = ("bce", "wasserstein")


def _sampler(source):
    """A function (n, torch.Generator) -> (n, d) samples, from a toy distribution or a generator G."""
    if hasattr(source, "sample"):
        return lambda n, gen: source.sample(n, generator=gen)
    if isinstance(source, nn.Module) and hasattr(source, "z_dim"):
        def draw(n, gen):
            device = next(source.parameters()).device
            with torch.no_grad():
                return source(sample_z(n, source.z_dim, generator=gen).to(device))
        return draw
    raise TypeError(f"expected a toy distribution (with .sample) or a generator module, got {type(source).__name__}.")


@contextlib.contextmanager
def _one_thread_for_small(*modules):
    """Tiny networks train fastest on one CPU thread, as in :func:`gancourse.train.train`."""
    before = torch.get_num_threads()
    params = [p for m in modules for p in m.parameters()]
    small = sum(p.numel() for p in params) < SMALL_MODEL_PARAMS and all(p.device.type == "cpu" for p in params)
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit_discriminator(D, real, fake, *, loss: str = "bce", gp_weight: float = 0.0, steps: int = 500,
                      batch_size: int = 256, lr: float = 1e-3, betas=(0.5, 0.999), seed: int = 0) -> list[float]:
    """Train ``D`` alone, the generator held fixed; return the discriminator loss at every step.

    ``real`` and ``fake`` are toy distributions or generators. ``loss="bce"`` maximises
    V(D, G) = E log D(x) + E log(1 - D(G(z))); ``"wasserstein"`` maximises E f(x) - E f(G(z)),
    with ``gp_weight`` times the gradient penalty (10 in WGAN-GP). Each step draws fresh samples,
    so the returned losses are unbiased estimates of the population loss (-V for "bce"). The
    learning rate decays to zero on a cosine, which lets D settle instead of jittering.
    """
    if loss not in DISCRIMINATOR_LOSSES:
        raise ValueError(f"unknown discriminator loss {loss!r}; choose one of {', '.join(DISCRIMINATOR_LOSSES)}.")
    if steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}.")
    draw_real, draw_fake = _sampler(real), _sampler(fake)
    device = next(D.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the penalty's interpolation weights use the global generator
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=tuple(betas))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    losses = []
    D.train()
    with _one_thread_for_small(D):
        for _ in range(steps):
            losses.append(_discriminator_step(D, opt, draw_real(batch_size, gen).to(device),
                                              draw_fake(batch_size, gen).to(device), loss, gp_weight))
            schedule.step()
    return losses


def _discriminator_step(D, opt, x_real, x_fake, loss: str, gp_weight: float) -> float:
    if loss == "bce":
        d_loss = d_bce(D(x_real), D(x_fake))  # -V(D, G) on this batch
    else:
        d_loss = d_wasserstein(D(x_real), D(x_fake))  # -(E f(x) - E f(G(z)))
    if gp_weight:
        d_loss = d_loss + gp_weight * gradient_penalty(D, x_real, x_fake)
    opt.zero_grad(set_to_none=True)
    d_loss.backward()
    opt.step()
    return d_loss.item()


class ParallelLinesGenerator(nn.Module):
    """G_θ(z) = (θ, Φ(z)) with Φ the standard normal CDF: the line x = θ with a uniform height.

    Its only parameter is ``theta``, so ``G.theta.grad`` is the gradient the generator receives.
    """

    def __init__(self, theta: float = 1.0):
        super().__init__()
        self.z_dim, self.n_classes = 1, None
        self.theta = nn.Parameter(torch.tensor(float(theta)))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        height = 0.5 * (1 + torch.erf(z[:, 0] / math.sqrt(2)))  # Φ(z) ~ U(0, 1)
        return torch.stack([self.theta.expand_as(height), height], 1)  # (B, 2)


def theta_gradient(G: ParallelLinesGenerator, D, loss: str, n: int = 2000, seed: int = 0) -> float:
    """d(generator loss)/dθ for the family ``loss`` ("minimax", "nonsaturating", "wasserstein")."""
    _, g_loss_fn = get_loss_family(loss)
    z = sample_z(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    G.zero_grad(set_to_none=True)
    g_loss_fn(D(G(z))).backward()
    grad = G.theta.grad.item()
    D.zero_grad(set_to_none=True)
    G.zero_grad(set_to_none=True)
    return grad


@dataclass
class LinesResult:
    """What a discriminator and a critic trained at one θ tell the generator."""

    theta: float
    D: nn.Module  # BCE discriminator, trained to (near) optimality
    critic: nn.Module  # Wasserstein critic with gradient penalty
    grad_minimax: float  # dV/dθ through D: ~0 when D(fake) ~ 0
    grad_nonsaturating: float  # d(-E log D(G))/dθ through D: large, set by D's sharpness
    grad_critic: float  # d(-E f(G))/dθ through the critic: ~sign(θ), the slope of W1 = |θ|
    d_fake_max: float  # largest D(G(z)) over the fake line
    w_estimate: float  # E f(real) - E f(fake), the critic's estimate of W1 = |θ|
    d_losses: list[float] = field(default_factory=list, repr=False)
    critic_losses: list[float] = field(default_factory=list, repr=False)


def parallel_lines_experiment(theta: float, steps: int = 500, *, hidden: int = 64, gp_weight: float = 10.0,
                              lr: float = 3e-3, seed: int = 0) -> LinesResult:
    """Train a BCE discriminator and a GP critic between the lines x = 0 (real) and x = θ (fake)."""
    real, G = ParallelLines(0.0), ParallelLinesGenerator(theta)
    torch.manual_seed(seed)
    D = MLPDiscriminator(2, hidden=hidden, depth=2)
    critic = MLPDiscriminator(2, hidden=hidden, depth=2)
    d_losses = fit_discriminator(D, real, G, loss="bce", steps=steps, lr=lr, seed=seed)
    # β = (0.5, 0.9) and λ = 10 follow the WGAN-GP paper
    critic_losses = fit_discriminator(critic, real, G, loss="wasserstein", gp_weight=gp_weight, steps=steps,
                                      lr=lr, betas=(0.5, 0.9), seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    x_real, x_fake = real.sample(2000, generator=gen), ParallelLines(theta).sample(2000, generator=gen)
    with torch.no_grad():
        d_fake_max = torch.sigmoid(D(x_fake)).max().item()
        w_estimate = (critic(x_real).mean() - critic(x_fake).mean()).item()
    return LinesResult(
        theta=float(theta), D=D, critic=critic,
        grad_minimax=theta_gradient(G, D, "minimax"),
        grad_nonsaturating=theta_gradient(G, D, "nonsaturating"),
        grad_critic=theta_gradient(G, critic, "wasserstein"),
        d_fake_max=d_fake_max, w_estimate=w_estimate, d_losses=d_losses, critic_losses=critic_losses,
    )


@dataclass
class RaceResult:
    """Distance from the generated mean to the data mean, over generator steps, per loss."""

    steps: list[int]
    distance: dict[str, list[float]]  # "minimax" / "nonsaturating" -> one value per recorded step
    d_fake_start: float  # mean D(G(z)) when the race starts: ~0, the discriminator is strong
    G: dict[str, nn.Module]  # the generators at the end
    D: dict[str, nn.Module]  # the discriminators at the end


def saturation_race(data, steps: int = 300, *, pretrain_steps: int = 300, offset=(-3.0, 3.0), lr: float = 0.05,
                    n_critic: int = 1, record_every: int = 10, seed: int = 0) -> RaceResult:
    """Minimax vs non-saturating generator loss from the same start against the same strong D.

    G starts with its output shifted by ``offset`` so that its samples sit far from ``data``;
    D is then trained against it for ``pretrain_steps`` until D(G(z)) ~ 0. Both losses continue
    from copies of that (G, D) pair with plain SGD (so a step is proportional to the gradient;
    Adam would rescale small gradients and partly hide the difference), k = ``n_critic``.
    """
    torch.manual_seed(seed)
    G0 = MLPGenerator(z_dim=2, out_dim=data.dim, hidden=64, depth=2)
    with torch.no_grad():
        G0.net[-1].bias += torch.as_tensor(offset, dtype=torch.float32)
    D0 = MLPDiscriminator(data.dim, hidden=64, depth=2)
    fit_discriminator(D0, data, G0, steps=pretrain_steps, batch_size=128, seed=seed)
    z_probe = sample_z(1000, G0.z_dim, generator=torch.Generator().manual_seed(seed + 1))
    target = data.sample(20000, generator=torch.Generator().manual_seed(seed + 2)).mean(0)
    with torch.no_grad():
        d_fake_start = torch.sigmoid(D0(G0(z_probe))).mean().item()

    def distance(G) -> float:
        with torch.no_grad():
            return (G(z_probe).mean(0) - target).norm().item()

    recorded, distances, Gs, Ds = [0], {}, {}, {}
    for loss in ("minimax", "nonsaturating"):
        G, D = copy.deepcopy(G0), copy.deepcopy(D0)
        track = [distance(G)]

        def record(step, G, D, history, track=track, first=(loss == "minimax")):
            track.append(distance(G))
            if first:
                recorded.append(step)

        train(G, D, ToyBatches(data, 128, seed=seed), loss=loss, steps=steps, n_critic=n_critic,
              optimizer="sgd", lr_g=lr, lr_d=lr, seed=seed, device="cpu", callbacks=[record],
              callback_every=record_every, progress=False)
        distances[loss], Gs[loss], Ds[loss] = track, G, D
    return RaceResult(steps=recorded, distance=distances, d_fake_start=d_fake_start, G=Gs, D=Ds)
