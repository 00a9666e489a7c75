"""The networks: MLPs for the 2-D toys and DCGANs for 28, 32 and 64 px images.

Generators map noise ``z`` (B, z_dim) to samples; discriminators (and critics, the same class with
``norm="layer"`` or ``"none"``) map samples to one logit each, shape (B,). The DCGAN pair follows
Radford et al.'s guidelines: strided convolutions instead of pooling, batch norm everywhere except the
generator's output and the discriminator's input, ReLU and a final Tanh in G, LeakyReLU 0.2 in D,
weights drawn from N(0, 0.02). Explained in 01_first_gan and 06_dcgan.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

IMAGE_SIZES = (28, 32, 64)
NORMS = ("batch", "layer", "none")
_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}


def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(_ACTIVATIONS)}.")
    return _ACTIVATIONS[name]()


def _mlp(in_dim: int, out_dim: int, hidden: int, depth: int, activation: str) -> nn.Sequential:
    if depth < 1:
        raise ValueError(f"depth (number of hidden layers) must be at least 1, got {depth}.")
    layers, width = [], in_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), _activation(activation)]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def sample_z(n: int, z_dim: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Standard normal noise, shape (n, z_dim)."""
    z = torch.randn(n, z_dim, generator=generator)
    return z if device is None else z.to(device)


class MLPGenerator(nn.Module):
    """G: z (B, z_dim) -> x (B, out_dim), a plain MLP with a linear output (toys live on all of ℝ^d)."""

    def __init__(self, z_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3,
                 activation: str = "relu"):
        super().__init__()
        self.z_dim, self.out_dim, self.n_classes = z_dim, out_dim, None
        self.hparams = dict(z_dim=z_dim, out_dim=out_dim, hidden=hidden, depth=depth, activation=activation)
        self.net = _mlp(z_dim, out_dim, hidden, depth, activation)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)  # (B, out_dim)


class MLPDiscriminator(nn.Module):
    """D: x (B, in_dim) -> logit (B,). D(x) = sigmoid(logit) is the probability that x is real."""

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3, activation: str = "leaky_relu"):
        super().__init__()
        self.in_dim = in_dim
        self.hparams = dict(in_dim=in_dim, hidden=hidden, depth=depth, activation=activation)
        self.net = _mlp(in_dim, 1, hidden, depth, activation)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(
                f"the discriminator expects points of shape (B, {self.in_dim}), got {tuple(x.shape)}."
            )
        return self.net(x).squeeze(1)  # (B,)


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
    With ``n_classes``, a one-hot label is appended to z (conditional GAN).
    """

    def __init__(self, z_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 64,
                 n_classes: int | None = None):
        super().__init__()
        side, n_up = _plan(image_size)
        self.z_dim, self.image_size, self.channels, self.n_classes = z_dim, image_size, channels, n_classes
        self.hparams = dict(z_dim=z_dim, image_size=image_size, channels=channels, width=width, n_classes=n_classes)
        in_dim = z_dim + (n_classes or 0)
        ch = width * 2 ** (n_up - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_dim, ch, side, 1, 0, bias=False),  # (B, ch, side, side)
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
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


MODEL_CLASSES = {c.__name__: c for c in (MLPGenerator, MLPDiscriminator, DCGANGenerator, DCGANDiscriminator)}


def describe(model: nn.Module) -> dict:
    """What a checkpoint needs to rebuild ``model``: its class name and constructor arguments."""
    name = type(model).__name__
    return {"class": name, "hparams": dict(getattr(model, "hparams", {}))} if name in MODEL_CLASSES else {"class": name}


def build(description: dict) -> nn.Module:
    """Rebuild a network from :func:`describe`'s record (weights are loaded separately)."""
    name = description.get("class")
    if name not in MODEL_CLASSES or "hparams" not in description:
        raise ValueError(f"cannot rebuild a network of class {name!r}; known: {', '.join(MODEL_CLASSES)}.")
    return MODEL_CLASSES[name](**description["hparams"])
