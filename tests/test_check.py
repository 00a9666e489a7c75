import pytest
import torch.nn.functional as F

from gancourse import check, losses


def _placeholder(*args):
    raise NotImplementedError()


def test_nonsaturating_loss_check_passes_the_reference_and_fails_the_minimax_loss_and_the_placeholder(capsys):
    assert check.nonsaturating_loss(lambda logits: -F.logsigmoid(logits).mean()) == 4
    assert "right on 4 inputs" in capsys.readouterr().out
    with pytest.raises(check.ExerciseError, match="Hint"):
        check.nonsaturating_loss(losses.g_minimax)
    with pytest.raises(check.ExerciseError, match="not answered yet"):
        check.nonsaturating_loss(_placeholder)


def test_an_answer_that_forgets_to_return_or_gives_a_tensor_says_so():
    with pytest.raises(check.ExerciseError, match="forget `return`"):
        check.nonsaturating_loss(lambda logits: None)
    with pytest.raises(check.ExerciseError, match="one number"):
        check.nonsaturating_loss(lambda logits: F.softplus(-logits))  # no mean
    assert issubclass(check.ExerciseError, AssertionError)  # an nbgrader test cell fails on it
