import math

import pytest
import torch

from gancourse.metrics.pixels import (
    mean_image_correlation,
    nearest_distance,
    nearest_labels,
    pca_frechet_distance,
    pixel_diversity,
)


def test_pixel_measurements_on_known_cases():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 1, 6, 6, generator=g)
    assert mean_image_correlation(x * 2, x) == pytest.approx(1.0)
    assert mean_image_correlation(-x, x) == pytest.approx(-1.0)
    assert pixel_diversity(x[:1].expand(50, -1, -1, -1)) == 0
    assert pixel_diversity(x) == pytest.approx((1 / 12) ** 0.5, rel=0.05)  # uniform pixels: std 1/√12
    torch.testing.assert_close(nearest_distance(x[:5], x), torch.zeros(5), atol=1e-3, rtol=0)  # cdist via matmul
    assert nearest_distance(x[:1] + 0.5, x[:1]).item() == pytest.approx(0.5)


def test_nearest_labels_take_the_closest_reference():
    reference = torch.tensor([[0.0, 0.0], [10.0, 10.0]])
    labels = nearest_labels(torch.tensor([[1.0, -1.0], [9.0, 8.0], [6.0, 6.0], [4.0, 4.0]]), reference,
                            torch.tensor([3, 7]))  # fmt: skip
    assert labels.tolist() == [3, 7, 7, 3]


def test_pca_frechet_distance_of_a_shift_is_its_squared_length():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4000, 1, 4, 4, generator=g) * torch.linspace(0.5, 3, 16).reshape(1, 1, 4, 4)
    assert pca_frechet_distance(x, x, k=8) == pytest.approx(0.0, abs=1e-6)
    shift = torch.zeros(1, 1, 4, 4)
    shift[0, 0, 3, 3] = 2.0  # along the direction of largest variance, inside the top-k components
    assert pca_frechet_distance(x + shift, x, k=8) == pytest.approx(4.0, rel=1e-3)
    assert math.isfinite(pca_frechet_distance(x[:100] * 0.5, x, k=8))
