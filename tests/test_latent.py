import math

import pytest
import torch

from gancourse.latent import (
    group_latents,
    interpolate,
    jitter,
    latent_arithmetic,
    lerp,
    slerp,
    typical_norm,
)


def test_lerp_is_the_straight_line():
    z0, z1 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, 6.0])
    path = lerp(z0, z1, [0.0, 0.25, 1.0])
    torch.testing.assert_close(path, torch.tensor([[0.0, 2.0], [1.0, 3.0], [4.0, 6.0]]))


def test_slerp_on_orthogonal_unit_vectors_follows_the_quarter_circle():
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    t = torch.tensor([0.0, 1 / 3, 0.5, 1.0])
    angles = t * math.pi / 2
    expected = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    torch.testing.assert_close(slerp(e0, e1, t), expected)


def test_slerp_keeps_the_norm_where_lerp_loses_it():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 100, generator=g)
    z1 = z1 * z0.norm() / z1.norm()  # equal norms
    t = torch.linspace(0, 1, 9)
    norms = slerp(z0, z1, t).norm(dim=-1)
    torch.testing.assert_close(norms, z0.norm().expand(9))
    lerp_mid = lerp(z0, z1, 0.5)[0].norm()
    # two near-orthogonal vectors of norm r: the midpoint has norm about r / sqrt(2)
    assert lerp_mid < 0.8 * z0.norm()


def test_slerp_on_a_batch_of_pairs_and_nearly_parallel_vectors():
    z0 = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    z1 = torch.tensor([[0.0, 1.0], [2.0, 1e-6]])  # second pair: nearly parallel
    path = slerp(z0, z1, [0.5])
    assert path.shape == (1, 2, 2)
    torch.testing.assert_close(path[0, 0], torch.tensor([1.0, 1.0]) / math.sqrt(2))
    torch.testing.assert_close(path[0, 1], torch.tensor([2.0, 5e-7]))
    assert torch.isfinite(path).all()


def test_interpolate_includes_both_ends_and_checks_the_method():
    z0, z1 = torch.randn(2, 5)
    for method in ("lerp", "slerp"):
        path = interpolate(z0, z1, steps=6, method=method)
        assert path.shape == (6, 5)
        torch.testing.assert_close(path[0], z0)
        torch.testing.assert_close(path[-1], z1)
    with pytest.raises(ValueError, match="slerp"):
        interpolate(z0, z1, method="cubic")


def test_latent_arithmetic_averages_each_group():
    a = torch.tensor([[1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])  # mean (2, 0, 0)
    b = torch.tensor([[0.0, 1.0, 0.0]])
    c = torch.tensor([[0.0, 0.0, 4.0], [0.0, 0.0, 2.0]])  # mean (0, 0, 3)
    z = latent_arithmetic([a, c], [b], rescale=False)
    torch.testing.assert_close(z, torch.tensor([2.0, -1.0, 3.0]))
    rescaled = latent_arithmetic([a, c], [b])
    torch.testing.assert_close(rescaled.norm(), torch.tensor(typical_norm(3)))
    torch.testing.assert_close(rescaled / rescaled.norm(), z / z.norm())
    with pytest.raises(ValueError):
        latent_arithmetic([])


def test_jitter_and_groups():
    z = torch.zeros(4)
    near = jitter(z, n=1000, std=0.5, generator=torch.Generator().manual_seed(0))
    assert near.shape == (1000, 4)
    assert abs(near.std().item() - 0.5) < 0.03
    labels = torch.tensor([3, 7, 7])
    zs = torch.arange(6.0).reshape(3, 2)
    torch.testing.assert_close(group_latents(zs, labels, 7), zs[1:])
    with pytest.raises(ValueError, match="label 5"):
        group_latents(zs, labels, 5)


def test_walk_moves_each_coordinate_by_its_amount_along_orthonormal_directions():
    from gancourse.latent import random_directions, walk

    u = random_directions(100, 3, seed=1)
    torch.testing.assert_close(u @ u.T, torch.eye(3), atol=1e-5, rtol=0)
    z = torch.randn(100)
    moved = walk(z, u, [2.0, 0.0, -1.0])
    torch.testing.assert_close(u @ (moved - z), torch.tensor([2.0, 0.0, -1.0]), atol=1e-5, rtol=0)
    assert (moved - z).norm().item() == pytest.approx(5 ** 0.5, rel=1e-5)
    skewed = torch.stack([u[0], u[0] + u[1]])  # not orthonormal: the second amount also moves along u[0]
    assert not torch.allclose(skewed @ (walk(z, skewed, [0.0, 1.0]) - z), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="one amount per direction"):
        walk(z, u, [1.0])
