"""Checks for the exercises in the notebooks: one function per exercise.

Each check runs the student's answer against the package's reference on several inputs. It prints
what is right; at the first input where the answer differs it raises :class:`ExerciseError` (an
``AssertionError``, so an nbgrader test cell fails and gives no points) with a message saying what
was expected, what came back, and a hint. A student working alone reads the message; a teacher
grading with nbgrader gets the points of each test cell that passes.

    from gancourse import check
    check.nonsaturating_loss(my_loss)   # prints "nonsaturating_loss: right on 4 inputs." or raises

The exercises themselves live in the notebooks, between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` in cells that carry nbgrader's metadata; ``gancourse exercises build`` writes
the student versions. Explained in the README ("Homework").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gancourse import losses


class ExerciseError(AssertionError):
    """The answer to an exercise differs from the reference; the message says where and gives a hint."""


def _as_float(value) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ExerciseError(f"expected one number, got a tensor of shape {tuple(value.shape)}.")
        return float(value.detach())
    return float(value)


def _close(answer, expected, rtol: float, atol: float) -> bool:
    if isinstance(expected, torch.Tensor) and expected.numel() > 1:
        answer = torch.as_tensor(answer, dtype=expected.dtype)
        return answer.shape == expected.shape and bool(torch.allclose(answer, expected, rtol=rtol, atol=atol))
    a, e = _as_float(answer), _as_float(expected)
    return math.isfinite(a) and abs(a - e) <= atol + rtol * abs(e)


def _run(answer: Callable, *args):
    try:
        return answer(*args)
    except NotImplementedError:
        raise ExerciseError("not answered yet: replace `raise NotImplementedError()` by your code.") from None


def compare(name: str, answer: Callable, reference: Callable, cases: Iterable[tuple], hint: str,
            rtol: float = 1e-4, atol: float = 1e-6, show: Callable[[tuple], str] = repr) -> int:
    """Call ``answer(*case)`` and ``reference(*case)`` for every case; raise :class:`ExerciseError` at the
    first that differs, with ``hint``; print a one-line success and return the number of cases."""
    if not callable(answer):
        raise ExerciseError(f"{name}: expected a function, got {type(answer).__name__}.")
    n = 0
    for case in cases:
        expected = reference(*case)
        got = _run(answer, *case)
        if got is None:
            raise ExerciseError(f"{name}: your function returned None; did you forget `return`?")
        try:
            ok = _close(got, expected, rtol, atol)
        except (TypeError, ValueError, RuntimeError) as err:
            raise ExerciseError(f"{name}: cannot compare your answer with the expected one ({err}).") from None
        if not ok:
            raise ExerciseError(f"{name}: on input {show(case)} expected {_fmt(expected)}, got {_fmt(got)}.\n"
                                f"Hint: {hint}")
        n += 1
    print(f"{name}: right on {n} inputs.")
    return n


def _fmt(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"{value.item():.6g}" if value.numel() == 1 else f"tensor of shape {tuple(value.shape)}"
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError):
        return repr(value)


def _logit_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, generator=g) * scale + shift,) for scale, shift in ((1, 0), (3, -4), (3, 4), (0.1, 0))]


# --- 01_first_gan -----------------------------------------------------------------------------


def nonsaturating_loss(answer: Callable) -> int:
    """01: the non-saturating generator loss, −E[log D(G(z))], from D's logits on fake samples."""
    return compare("nonsaturating_loss", answer, losses.g_nonsaturating, _logit_cases(),
                   hint="G maximises log D(G(z)), so it minimises −mean(log σ(ℓ)); with logits ℓ, "
                        "−log σ(ℓ) = softplus(−ℓ). The minimax loss mean(log(1 − σ(ℓ))) is the other one.",
                   show=lambda case: f"logits with mean {case[0].mean():.2f}")


