"""Ready-made runs that notebooks, commands and benchmarks share.

Each function builds networks (:mod:`gancourse.models`) and data for a recipe
(:mod:`gancourse.recipes`), trains them with the one loop :func:`gancourse.train.train`, and returns
the trained networks with what was measured. Nothing here steps an optimizer itself.

- :func:`fit_discriminator`: D alone against a fixed generator, towards the optimal D* (02).
- :func:`saturation_race`: minimax against non-saturating loss from the same bad start (01).
- :func:`parallel_lines_experiment`: a BCE discriminator and a GP critic between two lines (03).
- :func:`train_toy`: a recipe on a 2-D toy (04, 05, ``gancourse train toy``, ``gancourse bench modes``).
- :func:`fit_critics`: critics trained alone under a range of clipping bounds and penalty weights (05's sliders).
- :func:`train_image_recipe`: an image recipe on an image dataset, data resident on the device, with G's moving
  average where the recipe keeps one (``gancourse train <recipe>``, ``gancourse bench quality``);
  :func:`train_image_gan` returns its ``(G, D, history)`` (06, 07).
- :func:`estimates_on_checkpoints`: a fresh discriminator and a fresh critic fitted to each frozen checkpoint (07).
- :func:`train_conditional_gan`, :func:`train_loss_zoo`, :func:`discriminator_confidence`: a class-conditional
  GAN, several losses on one budget, and what label smoothing and noisy labels do to D (09).
- :func:`theta_walk`, :func:`discriminator_sharpening`: θ of the parallel lines moved by each generator loss, and
  the non-saturating gradient while D sharpens (03).

The toy runs live in :mod:`gancourse.experiments.toy`, the image runs in
:mod:`gancourse.experiments.images`; both are imported from here.
"""

from gancourse.experiments.images import (  # noqa: F401
    LOSS_ZOO,
    CheckpointEstimates,
    ImageRun,
    ZooRun,
    discriminator_confidence,
    estimates_on_checkpoints,
    train_conditional_gan,
    train_image_gan,
    train_image_recipe,
    train_loss_zoo,
)
from gancourse.experiments.toy import (  # noqa: F401
    DISCRIMINATOR_LOSSES,
    REFIT_SAMPLES,
    CriticFit,
    FganFit,
    LinesResult,
    RaceResult,
    Sharpening,
    ThetaWalk,
    ToyRun,
    discriminator_sharpening,
    fgan_gaussian_fit,
    fit_critics,
    fit_discriminator,
    parallel_lines_experiment,
    saturation_race,
    theta_walk,
    train_toy,
)
