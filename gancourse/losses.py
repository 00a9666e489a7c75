"""Losses as pure functions of the discriminator's logits.

Every function takes ``real_logits`` and/or ``fake_logits`` (the raw outputs ℓ of D, with
D(x) = σ(ℓ)) and returns a scalar to *minimise*. Nothing here steps an optimizer or touches weights
except :func:`clip_weights_`, which the training loop calls. Identities used throughout:
log σ(ℓ) = -softplus(-ℓ) and log(1 - σ(ℓ)) = -softplus(ℓ), which stay finite for any ℓ.
Explained in 01_first_gan (minimax vs non-saturating), 05_wgan (Wasserstein, penalty, clipping),
09_conditional_and_beyond (hinge, least squares, relativistic, label smoothing and noisy labels) and
04b_divergences (the f-GAN family, one per divergence of :mod:`gancourse.divergences`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gancourse.divergences import F_DIVERGENCES, get_divergence


def d_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # -E[log D(x)] - E[log(1 - D(G(z)))]  =  E[softplus(-ℓ_real)] + E[softplus(ℓ_fake)]
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def d_bce_targets(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_targets, fake_targets) -> torch.Tensor:
    """D's BCE loss with other targets than 1 (real) and 0 (fake): a number, or one per sample.

    One-sided label smoothing (Salimans et al. 2016) sets the real targets to 1 - s and leaves the
    fake ones at 0; noisy labels swap the targets of a share of the samples (:func:`bce_targets`).
    With targets 1 and 0 this is :func:`d_bce`. Explained in 09_conditional_and_beyond.
    """
    # E[-t log σ(ℓ) - (1 - t) log(1 - σ(ℓ))] on each side, t the targets; t = 1 (real), 0 (fake) gives d_bce
    return sum(F.binary_cross_entropy_with_logits(logits, torch.as_tensor(t, dtype=logits.dtype,
                                                                          device=logits.device).expand_as(logits))
               for logits, t in ((real_logits, real_targets), (fake_logits, fake_targets)))


def bce_targets(flip_real: torch.Tensor, flip_fake: torch.Tensor, smoothing: float = 0.0):
    """(real targets, fake targets) for D's BCE: 1 - s for samples labelled real, 0 for those labelled fake.

    ``flip_real`` / ``flip_fake`` are boolean masks (one per sample) of the labels to swap: a flipped
    real sample is labelled fake (target 0), a flipped fake one real (target 1 - s). Smoothing is
    one-sided: no target is ever raised above 0 on the fake side for being fake.
    """
    positive = 1.0 - smoothing
    real = torch.where(flip_real, 0.0, positive)
    fake = torch.where(flip_fake, positive, 0.0)
    return real, fake


def g_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    # the minimax generator: min E[log(1 - D(G(z)))]  =  E[-softplus(ℓ_fake)]
    # d/dℓ = -σ(ℓ) → 0 when D(G(z)) → 0: the gradient vanishes exactly when G is worst (it "saturates").
    return -F.softplus(fake_logits).mean()


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    # min -E[log D(G(z))]  =  E[softplus(-ℓ_fake)];  d/dℓ = σ(ℓ) - 1 → -1 when D(G(z)) → 0.
    return F.softplus(-fake_logits).mean()


def d_wasserstein(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # the critic maximises E[f(x)] - E[f(G(z))]; we minimise the negative
    return fake_logits.mean() - real_logits.mean()


def g_wasserstein(fake_logits: torch.Tensor) -> torch.Tensor:
    # G minimises -E[f(G(z))]
    return -fake_logits.mean()


def d_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # E[max(0, 1 - ℓ_real)] + E[max(0, 1 + ℓ_fake)]
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    # -E[ℓ_fake], as in SAGAN / BigGAN
    return -fake_logits.mean()


def d_least_squares(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # LSGAN with targets a=0 (fake), b=1 (real): ½E[(ℓ_real - 1)²] + ½E[ℓ_fake²]
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def g_least_squares(fake_logits: torch.Tensor) -> torch.Tensor:
    # ½E[(ℓ_fake - 1)²]: G pulls its samples' scores to the real target c=1
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def d_relativistic_average(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """RaSGAN's D (Jolicoeur-Martineau 2019): is a real image more real than the average fake, and vice versa?

    With C the logit, D̃(x_r) = σ(C(x_r) − E C(x_f)) and D̃(x_f) = σ(C(x_f) − E C(x_r)), both means over the batch;
    the loss is −E log D̃(x_r) − E log(1 − D̃(x_f)).
    """
    return (F.softplus(-(real_logits - fake_logits.mean())).mean()
            + F.softplus(fake_logits - real_logits.mean()).mean())


def g_relativistic_average(fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """RaSGAN's G: D's loss with real and fake swapped, so G also pulls the real images' relative score down.

    Unlike every other generator loss here it needs D's logits on a real batch (no gradient flows to them).
    """
    return d_relativistic_average(fake_logits, real_logits.detach())


def fgan_losses(divergence: str):
    """(D's loss, G's loss) of the f-GAN that minimises ``divergence`` (Nowozin et al. 2016, Eq. 6).

    With v the logit and T = g_f(v) the output activation of :mod:`gancourse.divergences`, D maximises the
    variational bound F = E_data[T] − E_G[f*(T)], so it minimises −F; G minimises F, and only its second term
    depends on G: G's loss is −E_G[f*(T)], the saddle-point objective that follows the divergence itself
    (the paper's alternative, maximising E_G[T], is the "−log D" trick and follows another).
    """
    div = get_divergence(divergence)  # an unknown name: one line listing the names

    def d_fgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return -div.activation(real_logits).mean() + div.fake_term(fake_logits).mean()

    def g_fgan(fake_logits: torch.Tensor) -> torch.Tensor:
        return -div.fake_term(fake_logits).mean()

    d_fgan.__name__, g_fgan.__name__ = f"d_fgan_{divergence}", f"g_fgan_{divergence}"
    return d_fgan, g_fgan


def interpolates(x_real: torch.Tensor, x_fake: torch.Tensor, generator: torch.Generator | None = None,
                 alpha: torch.Tensor | None = None) -> torch.Tensor:
    """x̂ = α x_real + (1 - α) x_fake with α ~ U(0, 1) per sample: where the gradient penalty looks.

    ``generator`` draws α (on its own device, then moved); None uses torch's global generator on x's device.
    ``alpha`` (B, 1, ..., 1) gives α instead (the loop draws it for the global batch of several processes).
    """
    if x_real.shape != x_fake.shape:
        raise ValueError(f"real and fake batches differ in shape: {tuple(x_real.shape)} vs {tuple(x_fake.shape)}.")
    shape = (x_real.shape[0], *([1] * (x_real.dim() - 1)))  # (B, 1, ..., 1): one α per sample
    if alpha is None:
        where = generator.device if generator is not None else x_real.device
        alpha = torch.rand(shape, generator=generator, device=where, dtype=x_real.dtype).to(x_real.device)
    elif tuple(alpha.shape) != shape:
        raise ValueError(f"alpha must have shape {shape}, one weight per sample, got {tuple(alpha.shape)}.")
    return alpha * x_real.detach() + (1 - alpha) * x_fake.detach()


def input_gradients(D, x: torch.Tensor, y: torch.Tensor | None = None, create_graph: bool = False) -> torch.Tensor:
    """∇ₓ D(x) for every sample, shape of ``x``; D's parameters get no ``.grad``.

    Samples are scored independently, so the gradient of the sum of scores holds each sample's own
    gradient. ``create_graph=True`` keeps the graph, so a penalty on these gradients can be trained.
    """
    x = x.detach().requires_grad_(True)
    out = D(x) if y is None else D(x, y)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
    return grad


def gradient_penalty(D, x_real: torch.Tensor, x_fake: torch.Tensor, y: torch.Tensor | None = None,
                     alpha: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP penalty E[(‖∇_x̂ D(x̂)‖₂ - 1)²] on x̂ = αx_real + (1-α)x_fake, α ~ U(0, 1) per sample.

    Works for any input shape (B, ...): 2-D points, images with any channel count. Returned
    unweighted; the loop multiplies by ``gp_weight`` (λ = 10 in Gulrajani et al.). ``alpha``: as in
    :func:`interpolates` (drawn here when None).
    """
    grad = input_gradients(D, interpolates(x_real, x_fake, alpha=alpha), y, create_graph=True)  # (B, ...)
    norms = grad.flatten(1).norm(2, dim=1)  # ‖∇D(x̂)‖ per sample
    return ((norms - 1) ** 2).mean()


def r1_penalty(D, x_real: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E‖∇ₓD(x_real)‖², on real data only; the loop multiplies by γ/2.

    Squared norms are summed directly (no square root), so the penalty stays smooth where a gradient is 0.
    """
    grad = input_gradients(D, x_real, y, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


@torch.no_grad()
def clip_weights_(module: torch.nn.Module, c: float) -> None:
    """WGAN weight clipping in place: every parameter into [-c, c]. A crude way to bound the Lipschitz constant."""
    if c <= 0:
        raise ValueError(f"the clip value must be positive, got {c}.")
    for p in module.parameters():
        p.clamp_(-c, c)


LOSS_FAMILIES = {
    "minimax": (d_bce, g_minimax),
    "nonsaturating": (d_bce, g_nonsaturating),
    "wasserstein": (d_wasserstein, g_wasserstein),
    "hinge": (d_hinge, g_hinge),
    "least_squares": (d_least_squares, g_least_squares),
    "relativistic": (d_relativistic_average, g_relativistic_average),
    **{f"fgan_{name}": fgan_losses(name) for name in F_DIVERGENCES},
}
G_NEEDS_REAL_LOGITS = frozenset({"relativistic"})  # G's loss is g(fake_logits, real_logits)


def get_loss_family(name: str):
    """(d_loss, g_loss) for a family name; a clear error listing the names otherwise."""
    if name not in LOSS_FAMILIES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_FAMILIES)}.")
    return LOSS_FAMILIES[name]
