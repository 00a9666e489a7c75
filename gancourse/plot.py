"""Every picture of the course: toy samples over densities, D's surface, loss curves, image grids,
the optimal discriminator, the parallel lines and the Gaussian fits of each divergence.

Each function draws on a matplotlib ``Axes`` (or ``Figure``) it is given, or returns an array, so
notebooks compose figures freely, :mod:`gancourse.widgets` redraws them under sliders, and tests draw
without a screen. The ``save_*`` functions write files atomically (a temporary file, then a rename).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib import patheffects

from gancourse import theory


def evaluation_grid(bounds, resolution: int):
    """(xx, yy, points): a ``resolution``² grid over ``bounds`` ((x0, x1), (y0, y1)); points (R², 2)."""
    (x0, x1), (y0, y1) = bounds
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    xx, yy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
    return xx, yy, points


def auto_bounds(*point_sets, margin: float = 0.15):
    """Square-ish bounds that hold every point set, with a margin."""
    pts = torch.cat([torch.as_tensor(p, dtype=torch.float32).reshape(-1, 2) for p in point_sets if p is not None])
    lo, hi = pts.min(0).values, pts.max(0).values
    pad = margin * (hi - lo).clamp(min=1e-3)
    lo, hi = (lo - pad).tolist(), (hi + pad).tolist()
    return (lo[0], hi[0]), (lo[1], hi[1])


@torch.no_grad()
def surface(D, bounds, resolution: int = 100, probability: bool = False):
    """(xx, yy, values) of a 2-D discriminator on :func:`evaluation_grid`, in evaluation mode.

    ``probability=True`` gives D(x) = sigmoid(logit), the probability that x is real; otherwise the
    raw output, which is what a critic's f(x) is (a score, not a probability).
    """
    xx, yy, points = evaluation_grid(bounds, resolution)
    was_training = D.training
    D.eval()
    try:
        values = D(points.to(next(D.parameters()).device)).float().cpu()
    finally:
        D.train(was_training)
    values = torch.sigmoid(values) if probability else values
    return xx, yy, values.numpy().reshape(xx.shape)


def plot_toy(ax, samples=None, dist=None, D=None, bounds=None, resolution: int = 120, title: str | None = None,
             real=None):
    """2-D picture of a GAN: true density (filled), D's surface (contour lines), samples (dots).

    ``samples`` are generated points (orange), ``real`` optional real points (blue); ``dist`` is a toy
    distribution with ``log_prob``; ``D`` maps points to logits.
    """
    sets = [s for s in (samples, real) if s is not None]
    if bounds is None:
        if dist is not None and hasattr(dist, "centres"):
            bounds = auto_bounds(dist.centres, *sets, margin=0.3)
        elif sets:
            bounds = auto_bounds(*sets)
        else:
            bounds = ((-3, 3), (-3, 3))
    if dist is not None and hasattr(dist, "log_prob"):
        xx, yy, points = evaluation_grid(bounds, resolution)
        try:
            with torch.no_grad():
                density = dist.log_prob(points).exp().numpy().reshape(xx.shape)
        except NotImplementedError:  # no density in the plane (ParallelLines): draw the points only
            density = None
        if density is not None:
            ax.contourf(xx, yy, density, levels=20, cmap="Blues")
    if D is not None:
        xx, yy, prob = surface(D, bounds, resolution, probability=True)
        cs = ax.contour(xx, yy, prob, levels=[0.1, 0.3, 0.5, 0.7, 0.9], cmap="RdYlGn", linewidths=1)
        ax.clabel(cs, fontsize=7)
    if real is not None:
        r = torch.as_tensor(real).detach().cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=3, c="tab:blue", alpha=0.5, label="real")
    if samples is not None:
        s = torch.as_tensor(samples).detach().cpu().numpy()
        ax.scatter(s[:, 0], s[:, 1], s=3, c="tab:orange", alpha=0.6, label="generated")
    ax.set_xlim(*bounds[0])
    ax.set_ylim(*bounds[1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def draw_snapshot(ax, frame: dict, dist=None, bounds=None, probability: bool = True, title: str | None = None):
    """One frame of :class:`gancourse.callbacks.Snapshots`: a toy's samples over the true density with D's
    recorded surface (contour lines; D's probability, or the raw score for a critic), or a grid of images."""
    x = frame["samples"]
    title = title or f"step {frame['step']}"
    if x.dim() == 4:
        return show_images(ax, x, title=title)
    plot_toy(ax, samples=x, dist=dist, bounds=bounds, title=title)
    if frame.get("surface") is not None and bounds is not None:
        values = frame["surface"].numpy()
        xx, yy, _ = evaluation_grid(bounds, values.shape[0])
        if probability:
            values = 1 / (1 + np.exp(-values))
            cs = ax.contour(xx, yy, values, levels=[0.1, 0.3, 0.5, 0.7, 0.9], cmap="RdYlGn", linewidths=1)
        else:
            cs = ax.contour(xx, yy, values, levels=7, cmap="RdYlGn", linewidths=1)
        ax.clabel(cs, fontsize=7)
    return ax


LECTURE_STYLE = {"font.size": 16, "axes.titlesize": 18, "axes.labelsize": 16, "xtick.labelsize": 14,
                 "ytick.labelsize": 14, "legend.fontsize": 14, "lines.linewidth": 3.0, "lines.markersize": 9,
                 "axes.linewidth": 1.6, "figure.dpi": 110}


def lecture_style(on: bool = True) -> None:
    """Figures readable on a projector: large fonts, thick lines (``lecture_style(False)`` undoes it).

    Changes matplotlib's ``rcParams`` for every figure drawn afterwards, the widgets' included.
    """
    import matplotlib

    if on:
        if not _BEFORE_LECTURE:
            _BEFORE_LECTURE.update({k: matplotlib.rcParams[k] for k in LECTURE_STYLE})
        matplotlib.rcParams.update(LECTURE_STYLE)
    elif _BEFORE_LECTURE:
        matplotlib.rcParams.update(_BEFORE_LECTURE)
        _BEFORE_LECTURE.clear()


_BEFORE_LECTURE: dict = {}  # the settings lecture_style replaced, restored by lecture_style(False)


def plot_losses(ax, history, keys=("d_loss", "g_loss"), smooth: int = 1):
    """Loss curves from a :class:`~gancourse.train.History` against the generator step."""
    steps = np.asarray(history.step)
    for key in keys:
        values = np.asarray(history[key], dtype=float)
        if smooth > 1 and len(values) >= smooth:
            values = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
            ax.plot(steps[smooth - 1:], values, label=key)
        else:
            ax.plot(steps, values, label=key)
    ax.set_xlabel("generator step")
    ax.legend()
    return ax


def image_grid(images: torch.Tensor, nrow: int = 8) -> np.ndarray:
    """(H, W, C) array in [0, 1] of a batch of images in [-1, 1], laid out by torchvision's make_grid."""
    from torchvision.utils import make_grid

    images = torch.as_tensor(images).detach().float().cpu()
    if images.dim() != 4:
        raise ValueError(f"expected images of shape (B, C, H, W), got {tuple(images.shape)}.")
    grid = make_grid(images, nrow=nrow, normalize=True, value_range=(-1, 1), pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


def show_images(ax, images: torch.Tensor, nrow: int = 8, title: str | None = None):
    """Draw a batch of images in [-1, 1] as one grid on ``ax``."""
    grid = image_grid(images, nrow)
    ax.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray" if grid.shape[-1] == 1 else None)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


# --- 02: the optimal discriminator of two 1-D densities ---------------------------------------


def draw_optimal_discriminator(fig, x, p_data, p_g, D_trained=None, labels=("p_data", "p_g"),
                               region=None) -> dict:
    """Left: the two densities. Right: D*(x) = p_data / (p_data + p_g), and a trained D if given.

    ``region`` (lo, hi) is shaded on the right: the interval where D is compared with D*.

    Returns the numbers the picture shows: JS, V(D*, G) and 2 JS - log 4.
    """
    x = np.asarray(x)
    d_star = theory.optimal_discriminator(p_data, p_g)
    ax_p, ax_d = fig.subplots(1, 2)
    ax_p.fill_between(x, p_data, alpha=0.4, color="tab:blue", label=labels[0])
    ax_p.fill_between(x, p_g, alpha=0.4, color="tab:orange", label=labels[1])
    ax_p.set_xlabel("x")
    ax_p.set_title("densities")
    ax_p.legend(loc="upper right")
    ax_d.plot(x, d_star, color="k", lw=2, label="D*(x)")
    if D_trained is not None:
        ax_d.plot(x, D_trained, color="tab:red", lw=1.5, ls="--", label="trained D(x)")
    ax_d.axhline(0.5, color="grey", lw=0.8, ls=":")
    if region is not None:
        ax_d.axvspan(*region, color="grey", alpha=0.12, lw=0, label="compared here")
    ax_d.set_ylim(-0.03, 1.03)
    ax_d.set_xlabel("x")
    ax_d.set_title("optimal discriminator")
    ax_d.legend(loc="upper right")
    lo, hi = theory.mass_interval(0.5 * (np.asarray(p_data) + np.asarray(p_g)), x, 0.999)
    for ax in (ax_p, ax_d):  # the grid may be much wider than where the mass is
        ax.set_xlim(lo - 0.5, hi + 0.5)
    js = theory.js_divergence(p_data, p_g, x)
    return {"js": js, "v_star": theory.optimal_value(p_data, p_g, x), "two_js_minus_log4": 2 * js - theory.LOG4}


# --- 03: the parallel lines, JS against W1, discriminator against critic ----------------------


def _draw_lines(ax, theta: float) -> None:
    halo = [patheffects.withStroke(linewidth=7, foreground="white")]  # visible on any background
    ax.plot([0, 0], [0, 1], color="tab:blue", lw=4, path_effects=halo, label="real: x₁ = 0")
    ax.plot([theta, theta], [0, 1], color="tab:orange", lw=4, path_effects=halo, label=f"fake: x₁ = θ = {theta:g}")


def draw_distance_curves(ax, theta=None, theta_max: float = 2.0, samples=None, js_values=None) -> None:
    """JS(θ) and W1(θ) for the parallel lines; JS jumps at 0, which the open circle marks.

    ``samples`` is an optional pair (thetas, W1 estimates) drawn as dots on the W1 curve;
    ``js_values`` an optional pair (thetas, JS computed numerically) drawn as crosses on the JS curve.
    """
    thetas = np.linspace(-theta_max, theta_max, 401)
    ax.plot(thetas, theory.parallel_lines_w1(thetas), color="tab:green", label="W1 = |θ|")
    if samples is not None:
        ax.plot(*samples, "o", color="tab:green", mfc="none", label="W1 from samples")
    if js_values is not None:
        ax.plot(*js_values, "x", color="tab:purple", ms=8, label="JS by quadrature (blurred lines)")
    for side, label in ((thetas < 0, "JS"), (thetas > 0, None)):
        ax.plot(thetas[side], theory.parallel_lines_js(thetas[side]), color="tab:purple", label=label)
    ax.plot([0], [theory.LOG2], "o", color="tab:purple", mfc="white", zorder=3)  # JS(0) is not log 2 ...
    ax.plot([0], [0], "o", color="tab:purple", zorder=3)  # ... but 0
    if theta is not None:
        ax.axvline(theta, color="k", ls="--", lw=1)
    ax.set_xlabel("θ")
    ax.legend(loc="upper center")


def draw_parallel_lines(fig, result, theta_max: float = 2.0) -> None:
    """JS and W1 against θ; the BCE discriminator's surface; the GP critic's surface.

    ``result`` is a :class:`gancourse.experiments.LinesResult`.
    """
    ax_c, ax_d, ax_f = fig.subplots(1, 3)
    draw_distance_curves(ax_c, result.theta, theta_max)
    ax_c.set_title("distance between the lines")

    bounds = ((-theta_max - 0.4, theta_max + 0.4), (-0.4, 1.4))
    xx, yy, prob = surface(result.D, bounds, probability=True)
    im = ax_d.pcolormesh(xx, yy, prob, vmin=0, vmax=1, cmap="viridis", shading="auto")
    fig.colorbar(im, ax=ax_d, shrink=0.8)
    _draw_lines(ax_d, result.theta)
    ax_d.set_title(f"BCE D(x): dV/dθ = {result.grad_minimax:.1e}")

    xx, yy, f = surface(result.critic, bounds)
    with torch.no_grad():
        f = f - result.critic(torch.tensor([[0.0, 0.5]])).item()  # f = 0 on the real line
    im = ax_f.pcolormesh(xx, yy, f, cmap="PiYG", shading="auto", vmin=-theta_max - 0.5, vmax=theta_max + 0.5)
    ax_f.contour(xx, yy, f, levels=np.arange(-4, 4.01, 0.5), colors="k", linewidths=0.5)
    fig.colorbar(im, ax=ax_f, shrink=0.8)
    _draw_lines(ax_f, result.theta)
    ax_f.set_title(f"critic f(x): dW/dθ = {result.grad_critic:+.2f}")
    for ax in (ax_d, ax_f):
        ax.set_xlim(*bounds[0])
        ax.set_ylim(*bounds[1])
        ax.set_xlabel("x₁")
    ax_d.legend(loc="lower left", fontsize=7)


def draw_critics(fig, clipped, penalised, x_real, x_fake, bounds=((-1.6, 1.6), (-1.6, 1.6))) -> None:
    """A clipped and a penalised critic side by side, and the slopes each has between the data and the samples.

    ``clipped`` and ``penalised`` are :class:`gancourse.experiments.CriticFit`; each surface has its own
    colour scale (the clipped one may span a millionth of the other's), the histogram shares one log axis.
    """
    axes = fig.subplots(1, 3)
    for ax, fit, name in ((axes[0], clipped, f"clipped at c = {clipped.value:g}"),
                          (axes[1], penalised, f"penalty λ = {penalised.value:g}")):
        xx, yy, f = surface(fit.D, bounds, 60)
        im = ax.pcolormesh(xx, yy, f - f.min(), cmap="viridis", shading="auto")  # f is defined up to a constant
        fig.colorbar(im, ax=ax, shrink=0.8, format="%.2g", label="f − min f")
        ax.scatter(*x_real.T, s=2, c="k", label="data")
        ax.scatter(*x_fake.T, s=2, c="tab:orange", alpha=0.5, label="fixed samples")
        ax.set(xlim=bounds[0], ylim=bounds[1], aspect="equal", xlabel="x₁", ylabel="x₂",
               title=f"{name}: f spans {fit.span:.2g}")
    axes[0].legend(loc="lower left", fontsize=7, markerscale=4)
    ax = axes[2]
    bins = np.logspace(-6, 1.5, 61)
    for fit, colour, name in ((clipped, "tab:blue", f"c = {clipped.value:g}"),
                              (penalised, "tab:green", f"λ = {penalised.value:g}")):
        ax.hist(fit.norms.clamp(min=bins[0]).numpy(), bins=bins, color=colour, alpha=0.6, label=name)
    ax.axvline(1.0, c="k", ls="--", lw=1, label="slope 1")
    ax.axvline(clipped.bound, c="tab:blue", ls=":", lw=1.5, label="bound from clipping")
    ax.set_xscale("log")
    ax.set(xlabel="‖∇f‖ between data and samples", ylabel="points", title="the critics' slopes")
    ax.legend(fontsize=7)


DIVERGENCE_COLOURS = {"kl": "tab:blue", "reverse_kl": "tab:red", "js": "tab:green", "pearson": "tab:purple",
                      "hellinger": "tab:orange", "tv": "tab:brown"}


def draw_gaussian_fits(ax, x, p, fits: dict, title: str | None = None) -> None:
    """The target density p on the grid x, shaded, and N(μ, σ²) for each ``fits[name] = (μ, σ)`` as a line."""
    from scipy.stats import norm

    x = np.asarray(x)
    ax.fill_between(x, p, color="grey", alpha=0.35, lw=0, label="target p")
    for name, (mu, sigma) in fits.items():
        mu = 0.0 if abs(mu) < 0.005 else mu  # no "-0.00" in the legend
        ax.plot(x, norm.pdf(x, mu, sigma), color=DIVERGENCE_COLOURS.get(name.split(" ")[0]),
                ls="--" if "f-GAN" in name else "-", lw=1.8, label=f"{name}: N({mu:.2f}, {sigma:.2f}²)")
    ax.set(xlabel="x", ylabel="density", ylim=(0, None))
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize=7)


def draw_fit_positions(ax, separations, fits_by_name: dict, current: float | None = None) -> None:
    """Where each divergence's closest Gaussian sits, |μ| / (separation / 2), against the separation.

    0 is the middle between the modes (covering both), 1 a mode's centre.
    """
    separations = np.asarray(separations, dtype=float)
    for name, fits in fits_by_name.items():
        where = np.array([abs(f.mu) for f in fits]) / (separations / 2)
        ax.plot(separations, where, "o-", ms=3, color=DIVERGENCE_COLOURS.get(name), label=name)
    if current is not None:
        ax.axvline(current, color="k", lw=0.8, ls=":")
    ax.set(xlabel="separation of the two modes", ylabel="|μ| / (separation / 2)", ylim=(-0.05, 1.15),
           title="0: between the modes · 1: on one mode")
    ax.legend(loc="center right", fontsize=7)


def save_figure(fig, path, dpi: int = 120) -> None:
    """Save a matplotlib figure as ``path`` atomically."""
    from gancourse.checkpoint import atomic_save

    atomic_save(Path(path), lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight"))


def save_image_grid(images: torch.Tensor, path, nrow: int = 8) -> None:
    """Save images in [-1, 1] as one PNG grid, atomically; the folder is created."""
    from torchvision.utils import save_image

    from gancourse.checkpoint import atomic_save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(path, lambda tmp: save_image(images, tmp, nrow=nrow, normalize=True, value_range=(-1, 1),
                                             pad_value=1.0))


def save_toy_picture(path, samples, dist=None, D=None, title: str | None = None) -> None:
    """Save :func:`plot_toy`'s picture (samples over the density, D's surface) as a PNG, atomically."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5))
    plot_toy(fig.add_subplot(), samples, dist=dist, D=D, title=title)
    save_figure(fig, path)
