import math

import ipywidgets as widgets
import numpy as np
import pytest
from fakes import Shift
from matplotlib.figure import Figure

from gancourse import theory
from gancourse.data.toy import Gaussian, GaussianMixture
from gancourse.widgets import (
    CSS_CLASS,
    FigureSliders,
    ParallelLinesExplorer,
    draw_optimal_discriminator,
    optimal_discriminator_demo,
    parallel_lines_demo,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
X = np.linspace(-16, 16, 1601)  # wide enough that every density here integrates to 1


def _line_demo():
    calls = []

    def draw(fig, a):
        calls.append(a)
        ax = fig.subplots()
        ax.plot([0, 1], [0, a])
        ax.set_ylim(-1, 1)
        return f"a = {a}"

    slider = widgets.FloatSlider(value=0.5, min=-1, max=1, step=0.5)
    return FigureSliders(draw, {"a": slider}, figsize=(2, 2)), calls


def test_figure_sliders_draws_once_and_again_on_every_move():
    demo, calls = _line_demo()
    assert calls == [0.5] and demo.n_draws == 1
    assert demo.image.value == demo.png and demo.png.startswith(PNG_MAGIC)
    assert demo.caption.value == "a = 0.5"
    first = demo.png
    demo.sliders["a"].value = -0.5  # what dragging the slider does
    assert calls == [0.5, -0.5] and demo.n_draws == 2
    assert demo.png != first and demo.caption.value == "a = -0.5"
    demo.set(a=0.5)
    assert demo.png == first  # same values, same picture


def test_figure_sliders_layout_puts_the_image_under_the_sliders():
    demo, _ = _line_demo()
    box = demo.widget
    assert CSS_CLASS in box._dom_classes
    assert isinstance(box.children[0], widgets.HBox) and box.children[0].children[0] is demo.sliders["a"]
    assert box.children[-1] is demo.image
    assert demo.image.layout.width == "160px"  # a 2-inch figure at 80 dpi, shown at its own size
    assert "application/vnd.jupyter.widget-view+json" in demo._repr_mimebundle_()


def test_a_failing_redraw_shows_the_error_in_the_caption():
    demo, _ = _line_demo()

    def broken(fig, a):
        raise RuntimeError("no picture")

    demo.draw = broken
    demo.sliders["a"].value = 1.0
    assert "no picture" in demo.caption.value and demo.n_draws == 1


def test_draw_optimal_discriminator_plots_d_star_and_returns_the_numbers():
    p_data, p_g = theory.density_on_grid(Gaussian(0.0, 1.0), X), theory.density_on_grid(Gaussian(1.0, 2.0), X)
    fig = Figure()
    numbers = draw_optimal_discriminator(fig, X, p_data, p_g, D_trained=np.full_like(X, 0.5))
    ax_p, ax_d = fig.axes
    d_line = ax_d.get_lines()[0]
    np.testing.assert_allclose(d_line.get_ydata(), p_data / (p_data + p_g))
    assert [t.get_text() for t in ax_d.get_legend().get_texts()] == ["D*(x)", "trained D(x)"]
    assert numbers["js"] == pytest.approx(theory.js_divergence(p_data, p_g, X))
    assert numbers["v_star"] == pytest.approx(numbers["two_js_minus_log4"], abs=1e-6)


def test_optimal_discriminator_demo_prints_js_live():
    demo = optimal_discriminator_demo(GaussianMixture([[-1.5], [1.5]], 0.6), X, mean=1.0, std=1.5)
    assert set(demo.sliders) == {"mean", "std"}
    before, caption = demo.png, demo.caption.value
    demo.set(mean=-3.0)
    assert demo.png != before and demo.caption.value != caption
    p_data = theory.density_on_grid(GaussianMixture([[-1.5], [1.5]], 0.6), X)
    js = theory.js_divergence(p_data, theory.density_on_grid(Gaussian(-3.0, 1.5), X), X)
    assert f"{js:.4f}" in demo.caption.value


def test_parallel_lines_demo_trains_once_per_theta():
    explorer = ParallelLinesExplorer(steps=30)
    demo = parallel_lines_demo(explorer, theta=1.0)
    slider = demo.sliders["theta"]
    assert (slider.min, slider.max, slider.step, slider.continuous_update) == (-2.0, 2.0, 0.25, False)
    first = demo.png
    assert f"{math.log(2):.4f}" in demo.caption.value
    demo.set(theta=0.0)
    assert demo.png != first and "JS = 0.0000" in demo.caption.value
    demo.set(theta=1.0)
    assert demo.png == first and len(explorer._results) == 2  # θ = 1 came from the cache
    assert explorer(1.0) is explorer(1.0 + 1e-9)


def _recorded(n=6):
    import torch

    from gancourse.callbacks import Snapshots

    G, snaps = Shift(scale=0.1), Snapshots(torch.randn(40, 2))
    for step in range(n):
        with torch.no_grad():
            G.shift.fill_(step / n)
        snaps(step * 10, G, None, None)
    return snaps


def test_snapshot_player_shows_the_frame_the_slider_names_and_draws_each_once():
    from gancourse.widgets import SnapshotPlayer

    seen = []

    def draw_frame(ax, frame, title):
        seen.append(frame["step"])
        ax.scatter(*frame["samples"].T)
        ax.set(xlim=(-1, 2), ylim=(-1, 2))

    player = SnapshotPlayer({"a": _recorded(), "b": _recorded()}, draw_frame, figsize=(4, 2))
    assert seen == [0, 0] and player.n_frames == 6
    first = player.png
    player.set(frame=3)
    assert seen[-2:] == [30, 30] and "generator step 30" in player.caption.value and player.png != first
    player.set(frame=0)
    player.set(frame=3)
    assert len(seen) == 4 and player.png != first  # scrubbing back and forth redraws nothing
    assert player.play.max == player.sliders["frame"].max == 5
    assert player.widget.children[0].children[0] is player.play


def test_snapshot_player_refuses_runs_of_different_lengths():
    from gancourse.widgets import SnapshotPlayer

    with pytest.raises(ValueError, match="same number"):
        SnapshotPlayer({"a": _recorded(4), "b": _recorded(5)})


def test_latent_explorer_draws_what_g_makes_at_the_walked_point():
    import torch

    from gancourse.latent import random_directions, slerp, walk
    from gancourse.models import DCGANGenerator, generate
    from gancourse.widgets import latent_explorer

    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=16, image_size=28, channels=1, width=8)
    z0, z1 = torch.randn(2, 16)
    explorer = latent_explorer(G, z0, z1, k=2)
    first = explorer.png
    explorer.set(u0=1.5)
    assert explorer.png != first and "+1.5, +0.0" in explorer.caption.value
    u = random_directions(16, 2)
    start, end = walk(z0, u, [1.5, 0.0]), walk(z1, u, [1.5, 0.0])
    assert f"spherical {slerp(start, end, [0.5])[0].norm():.2f}" in explorer.caption.value
    assert f"linear {((start + end) / 2).norm():.2f}" in explorer.caption.value
    explorer.set(u0=0.0)
    assert explorer.png == first  # back where it started: the same pictures of G
    assert generate(G, z0[None]).shape == (1, 1, 28, 28)


