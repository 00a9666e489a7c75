"""The exercise checks of 08_evaluation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from gancourse.check._compare import compare


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
    from gancourse.metrics import frechet

    return compare("frechet_distance", answer, lambda mu1, s1, mu2, s2: frechet.frechet_distance((mu1, s1), (mu2, s2)),
                   _gaussian_cases(), atol=1e-5,
                   hint="the square root is of the matrix product Σ1Σ2 (scipy.linalg has a matrix square root; "
                        "keep its real part), not the product of two square roots: √Σ1·√Σ2 differs when "
                        "Σ1 and Σ2 do not commute. And the trace term carries a factor 2.",
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
                   hint="p(y) is the marginal over all the images; the score is built from each image's KL to it, with "
                        "0 log 0 = 0 (scipy.special handles it). Mind the order: average, then exponentiate.",
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
                   hint="q is the histogram of the labels as shares, with a slot for every class even when a class is "
                        "missing; a missing class adds 0 (0 log 0 = 0). In nats (natural log). The other "
                        "direction, KL(uniform ‖ q), is infinite for a missing class.",
                   show=lambda case: f"{len(case[0])} labels over {case[1]} classes, histogram "
                                     f"{np.bincount(case[0], minlength=case[1]).tolist()}")


def _measured_fd(d: int, sigma: float, n: int, seed: int = 0) -> float:
    """The Fréchet distance between n samples of N(0, I_d) and n of N(0, σ² I_d), from their statistics."""
    from gancourse.metrics import frechet

    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, d)), sigma * rng.normal(size=(n, d))
    return frechet.frechet_distance(frechet.statistics(a), frechet.statistics(b))


def predicted_fd(answer: Callable) -> int:
    """08: a prediction of the Fréchet distance between N(0, I_d) and N(0, σ² I_d), held to a measurement.

    The answer is compared with the distance measured from 10,000 samples of each (within 3 % and 0.05,
    what the estimator's bias leaves at that size); the line after it shows the same distance from
    100 samples, the bias of the section on sample size.
    """
    cases = [(2, 0.5), (8, 2.0), (16, 1.0), (4, 3.0), (12, 0.2)]
    measured = {case: _measured_fd(*case, n=10_000) for case in cases}
    n = compare("predicted_fd", answer, lambda d, sigma: measured[(d, sigma)], cases, rtol=0.03, atol=0.05,
                hint="both covariances are multiples of the identity, so they commute and the square root of "
                     "their product is a multiple of the identity too; work out that multiple, then take the "
                     "trace of each term (the trace of I_d is d). Check your formula at σ = 1 and at d = 1.",
                show=lambda case: f"d = {case[0]}, σ = {case[1]:g} (measured from 10,000 samples of each: "
                                  f"{measured[case]:.3f})")
    d, sigma = 16, 1.0
    print(f"the same pair measured from 100 samples of each, d = {d}, σ = {sigma:g}: "
          f"{_measured_fd(d, sigma, n=100):.2f}, where the distance is 0")
    return n
