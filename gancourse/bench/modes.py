"""Mode collapse, measured: GANs trained on the 8-mode ring and the 25-mode grid, scored like the papers.

Every method trains the same small MLPs for the same number of generator steps on the same
batches; only the loss, the discriminator's regularisation and the generator's latent change.
A run is scored on 2,500 samples with :func:`gancourse.metrics.modes.mode_coverage` (modes
captured, share of high-quality samples, reverse KL), and :func:`run_benchmark` repeats each
method over seeds and reports mean and spread. ``gancourse bench modes`` prints the table.

The learning rate drops by 10x for the last third of training: at 1e-3 Adam moves every weight by
about 1e-3 a step, which jitters the samples by more than the ring's 0.01 standard deviation.
Explained in 04_mode_collapse.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field, replace

import torch

from gancourse.collapse import MixtureLatentGenerator
from gancourse.data.toy import ToyBatches, make_toy
from gancourse.metrics.modes import N_SAMPLES, ModeReport, evaluate_generator
from gancourse.models import MLPDiscriminator, MLPGenerator
from gancourse.train import History, train

MIXTURES = ("ring8", "grid25")

# What the best method must reach (README, "Benchmarks"); PacGAN4 reports 24.8 modes, 93.6 % and 0.04 on the grid.
TARGET = {"all_modes": True, "high_quality": 0.97, "reverse_kl": 0.02, "seconds": 60.0}


@dataclass(frozen=True)
class Method:
    """One way of training a GAN on a mixture: ``settings`` are :func:`gancourse.train.train` keywords."""

    description: str
    settings: dict = field(default_factory=dict)
    mixture_latent: bool = False  # generator with a latent mixture of small Gaussians (gancourse.collapse)


METHODS = {
    "vanilla": Method("minimax loss (Goodfellow et al. 2014)", {"loss": "minimax"}),
    "nonsaturating": Method("non-saturating generator loss", {"loss": "nonsaturating"}),
    "wgan-gp": Method("Wasserstein loss, gradient penalty 10, 5 critic steps, Adam β=(0.5, 0.9)",
                      {"loss": "wasserstein", "gp_weight": 10.0, "n_critic": 5, "betas": (0.5, 0.9)}),
    "pacgan4": Method("non-saturating, D judges packs of 4 samples (PacGAN)", {"loss": "nonsaturating", "pack": 4}),
    "r1-mixture": Method("non-saturating, R1 penalty 0.1 on D, generator with a 200-code mixture latent",
                         {"loss": "nonsaturating", "r1_weight": 0.1}, mixture_latent=True),
}
BENCH_METHODS = ("vanilla", "nonsaturating", "wgan-gp", "pacgan4", "r1-mixture")
# Not in the benchmark table; 04_mode_collapse uses them (Leclaire's SGD-vs-Adam observation).
EXTRA_METHODS = {
    "vanilla-sgd": Method("minimax loss, plain SGD", {"loss": "minimax", "optimizer": "sgd"}),
}


@dataclass(frozen=True)
class ToySetup:
    """What every method shares: network sizes, batch, steps, learning-rate schedule."""

    steps: int = 3000  # generator steps
    batch_size: int = 256  # real samples per critic step (packs of 4 make 64 decisions)
    hidden: int = 128  # width of G and D
    depth: int = 3  # hidden layers of G and D
    z_dim: int = 2  # noise of the MLP generator
    lr: float = 1e-3  # Adam, both networks (SGD uses lr × sgd_lr_factor)
    schedule: tuple = ((2 / 3, 1.0), (1 / 3, 0.1))  # (share of the steps, lr multiplier)
    sgd_lr_factor: float = 20.0  # SGD has no per-weight scaling: it needs a larger step than Adam
    n_codes: int = 200  # mixture latent: codes (more than the modes of either mixture)
    code_sigma: float = 0.01  # mixture latent: spread of each code's Gaussian
    latent_dim: int = 2  # mixture latent: dimension of the code space
    device: str = "cpu"  # tiny MLPs run fastest on the CPU

    def phases(self) -> list[tuple[int, float]]:
        """[(steps, lr multiplier)] adding up to ``steps``."""
        counts = [max(1, round(share * self.steps)) for share, _ in self.schedule]
        counts[-1] = self.steps - sum(counts[:-1])
        return [(n, m) for n, (_, m) in zip(counts, self.schedule, strict=True) if n > 0]


def get_method(name: str) -> Method:
    methods = {**METHODS, **EXTRA_METHODS}
    if name not in methods:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(methods)}.")
    return methods[name]


def build_networks(method: Method, dim: int, setup: ToySetup):
    """(G, D) for ``method`` on ``dim``-D data; a packed D sees ``pack · dim`` numbers."""
    if method.mixture_latent:
        G = MixtureLatentGenerator(n_codes=setup.n_codes, latent_dim=setup.latent_dim, sigma=setup.code_sigma,
                                   out_dim=dim, hidden=setup.hidden, depth=setup.depth)
    else:
        G = MLPGenerator(z_dim=setup.z_dim, out_dim=dim, hidden=setup.hidden, depth=setup.depth)
    D = MLPDiscriminator(in_dim=dim * method.settings.get("pack", 1), hidden=setup.hidden, depth=setup.depth)
    return G, D


@dataclass
class MixtureRun:
    """One trained GAN on one mixture: networks, history over all phases, score and time."""

    method: str
    mixture: str
    seed: int
    G: torch.nn.Module
    D: torch.nn.Module
    history: History
    report: ModeReport
    seconds: float

    def samples(self, n: int = N_SAMPLES, seed: int = 0) -> torch.Tensor:
        """``n`` samples of G from fixed noise (the ones the report scored when n = 2,500, seed = 0)."""
        z = torch.randn(n, self.G.z_dim, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            return self.G(z.to(next(self.G.parameters()).device)).cpu()


def _merge(total: History, part: History, offset: int, seconds: float) -> None:
    total.step += [s + offset for s in part.step]
    total.seconds += [t + seconds for t in part.seconds]
    total.d_loss += part.d_loss
    total.g_loss += part.g_loss
    for key, values in part.extra.items():
        total.extra.setdefault(key, []).extend(values)


def train_on_mixture(method: str, mixture: str = "grid25", *, seed: int = 0, setup: ToySetup | None = None,
                     callbacks=(), callback_every: int = 100, **overrides) -> MixtureRun:
    """Train ``method`` on ``mixture`` ("ring8" or "grid25") and score it; ``overrides`` replace setup fields.

    ``callbacks`` are called as ``fn(step, G, D, history)`` with the step counted over the whole run.
    """
    if mixture not in MIXTURES:
        raise ValueError(f"unknown mixture {mixture!r}; choose one of {', '.join(MIXTURES)}.")
    spec = get_method(method)
    setup = replace(setup or ToySetup(), **overrides)
    dist = make_toy(mixture)
    torch.manual_seed(seed)
    G, D = build_networks(spec, dist.dim, setup)
    data = ToyBatches(dist, setup.batch_size, seed=seed)
    settings = dict(spec.settings)
    lr = setup.lr * (setup.sgd_lr_factor if settings.get("optimizer") == "sgd" else 1.0)
    history, done, start = History(), 0, time.perf_counter()
    for phase, (steps, factor) in enumerate(setup.phases()):
        wrapped = [_offset_callback(fn, done) for fn in callbacks]
        phase_start = time.perf_counter() - start
        part = train(G, D, data, steps=steps, lr_g=lr * factor, lr_d=lr * factor, seed=1000 * seed + phase,
                     device=setup.device, log_every=min(100, steps), progress=False, callbacks=wrapped,
                     callback_every=callback_every, **settings)
        _merge(history, part, done, phase_start)
        done += steps
    seconds = time.perf_counter() - start
    report = evaluate_generator(G, dist, n=N_SAMPLES, seed=0)
    return MixtureRun(method, mixture, seed, G, D, history, report, seconds)


def _offset_callback(fn, offset: int):
    def call(step, G, D, history):
        return fn(step + offset, G, D, history)

    return call


def _stats(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def summarise(runs: list[dict]) -> dict:
    """Mean and standard deviation over seeds of one method on one mixture; ``runs`` are per-seed rows."""
    first = runs[0]
    record = {"method": first["method"], "mixture": first["mixture"], "n_modes": first["n_modes"],
              "seeds": [r["seed"] for r in runs]}
    for key in ("modes_captured", "high_quality", "reverse_kl", "seconds"):
        record[key] = _stats([r[key] for r in runs])
    record["runs"] = runs
    record["meets_target"] = meets_target(record)
    return record


def meets_target(record: dict) -> bool:
    """Every seed captures every mode, and the means reach the high-quality, reverse-KL and time targets."""
    return (all(r["modes_captured"] == record["n_modes"] for r in record["runs"])
            and record["high_quality"]["mean"] >= TARGET["high_quality"]
            and record["reverse_kl"]["mean"] <= TARGET["reverse_kl"]
            and record["seconds"]["mean"] <= TARGET["seconds"])


def run_row(run: MixtureRun) -> dict:
    r = run.report
    return {"method": run.method, "mixture": run.mixture, "seed": run.seed, "n_modes": r.n_modes,
            "modes_captured": r.modes_captured, "high_quality": r.high_quality_fraction,
            "reverse_kl": r.reverse_kl, "seconds": run.seconds}


def run_benchmark(methods=BENCH_METHODS, mixtures=MIXTURES, seeds: int = 5, setup: ToySetup | None = None,
                  log=None, runner=train_on_mixture) -> list[dict]:
    """Train every method on every mixture ``seeds`` times; one summary record per (method, mixture).

    ``log`` (e.g. ``print``) receives a line per finished run; ``runner`` is replaceable for tests.
    """
    for name in methods:
        get_method(name)
    setup = setup or ToySetup()
    if runner is train_on_mixture:  # first call pays for lazy imports; keep that out of the timings
        train_on_mixture(methods[0], mixtures[0], setup=replace(setup, steps=2))
    records = []
    for mixture in mixtures:
        for name in methods:
            rows = []
            for seed in range(seeds):
                row = run_row(runner(name, mixture, seed=seed, setup=setup))
                rows.append(row)
                if log is not None:
                    log(f"{name:>14} {mixture:>6} seed {seed}: {row['modes_captured']}/{row['n_modes']} modes, "
                        f"{100 * row['high_quality']:.1f} % high quality, reverse KL {row['reverse_kl']:.3f}, "
                        f"{row['seconds']:.1f} s")
            record = summarise(rows)
            record["description"] = get_method(name).description
            records.append(record)
    return records


def format_table(records: list[dict], target: bool = True) -> str:
    """The benchmark as a plain-text table: mean ± std over seeds; with ``target``, a star where it is met."""
    head = f"{'mixture':<7} {'method':<14} {'modes':>12} {'high quality %':>15} {'reverse KL':>15} {'s/run':>7}"
    lines = [head, "-" * len(head)]
    for r in records:
        m, hq, kl, s = r["modes_captured"], r["high_quality"], r["reverse_kl"], r["seconds"]
        lines.append(
            f"{r['mixture']:<7} {r['method']:<14} {m['mean']:>5.1f} ± {m['std']:<4.1f}"
            f"{100 * hq['mean']:>8.1f} ± {100 * hq['std']:<4.1f} {kl['mean']:>7.3f} ± {kl['std']:<5.3f}"
            f"{s['mean']:>7.1f}{'  *' if target and r['meets_target'] else ''}"
        )
    if target:
        lines.append(f"* meets the target: every mode in every seed, >= {100 * TARGET['high_quality']:.0f} % high "
                     f"quality, reverse KL <= {TARGET['reverse_kl']}, <= {TARGET['seconds']:.0f} s per run")
    return "\n".join(lines)


def setup_dict(setup: ToySetup) -> dict:
    d = asdict(setup)
    d["schedule"] = [list(p) for p in setup.schedule]
    return d

