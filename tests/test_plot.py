"""Tests of gancourse.plot: every figure builds headless, its axes carry their labels, and the numbers are right."""

import math

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from torch import nn
from torchvision.utils import make_grid

from gancourse import plot, theory
from gancourse.data.toy import Gaussian, ParallelLines, grid25, ring8
from gancourse.experiments import parallel_lines_experiment
from gancourse.models import MLPDiscriminator
from gancourse.train import History

X = np.linspace(-10.0, 10.0, 4001)  # wide and fine: every density below integrates to 1 on it


def _axes():
    fig = Figure(figsize=(3, 3))
    return fig, fig.add_subplot()


def _render(fig):
    FigureCanvasAgg(fig).draw()  # what savefig does, without a file: errors at draw time show here


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _linear_d():
    """f(x, y) = 3x + 4y + 0.5, as a module with parameters, mapping (N, 2) to (N,)."""
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0]]))
        lin.bias.fill_(0.5)
    return nn.Sequential(lin, nn.Flatten(0))


def _history(n=3):
    return History(step=list(range(1, n + 1)), d_loss=[1.0, 2.0, 3.0][:n], g_loss=[4.0, 6.0, 8.0][:n],
                   seconds=[0.1, 0.2, 0.3][:n])


def _files(folder):
    return sorted(p.name for p in folder.iterdir())  # hidden temporary files (".name.xxx.png") included


@pytest.fixture(scope="module")
def lines_result():
    return parallel_lines_experiment(1.0, steps=20)


# --- evaluation_grid, auto_bounds, surface ----------------------------------------------------


def test_evaluation_grid_runs_from_the_first_corner_to_the_last():
    bounds = ((-1.0, 2.0), (3.0, 7.0))
    xx, yy, points = plot.evaluation_grid(bounds, 5)
    assert xx.shape == yy.shape == (5, 5) and points.shape == (25, 2)
    torch.testing.assert_close(points[0], torch.tensor([-1.0, 3.0]), rtol=0, atol=1e-6)
    torch.testing.assert_close(points[-1], torch.tensor([2.0, 7.0]), rtol=0, atol=1e-6)
    np.testing.assert_allclose(points.numpy(), np.stack([xx.ravel(), yy.ravel()], 1), atol=1e-6)
    # wrong variant: the end of the first row is (x1, y0), not the last corner
    assert not torch.allclose(points[4], torch.tensor([2.0, 7.0]))


def test_auto_bounds_hold_every_point_with_a_margin():
    (x0, x1), (y0, y1) = plot.auto_bounds(torch.tensor([[0.0, 0.0], [1.0, 2.0]]), [[-1.0, 1.0]], margin=0.1)
    np.testing.assert_allclose([x0, x1, y0, y1], [-1.2, 1.2, -0.2, 2.2], atol=1e-6)


def test_auto_bounds_of_one_point_is_a_non_empty_box_around_it():
    (x0, x1), (y0, y1) = plot.auto_bounds(torch.tensor([[0.5, -2.0]]))
    assert x0 < 0.5 < x1 and y0 < -2.0 < y1


def test_auto_bounds_skip_missing_point_sets():
    assert plot.auto_bounds(None, torch.tensor([[0.0, 0.0], [1.0, 1.0]])) == plot.auto_bounds(
        torch.tensor([[0.0, 0.0], [1.0, 1.0]]))


def test_surface_is_the_raw_output_of_d_on_the_grid():
    bounds = ((-1.0, 2.0), (-3.0, 1.0))
    xx, yy, values = plot.surface(_linear_d(), bounds, resolution=7)
    assert values.shape == xx.shape == (7, 7)
    np.testing.assert_allclose(values, 3 * xx + 4 * yy + 0.5, rtol=0, atol=1e-5)
    # wrong variant: the raw score is not its sigmoid
    assert not np.allclose(values, 1 / (1 + np.exp(-(3 * xx + 4 * yy + 0.5))), atol=1e-2)


def test_surface_with_probability_is_the_sigmoid_of_the_raw_output():
    bounds = ((-1.0, 2.0), (-3.0, 1.0))
    xx, yy, prob = plot.surface(_linear_d(), bounds, resolution=7, probability=True)
    expected = 1 / (1 + np.exp(-(3 * xx + 4 * yy + 0.5)))
    np.testing.assert_allclose(prob, expected, rtol=0, atol=1e-6)
    assert prob.min() >= 0 and prob.max() <= 1
    # wrong variant: the probability is not the raw score
    assert not np.allclose(prob, 3 * xx + 4 * yy + 0.5, atol=1e-2)