def discriminator_loss(answer: Callable) -> int:
    """01: the discriminator's BCE loss, −E[log D(x)] − E[log(1 − D(G(z)))], from its logits on both batches."""
    g = torch.Generator().manual_seed(1)
    cases = [(torch.randn(8, generator=g) * scale + shift, torch.randn(8, generator=g) * scale - shift)
             for scale, shift in ((1, 0), (2, 3), (2, -3), (0.1, 0))]
    return compare("discriminator_loss", answer, losses.d_bce, cases,
                   hint="D maximises V = mean(log σ(ℓ_real)) + mean(log(1 − σ(ℓ_fake))), so its loss is −V; "
                        "with logits, −log σ(ℓ) = softplus(−ℓ) and −log(1 − σ(ℓ)) = softplus(ℓ).",
                   show=lambda case: f"real logits with mean {case[0].mean():.2f}, fake with mean {case[1].mean():.2f}")


# --- 02_optimal_discriminator -----------------------------------------------------------------


def _density_pairs() -> list[tuple]:
    """(description, grid, p, q): Gaussian densities, positive everywhere on the grid (no 0/0, no log 0)."""
    import numpy as np
    from scipy.stats import norm

    x = np.linspace(-8, 8, 1601)
    mixture = 0.5 * (norm.pdf(x, -1.5, 0.6) + norm.pdf(x, 1.5, 0.6))
    return [("p = N(0, 1), q = N(1, 0.5)", x, norm.pdf(x, 0, 1), norm.pdf(x, 1, 0.5)),
            ("p = two bumps at ±1.5, q = N(0.5, 1.2)", x, mixture, norm.pdf(x, 0.5, 1.2)),
            ("p = N(-3, 0.5), q = N(3, 0.5), far apart", x, norm.pdf(x, -3, 0.5), norm.pdf(x, 3, 0.5)),
            ("p = q = N(0, 1)", x, norm.pdf(x, 0, 1), norm.pdf(x, 0, 1))]


def _as_tensors(answer: Callable) -> Callable:
    """The answer with an array result turned into a tensor, so a message about it stays one line."""
    if not callable(answer):
        return answer

    def wrapped(*args):
        got = answer(*args)
        return got if got is None or isinstance(got, torch.Tensor) else torch.as_tensor(got)

    return wrapped


def optimal_discriminator(answer: Callable) -> int:
    """02: D*(x) = p_data(x) / (p_data(x) + p_g(x)), on density values: numbers, then arrays on a grid."""
    import numpy as np

    from gancourse import theory

    cases = [(0.4, 0.1), (0.05, 0.3), (1e-4, 2.0), (0.25, 0.25)]  # the values of p_data(x) and p_g(x) at one x
    _, _, p, q = _density_pairs()[1]
    cases.append((p, q))
    return compare("optimal_discriminator", _as_tensors(answer),
                   lambda p_data, p_g: torch.as_tensor(theory.optimal_discriminator(p_data, p_g)), cases,
                   hint="at each x, D maximises p_data log D + p_g log(1 − D), which is largest at "
                        "D = p_data / (p_data + p_g): near 1 where the data outweigh the generator. "
                        "Write it with array operations, so that it works on whole grids too.",
                   show=lambda case: (f"p_data(x) = {case[0]:g}, p_g(x) = {case[1]:g}" if np.ndim(case[0]) == 0
                                      else f"two arrays of {len(case[0])} density values"))


def js_divergence(answer: Callable) -> int:
    """02: JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, by the trapezoid rule on the grid x."""
    from gancourse import theory

    cases, names = [], {}
    for name, x, p, q in _density_pairs():
        cases.append((p, q, x))
        names[id(cases[-1])] = f"{name} on {len(x)} points of [{x[0]:g}, {x[-1]:g}]"
    return compare("js_divergence", answer, theory.js_divergence, cases,
                   hint="compare both densities with their mixture m = (p + q) / 2, not with each other, and "
                        "average the two KL divergences: ½ KL(p ‖ m) + ½ KL(q ‖ m), each "
                        "np.trapezoid(p * np.log(p / m), x). It lies between 0 and log 2.",
                   show=lambda case: names[id(case)])


# --- 03_js_vs_wasserstein ---------------------------------------------------------------------


