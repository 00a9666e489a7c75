"""Ready-made runs on images (06, 07, 09); see :mod:`gancourse.experiments`."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from gancourse.config import resolve_device
from gancourse.data.batches import TensorBatches
from gancourse.errors import ConfigError
from gancourse.models import (
    DCGANDiscriminator,
    generate,
    image_networks,
    sample_z,
)
from gancourse.recipes import get_recipe, speed_settings
from gancourse.train import History, generator_average, train


class ImageRun(NamedTuple):
    """What :func:`train_image_recipe` returns: the two networks, the history, and G's moving average."""

    G: nn.Module
    D: nn.Module
    history: History
    G_ema: AveragedModel | None  # None unless the recipe sets ema_decay

    @property
    def sampler(self) -> nn.Module:
        """The generator to sample and evaluate: the average where the recipe keeps one, else G."""
        return self.G_ema.module if self.G_ema is not None else self.G


def train_image_recipe(recipe: str, data, *, steps: int, batch_size: int = 128, width: int = 64, z_dim: int = 100,
                       device=None, seed: int = 0, G=None, D=None, conditional: bool = False,
                       **train_kwargs) -> ImageRun:
    """Train ``recipe`` (one of :data:`gancourse.recipes.IMAGE_RECIPES`) on an image dataset; an :class:`ImageRun`.

    ``data`` is a dataset from :func:`gancourse.data.images.load_images`; it becomes one tensor on the
    training device. ``G`` and ``D`` default to :func:`gancourse.models.image_networks` with the
    recipe's critic normalisation and spectral norm. With ``conditional``, both get the class label as a
    second input (:func:`train_conditional_gan`) and the batches are (image, label) pairs. Other keywords
    go to :func:`gancourse.train.train` (``out_dir``, ``resume``, ``callbacks``, recipe overrides).
    """
    from gancourse.data.images import image_batches

    spec = get_recipe(recipe)
    device = resolve_device(device)
    n_classes = None
    if conditional:
        x, y = data.tensors(device)
        if len(y) == 0 or int(y.min()) < 0:
            raise ConfigError(f"a conditional GAN needs a label for every image; {data!r} has unlabelled images.")
        n_classes = int(y.max()) + 1
    torch.manual_seed(seed)  # the networks' initial weights
    if G is None or D is None:
        G, D = image_networks(data.channels, data.image_size, width=width, z_dim=z_dim, norm=spec.critic_norm,
                              spectral_norm=spec.critic_spectral_norm, n_classes=n_classes)
    if conditional:
        digest = data.fingerprint() if hasattr(data, "fingerprint") else None
        batches = TensorBatches((x, y), batch_size, seed=seed, source_fingerprint=digest)
    else:
        batches = image_batches(data, batch_size, device=device, seed=seed)
    settings = {**spec.settings, **speed_settings(device), **train_kwargs}
    if conditional:
        settings["conditional"] = True
    G_ema = generator_average(G, settings["ema_decay"]) if settings.get("ema_decay") else None
    history = train(G, D, batches, steps=steps, device=str(device), seed=seed, G_ema=G_ema, **settings)
    return ImageRun(G, D, history, G_ema)


def train_image_gan(recipe: str, data, *, steps: int, batch_size: int = 128, width: int = 64, z_dim: int = 100,
                    device=None, seed: int = 0, G=None, D=None, **train_kwargs):
    """:func:`train_image_recipe`'s ``(G, D, history)``, for recipes without a moving average ("dcgan", "wgan-gp")."""
    run = train_image_recipe(recipe, data, steps=steps, batch_size=batch_size, width=width, z_dim=z_dim,
                             device=device, seed=seed, G=G, D=D, **train_kwargs)
    return run.G, run.D, run.history


@dataclass
class CheckpointEstimates:
    """What fresh networks fitted to each frozen checkpoint of a run read off it, one value per checkpoint."""

    js: list[float]  # (log 4 − the fresh DCGAN discriminator's loss) / 2, averaged over its last fifth of steps
    w: list[float]  # the fresh WGAN-GP critic's mean D(real) − mean D(fake), averaged the same way


