"""The published training recipes as one table, and the settings that make a device fast.

A :class:`Recipe` is a set of :func:`gancourse.train.train` keywords plus the two choices of network
that go with it: whether an image critic may use batch norm, and whether a toy generator gets a
mixture latent. The papers' numbers are kept as the papers give them (see ``reference``); a
benchmark that trains every method on the same budget replaces the learning rates with its own. A
recipe whose figures in ``gancourse bench modes`` were measured under other settings than the
benchmark's shared protocol carries them (``measured_setup``), and the benchmark runs it under them.
:func:`speed_settings` gives the device-dependent settings (memory layout, bfloat16) that change
speed but not the recipe. Explained in 04_mode_collapse, 05_wgan, 06_dcgan, 07_wgan_gp and
09_conditional_and_beyond.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gancourse.errors import ConfigError


@dataclass(frozen=True)
class Recipe:
    description: str
    settings: dict = field(default_factory=dict)  # train() keywords
    reference: str = ""  # where the numbers come from
    critic_norm: str = "batch"  # normalisation of an image D; "none" where a gradient penalty is per sample
    critic_spectral_norm: bool = False  # every layer of an image D under spectral norm (Miyato et al. 2018)
    mixture_latent: bool = False  # toy G with a latent mixture of small Gaussians (MixtureLatentGenerator)
    refit_prior: bool = False  # after training, weight each mixture code by the share of the data nearest to it
    # fields of gancourse.bench.modes.ToySetup its benchmark figures were measured under (docs/benchmarks.md):
    # `bench modes` runs it under them where the command line does not say otherwise; empty: the shared protocol
    measured_setup: dict = field(default_factory=dict)


# The setup the r1-mixture recipes were measured under (bench/modes_measured.json; 04): D takes 5 steps per
# G step with R1 on the last of them, Adam 2e-3, an 8-dimensional code space, 2,000 generator steps
_R1_MIXTURE_SETUP = {"steps": 2000, "n_critic": 5, "lr": 2e-3, "latent_dim": 8, "r1_lazy": True}

RECIPES: dict[str, Recipe] = {
    "minimax": Recipe("minimax loss: D's BCE, G minimises E log(1 - D(G(z)))", {"loss": "minimax"},
                      "Goodfellow et al. 2014"),
    "minimax-sgd": Recipe("minimax loss, plain SGD", {"loss": "minimax", "optimizer": "sgd"},
                          "Goodfellow et al. 2014 (SGD with momentum there; here none)"),
    "nonsaturating": Recipe("non-saturating generator loss -E log D(G(z))", {"loss": "nonsaturating"},
                            "Goodfellow et al. 2014, section 3"),
    "dcgan": Recipe("DCGAN: non-saturating, Adam 2e-4, β=(0.5, 0.999), one D step per G step",
                    {"loss": "nonsaturating", "n_critic": 1, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)},
                    "Radford et al. 2016"),
    "hinge": Recipe("hinge loss: D minimises E max(0, 1 - D(x)) + E max(0, 1 + D(G(z))), G maximises E D(G(z)); "
                    "DCGAN's Adam", {"loss": "hinge", "n_critic": 1, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)},
                    "Lim & Ye 2017; Miyato et al. 2018 (with DCGAN's optimizer here)"),
    "least-squares": Recipe("least squares (LSGAN, targets 0/1): D minimises ½E(D(x) - 1)² + ½E D(G(z))²; DCGAN's Adam",
                            {"loss": "least_squares", "n_critic": 1, "lr_g": 2e-4, "lr_d": 2e-4,
                             "betas": (0.5, 0.999)},
                            "Mao et al. 2017 (Adam 2e-4, β1 = 0.5 as in their experiments)"),
    "wgan-clipping": Recipe("WGAN: weights clipped to ±0.01, RMSProp 5e-5, 5 critic steps",
                            {"loss": "wasserstein", "optimizer": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5,
                             "clip_value": 0.01, "n_critic": 5},
                            "Arjovsky et al. 2017, Algorithm 1"),
    "wgan-gp": Recipe("WGAN-GP: gradient penalty 10, 5 critic steps, Adam 1e-4, β=(0.5, 0.9)",
                      {"loss": "wasserstein", "gp_weight": 10.0, "n_critic": 5, "lr_g": 1e-4, "lr_d": 1e-4,
                       "betas": (0.5, 0.9)},
                      "Gulrajani et al. 2017 (β1 = 0.5 as in the authors' MNIST and toy code)", critic_norm="none"),
    "pacgan4": Recipe("non-saturating, D judges packs of 4 samples", {"loss": "nonsaturating", "pack": 4},
                      "Lin et al. 2018"),
    "r1-mixture": Recipe("non-saturating, R1 penalty 0.1 on D, generator with a 200-code mixture latent",
                         {"loss": "nonsaturating", "r1_weight": 0.1},
                         "Mescheder et al. 2018 (R1); Gurumurthy et al. 2017 (mixture latent)", mixture_latent=True,
                         measured_setup=_R1_MIXTURE_SETUP),
    # r1-mixture's two changes one at a time, under its setup: what each does alone (04; docs/benchmarks.md)
    "r1-only": Recipe("r1-mixture without the mixture latent: non-saturating, R1 penalty 0.1 on D, Gaussian noise",
                      {"loss": "nonsaturating", "r1_weight": 0.1}, "Mescheder et al. 2018",
                      measured_setup=_R1_MIXTURE_SETUP),
    "mixture-only": Recipe("r1-mixture without R1: non-saturating, generator with a 200-code mixture latent",
                           {"loss": "nonsaturating"}, "Gurumurthy et al. 2017", mixture_latent=True,
                           measured_setup=_R1_MIXTURE_SETUP),
    "r1-mixture-refit": Recipe("r1-mixture, then each code weighted by the share of the data nearest to it",
                               {"loss": "nonsaturating", "r1_weight": 0.1},
                               "r1-mixture; the weights: MixtureLatentGenerator.refit_prior", mixture_latent=True,
                               refit_prior=True, measured_setup=_R1_MIXTURE_SETUP),
}


# The image recipes after 2017, each DCGAN's networks and budget with one or more tricks; `gancourse bench
# quality` trains them side by side (docs/benchmarks.md). EMA's decay 0.995 (a half-life of 138 steps) suits
# runs of a few thousand steps: 0.999 would still weigh the first weights at 47 % after 750 steps.
_DCGAN = RECIPES["dcgan"].settings
_SNGAN = {"loss": "hinge", "n_critic": 1, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)}
_AUGMENT = {"augment": "translation,cutout"}
RECIPES.update({
    "dcgan-ema": Recipe("DCGAN, sampled from the exponential moving average of G's weights (decay 0.995)",
                        {**_DCGAN, "ema_decay": 0.995}, "Karras et al. 2018; Yazıcı et al. 2019"),
    "ttur": Recipe("DCGAN with two time-scales: D learns at 4e-4, G at 1e-4", {**_DCGAN, "lr_d": 4e-4, "lr_g": 1e-4},
                   "Heusel et al. 2017 (the rates of Zhang et al. 2019)"),
    "diffaugment": Recipe("DCGAN with DiffAugment (translation and cutout) on everything D sees",
                          {**_DCGAN, **_AUGMENT}, "Zhao et al. 2020"),
    "sngan": Recipe("hinge loss, spectral norm on every layer of D instead of batch norm, Adam 2e-4, β=(0.5, 0.999)",
                    _SNGAN, "Miyato et al. 2018 (their setting C, one D step per G step)", critic_norm="none",
                    critic_spectral_norm=True),
    "sngan-ema-augment": Recipe("sngan with G's moving average (0.995) and DiffAugment (translation, cutout)",
                                {**_SNGAN, **_AUGMENT, "ema_decay": 0.995},
                                "Miyato et al. 2018; Karras et al. 2018; Zhao et al. 2020", critic_norm="none",
                                critic_spectral_norm=True),
})
# the recipes `gancourse train <name>` trains on images, with the DCGAN networks
IMAGE_RECIPES = ("dcgan", "wgan-gp", "hinge", "least-squares", "dcgan-ema", "ttur", "diffaugment", "sngan",
                 "sngan-ema-augment")


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}.")
    return RECIPES[name]


def speed_settings(device) -> dict:
    """The train() settings that make image GANs fast on ``device``; they do not change the recipe.

    channels_last lets oneDNN (CPU) and cuDNN (GPU) pick their NHWC convolution kernels, which
    are the fast ones for these small maps; bf16 autocast halves memory traffic on GPUs.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return {"channels_last": True, "bf16": torch.cuda.is_bf16_supported()}
    if device.type == "cpu":
        return {"channels_last": True}
    return {}