def js_lower_bound(answer: Callable) -> int:
    """03: the JS that a discriminator certifies, (V̂ + log 4) / 2, from its logits on real and fake samples."""
    from gancourse import theory

    g = torch.Generator().manual_seed(3)
    cases = [(torch.randn(16, generator=g) + shift, torch.randn(16, generator=g) - shift) for shift in (4, 1, -1)]
    cases.append((torch.zeros(16), torch.zeros(16)))  # a discriminator that shrugs certifies nothing
    return compare("js_lower_bound", answer, theory.js_lower_bound, cases,
                   hint="V(D, G) ≤ V(D*, G) = 2 JS − log 4 for every D, so JS ≥ (V̂ + log 4) / 2 with "
                        "V̂ = mean(log σ(ℓ_real)) + mean(log(1 − σ(ℓ_fake))); D = ½ everywhere gives 0.",
                   show=lambda case: f"real logits with mean {case[0].mean():.2f}, fake with mean {case[1].mean():.2f}")


def sample_w1(answer: Callable) -> int:
    """03: W1 between two clouds of n points each: the least mean distance over the matchings of the points."""
    from gancourse import theory
    from gancourse.data import Gaussian, ParallelLines

    g = torch.Generator().manual_seed(4)
    clouds = [("N(0, 1) against N((1, 0), 1) in the plane", Gaussian([0.0, 0.0], 1.0), Gaussian([1.0, 0.0], 1.0)),
              ("the parallel lines at θ = 1", ParallelLines(0.0), ParallelLines(1.0)),
              ("the parallel lines at θ = 0.25", ParallelLines(0.0), ParallelLines(0.25))]
    cases, names = [], {}
    for name, real, fake in clouds:
        cases.append((real.sample(40, generator=g), fake.sample(40, generator=g)))
        names[id(cases[-1])] = f"40 points of each, {name}"
    return compare("sample_w1", answer, theory.sample_w1, cases,
                   hint="every point of one cloud must be sent to a different point of the other (a matching); "
                        "W1 is the mean distance of the best matching, which scipy.optimize.linear_sum_assignment "
                        "finds from the matrix of distances scipy.spatial.distance.cdist(x_real, x_fake). "
                        "Sending each point to its nearest neighbour lets several share one, and is too small.",
                   show=lambda case: names[id(case)])


# --- 04_mode_collapse -------------------------------------------------------------------------


def _mixture_cases() -> list[tuple]:
    """(samples, centres, std) for the mode checks, each with what it is, for the messages."""
    from gancourse.data import grid25, ring8

    g = torch.Generator().manual_seed(5)
    ring, grid = ring8(), grid25()
    everywhere = ring.sample(400, generator=g)
    three = everywhere[(ring.centres[:3, None] - everywhere[None]).norm(dim=2).min(0).values < 0.1]
    between = 0.97 * ring.sample(400, generator=g)  # every sample 3 std inside the ring: near a mode, not on it
    blurred = grid.sample(400, generator=g) + 0.1 * torch.randn(400, 2, generator=g)
    return [(everywhere, ring.centres, ring.std, "400 samples of ring8 itself"),
            (three, ring.centres, ring.std, "samples on three of ring8's modes only"),
            (between, ring.centres, ring.std, "ring8 shrunk by 3 %: every sample between its mode and the centre"),
            (torch.zeros(50, 2), ring.centres, ring.std, "50 samples at the origin, far from every mode"),
            (blurred, grid.centres, grid.std, "grid25 samples with noise of std 0.1 added")]


def high_quality_share(answer: Callable) -> int:
    """04: the share of samples within 3 standard deviations of their nearest mode."""
    from gancourse.metrics.modes import HIGH_QUALITY_STDS, mode_coverage

    cases = _mixture_cases()
    return compare("high_quality_share", lambda s, c, std, _: answer(s, c, std),
                   lambda s, c, std, _: mode_coverage(s, c, std).high_quality_fraction, cases,
                   hint=f"a sample is of high quality when its distance to the nearest centre is at most "
                        f"{HIGH_QUALITY_STDS:g}·std (torch.cdist(samples, centres).min(1) gives that distance); "
                        f"the threshold scales with std, it is not {HIGH_QUALITY_STDS:g} itself.",
                   show=lambda case: case[3])


