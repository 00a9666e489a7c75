import pytest
import torch

from gancourse.losses import LOSS_FAMILIES
from gancourse.recipes import RECIPES, get_recipe, speed_settings
from gancourse.train import TrainConfig


def test_the_papers_settings():
    dcgan, clip, gp = (RECIPES[n].settings for n in ("dcgan", "wgan-clipping", "wgan-gp"))
    # Radford et al.: Adam 2e-4, β1 0.5
    assert (dcgan["loss"], dcgan["lr_g"], dcgan["lr_d"], dcgan["betas"]) == ("nonsaturating", 2e-4, 2e-4, (0.5, 0.999))
    # Arjovsky et al., Algorithm 1: RMSProp 5e-5, c = 0.01, n_critic = 5
    assert (clip["optimizer"], clip["lr_d"], clip["clip_value"], clip["n_critic"]) == ("rmsprop", 5e-5, 0.01, 5)
    # Gulrajani et al.: λ = 10, n_critic = 5, Adam 1e-4, β2 = 0.9
    assert (gp["gp_weight"], gp["n_critic"], gp["lr_d"], gp["betas"][1]) == (10.0, 5, 1e-4, 0.9)
    assert RECIPES["wgan-gp"].critic_norm == "none" and RECIPES["dcgan"].critic_norm == "batch"
    assert RECIPES["pacgan4"].settings["pack"] == 4 and RECIPES["r1-mixture"].mixture_latent


def test_every_recipe_is_a_valid_training_config():
    for name, recipe in RECIPES.items():
        assert recipe.settings["loss"] in LOSS_FAMILIES, name
        TrainConfig.make(None, recipe.settings)  # raises on an unknown or invalid setting
        assert recipe.description and recipe.reference, name


def test_unknown_recipe_lists_the_names():
    with pytest.raises(ValueError, match="minimax, minimax-sgd, nonsaturating"):
        get_recipe("vanilla")


def test_speed_settings_per_device():
    assert speed_settings("cpu") == {"channels_last": True}
    assert speed_settings(torch.device("meta")) == {}