@pytest.mark.parametrize("training", [True, False])
def test_surface_evaluates_in_eval_mode_and_restores_the_mode(training):
    torch.manual_seed(0)
    D = nn.Sequential(_linear_d(), nn.Unflatten(0, (-1, 1)), nn.Dropout(0.9), nn.Flatten(0))
    D.train(training)
    xx, yy, values = plot.surface(D, ((0.0, 1.0), (0.0, 1.0)), resolution=10)
    assert D.training is training and all(m.training is training for m in D.modules())
    np.testing.assert_allclose(values, 3 * xx + 4 * yy + 0.5, rtol=0, atol=1e-5)  # dropout was off
    # wrong variant: the same D in training mode drops most outputs, so the check would fail
    D.train()
    with torch.no_grad():
        noisy = D(torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)).numpy()
    assert not np.allclose(noisy.reshape(xx.shape), 3 * xx + 4 * yy + 0.5, atol=1e-2)


def test_surface_restores_the_mode_when_d_raises():
    D = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0))  # expects 3 inputs: the 2-D grid makes it raise
    D.train()
    with pytest.raises(RuntimeError):
        plot.surface(D, ((0.0, 1.0), (0.0, 1.0)), resolution=3)
    assert D.training


# --- plot_toy ---------------------------------------------------------------------------------


def test_plot_toy_draws_density_surface_and_both_point_sets():
    torch.manual_seed(0)
    dist, gen = ring8(), torch.Generator().manual_seed(0)
    fig, ax = _axes()
    out = plot.plot_toy(ax, samples=dist.sample(50, generator=gen) * 1.1, dist=dist,
                        D=MLPDiscriminator(2, hidden=8, depth=1), resolution=30, title="ring", real=dist.sample(50))
    _render(fig)
    assert out is ax and ax.get_title() == "ring"
    assert ax.get_legend_handles_labels()[1] == ["real", "generated"]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < -1 and x1 > 1 and y0 < -1 and y1 > 1  # the bounds hold every centre of the ring
    assert ax.get_aspect() == 1.0


def test_plot_toy_uses_the_bounds_it_is_given():
    fig, ax = _axes()
    plot.plot_toy(ax, samples=grid25().sample(20), dist=grid25(), bounds=((-6, 5), (-4, 7)), resolution=20)
    _render(fig)
    assert ax.get_xlim() == (-6, 5) and ax.get_ylim() == (-4, 7)
    assert ax.get_title() == ""


def test_plot_toy_with_a_single_sample():
    fig, ax = _axes()
    plot.plot_toy(ax, samples=torch.tensor([[0.5, -0.5]]), D=_linear_d(), resolution=20)
    _render(fig)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < 0.5 < x1 and y0 < -0.5 < y1
    assert ax.get_legend_handles_labels()[1] == ["generated"]


def test_plot_toy_with_nothing_uses_the_default_bounds():
    fig, ax = _axes()
    plot.plot_toy(ax)
    _render(fig)
    assert ax.get_xlim() == (-3, 3) and ax.get_ylim() == (-3, 3)


def test_plot_toy_with_a_density_and_no_samples():
    fig, ax = _axes()
    plot.plot_toy(ax, dist=Gaussian([0.0, 0.0], [1.0, 1.0]), resolution=20, title="gaussian")
    _render(fig)
    assert ax.get_xlim() == (-3, 3) and ax.get_title() == "gaussian"


def test_plot_toy_over_parallel_lines_draws_the_points_without_a_density():
    fig, ax = _axes()
    gen = torch.Generator().manual_seed(0)
    plot.plot_toy(ax, samples=ParallelLines(1.0).sample(20, generator=gen), dist=ParallelLines(0.0),
                  real=ParallelLines(0.0).sample(20, generator=gen))
    _render(fig)
    assert ax.get_legend_handles_labels()[1] == ["real", "generated"]
    x0, x1 = ax.get_xlim()
    assert x0 < 0 and x1 > 1


# --- plot_losses ------------------------------------------------------------------------------


