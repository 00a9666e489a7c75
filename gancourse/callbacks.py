"""Training callbacks: things that watch :func:`gancourse.train.train` without changing it.

A callback is any ``fn(step, G, D, history)``; ``train(..., callbacks=[...], callback_every=k)``
calls it every k steps and at the end. Explained in 06_dcgan and 07_wgan_gp.
"""

from __future__ import annotations

import copy
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
class GeneratorCopies:
    """Keeps a frozen copy of G (on the CPU, in eval mode, without gradients) at every call.

    ``generators[i]`` is G as it was at ``steps[i]``, for measuring a checkpoint afterwards with fresh
    networks (:func:`gancourse.experiments.estimates_on_checkpoints`); ``every`` keeps one call in that many
    (the first always), since a copy holds all of G's weights.
    """

    every: int = 1
    steps: list[int] = field(default_factory=list)
    generators: list[torch.nn.Module] = field(default_factory=list)

    def __post_init__(self):
        if self.every < 1:
            raise ValueError(f"every must be at least 1, got {self.every}.")
        self._calls = 0

    def __call__(self, step, G, D, history) -> None:
        if self.steps and self.steps[-1] == step:
            return
        self._calls += 1
        if (self._calls - 1) % self.every:
            return
        frozen = copy.deepcopy(G).cpu().eval().requires_grad_(False)
        self.steps.append(step)
        self.generators.append(frozen)


@dataclass
class SampleFiles:
    """Writes a grid of ``G(z)`` for fixed ``z`` as ``out/samples_<step>.png`` and ``out/samples.png``."""

    z: torch.Tensor
    out: Path

    def __call__(self, step, G, D, history) -> None:
        from gancourse.plot import save_image_grid

        y = torch.arange(len(self.z)) % G.n_classes if getattr(G, "n_classes", None) else None  # classes in turn
        images = generate(G, self.z, y=y)
        save_image_grid(images, Path(self.out) / f"samples_{step:06d}.png")
        save_image_grid(images, Path(self.out) / "samples.png")


@dataclass
class Snapshots:
    """What a run looked like at a few steps, kept small enough to scrub through in a notebook.

    At every call it stores G(z) for the fixed ``z`` (or, when ``z`` is a number n, for the n noise vectors
    of ``generate(G, n=n)``, drawn for G's own noise shape, the same at every call) and, when ``bounds`` is
    given (2-D toys), D's
    surface on a ``resolution``² grid over those bounds (:func:`gancourse.plot.surface`, raw scores).
    Images are kept as uint8 (one byte a pixel), points and surfaces as float16. When more than
    ``max_snapshots`` would be held, every other one is dropped and from then on only every other call
    is kept (the newest is always there), so the frames stay evenly spaced and a run of any length
    holds at most ``max_snapshots`` of them, in at most ``max_bytes`` (see :meth:`nbytes`). Played by
    :class:`gancourse.widgets.SnapshotPlayer`; explained in 01_first_gan.
    """

    z: torch.Tensor | int
    bounds: tuple | None = None
    resolution: int = 60
    max_snapshots: int = 200
    max_bytes: int = 50_000_000
    steps: list[int] = field(default_factory=list)
    samples: list[torch.Tensor] = field(default_factory=list)
    surfaces: list[torch.Tensor] = field(default_factory=list)

    def __post_init__(self):
        if self.max_snapshots < 2:
            raise ValueError(f"max_snapshots must be at least 2, got {self.max_snapshots}.")
        self._calls: list[int] = []  # the call each frame was taken at
        self._stride = 1  # frames kept: calls that are multiples of the stride, and the newest

    def _keep(self, keep: list[int]) -> None:
        for name in ("_calls", "steps", "samples", "surfaces"):
            values = getattr(self, name)
            if values:
                setattr(self, name, [values[i] for i in keep])

    def __call__(self, step, G, D, history) -> None:
        if self.steps and self.steps[-1] == step:
            return
        call = self._calls[-1] + 1 if self._calls else 0
        if self._calls and self._calls[-1] % self._stride:  # the newest was kept only for being the newest
            self._keep(list(range(len(self._calls) - 1)))
        x = generate(G, self.z) if torch.is_tensor(self.z) else generate(G, n=int(self.z))
        self._calls.append(call)
        self.steps.append(step)
        self.samples.append(((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8) if x.dim() == 4
                            else x.to(torch.float16))
        if self.bounds is not None:
            from gancourse.plot import surface

            self.surfaces.append(torch.from_numpy(surface(D, self.bounds, self.resolution)[2]).to(torch.float16))
        while len(self.steps) > self.max_snapshots or (self.nbytes() > self.max_bytes and len(self.steps) > 2):
            self._stride *= 2
            last = len(self._calls) - 1
            self._keep([i for i, c in enumerate(self._calls) if c % self._stride == 0 or i == last])

    def __len__(self) -> int:
        return len(self.steps)

    def frame(self, i: int) -> dict:
        """Snapshot ``i``: its step, G's samples (images back in [-1, 1]) and D's surface (or None)."""
        x = self.samples[i]
        x = x.float() / 127.5 - 1 if x.dtype == torch.uint8 else x.float()
        return dict(step=self.steps[i], samples=x, surface=self.surfaces[i].float() if self.surfaces else None)

    def nbytes(self) -> int:
        """Memory held by the snapshots' tensors."""
        return sum(t.numel() * t.element_size() for t in [*self.samples, *self.surfaces])
