"""Every network of the course, and how to sample from a generator.

Generators map noise ``z`` (B, z_dim) to samples; discriminators (and critics, the same class with
``norm="layer"`` or ``"none"``) map samples to one logit each, shape (B,).

* toys: :class:`MLPGenerator` / :class:`MLPDiscriminator`; :class:`MixtureLatentGenerator`, whose latent
  is a mixture of small Gaussians (no bridges between modes, 04_mode_collapse);
  :class:`ParallelLinesGenerator`, one parameter θ (03_js_vs_wasserstein); :class:`DistributionSampler`,
  a fixed "generator" that draws from a known distribution (02_optimal_discriminator).
* images: the DCGAN pair, after Radford et al.'s guidelines: strided convolutions instead of pooling,
  batch norm everywhere except the generator's output and the discriminator's input, ReLU and a final
  Tanh in G, LeakyReLU 0.2 in D, weights drawn from N(0, 0.02) (06_dcgan, 07_wgan_gp).
* measuring: :class:`FashionClassifier`, a small CNN whose trained weights ship with the package; its
  penultimate layer is the feature space of the Fashion-MNIST metrics (08_evaluation).

:func:`describe` and :func:`build` record and rebuild any of them (except the sampler, which holds a
distribution) for checkpoints; :func:`generate` draws samples from fixed noise in evaluation mode.
"""

from __future__ import annotations

import math

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


class MixtureLatentGenerator(nn.Module):
    """G: z (B, 1 + latent_dim) -> x (B, out_dim) through a latent mixture of ``n_codes`` small Gaussians.

    An MLP is continuous and N(0, I) fills a connected space, so a plain generator must leave a bridge
    of samples between two modes, and the sharper the modes the larger the share on the bridges
    (Khayatkhoei et al. 2018). A mixture latent removes the bridges:

        c ~ Uniform{1, ..., K},   ε ~ N(0, I),   z' = μ_c + σ ε,   x = net(z'),

    with learned centres μ_c and a small fixed σ (DeLiGAN, Gurumurthy et al. 2017, learns σ too).
    K = 200 exceeds the modes of either mixture, so G is not told how many there are. The loop draws
    plain Gaussian noise, so the code is read off the first coordinate: c = ⌊K·Φ(z₀)⌋ is uniform
    because Φ(z₀) ~ U(0, 1); the other coordinates are ε. Explained in 04_mode_collapse.

    :meth:`refit_prior` refits c's prior to data after training: c is then drawn with the weights of the
    buffer ``code_weights`` (all 1, a uniform c, until then).
    """

    def __init__(self, n_codes: int = 200, latent_dim: int = 2, sigma: float = 0.05, out_dim: int = 2,
                 hidden: int = 128, depth: int = 3, activation: str = "relu"):
        super().__init__()
        if n_codes < 1 or latent_dim < 1:
            raise ValueError(f"n_codes and latent_dim must be positive, got {n_codes} and {latent_dim}.")
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}.")
        self.z_dim, self.out_dim, self.n_classes = 1 + latent_dim, out_dim, None
        self.n_codes, self.sigma = n_codes, float(sigma)
        self.hparams = dict(n_codes=n_codes, latent_dim=latent_dim, sigma=sigma, out_dim=out_dim, hidden=hidden,
                            depth=depth, activation=activation)
        self.centres = nn.Parameter(torch.randn(n_codes, latent_dim))  # μ_c, spread like N(0, I) at the start
        self.register_buffer("code_weights", torch.ones(n_codes))  # c's prior, up to a factor
        self.net = _mlp(latent_dim, out_dim, hidden, depth, activation)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.setdefault(prefix + "code_weights", torch.ones(self.n_codes))  # saved before refit_prior
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def code(self, z: torch.Tensor) -> torch.Tensor:
        """The code c of each noise vector (B,): Φ(z₀) through the inverse of c's distribution function.

        With weights all 1 that is ⌊K·Φ(z₀)⌋, uniform over 0..K-1; the cumulative weights of whole numbers
        are exact, so the comparison is too. A code of weight 0 is never drawn, not even where Φ(z₀) rounds
        to 1 (z₀ above about 5.4).
        """
        u = 0.5 * (1 + torch.erf(z[:, 0] / math.sqrt(2)))  # Φ(z₀) ~ U(0, 1)
        cumulative = self.code_weights.cumsum(0)
        c = torch.searchsorted(cumulative, (u * cumulative[-1]).contiguous(), right=True)
        return c.clamp_(max=int(self.code_weights.nonzero().max()))  # u = 1 gives K: the last code in use

    @torch.no_grad()
    def refit_prior(self, real: torch.Tensor) -> int:
        """After training, weight each code by the share of the data ``real`` (N, out_dim) nearest to it.

        Training leaves the prior uniform, and two faults with it: a code stranded between two modes, or
        a few σ beside one, keeps its share although D, flat on the data under R1, hardly pushes it back;
        and a mode held by three codes gets three times the samples of a mode held by one. Each real
        sample goes to the code whose point net(μ_c) (the centre of the code's samples) is nearest, and
        a code's weight is how many it receives: codes sharing a mode share its data, so every mode gets
        the mass the data give it, and a code with no data nearer to it than to another code gets
        weight 0. The networks do not change; the modes are not needed. Returns how many codes keep a
        weight above 0.
        """
        real = torch.as_tensor(real, device=self.centres.device).to(self.centres.dtype)
        if real.dim() != 2 or real.shape[1] != self.out_dim or not len(real):
            raise ValueError(f"refit_prior needs data samples (N, {self.out_dim}), got {tuple(real.shape)}.")
        nearest = torch.cdist(real, self.net(self.centres)).argmin(1)
        self.code_weights.copy_(torch.bincount(nearest, minlength=self.n_codes))
        return int((self.code_weights > 0).sum())

    def latent(self, z: torch.Tensor) -> torch.Tensor:
        """z' = μ_c + σ ε (B, latent_dim)."""
        return self.centres[self.code(z)] + self.sigma * z[:, 1:]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"expected noise of shape (B, {self.z_dim}), got {tuple(z.shape)}.")
        return self.net(self.latent(z))  # (B, out_dim)


