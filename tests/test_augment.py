import pytest
import torch

from gancourse.augment import DiffAugment, parse_policy
from gancourse.errors import ConfigError


def test_policies_are_parsed_and_unknown_or_repeated_names_refused():
    assert parse_policy("") == () and parse_policy("translation, cutout") == ("translation", "cutout")
    with pytest.raises(ConfigError, match="unknown augmentation colour"):
        parse_policy("translation,colour")
    with pytest.raises(ConfigError, match="twice"):
        parse_policy("cutout,cutout")


def _shift(x, dy, dx):
    """x moved by (dy, dx) whole pixels, zeros where nothing moved in."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _shift_found(original, moved, largest):
    """Whether ``moved`` is ``original`` shifted by at most ``largest`` whole pixels each way."""
    return any(torch.equal(_shift(original, dy, dx), moved)
               for dy in range(-largest, largest + 1) for dx in range(-largest, largest + 1))


def test_translation_shifts_each_sample_by_whole_pixels_up_to_an_eighth_of_the_side():
    torch.manual_seed(0)
    x = torch.rand(32, 1, 28, 28) + 0.5  # no zeros of its own
    y = DiffAugment("translation")(x)
    assert all(_shift_found(x[i], y[i], 3) for i in range(len(x)))  # 28 / 8 = 3.5: at most 3 px
    assert len({tuple((y[i] == 0).nonzero()[:1].flatten().tolist()) for i in range(len(x))}) > 3  # draws differ
    # the wrong variant: a 5-pixel shift is not among the moves the check accepts
    assert not _shift_found(x[0], _shift(x[0], 5, 0), 3)


def test_cutout_zeroes_one_square_of_half_the_side_per_sample():
    torch.manual_seed(0)
    x = torch.ones(16, 1, 28, 28)
    y = DiffAugment("cutout")(x)
    zeros = (y == 0)[:, 0]
    assert zeros.sum((1, 2)).tolist() == [14 * 14] * 16
    rows, cols = zeros.any(2), zeros.any(1)
    assert rows.sum(1).tolist() == [14] * 16 and cols.sum(1).tolist() == [14] * 16  # a square, not scattered pixels
    assert not torch.equal(zeros[0], zeros[1])  # each sample its own place
    assert (x == 0).sum() == 0  # the wrong variant, the images untouched, has no square


def test_gradients_pass_through_the_augmentation_and_the_draws_follow_torch_seed():
    aug = DiffAugment("translation,cutout")
    x = torch.rand(8, 1, 28, 28, requires_grad=True)
    torch.manual_seed(3)
    y = aug(x)
    y.sum().backward()
    grad = x.grad
    assert 0 < grad.sum() < x.numel()  # some pixels reach D, the cut-out and shifted-out ones do not
    torch.manual_seed(3)
    assert torch.equal(aug(x), y)
    torch.manual_seed(4)
    assert not torch.equal(aug(x), y)
    assert DiffAugment("")(x) is x