def test_critics_demo_shows_the_stored_critics_its_sliders_name():
    from gancourse.data.toy import ring8
    from gancourse.experiments import fit_critics
    from gancourse.widgets import critics_caption, critics_demo

    fits = fit_critics(ring8(), Gaussian([0.0, 0.0], 0.3), clip_values=(0.01, 0.1), gp_weights=(1.0, 10.0), steps=3,
                       batch_size=16, n_eval=32)
    demo = critics_demo(fits, fits["penalty", 1.0].x_real, fits["penalty", 1.0].x_fake, c=0.01, gp_weight=10.0)
    assert demo.caption.value == critics_caption(fits["clipping", 0.01], fits["penalty", 10.0])
    assert [v for _, v in demo.sliders["c"].options] == [0.01, 0.1]
    first, draws = demo.png, demo.n_draws
    demo.set(c=0.1)
    assert demo.caption.value == critics_caption(fits["clipping", 0.1], fits["penalty", 10.0])
    assert demo.png != first and demo.n_draws == draws + 1
    assert demo.caption.value.startswith("c = 0.1: f spans ") and "λ = 10: " in demo.caption.value
    demo.set(c=0.01)
    assert demo.png == first  # the same stored critics, the same picture


def test_divergence_fits_demo_redraws_with_the_separation():
    from gancourse import divergences
    from gancourse.widgets import divergence_fits_demo

    separations = [2.0, 4.0, 6.0]
    fits = divergences.fits_by_separation(["kl", "reverse_kl"], separations, 0.5)
    demo = divergence_fits_demo(fits, separations, 0.5, separation=2.0)
    first = demo.caption.value
    assert "reverse_kl <b>covers</b>" in first and demo.png
    demo.set(separation=6.0)
    assert demo.n_draws == 2 and "reverse_kl <b>one mode</b>" in demo.caption.value
    assert "kl <b>covers</b>" in demo.caption.value
