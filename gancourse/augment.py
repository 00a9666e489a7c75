"""Differentiable augmentation of what D sees (DiffAugment, Zhao et al. 2020), from kornia's pieces.

A discriminator trained on few images memorises them; augmenting only the real images would teach G
to draw augmented images. DiffAugment applies the same random, differentiable transformations to the
real and to the fake batch, in D's step and in G's, so G's gradient passes through them and G still
learns the un-augmented distribution. The paper's two transformations for small images:

- ``translation``: shift by up to 1/8 of the side in whole pixels, filling with zeros (kornia's
  ``RandomCrop`` of the original size from the zero-padded image);
- ``cutout``: a square of half the side, at a random place, set to zero (kornia's ``RandomErasing``).

Zero is mid-grey for images in [-1, 1], as in the paper's code. Parameters are drawn from torch's
global generator, which the training loop seeds and saves with each checkpoint, so a resumed run draws
the same ones; under several processes each draws its own, so the run differs from one process's.
Measured, recipe by recipe, by ``gancourse bench quality`` (:mod:`gancourse.bench.quality`).
"""

from __future__ import annotations

import torch
from torch import nn

from gancourse.errors import ConfigError

AUGMENTATIONS = ("translation", "cutout")
TRANSLATION_RATIO = 1 / 8  # the largest shift, as a share of the side (the paper's default)
CUTOUT_RATIO = 1 / 2  # the side of the erased square, as a share of the image's side


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"translation,cutout"`` -> ``("translation", "cutout")``; ``""`` -> ``()``; unknown names refused."""
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ConfigError(f"unknown augmentation {', '.join(unknown)}; choose from {', '.join(AUGMENTATIONS)} "
                          f"(comma-separated, e.g. augment='translation,cutout').")
    if len(set(names)) != len(names):
        raise ConfigError(f"augmentation {policy!r} names one transformation twice.")
    return names


class DiffAugment(nn.Module):
    """The transformations of ``policy`` applied in turn to a batch (B, C, H, W), each sample its own draw."""

    def __init__(self, policy: str):
        super().__init__()
        self.policy = parse_policy(policy)
        self._pieces: dict[tuple[int, int], nn.Module] = {}

    def _build(self, height: int, width: int) -> nn.Module:
        import kornia.augmentation as K

        pieces = []
        for name in self.policy:
            if name == "translation":
                pad = (int(height * TRANSLATION_RATIO), int(width * TRANSLATION_RATIO))
                pieces.append(K.RandomCrop((height, width), padding=pad, fill=0.0, p=1.0))
            else:
                area = CUTOUT_RATIO ** 2
                pieces.append(K.RandomErasing(scale=(area, area), ratio=(1.0, 1.0), value=0.0, p=1.0))
        return nn.Sequential(*pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.policy:
            return x
        key = (x.shape[-2], x.shape[-1])
        if key not in self._pieces:
            self._pieces[key] = self._build(*key)
        out = self._pieces[key](x.float()).to(x.dtype)
        return out.contiguous(memory_format=torch.channels_last) if x.is_contiguous(
            memory_format=torch.channels_last) and not x.is_contiguous() else out