def estimates_on_checkpoints(generators, data, *, steps: int, batch_size: int = 64, width: int = 16, device=None,
                             seed: int = 1) -> CheckpointEstimates:
    """Fit a fresh DCGAN discriminator and a fresh WGAN-GP critic (one update a step, each recipe's optimiser
    and loss, G held fixed) for ``steps`` steps against each generator of ``generators`` (frozen copies, e.g.
    :class:`gancourse.callbacks.GeneratorCopies`); return their estimates of JS and W₁ on each.

    Every checkpoint meets networks with the same initial weights and the same real batches, so the two
    estimates differ between checkpoints only through G, never through how long a network has trained.
    """
    import numpy as np

    js, w = [], []
    tail = max(steps // 5, 1)
    for G in generators:
        for recipe in ("dcgan", "wgan-gp"):
            torch.manual_seed(seed)
            _, D = image_networks(data.channels, data.image_size, width=width, z_dim=G.z_dim,
                                  norm=get_recipe(recipe).critic_norm)
            _, _, history = train_image_gan(recipe, data, steps=steps, batch_size=batch_size, width=width,
                                            device=device, seed=seed, G=copy.deepcopy(G), D=D, train_g=False,
                                            n_critic=1, progress=False)
            if recipe == "dcgan":
                js.append(float((np.log(4) - np.mean(history.d_loss[-tail:])) / 2))
            else:
                w.append(float(np.mean(history["w_estimate"][-tail:])))
    return CheckpointEstimates(js, w)


def train_conditional_gan(recipe: str, data, *, steps: int, batch_size: int = 128, width: int = 64, z_dim: int = 100,
                          device=None, seed: int = 0, **train_kwargs):
    """Train ``recipe`` as a class-conditional GAN on labelled images; return ``(G, D, history)``.

    G gets a one-hot label appended to z and D the label as an extra input channel
    (:func:`gancourse.models.image_networks` with ``n_classes``); the fakes of each step are drawn for
    the labels of that step's real batch, so D judges (image, label) pairs (Mirza & Osindero 2014).
    """
    run = train_image_recipe(recipe, data, steps=steps, batch_size=batch_size, width=width, z_dim=z_dim,
                             device=device, seed=seed, conditional=True, **train_kwargs)
    return run.G, run.D, run.history


# name -> (recipe, G's keywords, D's keywords, train() keywords): the same data, D's convolutions and, unless
# G's keywords change its layers, the same initial generator for each
LOSS_ZOO: dict[str, tuple[str, dict, dict, dict]] = {
    "non-saturating": ("dcgan", {}, {}, {}),
    "hinge": ("hinge", {}, {}, {}),
    "least squares": ("least-squares", {}, {}, {}),
    "WGAN-GP": ("wgan-gp", {}, {}, {}),  # its recipe's critic has no batch norm
    "spectral norm": ("dcgan", {}, {"norm": "none", "spectral_norm": True}, {}),  # Miyato et al.: SN instead of BN
    "relativistic": ("dcgan", {}, {}, {"loss": "relativistic"}),  # RaSGAN, Jolicoeur-Martineau 2019
    "moving average": ("dcgan-ema", {}, {}, {}),  # the non-saturating run, also keeping G's average (Karras et al.)
    "TTUR": ("ttur", {}, {}, {}),  # D at 4e-4, G at 1e-4 (Heusel et al. 2017)
    "DiffAugment": ("diffaugment", {}, {}, {}),  # translation and cutout before D (Zhao et al. 2020)
    "SNGAN": ("sngan", {}, {}, {}),  # hinge loss and spectral norm in D (Miyato et al. 2018)
    "label smoothing": ("dcgan", {}, {}, {"label_smoothing": 0.1}),  # one-sided, Salimans et al. 2016
    "noisy labels": ("dcgan", {}, {}, {"label_flip": 0.05}),
    # Arjovsky et al. 2017, Figures 6-7: a DCGAN generator without batch norm, under each loss
    "non-saturating, G without BN": ("dcgan", {"g_norm": "none"}, {}, {}),
    "WGAN-GP, G without BN": ("wgan-gp", {"g_norm": "none"}, {}, {}),
}


@dataclass
class ZooRun:
    """One method of :data:`LOSS_ZOO` trained on the shared budget."""

    method: str
    G: nn.Module
    D: nn.Module
    history: History
    seconds: float
    average: nn.Module | None = None  # G's moving average, for a recipe that keeps one


def train_loss_zoo(data, *, budget: int, methods=None, batch_size: int = 128, width: int = 64, z_dim: int = 100,
                   device=None, seed: int = 0, **train_kwargs) -> dict[str, ZooRun]:
    """Train each of ``methods`` (names of :data:`LOSS_ZOO`, all by default) on the same budget.

    The budget counts the real batches D sees, so a method with ``n_critic`` critic steps gets
    ``budget // n_critic`` generator steps. Every method starts from the same generator weights (``seed``),
    except one without batch norm (``g_norm="none"``): other layers, so other weights from the same seed.
    """
    runs = {}
    for method in methods or LOSS_ZOO:
        if method not in LOSS_ZOO:
            raise ConfigError(f"unknown method {method!r}; choose among {', '.join(LOSS_ZOO)}.")
        recipe, g_kwargs, d_kwargs, overrides = LOSS_ZOO[method]
        spec = get_recipe(recipe)
        torch.manual_seed(seed)
        G, _ = image_networks(data.channels, data.image_size, width=width, z_dim=z_dim, **g_kwargs)
        D = DCGANDiscriminator(data.image_size, data.channels, width,
                               **{"norm": spec.critic_norm, "spectral_norm": spec.critic_spectral_norm, **d_kwargs})
        steps = max(budget // spec.settings.get("n_critic", 1), 1)
        start = time.perf_counter()
        run = train_image_recipe(recipe, data, steps=steps, batch_size=batch_size, device=device, seed=seed,
                                 G=G, D=D, **{**overrides, **train_kwargs})
        average = run.G_ema.module if run.G_ema is not None else None
        runs[method] = ZooRun(method, run.G, run.D, run.history, time.perf_counter() - start, average)
    return runs


def discriminator_confidence(data, settings: dict[str, dict], *, steps: int, batch_size: int = 64, width: int = 16,
                             lr_d: float = 1e-3, n_eval: int = 512, device=None,
                             seed: int = 0) -> dict[str, tuple[float, float]]:
    """Mean D(x) on real images and on G's samples after D is trained alone against a fixed, untrained G.

    One D per entry of ``settings`` (train() keywords, e.g. ``{"label_smoothing": 0.1}``), each from the
    same initial weights, with Adam at ``lr_d`` (larger than DCGAN's 2e-4: D alone gets near its optimum in
    a few hundred steps). The two sets hardly overlap, so the optimal D is known: 1 and 0 with plain
    labels, 1 - s and 0 with one-sided smoothing s, 1 - p and p with a share p of labels flipped. D has
    no batch norm, so its score of an image does not depend on the batch it is judged with.
    """
    device = resolve_device(device)
    x_real = data.tensors(limit=n_eval)[0]
    torch.manual_seed(seed)
    G, _ = image_networks(data.channels, data.image_size, width=width)
    z = sample_z(n_eval, G.z_dim, generator=torch.Generator().manual_seed(seed + 1))
    x_fake = generate(G, z)
    scores = {}
    for name, overrides in settings.items():
        torch.manual_seed(seed)
        D = DCGANDiscriminator(data.image_size, data.channels, width, norm="none")
        train_image_gan("dcgan", data, steps=steps, batch_size=batch_size, device=device, seed=seed, G=G, D=D,
                        train_g=False, progress=False, **{"lr_d": lr_d, **overrides})
        D.eval()
        with torch.no_grad():
            scores[name] = tuple(torch.sigmoid(D(x.to(device))).mean().item() for x in (x_real, x_fake))
    return scores
