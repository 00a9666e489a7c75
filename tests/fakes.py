"""Tiny stand-ins for the package's networks, and the real Fashion-MNIST where it is installed, shared by the tests."""

import pytest
import torch


class Shift(torch.nn.Module):
    """A 2-D 'generator' z -> scale·z + shift with a learnable shift: its samples move when the shift does."""

    z_dim = 2

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale
        self.shift = torch.nn.Parameter(torch.zeros(2))

    def forward(self, z, y=None):
        return self.scale * z + self.shift


def fashion_mnist(split: str = "test"):
    """The real Fashion-MNIST ``split`` from disk, or the test is skipped where it is not installed."""
    from gancourse.data.images import DataNotFoundError, load_images

    try:
        return load_images("fashion-mnist", split=split, download=False)
    except DataNotFoundError:
        pytest.skip("Fashion-MNIST is not on disk (Debian's dataset-fashion-mnist, or $GANCOURSE_DATA)")