def modes_captured(answer: Callable) -> int:
    """04: the number of modes that hold at least one high-quality sample."""
    from gancourse.metrics.modes import HIGH_QUALITY_STDS, mode_coverage

    cases = _mixture_cases()
    return compare("modes_captured", lambda s, c, std, _: answer(s, c, std),
                   lambda s, c, std, _: mode_coverage(s, c, std).modes_captured, cases,
                   hint=f"a mode is captured when some sample lies within {HIGH_QUALITY_STDS:g}·std of it and it is "
                        f"that sample's nearest mode; being some sample's nearest mode is not enough (samples "
                        f"far from every mode still have a nearest one).",
                   show=lambda case: case[3])


# --- helpers of the checks below -------------------------------------------------------------


def _function(name: str, answer) -> None:
    if not callable(answer):
        raise ExerciseError(f"{name}: expected a function, got {type(answer).__name__}.")


def _score_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, generator=g) * scale + shift, torch.randn(16, generator=g) * scale)
            for scale, shift in ((1, 0), (2, 3), (0.5, -1))]


def _toy_critic(seed: int, hidden: int = 16, depth: int = 2):
    from gancourse.models import toy_networks

    torch.manual_seed(seed)
    return toy_networks(2, hidden=hidden, depth=depth)[1]


