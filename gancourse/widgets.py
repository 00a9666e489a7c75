"""The interactive demos of the theory notebooks: sliders above a figure that redraws.

:class:`FigureSliders` is the one mechanism: a row of ipywidgets sliders, a caption and an image.
Whenever a slider moves, a plain drawing function paints a fresh matplotlib ``Figure`` (no pyplot,
no global state), which is rendered to PNG bytes and put in the image. The drawing functions are
ordinary functions of numbers, so notebooks also call them for static figures and tests check them
without a browser or a kernel. Explained in 02_optimal_discriminator and 03_js_vs_wasserstein.
"""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib import patheffects
from matplotlib.figure import Figure

from gancourse import theory
from gancourse.data.toy import Gaussian
from gancourse.toy_experiments import LinesResult, parallel_lines_experiment

CSS_CLASS = "gancourse-figure-sliders"  # lets a browser test find the demo's image under its sliders


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class FigureSliders:
    """Sliders, a caption and a figure redrawn by ``draw(fig, **values)`` whenever a slider moves.

    ``draw`` returns the caption (HTML) or None. Display the object in a notebook cell to show it;
    ``set(theta=0.5)`` moves sliders from code (what a person does with the mouse).
    """

    def __init__(self, draw, sliders: dict[str, widgets.ValueWidget], *, figsize=(10.0, 3.4), dpi: int = 80):
        self.draw, self.sliders, self.figsize, self.dpi = draw, dict(sliders), figsize, dpi
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.caption = widgets.HTML()
        self.n_draws = 0
        self.png = b""
        for slider in self.sliders.values():
            slider.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox(list(self.sliders.values())), self.caption, self.image])
        self.widget.add_class(CSS_CLASS)
        self.redraw()

    @property
    def values(self) -> dict:
        return {name: slider.value for name, slider in self.sliders.items()}

    def render(self, **values) -> tuple[bytes, str]:
        """(PNG bytes, caption) for these slider values; touches no widget."""
        fig = Figure(figsize=self.figsize, layout="constrained")
        caption = self.draw(fig, **values) or ""
        return figure_png(fig, self.dpi), caption

    def redraw(self) -> None:
        png, caption = self.render(**self.values)
        self.png, self.n_draws = png, self.n_draws + 1
        self.image.value = png
        self.caption.value = caption

    def set(self, **values) -> None:
        for name, value in values.items():
            self.sliders[name].value = value  # the observer redraws

    def _on_change(self, change) -> None:
        try:
            self.redraw()
        except Exception as err:  # an observer's exception would vanish into the kernel log
            self.caption.value = f"<span style='color:#b00'>could not redraw: {html.escape(repr(err))}</span>"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


# --- 02: the optimal discriminator of two 1-D densities ---------------------------------------


def draw_optimal_discriminator(fig: Figure, x, p_data, p_g, D_trained=None, labels=("p_data", "p_g"),
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


def optimal_discriminator_demo(p_data_dist, x, mean: float = 1.0, std: float = 1.5) -> FigureSliders:
    """Sliders over the mean and std of a Gaussian p_g; redraws D* and prints JS and V(D*, G)."""
    x = np.asarray(x)
    p_data = theory.density_on_grid(p_data_dist, x)

    def draw(fig, mean, std):
        p_g = theory.density_on_grid(Gaussian(mean, std), x)
        n = draw_optimal_discriminator(fig, x, p_data, p_g, labels=("p_data", f"p_g = N({mean:.1f}, {std:.1f}²)"))
        return (f"JS(p_data, p_g) = <b>{n['js']:.4f}</b> &nbsp; (log 2 = {theory.LOG2:.4f}) &nbsp;|&nbsp; "
                f"V(D*, G) = {n['v_star']:.4f} &nbsp;=&nbsp; 2·JS − log 4 = {n['two_js_minus_log4']:.4f}")

    sliders = {
        "mean": widgets.FloatSlider(value=mean, min=-4.0, max=4.0, step=0.1, description="mean of p_g",
                                    continuous_update=False, style={"description_width": "initial"}),
        "std": widgets.FloatSlider(value=std, min=0.2, max=3.0, step=0.1, description="std of p_g",
                                   continuous_update=False, style={"description_width": "initial"}),
    }
    return FigureSliders(draw, sliders, figsize=(10.0, 3.2))


# --- 03: the parallel lines, JS against W1, discriminator against critic ----------------------


@torch.no_grad()
def _surface(net, bounds, resolution: int = 100):
    (x0, x1), (y0, y1) = bounds
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    xx, yy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)  # (R², 2)
    return xx, yy, net(points).numpy().reshape(xx.shape)


