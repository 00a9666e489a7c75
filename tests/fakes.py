"""Tiny stand-ins for the package's networks, shared by the tests."""

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
