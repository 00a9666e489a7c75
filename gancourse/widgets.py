"""The interactive layer of the notebooks: sliders above a figure that redraws.

:class:`FigureSliders` is the one mechanism: a row of ipywidgets sliders, a caption and an image.
Whenever a slider moves, a drawing function of :mod:`gancourse.plot` paints a fresh matplotlib
``Figure`` (no pyplot, no global state), which is rendered to PNG bytes and put in the image. The
drawing functions are ordinary functions of numbers, so notebooks also call them for static figures
and tests check them without a browser or a kernel. Nothing is drawn here. Explained in
02_optimal_discriminator and 03_js_vs_wasserstein; used in 01, 04, 04b, 05, 06 and 07 as well.
"""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from gancourse import theory
from gancourse.data.toy import Gaussian
from gancourse.experiments import LinesResult, parallel_lines_experiment
from gancourse.plot import draw_fit_positions, draw_gaussian_fits, draw_optimal_discriminator, draw_parallel_lines

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
        # drawn at its own size (narrower where the page is), not stretched to the page's width
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%",
                                                                       width=f"{round(figsize[0] * dpi)}px"))
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


def divergence_fits_demo(fits_by_name: dict, separations, std: float, separation: float | None = None) -> FigureSliders:
    """A slider over the separation of two modes: each divergence's closest Gaussian, and where it sits.

    ``fits_by_name`` is :func:`gancourse.divergences.fits_by_separation` over ``separations`` (computed
    once, so the slider only redraws).
    """
    from gancourse import divergences

    separations = [float(s) for s in separations]
    reach = max(separations) / 2 + 4 * std + 2
    x = np.linspace(-reach, reach, 801)

    def draw(fig, separation):
        i = separations.index(separation)
        ax_fit, ax_where = fig.subplots(1, 2)
        fits = {name: (f[i].mu, f[i].sigma) for name, f in fits_by_name.items()}
        draw_gaussian_fits(ax_fit, x, divergences.two_modes(separation, std, x), fits,
                           title=f"closest Gaussian to two modes {separation:g} apart")
        draw_fit_positions(ax_where, separations, fits_by_name, current=separation)
        shapes = {name: divergences.fit_shape(mu, sigma, separation, std) for name, (mu, sigma) in fits.items()}
        return f"separation {separation:g}: " + " &nbsp;|&nbsp; ".join(
            f"{name} <b>{shape}</b>" for name, shape in shapes.items())

    start = separation if separation is not None else separations[len(separations) // 2]
    sliders = {"separation": widgets.SelectionSlider(options=separations, value=start, description="separation",
                                                     continuous_update=False, style={"description_width": "initial"})}
    return FigureSliders(draw, sliders, figsize=(11.0, 3.6))


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


def critics_caption(clipped, penalised) -> str:
    """What :func:`critics_demo` prints for a clipped and a penalised :class:`~gancourse.experiments.CriticFit`."""
    def median(fit):
        return float(fit.norms.median())

    return (f"c = {clipped.value:g}: f spans {clipped.span:.3g}, median slope {median(clipped):.3g} "
            f"(clipping guarantees at most {clipped.bound:.3g}), estimate {clipped.estimate:.3g} &nbsp;|&nbsp; "
            f"λ = {penalised.value:g}: f spans {penalised.span:.3g}, median slope <b>{median(penalised):.3g}</b>, "
            f"estimate {penalised.estimate:.3g}")


def critics_demo(fits: dict, x_real, x_fake, *, c: float = 0.01, gp_weight: float = 10.0,
                 bounds=((-1.6, 1.6), (-1.6, 1.6))) -> FigureSliders:
    """A slider over the clipping bound c and one over the penalty weight λ, through precomputed critics.

    ``fits`` is what :func:`gancourse.experiments.fit_critics` returns; each slider steps through the
    values it holds, and the figure is :func:`gancourse.plot.draw_critics` of the two critics chosen.
    """
    from gancourse.plot import draw_critics

    values = {kind: sorted(v for k, v in fits if k == kind) for kind in ("clipping", "penalty")}

    def draw(fig, c, gp_weight):
        clipped, penalised = fits["clipping", c], fits["penalty", gp_weight]
        draw_critics(fig, clipped, penalised, x_real, x_fake, bounds)
        return critics_caption(clipped, penalised)

    style = {"description_width": "initial"}
    sliders = {"c": widgets.SelectionSlider(options=[(f"{v:g}", v) for v in values["clipping"]], value=c,
                                            description="clipping bound c", continuous_update=False, style=style),
               "gp_weight": widgets.SelectionSlider(options=[(f"{v:g}", v) for v in values["penalty"]],
                                                    value=gp_weight, description="penalty weight λ",
                                                    continuous_update=False, style=style)}
    return FigureSliders(draw, sliders, figsize=(15.0, 4.2))


class SnapshotPlayer(FigureSliders):
    """A Play button and a step slider over recorded snapshots: training you can watch and scrub.

    ``runs`` maps a title to a :class:`gancourse.callbacks.Snapshots`; several runs with the same number of
    snapshots play side by side, frame by frame (each frame's title gives its run's own step).
    ``draw_frame(ax, frame, title)`` draws one frame, by default :func:`gancourse.plot.draw_snapshot`. Every
    frame is drawn once and kept as PNG bytes, so moving back and forth costs nothing after the first pass.
    """

    def __init__(self, runs: dict, draw_frame=None, *, interval_ms: int = 400, figsize=None, dpi: int = 80,
                 **draw_kwargs):
        from gancourse.plot import draw_snapshot

        self.runs = dict(runs)
        lengths = {len(s) for s in self.runs.values()}
        if not self.runs or 0 in lengths or len(lengths) != 1:
            raise ValueError(f"need runs with the same number (> 0) of snapshots, got {sorted(lengths)}.")
        self.n_frames = lengths.pop()
        draw_frame = draw_frame or (lambda ax, frame, title: draw_snapshot(ax, frame, title=title, **draw_kwargs))
        self._cache: dict[int, tuple[bytes, str]] = {}

        def draw(fig, frame):
            axes = fig.subplots(1, len(self.runs), squeeze=False)[0]
            for ax, (title, snaps) in zip(axes, self.runs.items(), strict=True):
                draw_frame(ax, snaps.frame(frame), f"{title}, step {snaps.steps[frame]}")
            return f"snapshot {frame + 1} of {self.n_frames}: generator step {self.step_at(frame)}"

        slider = widgets.IntSlider(value=0, min=0, max=self.n_frames - 1, description="snapshot",
                                   continuous_update=True)
        self.play = widgets.Play(value=0, min=0, max=self.n_frames - 1, interval=interval_ms, description="play")
        widgets.jslink((self.play, "value"), (slider, "value"))
        size = figsize or (4.2 * len(self.runs), 4.2)
        super().__init__(draw, {"frame": slider}, figsize=size, dpi=dpi)
        self.widget.children = (widgets.HBox([self.play, slider]), *self.widget.children[1:])

    def step_at(self, frame: int) -> int:
        return next(iter(self.runs.values())).steps[frame]

    def render(self, **values) -> tuple[bytes, str]:
        frame = values["frame"]
        if frame not in self._cache:
            self._cache[frame] = super().render(**values)
        return self._cache[frame]


def latent_caption(z0, z1, directions, amounts, t: float) -> str:
    """What :func:`latent_explorer` prints: the setting, and |z| at t on the linear and the spherical path."""
    from gancourse.latent import lerp, slerp, walk

    start, end = walk(z0, directions, amounts), walk(z1, directions, amounts)
    return (f"t = {t:.2f}, along the directions {', '.join(f'{v:+.1f}' for v in amounts)} &nbsp;|&nbsp; "
            f"|z| linear {lerp(start, end, [t])[0].norm():.2f}, spherical {slerp(start, end, [t])[0].norm():.2f}")


def latent_explorer(G, z0, z1, *, k: int = 3, span: float = 3.0, seed: int = 0) -> FigureSliders:
    """Sliders along ``k`` random latent directions from ``z0``, and one interpolating from ``z0`` to ``z1``.

    The top image is G at :func:`gancourse.latent.walk` of ``z0`` by the slider amounts; below it, G at
    the same point t of the linear and of the spherical path to ``z1`` (walked by the same amounts), with
    each path's |z|, so the lecturer shows the linear path losing the norm the spherical one keeps.
    """
    from gancourse.latent import lerp, random_directions, slerp, walk
    from gancourse.models import generate
    from gancourse.plot import show_images

    directions = random_directions(G.z_dim, k, seed=seed)

    def draw(fig, t, **amounts):
        a = [amounts[f"u{i}"] for i in range(k)]
        start, end = walk(z0, directions, a), walk(z1, directions, a)
        points = {"walked from z₀": start, "linear, at t": lerp(start, end, [t])[0],
                  "spherical, at t": slerp(start, end, [t])[0]}
        images = generate(G, torch.stack(list(points.values())))
        for ax, (name, z), image in zip(fig.subplots(1, 3), points.items(), images, strict=True):
            show_images(ax, image[None], nrow=1, title=f"{name}\n|z| = {z.norm():.2f}")
        return latent_caption(z0, z1, directions, a, t)

    style = {"description_width": "initial"}
    sliders = {f"u{i}": widgets.FloatSlider(value=0.0, min=-span, max=span, step=0.5, description=f"direction {i + 1}",
                                            continuous_update=False, style=style) for i in range(k)}
    sliders["t"] = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.1, description="z₀ → z₁: t",
                                       continuous_update=False, style=style)
    return FigureSliders(draw, sliders, figsize=(9.0, 3.4))