def _draw_lines(ax, theta: float) -> None:
    halo = [patheffects.withStroke(linewidth=7, foreground="white")]  # visible on any background
    ax.plot([0, 0], [0, 1], color="tab:blue", lw=4, path_effects=halo, label="real: x₁ = 0")
    ax.plot([theta, theta], [0, 1], color="tab:orange", lw=4, path_effects=halo, label=f"fake: x₁ = θ = {theta:g}")


def draw_distance_curves(ax, theta=None, theta_max: float = 2.0, samples=None) -> None:
    """JS(θ) and W1(θ) for the parallel lines; JS jumps at 0, which the open circle marks.

    ``samples`` is an optional pair (thetas, W1 estimates) drawn as dots on the W1 curve.
    """
    thetas = np.linspace(-theta_max, theta_max, 401)
    ax.plot(thetas, theory.parallel_lines_w1(thetas), color="tab:green", label="W1 = |θ|")
    if samples is not None:
        ax.plot(*samples, "o", color="tab:green", mfc="none", label="W1 from samples")
    for side, label in ((thetas < 0, "JS"), (thetas > 0, None)):
        ax.plot(thetas[side], theory.parallel_lines_js(thetas[side]), color="tab:purple", label=label)
    ax.plot([0], [theory.LOG2], "o", color="tab:purple", mfc="white", zorder=3)  # JS(0) is not log 2 ...
    ax.plot([0], [0], "o", color="tab:purple", zorder=3)  # ... but 0
    if theta is not None:
        ax.axvline(theta, color="k", ls="--", lw=1)
    ax.set_xlabel("θ")
    ax.legend(loc="upper center")


def draw_parallel_lines(fig: Figure, result: LinesResult, theta_max: float = 2.0) -> None:
    """JS and W1 against θ; the BCE discriminator's surface; the GP critic's surface."""
    ax_c, ax_d, ax_f = fig.subplots(1, 3)
    draw_distance_curves(ax_c, result.theta, theta_max)
    ax_c.set_title("distance between the lines")

    bounds = ((-theta_max - 0.4, theta_max + 0.4), (-0.4, 1.4))
    xx, yy, logits = _surface(result.D, bounds)
    im = ax_d.pcolormesh(xx, yy, 1 / (1 + np.exp(-logits)), vmin=0, vmax=1, cmap="viridis", shading="auto")
    fig.colorbar(im, ax=ax_d, shrink=0.8)
    _draw_lines(ax_d, result.theta)
    ax_d.set_title(f"BCE D(x): dV/dθ = {result.grad_minimax:.1e}")

    xx, yy, f = _surface(result.critic, bounds)
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


class ParallelLinesExplorer:
    """Trains a discriminator and a critic per θ on first use and remembers them."""

    def __init__(self, steps: int = 300, seed: int = 0):
        self.steps, self.seed = steps, seed
        self._results: dict[float, LinesResult] = {}

    def __call__(self, theta: float) -> LinesResult:
        key = round(float(theta), 6)
        if key not in self._results:
            self._results[key] = parallel_lines_experiment(key, self.steps, seed=self.seed)
        return self._results[key]


def parallel_lines_demo(explorer: ParallelLinesExplorer, theta: float = 1.0, theta_max: float = 2.0,
                        step: float = 0.25) -> FigureSliders:
    """A θ slider redrawing the two lines, the discriminator, the critic and the gradients each gives."""

    def draw(fig, theta):
        result = explorer(theta)
        draw_parallel_lines(fig, result, theta_max)
        return (f"θ = {theta:g}: &nbsp; JS = {float(theory.parallel_lines_js(theta)):.4f}, "
                f"W1 = {float(theory.parallel_lines_w1(theta)):.2f} &nbsp;|&nbsp; "
                f"gradient for G through D (minimax) <b>{result.grad_minimax:.1e}</b>, "
                f"through the critic <b>{result.grad_critic:+.3f}</b>")

    slider = widgets.FloatSlider(value=theta, min=-theta_max, max=theta_max, step=step, description="θ",
                                 continuous_update=False)
    return FigureSliders(draw, {"theta": slider}, figsize=(13.0, 3.6))
