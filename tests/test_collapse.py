import pytest
import torch
from torch.testing import assert_close

from gancourse.collapse import MixtureLatentGenerator


def test_codes_are_uniform_over_all_k():
    G = MixtureLatentGenerator(n_codes=10)
    z = torch.randn(100_000, G.z_dim, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(G.code(z), minlength=10).float()
    assert len(counts) == 10
    assert_close(counts / counts.sum(), torch.full((10,), 0.1), atol=0.005, rtol=0)


def test_code_is_read_off_the_first_coordinate():
    G = MixtureLatentGenerator(n_codes=4)
    z = torch.zeros(3, G.z_dim)
    z[:, 0] = torch.tensor([-10.0, 0.1, 10.0])  # Φ = 0, just over 1/2, 1
    assert G.code(z).tolist() == [0, 2, 3]


def test_latent_is_the_code_centre_plus_sigma_noise():
    G = MixtureLatentGenerator(n_codes=5, latent_dim=3, sigma=0.25)
    z = torch.randn(64, 4)
    assert_close(G.latent(z), G.centres[G.code(z)] + 0.25 * z[:, 1:])


def test_zero_sigma_makes_one_point_per_code():
    G = MixtureLatentGenerator(n_codes=3, sigma=0.0, hidden=16, depth=1)
    z = torch.randn(500, G.z_dim)
    x = G(z)
    assert x.shape == (500, 2)
    assert len(torch.unique(x.detach(), dim=0)) == 3


def test_bad_shapes_and_settings_are_refused():
    G = MixtureLatentGenerator(latent_dim=2)
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        G(torch.randn(4, 2))
    with pytest.raises(ValueError):
        MixtureLatentGenerator(n_codes=0)
    with pytest.raises(ValueError):
        MixtureLatentGenerator(sigma=-1.0)
    assert G.hparams["n_codes"] == 200 and G.z_dim == 3
