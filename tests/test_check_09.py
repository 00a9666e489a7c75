import pytest
import torch
import torch.nn.functional as F

from gancourse import check_09, losses
from gancourse.check import ExerciseError
from gancourse.models import DCGANGenerator


def _placeholder(*args):
    raise NotImplementedError()


def test_hinge_check_passes_the_reference_and_fails_the_placeholder_and_a_hinge_without_its_clamp(capsys):
    assert check_09.hinge_d_loss(lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean()) == 4
    assert "right on 4 inputs" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="Hint"):  # without max(0, ·): the Wasserstein loss plus 2
        check_09.hinge_d_loss(lambda real, fake: (1 - real).mean() + (1 + fake).mean())
    with pytest.raises(ExerciseError, match="Hint"):  # the fake margin on the wrong side
        check_09.hinge_d_loss(lambda real, fake: F.relu(1 - real).mean() + F.relu(1 - fake).mean())
    with pytest.raises(ExerciseError, match="not answered yet"):
        check_09.hinge_d_loss(_placeholder)
    assert check_09.hinge_d_loss(losses.d_hinge) == 4


def test_conditioned_input_check_passes_the_reference_and_fails_the_placeholder_and_wrong_encodings(capsys):
    assert check_09.conditioned_input(lambda z, y, k: torch.cat([z, F.one_hot(y, k).float()], 1)) == 3
    assert "right on 3 inputs" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="Hint"):  # one-hot as wide as the batch's largest label
        check_09.conditioned_input(lambda z, y, k: torch.cat([z, F.one_hot(y).float()], 1))
    with pytest.raises(ExerciseError, match="Hint"):  # label first
        check_09.conditioned_input(lambda z, y, k: torch.cat([F.one_hot(y, k).float(), z], 1))
    with pytest.raises(ExerciseError, match="Hint"):  # the label as one number instead of a one-hot code
        check_09.conditioned_input(lambda z, y, k: torch.cat([z, y[:, None].float()], 1))
    with pytest.raises(ExerciseError, match="not answered yet"):
        check_09.conditioned_input(_placeholder)


def test_the_reference_is_what_the_conditional_generator_feeds_its_first_layer():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=6, image_size=28, channels=1, width=4, n_classes=10).eval()
    z, y = torch.randn(3, 6), torch.tensor([0, 4, 9])
    seen = {}
    G.net[0].register_forward_hook(lambda m, inputs, out: seen.update(x=inputs[0]))
    G(z, y)
    torch.testing.assert_close(seen["x"][:, :, 0, 0], check_09._conditioned_input(z, y, 10))
