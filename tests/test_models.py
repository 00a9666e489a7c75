import pytest
import torch
from torch.testing import assert_close

from gancourse.data.toy import Gaussian
from gancourse.models import (
    MODEL_CLASSES,
    DCGANDiscriminator,
    DCGANGenerator,
    DistributionSampler,
    MixtureLatentGenerator,
    MLPDiscriminator,
    MLPGenerator,
    ParallelLinesGenerator,
    build,
    describe,
    generate,
    image_networks,
    sample_z,
    toy_networks,
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


@pytest.mark.parametrize("G", [
    DCGANGenerator(z_dim=16, image_size=32, channels=3, width=8),
    MLPGenerator(z_dim=3, out_dim=2, hidden=8, depth=1),
    MixtureLatentGenerator(n_codes=7, latent_dim=2, sigma=0.1, hidden=8, depth=1),
    ParallelLinesGenerator(0.3),
], ids=lambda G: type(G).__name__)
def test_describe_and_build_round_trip(G):
    G2 = build(describe(G))
    G2.load_state_dict(G.state_dict())
    z = sample_z(5, G.z_dim)
    assert_close(generate(G, z), generate(G2, z))


def test_every_registered_class_can_be_rebuilt():
    for name, cls in MODEL_CLASSES.items():
        model = cls()
        assert type(build(describe(model))) is cls, name
    with pytest.raises(ValueError, match="cannot rebuild"):
        build({"class": "Transformer"})
    with pytest.raises(ValueError, match="cannot rebuild"):
        build(describe(DistributionSampler(Gaussian(0.0, 1.0))))  # it holds a distribution, not weights


def test_generate_is_fixed_noise_in_eval_mode_and_keeps_the_mode():
    G = DCGANGenerator(z_dim=100, image_size=28, channels=1, width=8)
    G.train()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    x = generate(G, torch.randn(7, 100), batch_size=3)
    assert x.shape == (7, 1, 28, 28) and x.device.type == "cpu" and G.training
    for k, v in G.state_dict().items():
        assert_close(v, before[k])  # eval mode: running statistics untouched
    assert_close(generate(G, n=5, seed=1), generate(G, n=5, seed=1))
    assert not torch.allclose(generate(G, n=5, seed=1), generate(G, n=5, seed=2))
    with pytest.raises(ValueError, match="positive number of samples"):
        generate(G)


def test_generate_passes_labels_to_a_conditional_generator():
    G = DCGANGenerator(z_dim=8, image_size=28, channels=1, width=8, n_classes=10)
    z = sample_z(4, 8)
    a, b = generate(G, z, y=torch.zeros(4, dtype=torch.long)), generate(G, z, y=torch.full((4,), 3))
    assert a.shape == (4, 1, 28, 28) and not torch.allclose(a, b)


def test_toy_and_image_networks():
    G, D = toy_networks(2, pack=4, hidden=16, depth=1)
    assert isinstance(G, MLPGenerator) and D.in_dim == 8
    G, D = toy_networks(2, mixture_latent=True, n_codes=5)
    assert isinstance(G, MixtureLatentGenerator) and G.n_codes == 5 and D.in_dim == 2
    _, D = image_networks(1, 28, width=8)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    G, C = image_networks(3, 32, width=8, norm="none")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in C.modules())
    assert G(torch.randn(2, 100)).shape == (2, 3, 32, 32)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())  # norm is D's; G keeps its batch norm
    G, D = image_networks(1, 28, width=8, g_norm="none")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules()) and G.hparams["norm"] == "none"
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())


# --- the mixture-latent generator -------------------------------------------------------------


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
    x = G(torch.randn(500, G.z_dim))
    assert x.shape == (500, 2)
    assert len(torch.unique(x.detach(), dim=0)) == 3
    plain = MLPGenerator(z_dim=2, hidden=16, depth=1)(torch.randn(500, 2))
    assert len(torch.unique(plain.detach(), dim=0)) == 500  # a plain MLP has no such gaps


def test_bad_shapes_and_settings_are_refused():
    G = MixtureLatentGenerator(latent_dim=2)
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        G(torch.randn(4, 2))
    with pytest.raises(ValueError):
        MixtureLatentGenerator(n_codes=0)
    with pytest.raises(ValueError):
        MixtureLatentGenerator(sigma=-1.0)


def test_uniform_code_weights_give_exactly_the_floor_of_k_phi():
    G = MixtureLatentGenerator(n_codes=200)
    z = torch.randn(100_000, G.z_dim, generator=torch.Generator().manual_seed(1))
    u = 0.5 * (1 + torch.erf(z[:, 0] / 2 ** 0.5))
    assert torch.equal(G.code(z), (u * 200).long().clamp(0, 199))


def _modes_and_codes(centres):
    """Data on three modes; a G whose net is the identity, with its codes at ``centres``."""
    from gancourse.data.toy import GaussianMixture

    data = GaussianMixture([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]], std=0.05)
    G = MixtureLatentGenerator(n_codes=len(centres), latent_dim=2, sigma=0.02, hidden=8, depth=1)
    G.net = torch.nn.Identity()  # a sample is its latent point
    with torch.no_grad():
        G.centres.copy_(torch.tensor(centres))
    return data, G, data.sample(10_000, generator=torch.Generator().manual_seed(0))


def _score(G, data):
    from gancourse.metrics.modes import mode_coverage

    return mode_coverage(generate(G, n=3000, seed=1), data.centres, data.std)


