"""Training callbacks: things that watch :func:`gancourse.train.train` without changing it.

A callback is any ``fn(step, G, D, history)``; ``train(..., callbacks=[...], callback_every=k)``
calls it every k steps and at the end. Explained in 06_dcgan and 07_wgan_gp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from gancourse.models import generate


@dataclass
class SampleGrids:
    """Keeps ``G(z)`` for the same fixed ``z`` at every call.

    ``train(..., callbacks=[grids], callback_every=100)``; afterwards ``grids.steps[i]`` and
    ``grids.images[i]`` (CPU tensors in [-1, 1]) show how the same noise turned into pictures.
    """

    z: torch.Tensor
    steps: list[int] = field(default_factory=list)
    images: list[torch.Tensor] = field(default_factory=list)

    def __call__(self, step, G, D, history) -> None:
        if self.steps and self.steps[-1] == step:
            return
        self.steps.append(step)
        self.images.append(generate(G, self.z))


@dataclass
class SampleFiles:
    """Writes a grid of ``G(z)`` for fixed ``z`` as ``out/samples_<step>.png`` and ``out/samples.png``."""

    z: torch.Tensor
    out: Path

    def __call__(self, step, G, D, history) -> None:
        from gancourse.plot import save_image_grid

        images = generate(G, self.z)
        save_image_grid(images, Path(self.out) / f"samples_{step:06d}.png")
        save_image_grid(images, Path(self.out) / "samples.png")
