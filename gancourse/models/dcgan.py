"""The DCGAN pair (Radford et al. 2016), for 28, 32 and 64 px images.

Strided convolutions instead of pooling, batch norm everywhere except the generator's output and the
discriminator's input, ReLU and a final Tanh in G, LeakyReLU 0.2 in D, weights drawn from N(0, 0.02)
(06_dcgan); the critic of WGAN-GP is the same discriminator with ``norm="layer"`` or ``"none"``
(07_wgan_gp), and both take a class label for the conditional GAN (09_conditional_and_beyond).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

IMAGE_SIZES = (28, 32, 64)
NORMS = ("batch", "layer", "none")


def conv_output_side(side: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of a convolution's output: ⌊(i + 2p − k)/s⌋ + 1 for an input side i."""
    return (side + 2 * padding - kernel) // stride + 1


def conv_transpose_output_side(side: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of a transposed convolution's output: (i − 1)·s − 2p + k, the inverse map of a convolution's."""
    return (side - 1) * stride - 2 * padding + kernel


def _plan(image_size: int) -> tuple[int, int]:
    """(side of the smallest feature map, number of 2× up/down-samplings) for each image size."""
    plans = {28: (7, 2), 32: (4, 3), 64: (4, 4)}
    if image_size not in plans:
        raise ValueError(
            f"DCGAN image_size must be one of {IMAGE_SIZES}, got {image_size}; "
            f"resize the data (load_images(..., image_size=32)) or pick a supported size."
        )
    return plans[image_size]


def dcgan_init_(module: nn.Module) -> nn.Module:
    """DCGAN initialisation in place: conv and linear weights ~ N(0, 0.02), norm scales ~ N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


class DCGANGenerator(nn.Module):
    """G: z (B, z_dim) -> images (B, channels, S, S) in [-1, 1], S in {28, 32, 64}.

    A projection to a small feature map (4×4, or 7×7 for 28 px), then transposed convolutions that
    double the side and halve the channels, batch norm and ReLU between, Tanh at the end.
    With ``n_classes``, a one-hot label is appended to z (conditional GAN); ``norm="none"`` drops the
    batch norm (09_conditional_and_beyond trains DCGAN and WGAN-GP so).
    """

    def __init__(self, z_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 64,
                 n_classes: int | None = None, norm: str = "batch"):
        super().__init__()
        if norm not in ("batch", "none"):
            raise ValueError(f"the generator's norm must be 'batch' or 'none', got {norm!r}.")
        side, n_up = _plan(image_size)
        self.z_dim, self.image_size, self.channels, self.n_classes = z_dim, image_size, channels, n_classes
        self.hparams = dict(z_dim=z_dim, image_size=image_size, channels=channels, width=width, n_classes=n_classes)
        if norm != "batch":  # kept out of the default's hparams, so older checkpoints rebuild unchanged
            self.hparams["norm"] = norm
        in_dim = z_dim + (n_classes or 0)
        ch = width * 2 ** (n_up - 1)
        # without batch norm the convolutions get biases, as they would in any plain network
        bias = norm == "none"
        normed = (lambda c: [nn.BatchNorm2d(c)]) if norm == "batch" else (lambda c: [])
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_dim, ch, side, 1, 0, bias=bias),  # (B, ch, side, side)
            *normed(ch),
            nn.ReLU(True),
        ]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=bias), *normed(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]  # (B, C, S, S)
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z = z.flatten(1)
        if self.n_classes:
            if y is None:
                raise ValueError("this generator is conditional: pass labels y of shape (B,).")
            z = torch.cat([z, nn.functional.one_hot(y, self.n_classes).to(z.dtype)], 1)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """D: images (B, channels, S, S) -> logit (B,).

    Strided convolutions halve the side and double the channels, LeakyReLU 0.2 between, and a final
    convolution over the whole smallest map gives one logit. ``norm`` picks batch norm (DCGAN),
    layer norm or none (a WGAN-GP critic must not use batch norm: the penalty is per sample).
    ``spectral_norm=True`` wraps every layer in torch's spectral-norm parametrization.
    With ``n_classes``, the label enters as an extra input channel (conditional GAN).
    """

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64, norm: str = "batch",
                 spectral_norm: bool = False, n_classes: int | None = None):
        super().__init__()
        side, n_down = _plan(image_size)
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose one of {', '.join(NORMS)}.")
        self.image_size, self.channels, self.n_classes, self.norm = image_size, channels, n_classes, norm
        self.hparams = dict(image_size=image_size, channels=channels, width=width, norm=norm,
                            spectral_norm=spectral_norm, n_classes=n_classes)
        extra = 1 if n_classes else 0
        if n_classes:
            self.label_map = nn.Embedding(n_classes, image_size * image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels + extra, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none"), *self._norm(ch * 2),
                       nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers.append(nn.Conv2d(ch, 1, side, 1, 0))  # (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)
        if spectral_norm:
            for m in list(self.modules()):
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    _spectral_norm(m)

    def _norm(self, ch: int) -> list[nn.Module]:
        if self.norm == "batch":
            return [nn.BatchNorm2d(ch)]
        if self.norm == "layer":
            return [nn.GroupNorm(1, ch)]  # one group = layer norm over (C, H, W), per sample
        return []

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        want = (self.channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            got = tuple(x.shape[1:]) if x.dim() == 4 else tuple(x.shape)
            raise ValueError(
                f"the discriminator expects images of shape (B, {want[0]}, {want[1]}, {want[2]}) "
                f"(channels, height, width), got {got}; build it with channels= and image_size= "
                f"matching the data, or resize the data."
            )
        if self.n_classes:
            if y is None:
                raise ValueError("this discriminator is conditional: pass labels y of shape (B,).")
            x = torch.cat([x, self.label_map(y).view(-1, 1, self.image_size, self.image_size)], 1)
        return self.net(x).flatten()  # (B,)