def test_refit_prior_drops_the_code_between_modes_and_samples_only_the_others():
    data, G, real = _modes_and_codes([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])  # the last between modes
    before = _score(G, data)
    assert G.refit_prior(real) == 3
    assert G.code_weights[3] == 0 and G.code_weights.sum() == len(real)
    after = _score(G, data)
    # a quarter of the samples sat between the modes; now none do, and every mode keeps its share
    assert 0.7 < before.high_quality_fraction < 0.8 and after.high_quality_fraction == 1.0
    assert after.modes_captured == 3 and after.reverse_kl < 0.01
    prior = G.code_weights / G.code_weights.sum()  # each mode's share of the data
    assert_close(prior, torch.tensor([1 / 3, 1 / 3, 1 / 3, 0.0]), atol=0.02, rtol=0)
    counts = torch.bincount(G.code(torch.randn(30_000, G.z_dim)), minlength=4).float() / 30_000
    assert_close(counts, prior, atol=0.01, rtol=0)
    far = torch.zeros(3, G.z_dim)
    far[:, 0] = torch.tensor([5.0, 6.0, 10.0])  # Φ(z₀) rounds to 1 from about 5.4: still not the dropped code
    assert G.code(far).tolist() == [2, 2, 2]


def test_refit_prior_gives_a_mode_held_by_two_codes_the_mass_of_one():
    data, G, real = _modes_and_codes([[0.0, 0.0], [0.02, 0.0], [2.0, 0.0], [0.0, 2.0]])  # two codes on (0, 0)
    assert _score(G, data).reverse_kl > 0.05  # uniform codes: half the samples on one mode of three
    assert G.refit_prior(real) == 4
    assert _score(G, data).reverse_kl < 0.01
    G.code_weights.copy_((G.code_weights > 0).float())  # the wrong variant: drop codes, weight the rest alike
    assert _score(G, data).reverse_kl > 0.05


def test_refit_prior_refuses_what_is_not_data_of_g():
    _, G, real = _modes_and_codes([[0.0, 0.0], [2.0, 0.0]])
    with pytest.raises(ValueError, match=r"\(N, 2\), got \(5, 3\)"):
        G.refit_prior(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"got \(0, 2\)"):
        G.refit_prior(real[:0])


def test_refitted_weights_survive_a_state_dict_and_an_old_state_dict_still_loads():
    data, G, real = _modes_and_codes([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    G.refit_prior(real)
    H = MixtureLatentGenerator(n_codes=4, latent_dim=2, sigma=0.02, hidden=8, depth=1)
    H.net = torch.nn.Identity()
    H.load_state_dict(G.state_dict())
    assert torch.equal(H.code_weights, G.code_weights)
    old = {k: v for k, v in G.state_dict().items() if k != "code_weights"}  # saved before codes had weights
    H.load_state_dict(old)
    assert torch.equal(H.code_weights, torch.ones(4))


# --- one-parameter and fixed generators ----------------------------------------------------------


def test_parallel_lines_generator_draws_the_line():
    G = ParallelLinesGenerator(0.7)
    x = G(torch.randn(5000, 1, generator=torch.Generator().manual_seed(0)))
    assert x.shape == (5000, 2)
    assert_close(x[:, 0], torch.full((5000,), 0.7))
    assert 0.0 <= x[:, 1].min() and x[:, 1].max() <= 1.0
    assert abs(x[:, 1].mean().item() - 0.5) < 0.02  # uniform heights
    assert abs(x[:, 1].var().item() - 1 / 12) < 0.005


def test_distribution_sampler_draws_from_its_distribution():
    torch.manual_seed(0)
    G = DistributionSampler(Gaussian(3.0, 0.5))
    x = G(torch.zeros(20_000, G.z_dim))
    assert x.shape == (20_000, 1) and list(G.parameters()) == []
    assert abs(x.mean().item() - 3.0) < 0.02 and abs(x.std().item() - 0.5) < 0.02


def test_the_side_formulas_are_what_torch_computes_and_a_wrong_one_is_not():
    from itertools import product

    from gancourse.models import conv_output_side, conv_transpose_output_side

    wrong = []
    for side, k, s, p in product((5, 7, 14, 28), (3, 4, 7), (1, 2), (0, 1)):
        if side + 2 * p < k:
            continue
        x = torch.zeros(1, 1, side, side)
        assert torch.nn.Conv2d(1, 1, k, s, p)(x).shape[-1] == conv_output_side(side, k, s, p)
        assert torch.nn.ConvTranspose2d(1, 1, k, s, p)(x).shape[-1] == conv_transpose_output_side(side, k, s, p)
        wrong.append((side - 1) * s + k != conv_transpose_output_side(side, k, s, p))  # forgetting the padding
    assert any(wrong)


def test_a_generator_without_batch_norm_has_none_and_rebuilds_from_its_description():
    G = DCGANGenerator(z_dim=16, image_size=28, channels=1, width=8, norm="none")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())
    rebuilt = build(describe(G))
    assert str(rebuilt) == str(G) and rebuilt.hparams["norm"] == "none"
    assert "norm" not in DCGANGenerator(z_dim=16, image_size=28, channels=1, width=8).hparams  # old checkpoints
    with pytest.raises(ValueError, match="'batch' or 'none'"):
        DCGANGenerator(norm="layer")
