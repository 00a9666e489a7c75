"""Pictures the notebooks show: toy samples over densities, loss curves, image grids.

Each function draws on a matplotlib ``Axes`` it is given (or returns an array), so notebooks compose
figures freely and tests can draw without a screen.
"""

from __future__ import annotations

import numpy as np
import torch


def _grid(bounds, resolution: int):
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
def discriminator_surface(D, bounds, resolution: int = 120):
    """(xx, yy, D(x)) on a grid: D's probability that each point is real (sigmoid of its logit)."""
    xx, yy, points = _grid(bounds, resolution)
    was_training = D.training
    D.eval()
    device = next(D.parameters()).device
    prob = torch.sigmoid(D(points.to(device))).cpu().numpy().reshape(xx.shape)
    D.train(was_training)
    return xx, yy, prob


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
        xx, yy, points = _grid(bounds, resolution)
        with torch.no_grad():
            density = dist.log_prob(points).exp().numpy().reshape(xx.shape)
        ax.contourf(xx, yy, density, levels=20, cmap="Blues")
    if D is not None:
        xx, yy, prob = discriminator_surface(D, bounds, resolution)
        cs = ax.contour(xx, yy, prob, levels=[0.1, 0.3, 0.5, 0.7, 0.9], cmap="RdYlGn", linewidths=1)
        ax.clabel(cs, fontsize=7)
    if real is not None:
        r = torch.as_tensor(real).cpu().numpy()
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