class ParallelLinesGenerator(nn.Module):
    """G_θ(z) = (θ, Φ(z)) with Φ the standard normal CDF: the line x₁ = θ with a uniform height.

    Its only parameter is ``theta``, so ``G.theta.grad`` is the gradient the generator receives.
    Explained in 03_js_vs_wasserstein.
    """

    def __init__(self, theta: float = 1.0):
        super().__init__()
        self.z_dim, self.n_classes = 1, None
        self.hparams = dict(theta=float(theta))
        self.theta = nn.Parameter(torch.tensor(float(theta)))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        height = 0.5 * (1 + torch.erf(z[:, 0] / math.sqrt(2)))  # Φ(z) ~ U(0, 1)
        return torch.stack([self.theta.expand_as(height), height], 1)  # (B, 2)


class DistributionSampler(nn.Module):
    """A fixed "generator" whose samples are draws from ``dist`` (anything with ``sample(n, generator)``).

    It has no parameters; the noise only says how many samples and on which device, and the draws use
    torch's global generator, which :func:`gancourse.train.train` seeds and checkpoints. For training a
    discriminator against a known p_g (``train(..., train_g=False)``). Under torchrun every process
    draws the global batch from that generator (in the same state everywhere) and keeps its own rows,
    as the loop does with the noise, so the processes see different fakes whose union is one process's.
    """

    def __init__(self, dist):
        super().__init__()
        self.dist, self.z_dim, self.n_classes = dist, 1, None

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        from gancourse.distributed import Shard

        # z: this process's (b, 1) of the global (b·world, 1); the draw is the global batch's, cut to our rows
        return Shard.current().draw(lambda size: self.dist.sample(size[0]), len(z)).to(z.device)  # (b, dim)


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