def test_plot_losses_draws_one_curve_per_key_against_the_generator_step():
    fig, ax = _axes()
    assert plot.plot_losses(ax, _history()) is ax
    _render(fig)
    assert ax.get_xlabel() == "generator step"
    assert _legend_texts(ax) == ["d_loss", "g_loss"]
    d_line, g_line = ax.get_lines()
    np.testing.assert_allclose(d_line.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(g_line.get_ydata(), [4.0, 6.0, 8.0])


def test_plot_losses_smooths_with_a_moving_average():
    fig, ax = _axes()
    plot.plot_losses(ax, _history(), smooth=2)
    d_line, g_line = ax.get_lines()
    np.testing.assert_allclose(d_line.get_xdata(), [2, 3])
    np.testing.assert_allclose(d_line.get_ydata(), [1.5, 2.5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g_line.get_ydata(), [5.0, 7.0], rtol=0, atol=1e-12)
    # wrong variant: the raw losses are not the smoothed ones
    assert not np.allclose(d_line.get_ydata(), [2.0, 3.0])


def test_plot_losses_draws_extra_keys():
    history = _history()
    history.extra["gp"] = [0.1, 0.2, 0.3]
    fig, ax = _axes()
    plot.plot_losses(ax, history, keys=("gp",))
    assert _legend_texts(ax) == ["gp"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.1, 0.2, 0.3])


def test_plot_losses_with_a_one_entry_history():
    fig, ax = _axes()
    plot.plot_losses(ax, _history(1))
    _render(fig)
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [1, 1]


def test_plot_losses_with_smooth_longer_than_the_history_draws_the_raw_losses():
    fig, ax = _axes()
    plot.plot_losses(ax, _history(), smooth=10)
    _render(fig)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 2.0, 3.0])
    assert _legend_texts(ax) == ["d_loss", "g_loss"]


# --- image_grid, show_images ------------------------------------------------------------------


