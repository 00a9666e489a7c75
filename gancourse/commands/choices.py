"""The names and defaults the ``gancourse`` command offers, written out, so that building its parser
imports neither torch nor SciPy: ``gancourse --help`` and every ``gancourse X --help`` answer at once.

Each list here is a copy of the package's own (the loss families, the recipes, the datasets, the
benchmark's defaults); ``tests/test_cli.py`` checks every copy against its source, so a name added
there and forgotten here fails a test, not a user.
"""

from __future__ import annotations

LOSSES = ("minimax", "nonsaturating", "wasserstein", "hinge", "least_squares", "relativistic", "fgan_kl",
          "fgan_reverse_kl", "fgan_js", "fgan_pearson", "fgan_hellinger", "fgan_tv")  # gancourse.losses.LOSS_FAMILIES
TOY_DATASETS = ("gaussian1d", "gaussian2d", "ring8", "grid25")  # gancourse.data.toy.TOY_NAMES
IMAGE_DATASETS = ("fashion-mnist", "mnist", "cifar10", "celeba", "digits", "folder:PATH")  # data.images
FID_FEATURES = ("inception", "classifier")  # gancourse.metrics.fid.FEATURES
RECIPES = ("minimax", "minimax-sgd", "nonsaturating", "dcgan", "hinge", "least-squares", "wgan-clipping", "wgan-gp",
           "pacgan4", "r1-mixture", "r1-only", "mixture-only", "r1-mixture-refit", "dcgan-ema", "ttur", "diffaugment",
           "sngan", "sngan-ema-augment")  # gancourse.recipes.RECIPES
IMAGE_RECIPES = ("dcgan", "wgan-gp", "hinge", "least-squares", "dcgan-ema", "ttur", "diffaugment", "sngan",
                 "sngan-ema-augment")  # gancourse.recipes.IMAGE_RECIPES
BENCH_QUALITY_RECIPES = ("dcgan", "dcgan-ema", "ttur", "diffaugment", "sngan",
                         "sngan-ema-augment")  # gancourse.bench.quality.DEFAULT_RECIPES
BENCH_METHODS = ("minimax", "nonsaturating", "wgan-gp", "pacgan4", "r1-mixture")  # gancourse.bench.modes.METHODS
BENCH_MIXTURES = ("ring8", "grid25")  # gancourse.bench.modes.MIXTURES
MIXTURE_SPEC_HELP = "ring8, grid25, ring:K:RADIUS:STD or grid:K:SPACING:STD (K a square for a grid)"  # data.toy
# gancourse.bench.modes.ToySetup's defaults, as the help of `bench modes` states them
BENCH_DEFAULTS = {"steps": 3000, "lr": 0.001, "n_codes": 200, "code_sigma": 0.01, "latent_dim": 2, "hidden": 128}
# gancourse.recipes.RECIPES' measured_setup, where a recipe has one: what `bench modes` runs it under by default
BENCH_MEASURED_SETUPS = {name: {"steps": 2000, "n_critic": 5, "lr": 0.002, "latent_dim": 8, "r1_lazy": True}
                         for name in ("r1-mixture", "r1-only", "mixture-only", "r1-mixture-refit")}