def _per_sample(alpha: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return alpha.reshape(-1, *([1] * (like.dim() - 1)))  # (B,) -> (B, 1, ..., 1)


# --- 05_wgan ----------------------------------------------------------------------------------


def wasserstein_critic_loss(answer: Callable) -> int:
    """05: the critic's loss to minimise, E[f(G(z))] − E[f(x)], from its scores on real and fake samples."""
    return compare("wasserstein_critic_loss", answer, losses.d_wasserstein, _score_cases(),
                   hint="the critic maximises mean f(x_real) − mean f(x_fake); a loss is minimised, so return "
                        "its negative, mean(fake_scores) − mean(real_scores). The scores are not probabilities: "
                        "no sigmoid, no log.",
                   show=lambda case: f"real scores with mean {case[0].mean():.2f}, fake scores with mean "
                                     f"{case[1].mean():.2f}")


def _clipped(clip: Callable, seed: int, c: float) -> torch.Tensor:
    D = _toy_critic(seed)
    try:
        clip(D, c)
    except RuntimeError as err:
        if "in-place" not in str(err):
            raise
        raise ExerciseError("clip_weights: torch refuses to change a parameter in place while it records "
                            "gradients.\nHint: put the loop inside `with torch.no_grad():`.") from None
    return torch.cat([p.detach().flatten() for p in D.parameters()])


def clip_weights(answer: Callable) -> int:
    """05: WGAN's weight clipping, every parameter of a module clamped into [−c, c] in place."""
    _function("clip_weights", answer)
    return compare("clip_weights", lambda seed, c: _clipped(answer, seed, c),
                   lambda seed, c: _clipped(losses.clip_weights_, seed, c), [(0, 0.01), (1, 0.1), (2, 0.5)],
                   hint="clamp every tensor of module.parameters() (weights and biases) in place, "
                        "p.clamp_(-c, c), inside `with torch.no_grad():`; `p = p.clamp(-c, c)` makes a new "
                        "tensor and leaves the module unchanged.",
                   show=lambda case: f"a fresh toy critic (seed {case[0]}) and c = {case[1]}")


def clipped_lipschitz_bound(answer: Callable) -> int:
    """05: the slope clipping guarantees for an MLP critic, the product of c·√(m·n) over its Linear layers."""
    from gancourse.metrics import probes

    cases = [(_toy_critic(0, hidden=128, depth=3), 0.01), (_toy_critic(1, hidden=16, depth=2), 0.1),
             (_toy_critic(2, hidden=64, depth=4), 0.05)]
    return compare("clipped_lipschitz_bound", answer, probes.clipped_lipschitz_bound, cases,
                   hint="an m×n matrix with entries in [−c, c] stretches a vector by at most c·√(m·n) (its "
                        "Frobenius norm); multiply that over every torch.nn.Linear in D.modules(). Biases and "
                        "LeakyReLU add no slope.",
                   show=lambda case: f"an MLP critic with Linear layers {_linear_shapes(case[0])} and c = {case[1]}")


def _linear_shapes(D) -> list[tuple[int, int]]:
    return [tuple(layer.weight.shape) for layer in D.modules() if isinstance(layer, torch.nn.Linear)]


# --- 06_dcgan ---------------------------------------------------------------------------------

# (side, kernel, stride, padding): DCGAN's layers, and strides that leave a remainder to floor away
_CONV_CASES = [(28, 4, 2, 1), (14, 4, 2, 1), (7, 7, 1, 0), (7, 4, 2, 1), (64, 5, 2, 2), (32, 3, 1, 1), (6, 3, 2, 0)]
_CONV_TRANSPOSE_CASES = [(1, 7, 1, 0), (7, 4, 2, 1), (14, 4, 2, 1), (4, 4, 2, 1), (3, 3, 2, 0), (5, 5, 1, 2)]


def _show_conv(case: tuple) -> str:
    return "side {}, kernel {}, stride {}, padding {}".format(*case)


def conv_output_side(answer: Callable) -> int:
    """06: a convolution's output side, ⌊(i + 2p − k)/s⌋ + 1."""
    from gancourse import models

    return compare("conv_output_side", answer, models.conv_output_side, _CONV_CASES, atol=0,
                   hint="pad the side (i + 2p), count the places a kernel of k fits at steps of s: "
                        "(i + 2p − k) // s + 1. The floor matters when s does not divide i + 2p − k.",
                   show=_show_conv)


def conv_transpose_output_side(answer: Callable) -> int:
    """06: a transposed convolution's output side, (i − 1)·s − 2p + k."""
    from gancourse import models

    return compare("conv_transpose_output_side", answer, models.conv_transpose_output_side, _CONV_TRANSPOSE_CASES,
                   atol=0, hint="undo the convolution's map: the i inputs sit s apart, spanning (i − 1)·s + 1 "
                                "places; the kernel adds k − 1, the padding takes 2p away: (i − 1)·s − 2p + k.",
                   show=_show_conv)


def _slerp_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    z0, z1 = torch.randn(2, 100, generator=g)
    return [(z0, z1, 0.5), (z0, z1, 0.25), (z1, z0, 0.9), (torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), 0.5),
            (torch.randn(3, generator=g), torch.randn(3, generator=g), 0.7)]


def slerp(answer: Callable) -> int:
    """06: spherical interpolation between two latent vectors, sin((1−t)ω)/sin ω · z0 + sin(tω)/sin ω · z1."""
    from gancourse import latent

    return compare("slerp", answer, lambda z0, z1, t: latent.slerp(z0, z1, [t])[0], _slerp_cases(),
                   hint="ω is the angle between z0 and z1, cos ω = z0·z1 / (|z0| |z1|); the weights are "
                        "sin((1 − t)ω)/sin ω and sin(tω)/sin ω. The straight line (1 − t) z0 + t z1 is lerp: "
                        "its midpoint is shorter than both ends.",
                   show=lambda case: f"z0, z1 in {case[0].numel()} dimensions and t = {case[2]}")


# --- 07_wgan_gp -------------------------------------------------------------------------------


def _image_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(*shape, generator=g) * 2 - 1, torch.rand(*shape, generator=g) * 2 - 1,
             torch.rand(shape[0], generator=g)) for shape in ((4, 1, 28, 28), (3, 3, 8, 8), (6, 2))]


def _show_batch(case: tuple) -> str:
    return f"batches of shape {tuple(case[0].shape)} and alpha {[round(a, 2) for a in case[2].tolist()]}"