def test_image_grid_maps_minus_one_to_zero_and_one_to_one():
    images = torch.stack([torch.full((1, 4, 4), v) for v in (-1.0, 0.0, 1.0)])  # (3, 1, 4, 4)
    grid = plot.image_grid(images, nrow=3)
    assert grid.shape == (4 + 2 * 2, 3 * 4 + 4 * 2, 3)  # (H, W, C), grey made RGB by make_grid
    cells = [grid[2:6, 2 + 6 * i:6 + 6 * i] for i in range(3)]
    for cell, expected in zip(cells, (0.0, 0.5, 1.0), strict=True):
        np.testing.assert_allclose(cell, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(grid[:2], 1.0, rtol=0, atol=0)  # the padding is white
    # wrong variant: without normalising, -1 stays -1
    raw = make_grid(images, nrow=3, pad_value=1.0).permute(1, 2, 0).numpy()
    assert not np.allclose(raw[2:6, 2:6], 0.0)


def test_image_grid_lays_out_nrow_images_per_row():
    images = torch.zeros(3, 1, 28, 28)
    grid = plot.image_grid(images, nrow=2)
    assert grid.shape == (2 * 28 + 3 * 2, 2 * 28 + 3 * 2, 3)  # two rows, two columns, 2 px padding
    # wrong variant: three images in one row make a wider, lower grid
    assert plot.image_grid(images, nrow=3).shape[:2] == (28 + 2 * 2, 3 * 28 + 4 * 2) != grid.shape[:2]


def test_image_grid_accepts_colour_images_and_refuses_a_single_unbatched_image():
    assert plot.image_grid(torch.zeros(2, 3, 8, 8), nrow=2).shape == (12, 22, 3)
    with pytest.raises(ValueError, match="expected images of shape"):
        plot.image_grid(torch.zeros(1, 28, 28))


@pytest.mark.parametrize("value, expected", [(-1.0, 0.0), (0.3, 0.65)])
def test_image_grid_of_one_constant_image(value, expected):
    grid = plot.image_grid(torch.full((1, 1, 28, 28), value))
    assert grid.shape == (28, 28, 3)
    np.testing.assert_allclose(grid, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("value", [-1.0, 0.3])
def test_show_images_of_one_constant_image(value):
    fig, ax = _axes()
    assert plot.show_images(ax, torch.full((1, 1, 28, 28), value), title="one") is ax
    _render(fig)
    assert ax.get_title() == "one" and not ax.axison
    np.testing.assert_allclose(ax.get_images()[0].get_array(), (value + 1) / 2, rtol=0, atol=1e-6)


def test_show_images_draws_the_whole_grid():
    fig, ax = _axes()
    plot.show_images(ax, torch.rand(16, 1, 28, 28) * 2 - 1)
    _render(fig)
    assert ax.get_images()[0].get_array().shape == (2 * 30 + 2, 8 * 30 + 2, 3)
    assert ax.get_title() == ""


# --- draw_optimal_discriminator ---------------------------------------------------------------


def test_draw_optimal_discriminator_draws_densities_and_d_star():
    p_data, p_g = theory.density_on_grid(Gaussian(0.0, 1.0), X), theory.density_on_grid(Gaussian(1.5, 0.7), X)
    fig = Figure(figsize=(6, 3))
    plot.draw_optimal_discriminator(fig, X, p_data, p_g, D_trained=np.full_like(X, 0.5), labels=("data", "model"),
                                    region=(-1.0, 2.0))
    _render(fig)
    ax_p, ax_d = fig.axes
    assert (ax_p.get_title(), ax_d.get_title()) == ("densities", "optimal discriminator")
    assert ax_p.get_xlabel() == ax_d.get_xlabel() == "x"
    assert _legend_texts(ax_p) == ["data", "model"]
    assert _legend_texts(ax_d) == ["D*(x)", "trained D(x)", "compared here"]
    lo, hi = ax_p.get_xlim()
    assert -6 < lo < -2 and 3 < hi < 7  # zoomed on the mass, not the whole grid


def test_draw_optimal_discriminator_without_trained_d_has_a_one_entry_legend():
    p = theory.density_on_grid(Gaussian(0.0, 1.0), X)
    fig = Figure()
    plot.draw_optimal_discriminator(fig, X, p, p)
    assert _legend_texts(fig.axes[0]) == ["p_data", "p_g"] and _legend_texts(fig.axes[1]) == ["D*(x)"]


def test_draw_optimal_discriminator_value_is_two_js_minus_log4():
    p_data, p_g = theory.density_on_grid(Gaussian(0.0, 1.0), X), theory.density_on_grid(Gaussian(1.5, 0.7), X)
    numbers = plot.draw_optimal_discriminator(Figure(), X, p_data, p_g)
    assert set(numbers) == {"js", "v_star", "two_js_minus_log4"}
    assert 0.05 < numbers["js"] < math.log(2)
    np.testing.assert_allclose(numbers["v_star"], numbers["two_js_minus_log4"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(numbers["two_js_minus_log4"], 2 * numbers["js"] - math.log(4), rtol=0, atol=1e-12)
    # wrong variant: a p_g with half the mass is no density, and the identity fails by log(2) / 2
    wrong = plot.draw_optimal_discriminator(Figure(), X, p_data, 0.5 * p_g)
    assert abs(wrong["v_star"] - wrong["two_js_minus_log4"]) > 0.3


def test_draw_optimal_discriminator_js_is_log2_for_disjoint_supports():
    p_data = theory.density_on_grid(Gaussian(-4.0, 0.5), X) * (X < 0)
    p_g = theory.density_on_grid(Gaussian(4.0, 0.5), X) * (X > 0)
    assert not (p_data * p_g).any()  # truly disjoint
    numbers = plot.draw_optimal_discriminator(Figure(), X, p_data, p_g)
    np.testing.assert_allclose(numbers["js"], math.log(2), rtol=0, atol=1e-3)
    np.testing.assert_allclose(numbers["v_star"], 0.0, rtol=0, atol=1e-3)  # 2 log 2 - log 4
    # wrong variant: shifted so the densities overlap, JS drops below log 2
    overlap = plot.draw_optimal_discriminator(Figure(), X, p_data, theory.density_on_grid(Gaussian(-3.5, 0.5), X))
    assert overlap["js"] < math.log(2) - 0.1


# --- draw_distance_curves, draw_parallel_lines ------------------------------------------------


def test_draw_distance_curves_labels_js_and_w1():
    fig, ax = _axes()
    plot.draw_distance_curves(ax, theta=0.5)
    _render(fig)
    assert ax.get_xlabel() == "θ"
    assert _legend_texts(ax) == ["W1 = |θ|", "JS"]
    w1 = ax.get_lines()[0]
    np.testing.assert_allclose(w1.get_ydata(), np.abs(w1.get_xdata()), rtol=0, atol=1e-12)


def test_draw_distance_curves_with_samples():
    fig, ax = _axes()
    plot.draw_distance_curves(ax, theta_max=1.0, samples=([-1.0, 0.0, 1.0], [0.9, 0.1, 1.1]))
    _render(fig)
    assert _legend_texts(ax) == ["W1 = |θ|", "W1 from samples", "JS"]
    assert ax.get_lines()[0].get_xdata()[[0, -1]].tolist() == [-1.0, 1.0]


def test_draw_distance_curves_with_numerical_js():
    fig, ax = _axes()
    plot.draw_distance_curves(ax, js_values=([-1.0, 0.0, 1.0], [0.69, 0.0, 0.69]))
    _render(fig)
    assert _legend_texts(ax) == ["W1 = |θ|", "JS by quadrature (blurred lines)", "JS"]
    crosses = ax.get_lines()[1]
    assert crosses.get_marker() == "x" and crosses.get_ydata().tolist() == [0.69, 0.0, 0.69]


def test_draw_parallel_lines_draws_curves_and_both_surfaces(lines_result):
    fig = Figure(figsize=(12, 3))
    plot.draw_parallel_lines(fig, lines_result)
    _render(fig)
    ax_c, ax_d, ax_f = fig.axes[:3]  # then the two colour bars
    assert len(fig.axes) == 5
    assert ax_c.get_title() == "distance between the lines" and ax_c.get_xlabel() == "θ"
    assert ax_d.get_title().startswith("BCE D(x): dV/dθ = ")
    assert ax_f.get_title().startswith("critic f(x): dW/dθ = ")
    assert ax_d.get_xlabel() == ax_f.get_xlabel() == "x₁"
    assert _legend_texts(ax_d) == ["real: x₁ = 0", "fake: x₁ = θ = 1"]
    assert ax_d.get_xlim() == ax_f.get_xlim() == (-2.4, 2.4)


# --- save_figure, save_image_grid, save_toy_picture --------------------------------------------


def test_save_figure_writes_a_png_and_no_temporary_file(tmp_path):
    fig, ax = _axes()
    ax.plot([0, 1], [0, 1])
    plot.save_figure(fig, tmp_path / "figure.png", dpi=50)
    with Image.open(tmp_path / "figure.png") as im:
        assert im.format == "PNG" and im.size[0] > 0 and im.size[1] > 0
    assert _files(tmp_path) == ["figure.png"]


def test_save_figure_that_fails_leaves_no_file(tmp_path):
    fig, _ = _axes()
    with pytest.raises(ValueError):
        plot.save_figure(fig, tmp_path / "figure.notaformat")
    assert _files(tmp_path) == []


def test_save_image_grid_writes_the_grid_in_a_new_folder(tmp_path):
    path = tmp_path / "new" / "deeper" / "grid.png"
    plot.save_image_grid(torch.rand(16, 1, 28, 28) * 2 - 1, path, nrow=8)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (8 * 30 + 2, 2 * 30 + 2)  # (width, height)
    assert _files(path.parent) == ["grid.png"]


def test_save_image_grid_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "grid.png"
    plot.save_image_grid(torch.zeros(16, 1, 28, 28), path, nrow=8)
    plot.save_image_grid(torch.zeros(4, 1, 28, 28), path, nrow=2)
    with Image.open(path) as im:
        assert im.size == (2 * 30 + 2, 2 * 30 + 2)
    assert _files(tmp_path) == ["grid.png"]


def test_save_toy_picture_writes_a_png_and_no_temporary_file(tmp_path):
    dist = ring8()
    plot.save_toy_picture(tmp_path / "toy.png", dist.sample(100), dist=dist, D=MLPDiscriminator(2, hidden=8, depth=1),
                          title="ring8, step 0")
    with Image.open(tmp_path / "toy.png") as im:
        assert im.format == "PNG" and im.size[0] > 0 and im.size[1] > 0
    assert _files(tmp_path) == ["toy.png"]


def test_lecture_style_enlarges_figures_and_gives_back_what_it_replaced():
    import matplotlib

    from gancourse.plot import LECTURE_STYLE, lecture_style

    before = matplotlib.rcParams["font.size"], matplotlib.rcParams["lines.linewidth"]
    lecture_style()
    try:
        assert matplotlib.rcParams["font.size"] == LECTURE_STYLE["font.size"] > before[0]
        assert matplotlib.rcParams["lines.linewidth"] > before[1]
    finally:
        lecture_style(False)
    assert (matplotlib.rcParams["font.size"], matplotlib.rcParams["lines.linewidth"]) == before


def test_draw_snapshot_draws_points_with_the_recorded_surface_and_images_as_a_grid():
    import torch
    from matplotlib.figure import Figure

    from gancourse.plot import draw_snapshot

    ax = Figure().subplots()
    surface = torch.linspace(-3, 3, 64).reshape(8, 8)
    draw_snapshot(ax, dict(step=7, samples=torch.zeros(5, 2), surface=surface), bounds=((-1, 1), (-1, 1)))
    assert ax.get_title() == "step 7" and len(ax.collections) >= 2  # the points and the contour lines
    ax = Figure().subplots()
    draw_snapshot(ax, dict(step=3, samples=torch.zeros(4, 1, 28, 28), surface=None))
    assert len(ax.images) == 1
