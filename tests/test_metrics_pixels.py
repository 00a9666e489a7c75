import pytest
import torch

from gancourse.metrics.pixels import nearest_distance, nearest_labels


def test_pixel_measurements_on_known_cases():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 1, 6, 6, generator=g)
    torch.testing.assert_close(nearest_distance(x[:5], x), torch.zeros(5), atol=1e-3, rtol=0)  # cdist via matmul
    assert nearest_distance(x[:1] + 0.5, x[:1]).item() == pytest.approx(0.5)


def test_nearest_labels_take_the_closest_reference():
    reference = torch.tensor([[0.0, 0.0], [10.0, 10.0]])
    labels = nearest_labels(torch.tensor([[1.0, -1.0], [9.0, 8.0], [6.0, 6.0], [4.0, 4.0]]), reference,
                            torch.tensor([3, 7]))  # fmt: skip
    assert labels.tolist() == [3, 7, 7, 3]