def interpolates(answer: Callable) -> int:
    """07: the points of the penalty, x̂ = α·x_real + (1 − α)·x_fake with one α per sample."""
    return compare("interpolates", answer,
                   lambda x_real, x_fake, alpha: losses.interpolates(x_real, x_fake, alpha=_per_sample(alpha, x_real)),
                   _image_cases(),
                   hint="alpha has one number per sample, shape (B,); reshape it to (B, 1, ..., 1), "
                        "alpha.view(-1, *[1] * (x_real.dim() - 1)), so it multiplies a whole image, and weight "
                        "x_real by alpha and x_fake by 1 − alpha.",
                   show=_show_batch)


def _image_critic(seed: int):
    from gancourse.models import image_networks

    torch.manual_seed(seed)
    return image_networks(1, 28, width=4, norm="none")[1]  # a small critic without batch norm, as in 07


def gradient_penalty(answer: Callable) -> int:
    """07: the WGAN-GP penalty E[(‖∇D(x̂)‖₂ − 1)²] on the interpolates, kept differentiable for training."""
    _function("gradient_penalty", answer)
    images, _, points = _image_cases(1)
    cases = [(_image_critic(0), *images), (_image_critic(1), *images), (_toy_critic(0), *points)]

    def reference(D, x_real, x_fake, alpha):
        return losses.gradient_penalty(D, x_real, x_fake, alpha=_per_sample(alpha, x_real))

    n = compare("gradient_penalty", answer, reference, cases,
                hint="make x̂ (one alpha per sample), x_hat.requires_grad_(True), take "
                     "torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)[0], one norm per sample "
                     "over all its pixels (grad.flatten(1).norm(dim=1)), then the mean of (norm − 1)².",
                show=lambda case: f"a critic {type(case[0]).__name__} and {_show_batch(case[1:])}")
    penalty = _run(answer, *cases[0])
    if not (isinstance(penalty, torch.Tensor) and penalty.requires_grad):
        raise ExerciseError("gradient_penalty: the value is right, but the critic cannot be trained on it: it "
                            "carries no gradient.\nHint: pass create_graph=True to torch.autograd.grad, so "
                            "the penalty can itself be differentiated.")
    return n


# --- 08_evaluation ----------------------------------------------------------------------------


def _gaussian_cases(seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)

    def covariance(d):
        a = rng.normal(size=(d, d))
        return a @ a.T + 0.1 * np.eye(d)  # symmetric positive definite, not diagonal: the pair do not commute

    cases = [(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))]  # closed form: 2 + 2·(1 + 4 − 2·2) = 4
    for d in (2, 3, 8):
        cases.append((rng.normal(size=d), covariance(d), rng.normal(size=d), covariance(d)))
    mu, sigma = rng.normal(size=4), covariance(4)
    return cases + [(mu, sigma, mu, sigma)]  # the same Gaussian twice: 0


def frechet_distance(answer: Callable) -> int:
    """08: the Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2), ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2(Σ1Σ2)^½)."""
    from gancourse.metrics import fid

    return compare("frechet_distance", answer, lambda mu1, s1, mu2, s2: fid.frechet_distance((mu1, s1), (mu2, s2)),
                   _gaussian_cases(), atol=1e-5,
                   hint="the square root is of the matrix product Σ1Σ2 (scipy.linalg.sqrtm; keep its .real), "
                        "not the product of two square roots: √Σ1·√Σ2 differs when Σ1 and Σ2 do not commute. "
                        "And the trace term carries a factor 2.",
                   show=lambda case: f"Gaussians in {len(case[0])} dimensions")


def _probability_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    soft = [torch.softmax(torch.randn(200, 10, generator=g) * scale, dim=1).numpy() for scale in (0.5, 3.0)]
    one_per_class = np.eye(10)[np.arange(200) % 10]  # sure and even: 10, the most a score can be
    one_class = np.eye(10)[np.zeros(200, dtype=int)]  # sure, but always the same class: 1
    return [(p,) for p in (*soft, one_per_class, one_class)]


