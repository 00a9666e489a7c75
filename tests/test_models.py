import pytest
import torch

from gancourse.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    build,
    describe,
    sample_z,
)


def test_mlp_shapes():
    G, D = MLPGenerator(z_dim=3, out_dim=2, hidden=16, depth=2), MLPDiscriminator(in_dim=2, hidden=16)
    x = G(sample_z(5, 3))
    assert x.shape == (5, 2) and D(x).shape == (5,)


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_dcgan_shapes_and_range(size, channels):
    G = DCGANGenerator(z_dim=16, image_size=size, channels=channels, width=8)
    D = DCGANDiscriminator(image_size=size, channels=channels, width=8)
    x = G(sample_z(3, 16))
    assert x.shape == (3, channels, size, size)
    assert x.abs().max() <= 1
    assert D(x).shape == (3,)


def test_dcgan_init_is_n_0_002():
    G = DCGANGenerator(z_dim=100, image_size=64, channels=3, width=64)
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)])
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3


def test_dcgan_follows_guidelines():
    G = DCGANGenerator(image_size=32, channels=3, width=8)
    D = DCGANDiscriminator(image_size=32, channels=3, width=8)
    g_layers, d_layers = list(G.net), list(D.net)
    assert isinstance(g_layers[-1], torch.nn.Tanh) and not isinstance(g_layers[-2], torch.nn.BatchNorm2d)
    assert not isinstance(d_layers[1], torch.nn.BatchNorm2d)  # no norm on D's input layer
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, torch.nn.LeakyReLU))
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in D.modules())


@pytest.mark.parametrize("norm,kind", [("batch", torch.nn.BatchNorm2d), ("layer", torch.nn.GroupNorm)])
def test_critic_norms(norm, kind):
    D = DCGANDiscriminator(image_size=28, channels=1, width=8, norm=norm)
    assert any(isinstance(m, kind) for m in D.modules())
    none = DCGANDiscriminator(image_size=28, channels=1, width=8, norm="none")
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)) for m in none.modules())


def test_spectral_norm_bounds_layers():
    D = DCGANDiscriminator(image_size=28, channels=1, width=8, norm="none", spectral_norm=True)
    for _ in range(20):  # power iterations run in training-mode forwards
        D(torch.randn(2, 1, 28, 28))
    conv = D.net[0]
    assert hasattr(conv, "parametrizations")
    sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
    assert sigma < 1.2


def test_conditional_models():
    G = DCGANGenerator(z_dim=8, image_size=28, channels=1, width=8, n_classes=10)
    D = DCGANDiscriminator(image_size=28, channels=1, width=8, n_classes=10)
    y = torch.tensor([0, 3, 9])
    assert D(G(sample_z(3, 8), y), y).shape == (3,)
    with pytest.raises(ValueError, match="conditional"):
        G(sample_z(3, 8))


def test_bad_image_size_names_supported_sizes():
    with pytest.raises(ValueError, match=r"\(28, 32, 64\)"):
        DCGANGenerator(image_size=48)
    with pytest.raises(ValueError, match=r"\(28, 32, 64\)"):
        DCGANDiscriminator(image_size=100)


def test_mismatched_batch_says_expected_and_got():
    D = DCGANDiscriminator(image_size=28, channels=1, width=8)
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\).*got \(3, 28, 28\)"):
        D(torch.randn(2, 3, 28, 28))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\).*got \(1, 32, 32\)"):
        D(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        MLPDiscriminator(in_dim=2)(torch.randn(4, 3))


def test_unknown_norm_and_activation():
    with pytest.raises(ValueError, match="batch, layer, none"):
        DCGANDiscriminator(norm="instance")
    with pytest.raises(ValueError, match="unknown activation"):
        MLPGenerator(activation="swishy")


def test_describe_and_build_round_trip():
    G = DCGANGenerator(z_dim=16, image_size=32, channels=3, width=8)
    G2 = build(describe(G))
    G2.load_state_dict(G.state_dict())
    z = sample_z(2, 16)
    G.eval(), G2.eval()
    torch.testing.assert_close(G(z), G2(z))
    with pytest.raises(ValueError, match="cannot rebuild"):
        build({"class": "Transformer"})