class FashionClassifier(nn.Module):
    """A small CNN that tells the ten Fashion-MNIST classes apart: x (B, 1, 28, 28) in [-1, 1] -> logits (B, 10).

    Three 3×3 convolutions, each with 2× max pooling, batch norm and ReLU (28 -> 14 -> 7 -> 3 px), then
    a linear layer to ``features`` numbers and a last one to the logits. :meth:`features` is that
    penultimate layer: the space where :mod:`gancourse.metrics.classifier` compares real and generated
    images (a Fréchet distance, precision and recall), as Inception's pool layer serves for photographs.
    Trained weights ship with the package (:func:`gancourse.metrics.classifier.load_classifier`).
    Explained in 08_evaluation.
    """

    def __init__(self, width: int = 16, features: int = 96, n_classes: int = 10):
        super().__init__()
        self.n_features, self.n_classes = features, n_classes
        self.hparams = dict(width=width, features=features, n_classes=n_classes)
        layers: list[nn.Module] = []
        ch_in = 1
        for ch in (width, 2 * width, 4 * width):
            # pooling before batch norm and ReLU: a quarter of their cost on the CPU, and the same maxima
            # where the norm's scale is positive (both are then increasing functions of each pixel)
            layers += [nn.Conv2d(ch_in, ch, 3, 1, 1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(ch), nn.ReLU(True)]
            ch_in = ch
        self.conv = nn.Sequential(*layers)  # (B, 1, 28, 28) -> (B, 4·width, 3, 3)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(ch_in * 3 * 3, features), nn.ReLU(True))  # (B, F)
        self.head = nn.Linear(features, n_classes)  # (B, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer (B, F), after its ReLU."""
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            got = tuple(x.shape[1:]) if x.dim() == 4 else tuple(x.shape)
            raise ValueError(
                f"the Fashion-MNIST classifier takes 1×28×28 images (B, 1, 28, 28) in [-1, 1], got {got}; "
                f"it measures grey 28 px Fashion-MNIST-like images only."
            )
        return self.embed(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, n_classes)


def toy_networks(dim: int = 2, *, hidden: int = 128, depth: int = 3, z_dim: int = 2, pack: int = 1,
                 mixture_latent: bool = False, n_codes: int = 200, code_sigma: float = 0.01, latent_dim: int = 2):
    """(G, D) MLPs for ``dim``-D toy data; a packed D (PacGAN) sees ``pack · dim`` numbers.

    With ``mixture_latent`` G is a :class:`MixtureLatentGenerator` (``n_codes``, ``code_sigma``, ``latent_dim``).
    """
    if mixture_latent:
        G = MixtureLatentGenerator(n_codes=n_codes, latent_dim=latent_dim, sigma=code_sigma, out_dim=dim,
                                   hidden=hidden, depth=depth)
    else:
        G = MLPGenerator(z_dim=z_dim, out_dim=dim, hidden=hidden, depth=depth)
    return G, MLPDiscriminator(in_dim=dim * pack, hidden=hidden, depth=depth)


def image_networks(channels: int, image_size: int, *, width: int = 64, z_dim: int = 100, norm: str = "batch",
                   n_classes: int | None = None, g_norm: str = "batch"):
    """(G, D) DCGANs for ``channels``-channel ``image_size`` px images; ``norm`` is D's normalisation, ``g_norm`` G's.

    A WGAN-GP critic takes ``norm="none"``: batch norm makes each sample's score depend on the rest of
    the batch, while the gradient penalty constrains the gradient of one sample's score alone.
    """
    G = DCGANGenerator(z_dim=z_dim, image_size=image_size, channels=channels, width=width, n_classes=n_classes,
                       norm=g_norm)
    D = DCGANDiscriminator(image_size=image_size, channels=channels, width=width, norm=norm, n_classes=n_classes)
    return G, D


@torch.no_grad()
def generate(G: nn.Module, z: torch.Tensor | None = None, *, n: int | None = None, seed: int = 0,
             y: torch.Tensor | None = None, batch_size: int = 500) -> torch.Tensor:
    """G(z) as float32 on the CPU, in evaluation mode (batch norm uses its running statistics).

    Without ``z``, ``n`` samples from the fixed noise of ``seed``, so the same call gives the same
    samples. G's train/eval mode is restored afterwards.
    """
    if z is None:
        if n is None or n < 1:
            raise ValueError(f"generate needs noise z or a positive number of samples n, got n={n}.")
        z = sample_z(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    was_training = G.training
    G.eval()
    device = next(iter(G.parameters()), torch.empty(0)).device
    try:
        out = []
        for start in range(0, len(z), batch_size):
            zc = z[start:start + batch_size].to(device)
            out.append((G(zc) if y is None else G(zc, y[start:start + batch_size].to(device))).float().cpu())
        return torch.cat(out)
    finally:
        G.train(was_training)


MODEL_CLASSES = {c.__name__: c for c in (MLPGenerator, MLPDiscriminator, MixtureLatentGenerator,
                                         ParallelLinesGenerator, DCGANGenerator, DCGANDiscriminator,
                                         FashionClassifier)}


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
