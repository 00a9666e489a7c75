"""Ready-made runs on toy data, points in the plane and on a line (01–05); see :mod:`gancourse.experiments`."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from gancourse import theory
from gancourse.callbacks import Snapshots
from gancourse.data.toy import GaussianMixture, ParallelLines, ToyBatches
from gancourse.metrics.probes import generator_gradient_norm, theta_gradient
from gancourse.models import (
    DistributionSampler,
    GaussianGenerator,
    MLPDiscriminator,
    MLPGenerator,
    ParallelLinesGenerator,
    generate,
    sample_z,
    toy_networks,
)
from gancourse.recipes import get_recipe
from gancourse.train import History, train

REFIT_SAMPLES = 10_000  # data samples a refit_prior recipe weights its codes by (2,048 add 0.01 of reverse KL)
DISCRIMINATOR_LOSSES = {"bce": "nonsaturating", "wasserstein": "wasserstein"}  # D's loss -> a loss family


def fit_discriminator(D, real, fake, *, loss: str = "bce", gp_weight: float = 0.0, steps: int = 500,
                      batch_size: int = 256, lr: float = 1e-3, betas=(0.5, 0.999), seed: int = 0,
                      **train_kwargs) -> list[float]:
    """Train ``D`` alone, the generator held fixed; return the discriminator loss at every step.

    ``real`` is a toy distribution; ``fake`` a toy distribution or a generator module. ``loss="bce"``
    maximises V(D, G) = E log D(x) + E log(1 - D(G(z))); ``"wasserstein"`` maximises E f(x) - E f(G(z)),
    with ``gp_weight`` times the gradient penalty (10 in WGAN-GP). Each step draws fresh samples, so
    the returned losses are unbiased estimates of the population loss (-V for "bce"). The learning
    rate decays to zero on a cosine, which lets D settle instead of jittering. Other keywords go to
    :func:`gancourse.train.train` (``label_smoothing``, ``label_flip``).
    """
    if loss not in DISCRIMINATOR_LOSSES:
        raise ValueError(f"unknown discriminator loss {loss!r}; choose one of {', '.join(DISCRIMINATOR_LOSSES)}.")
    G = fake if isinstance(fake, nn.Module) else DistributionSampler(fake)
    device = next(D.parameters()).device
    history = train(G, D, ToyBatches(real, batch_size, seed=seed), train_g=False, loss=DISCRIMINATOR_LOSSES[loss],
                    gp_weight=gp_weight, steps=steps, lr_d=lr, betas=tuple(betas), lr_schedule="cosine", seed=seed,
                    device=str(device), log_every=steps, progress=False, **train_kwargs)
    return history.d_loss


@dataclass
class RaceResult:
    """Distance from the generated mean to the data mean, over generator steps, per loss."""

    steps: list[int]
    distance: dict[str, list[float]]  # "minimax" / "nonsaturating" -> one value per recorded step
    d_fake_start: float  # mean D(G(z)) when the race starts: ~0, the discriminator is strong
    grad_norm_start: dict[str, float]  # ‖∇ of each generator loss w.r.t. G's parameters‖ at the start
    G: dict[str, nn.Module]  # the generators at the end
    D: dict[str, nn.Module]  # the discriminators at the end
    snapshots: dict[str, Snapshots] = field(default_factory=dict)  # per loss, when asked for: samples and D


def saturation_race(data, steps: int = 300, *, pretrain_steps: int = 300, offset=(-3.0, 3.0), lr: float = 0.05,
                    n_critic: int = 1, record_every: int = 10, seed: int = 0, snapshot_bounds=None) -> RaceResult:
    """Minimax vs non-saturating generator loss from the same start against the same strong D.

    G starts with its output shifted by ``offset`` so that its samples sit far from ``data``;
    D is then trained against it for ``pretrain_steps`` until D(G(z)) ~ 0. Both losses continue
    from copies of that (G, D) pair with plain SGD (so a step is proportional to the gradient;
    Adam would rescale small gradients and partly hide the difference), k = ``n_critic``.
    With ``snapshot_bounds``, both runs also keep :class:`~gancourse.callbacks.Snapshots` (500 samples and
    D's surface over those bounds at every recorded step), for :class:`~gancourse.widgets.SnapshotPlayer`.
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
    grad_norm_start = {loss: generator_gradient_norm(G0, D0, loss, z_probe) for loss in ("minimax", "nonsaturating")}

    def distance(G) -> float:
        return (generate(G, z_probe).mean(0) - target).norm().item()

    recorded, distances, Gs, Ds, snapshots = [0], {}, {}, {}, {}
    for loss in ("minimax", "nonsaturating"):
        G, D = copy.deepcopy(G0), copy.deepcopy(D0)
        track = [distance(G)]
        callbacks = []
        if snapshot_bounds is not None:
            snapshots[loss] = Snapshots(z_probe[:500], bounds=snapshot_bounds)
            snapshots[loss](0, G, D, None)
            callbacks.append(snapshots[loss])

        def record(step, G, D, history, track=track, first=(loss == "minimax")):
            track.append(distance(G))
            if first:
                recorded.append(step)

        train(G, D, ToyBatches(data, 128, seed=seed), loss=loss, steps=steps, n_critic=n_critic,
              optimizer="sgd", lr_g=lr, lr_d=lr, seed=seed, device="cpu", callbacks=[record, *callbacks],
              callback_every=record_every, progress=False)
        distances[loss], Gs[loss], Ds[loss] = track, G, D
    return RaceResult(steps=recorded, distance=distances, d_fake_start=d_fake_start, grad_norm_start=grad_norm_start,
                      G=Gs, D=Ds, snapshots=snapshots)


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
    js_lower: float  # (V(D, G) + log 4) / 2 on fresh samples: a lower bound on JS that D certifies
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
        js_lower = theory.js_lower_bound(D(x_real), D(x_fake))
        w_estimate = (critic(x_real).mean() - critic(x_fake).mean()).item()
    return LinesResult(
        theta=float(theta), D=D, critic=critic,
        grad_minimax=theta_gradient(G, D, "minimax"),
        grad_nonsaturating=theta_gradient(G, D, "nonsaturating"),
        grad_critic=theta_gradient(G, critic, "wasserstein"),
        d_fake_max=d_fake_max, js_lower=js_lower, w_estimate=w_estimate, d_losses=d_losses, critic_losses=critic_losses,
    )


@dataclass
class ToyRun:
    """A recipe trained on a toy: the networks, the history and the settings train() received."""

    recipe: str
    G: nn.Module
    D: nn.Module
    history: History
    settings: dict
    seconds: float  # wall time of train()
    cpu_seconds: float = 0.0  # CPU time of this process during train(), every thread together

    def samples(self, n: int = 2500, seed: int = 0) -> torch.Tensor:
        """``n`` samples of G from the fixed noise of ``seed`` (the same every call)."""
        return generate(self.G, n=n, seed=seed)


def train_toy(recipe: str, dist, steps: int, *, batch_size: int = 256, seed: int = 0, networks: dict | None = None,
              callbacks=(), out_dir=None, resume: bool = False, progress: bool = False, **overrides) -> ToyRun:
    """Train the recipe ``recipe`` (:data:`gancourse.recipes.RECIPES`) on the toy ``dist``.

    ``networks`` are :func:`gancourse.models.toy_networks` keywords (hidden, depth, ...); ``overrides``
    replace the recipe's train() keywords. Tiny MLPs train fastest on the CPU, so that is the default device.
    """
    spec = get_recipe(recipe)
    settings = {"device": "cpu", **spec.settings, **overrides}
    torch.manual_seed(seed)  # the networks' initial weights
    G, D = toy_networks(dist.dim, pack=settings.get("pack", 1), mixture_latent=spec.mixture_latent,
                        **(networks or {}))
    start, cpu_start = time.perf_counter(), time.process_time()
    history = train(G, D, ToyBatches(dist, batch_size, seed=seed), steps=steps, seed=seed, callbacks=callbacks,
                    out_dir=out_dir, resume=resume, progress=progress, **settings)
    if spec.refit_prior:  # on data samples drawn from the run's seed; out_dir's checkpoint keeps the trained prior
        G.refit_prior(dist.sample(REFIT_SAMPLES, generator=torch.Generator().manual_seed(seed)))
    return ToyRun(recipe, G, D, history, settings, time.perf_counter() - start, time.process_time() - cpu_start)


@dataclass
class CriticFit:
    """A WGAN critic trained alone against fixed samples under one constraint, and what it became."""

    constraint: str  # "clipping" (``value`` is the bound c) or "penalty" (``value`` is the weight λ)
    value: float
    D: nn.Module
    span: float  # max f - min f on the evaluation grid over ``bounds``
    estimate: float  # mean f(real) - mean f(fake) on the evaluation points: the critic's W1 estimate
    norms: torch.Tensor  # ‖∇f(x̂)‖ at points x̂ between the evaluation points, where the penalty looks
    bound: float | None  # clipping: the slope the clip guarantees (clipped_lipschitz_bound); penalty: None
    x_real: torch.Tensor  # the evaluation points (the same tensors for every fit of one call)
    x_fake: torch.Tensor


def fit_critics(real, fake, *, clip_values=(0.003, 0.01, 0.03, 0.1), gp_weights=(0.1, 1.0, 10.0, 100.0),
                steps: int = 500, batch_size: int = 256, bounds=((-1.6, 1.6), (-1.6, 1.6)), n_eval: int = 1000,
                seed: int = 0) -> dict[tuple[str, float], CriticFit]:
    """One critic per clipping bound c and per penalty weight λ, each trained alone for ``steps`` steps.

    ``real`` and ``fake`` are toy distributions (the generator is held fixed, so only the constraint
    changes). Clipped critics use the WGAN recipe (RMSProp 5e-5), penalised ones WGAN-GP's (Adam 1e-4,
    β = (0.5, 0.9)), one critic step per step; every critic starts from the same weights. The
    measurements run on one CPU thread, so the numbers do not depend on the machine's thread count.
    Keys are ``("clipping", c)`` and ``("penalty", λ)``.
    """
    from gancourse.losses import interpolates
    from gancourse.metrics.probes import clipped_lipschitz_bound, input_gradient_norms
    from gancourse.plot import surface

    gen = torch.Generator().manual_seed(seed)
    x_real, x_fake = real.sample(n_eval, generator=gen), fake.sample(n_eval, generator=gen)
    x_hat = interpolates(x_real, x_fake, generator=gen)
    fits = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for constraint, recipe, key, values in (("clipping", "wgan-clipping", "clip_value", clip_values),
                                                ("penalty", "wgan-gp", "gp_weight", gp_weights)):
            settings = {**get_recipe(recipe).settings, "n_critic": 1}
            for value in values:
                torch.manual_seed(seed)
                D = MLPDiscriminator(real.dim)
                train(DistributionSampler(fake), D, ToyBatches(real, batch_size, seed=seed), train_g=False,
                      steps=steps, seed=seed, progress=False, log_every=steps, device="cpu",
                      **{**settings, key: float(value)})
                D.eval()
                with torch.no_grad():
                    f = surface(D, bounds, 60)[2]
                    estimate = (D(x_real).mean() - D(x_fake).mean()).item()
                fits[constraint, float(value)] = CriticFit(
                    constraint, float(value), D, float(f.max() - f.min()), estimate, input_gradient_norms(D, x_hat),
                    clipped_lipschitz_bound(D, value) if constraint == "clipping" else None, x_real, x_fake)
    finally:
        torch.set_num_threads(threads)
    return fits


@dataclass
class ThetaWalk:
    """θ of the parallel-lines generator before and after each generator step, per generator loss (03)."""

    theta: dict[str, list[float]]  # "minimax" / "nonsaturating" / "wasserstein" -> θ at the start, then per step
    lr_g: float  # the step size on θ (plain SGD: a step is lr_g times the gradient)
    n_critic: int  # D or critic steps before each θ step
    gp_weight: float  # λ of the critic's gradient penalty


def theta_walk(start: LinesResult, steps: int = 30, *, losses=("minimax", "nonsaturating", "wasserstein"),
               n_critic: int = 5, lr_g: float = 0.05, lr_d: float = 0.01, gp_weight: float = 10.0,
               seed: int = 0) -> ThetaWalk:
    """Let θ move: from ``start.theta``, ``steps`` generator steps under each loss, each after ``n_critic`` D steps.

    The minimax and non-saturating generators play against copies of ``start.D``, the Wasserstein one
    against a copy of ``start.critic`` (refit with ``gp_weight`` times the gradient penalty), so all
    three begin where :func:`parallel_lines_experiment` left the networks. Both players use plain SGD, so
    that a step on θ is ``lr_g`` times its gradient: Adam would divide the gradient by its own size and
    hide the vanishing one (notebook 01's race does the same).
    """
    real = ParallelLines(0.0)
    paths = {}
    for loss in losses:
        G = ParallelLinesGenerator(start.theta)
        D = copy.deepcopy(start.critic if loss == "wasserstein" else start.D)
        path = [start.theta]

        def record(step, G, D, history, path=path):
            path.append(G.theta.item())

        train(G, D, ToyBatches(real, 256, seed=seed), loss=loss, steps=steps, n_critic=n_critic, optimizer="sgd",
              lr_g=lr_g, lr_d=lr_d, gp_weight=gp_weight if loss == "wasserstein" else 0.0, seed=seed, device="cpu",
              callbacks=[record], callback_every=1, log_every=steps, progress=False)
        paths[loss] = path[:steps + 1]  # the loop also calls back once at the end
    return ThetaWalk(theta=paths, lr_g=lr_g, n_critic=n_critic, gp_weight=gp_weight)


@dataclass
class Sharpening:
    """The generator's gradient on θ through a BCE discriminator, recorded while D trains, at several θ (03)."""

    steps: list[int]  # D steps done at each record
    grad_nonsaturating: dict[float, list[float]]  # θ -> d(-E log D(G))/dθ at each record
    grad_minimax: dict[float, list[float]]  # θ -> d E log(1 - D(G))/dθ at each record


def discriminator_sharpening(thetas=(0.25, 1.0, 2.0), steps: int = 300, record_every: int = 50, *,
                             lr: float = 3e-3, seed: int = 0) -> Sharpening:
    """Train a BCE discriminator against the line at each θ, and read both generator gradients as it trains.

    The same network and settings as :func:`parallel_lines_experiment` (Adam, the rate decaying on a
    cosine over ``steps``). Shows what sets the size of the non-saturating gradient: D's sharpness
    and the gap it has to bridge, not W1 = |θ|, whose slope is 1 everywhere.
    """
    real = ParallelLines(0.0)
    records = {}
    for theta in thetas:
        torch.manual_seed(seed)
        D, G = MLPDiscriminator(2, hidden=64, depth=2), ParallelLinesGenerator(theta)
        rows = records.setdefault(float(theta), {})  # D steps -> (non-saturating, minimax) gradient

        def record(step, G, D, history, rows=rows):  # the loop's call at the end may repeat a step
            rows[step] = (theta_gradient(G, D, "nonsaturating"), theta_gradient(G, D, "minimax"))

        train(G, D, ToyBatches(real, 256, seed=seed), train_g=False, loss="nonsaturating", steps=steps, lr_d=lr,
              lr_schedule="cosine", seed=seed, device="cpu", log_every=steps, progress=False, callbacks=[record],
              callback_every=record_every)
    recorded = sorted(next(iter(records.values())))
    return Sharpening(steps=recorded,
                      grad_nonsaturating={t: [rows[s][0] for s in recorded] for t, rows in records.items()},
                      grad_minimax={t: [rows[s][1] for s in recorded] for t, rows in records.items()})


@dataclass
class FganFit:
    """A one-Gaussian generator trained by the f-GAN of one divergence on two modes, and its path."""

    divergence: str
    mu: float
    sigma: float
    steps: list[int]  # where the path was recorded
    path: list[tuple[float, float]]  # (μ, σ) at each of those steps
    seconds: float


def fgan_gaussian_fit(divergence: str, separation: float, std: float = 0.5, *, steps: int = 3000,
                      batch_size: int = 256, lr: float = 2e-3, start=(0.5, 0.5), hidden: int = 64, seed: int = 0,
                      record_every: int = 50) -> FganFit:
    """Fit N(μ, σ²) to ½N(−separation/2, std²) + ½N(separation/2, std²) with the f-GAN of ``divergence``.

    G is a :class:`GaussianGenerator` started at ``start`` = (μ₀, σ₀), off the middle so that a
    mode-seeking fit is not balanced between the two modes; D a 2-layer MLP on the line. Both take
    Adam steps at ``lr`` (β = (0.5, 0.999)), one D step per G step, on the loss family ``fgan_<divergence>``
    (:func:`gancourse.losses.fgan_losses`). What it should reach is :func:`gancourse.divergences.closest_gaussian`.
    """
    half = separation / 2
    target = GaussianMixture([[-half], [half]], std)
    torch.manual_seed(seed)
    G, D = GaussianGenerator(*start), MLPDiscriminator(in_dim=1, hidden=hidden, depth=2)
    recorded, path = [], []

    def record(step, G, D, history):
        recorded.append(step)
        path.append((float(G.mu.detach()), G.sigma))

    t0 = time.perf_counter()
    train(G, D, ToyBatches(target, batch_size, seed=seed), loss=f"fgan_{divergence}", steps=steps, lr_d=lr, lr_g=lr,
          betas=(0.5, 0.999), seed=seed, progress=False, log_every=max(steps // 10, 1), callbacks=[record],
          callback_every=record_every)
    return FganFit(divergence, float(G.mu.detach()), G.sigma, recorded, path, time.perf_counter() - t0)
