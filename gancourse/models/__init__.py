"""Every network of the course, one module per family, and how to record, rebuild and sample them.

Generators map noise ``z`` (B, z_dim) to samples; discriminators (and critics, the same class with
``norm="layer"`` or ``"none"``) map samples to one logit each, shape (B,).

* :mod:`gancourse.models.toy`: MLPs for 2-D toys, the mixture-latent and parallel-lines generators and
  a fixed sampler (02_optimal_discriminator, 03_js_vs_wasserstein, 04_mode_collapse);
* :mod:`gancourse.models.dcgan`: the DCGAN pair for images (06_dcgan, 07_wgan_gp, 09_conditional_and_beyond);
* :mod:`gancourse.models.classifier`: :class:`FashionClassifier`, the feature space of the Fashion-MNIST
  metrics (08_evaluation).

Here: the registry of every class (:data:`MODEL_CLASSES`), :func:`describe` and :func:`build` to record and
rebuild any of them for checkpoints (except the sampler, which holds a distribution), the pairs
:func:`toy_networks` and :func:`image_networks`, and :func:`generate`, which draws samples from fixed
noise in evaluation mode. A new family is a new module, and one line in :data:`MODEL_CLASSES`.
"""

from __future__ import annotations

import torch
from torch import nn

from gancourse.models.classifier import FashionClassifier
from gancourse.models.dcgan import (
    IMAGE_SIZES,
    NORMS,
    DCGANDiscriminator,
    DCGANGenerator,
    conv_output_side,
    conv_transpose_output_side,
    dcgan_init_,
)
from gancourse.models.toy import (
    DistributionSampler,
    GaussianGenerator,
    MixtureLatentGenerator,
    MLPDiscriminator,
    MLPGenerator,
    ParallelLinesGenerator,
    sample_z,
)

__all__ = ["IMAGE_SIZES", "MODEL_CLASSES", "NORMS", "DCGANDiscriminator", "DCGANGenerator", "DistributionSampler",
           "FashionClassifier",
           "GaussianGenerator", "MLPDiscriminator", "MLPGenerator", "MixtureLatentGenerator", "ParallelLinesGenerator",
           "build", "conv_output_side", "conv_transpose_output_side", "dcgan_init_", "describe", "generate",
           "image_networks", "sample_z", "toy_networks"]


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
                   n_classes: int | None = None, g_norm: str = "batch", spectral_norm: bool = False):
    """(G, D) DCGANs for ``channels``-channel ``image_size`` px images; ``norm`` is D's normalisation, ``g_norm`` G's;
    ``spectral_norm`` puts every layer of D under spectral norm (Miyato et al. 2018).

    A WGAN-GP critic takes ``norm="none"``: batch norm makes each sample's score depend on the rest of
    the batch, while the gradient penalty constrains the gradient of one sample's score alone.
    """
    G = DCGANGenerator(z_dim=z_dim, image_size=image_size, channels=channels, width=width, n_classes=n_classes,
                       norm=g_norm)
    D = DCGANDiscriminator(image_size=image_size, channels=channels, width=width, norm=norm, n_classes=n_classes,
                           spectral_norm=spectral_norm)
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
                                         ParallelLinesGenerator, GaussianGenerator, DCGANGenerator, DCGANDiscriminator,
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