def inception_score(answer: Callable) -> int:
    """08: the Inception Score of class probabilities p(y|x) (N, classes), exp(E_x KL(p(y|x) ‖ p(y)))."""
    from gancourse.metrics import classifier

    return compare("inception_score", answer, lambda probs: classifier.inception_score(probs, splits=1)[0],
                   _probability_cases(),
                   hint="p(y) is the mean of the rows; KL(p(y|x) ‖ p(y)) = Σ_y p(y|x) log(p(y|x) / p(y)) per row, "
                        "with 0 log 0 = 0 (scipy.special.xlogy or rel_entr); average over the rows, then exp.",
                   show=lambda case: f"probabilities of shape {case[0].shape} whose largest entries average "
                                     f"{case[0].max(1).mean():.2f}")


def kl_to_uniform(answer: Callable) -> int:
    """08: KL(q ‖ uniform) of the class histogram q of predicted labels, Σ_c q_c log(q_c · n_classes)."""
    from gancourse.metrics import classifier

    rng = np.random.default_rng(0)
    cases = [(np.zeros(50, dtype=int), 10), (np.arange(100) % 10, 10), (np.array([1, 8, 9] * 30), 10),
             (rng.integers(0, 4, size=80), 10), (rng.choice(5, size=60, p=[0.5, 0.2, 0.1, 0.1, 0.1]), 5)]
    return compare("kl_to_uniform", answer,
                   lambda labels, n_classes: classifier.coverage_of_labels(labels, n_classes).kl_to_uniform, cases,
                   hint="q_c is the share of the labels equal to c (np.bincount(labels, minlength=n_classes) / "
                        "len(labels)); sum q_c log(q_c · n_classes) over the classes present (0 log 0 = 0), "
                        "in nats (natural log). The other direction, KL(uniform ‖ q), is infinite for a missing class.",
                   show=lambda case: f"{len(case[0])} labels over {case[1]} classes, histogram "
                                     f"{np.bincount(case[0], minlength=case[1]).tolist()}")


# --- 09_conditional_and_beyond ----------------------------------------------------------------


def _logit_pairs(seed: int = 0) -> list[tuple]:
    # logits of both signs and well beyond ±1, where the hinge's max(0, ·) cuts
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, generator=g) * scale + shift, torch.randn(8, generator=g) * scale - shift)
            for scale, shift in ((1, 0), (2, 2), (2, -2), (0.3, 0.5))]


def hinge_d_loss(answer: Callable) -> int:
    """09: the hinge loss of D, E[max(0, 1 - ℓ_real)] + E[max(0, 1 + ℓ_fake)], from D's logits."""
    return compare("hinge_d_loss", answer, losses.d_hinge, _logit_pairs(),
                   hint="each real logit is pushed above +1 and each fake one below -1, and a logit already past "
                        "its margin costs nothing: clamp 1 - ℓ_real and 1 + ℓ_fake at 0 (F.relu) before averaging.",
                   show=lambda case: f"real logits with mean {case[0].mean():.2f}, fake with mean {case[1].mean():.2f}")


def _conditioned_input(z: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    # what DCGANGenerator feeds its first layer: z, then the one-hot label, along dim 1
    return torch.cat([z, F.one_hot(y, n_classes).to(z.dtype)], 1)  # (B, z_dim + n_classes)


def _label_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    # the last case holds no label of the highest class: the width must come from n_classes, not from y
    return [(torch.randn(4, 3, generator=g), torch.tensor([0, 1, 2, 9]), 10),
            (torch.randn(5, 8, generator=g), torch.tensor([3, 3, 0, 1, 2]), 4),
            (torch.randn(3, 2, generator=g), torch.tensor([0, 1, 0]), 10)]


def conditioned_input(answer: Callable) -> int:
    """09: a conditional generator's input, z (B, z_dim) with the one-hot label of y (B,) appended."""
    return compare("conditioned_input", answer, _conditioned_input, _label_cases(),
                   hint="one_hot(y, n_classes) gives (B, n_classes); turn it to z's dtype and put it after z with "
                        "torch.cat([...], dim=1). Its width is n_classes even when a batch lacks some class.",
                   show=lambda case: f"z of shape {tuple(case[0].shape)}, y = {case[1].tolist()}, n_classes {case[2]}")
