import math

import pytest
import torch
from torch.testing import assert_close

from gancourse.data import Gaussian, GaussianMixture, ParallelLines, TensorBatches, ToyBatches, grid25, make_toy, ring8
from gancourse.data.toy import make_mixture
from gancourse.errors import ConfigError


def test_gaussian_log_prob_matches_torch():
    g = Gaussian([1.0, -2.0], [0.5, 2.0])
    x = torch.randn(50, 2)
    ref = torch.distributions.Normal(g.mean, g.std).log_prob(x).sum(1)
    assert_close(g.log_prob(x), ref)


def test_gaussian_1d_accepts_flat_points_and_samples_moments():
    g = Gaussian(3.0, 0.5)
    assert g.dim == 1
    assert_close(g.log_prob(torch.tensor([3.0])), torch.tensor([-math.log(0.5) - 0.5 * math.log(2 * math.pi)]))
    x = g.sample(20000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (20000, 1)
    assert abs(x.mean().item() - 3.0) < 0.02 and abs(x.std().item() - 0.5) < 0.02


def test_presets_geometry():
    r, g = ring8(), grid25()
    assert r.n_modes == 8 and r.std == 0.01
    assert_close(r.centres.norm(dim=1), torch.ones(8))
    assert g.n_modes == 25 and g.std == 0.05
    assert sorted(set(g.centres[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_mixture_density_integrates_to_one():
    mix = GaussianMixture([[-1.0], [2.0]], std=0.5, weights=[0.3, 0.7])
    xs = torch.linspace(-6, 7, 20001)[:, None]
    total = torch.trapezoid(mix.log_prob(xs).exp(), xs[:, 0])
    assert_close(total, torch.tensor(1.0), atol=1e-4, rtol=0)


def test_mixture_samples_land_on_modes():
    mix = grid25()
    x = mix.sample(2500, generator=torch.Generator().manual_seed(1))
    nearest = torch.cdist(x, mix.centres).min(1).values
    # the distance to a 2-D isotropic Gaussian's centre is Rayleigh: median σ·√(2 ln 2) = 1.177σ;
    # a sampler with 10 % too wide or too narrow modes misses this by more than the tolerance
    assert_close((nearest / mix.std).median(), torch.tensor((2 * math.log(2)) ** 0.5), atol=0.06, rtol=0)
    assert torch.cdist(x, mix.centres).argmin(1).unique().numel() == 25


def test_mixture_specs_build_rings_and_grids():
    r = make_mixture("ring:12:2:0.02")
    assert r.n_modes == 12 and r.std == 0.02
    assert_close(r.centres.norm(dim=1), torch.full((12,), 2.0))
    # neighbours on a ring of K modes are 2 r sin(π/K) apart
    assert_close((r.centres[1] - r.centres[0]).norm(), torch.tensor(2 * 2.0 * math.sin(math.pi / 12)))
    g = make_mixture("grid:36:1.5:0.1")
    assert g.n_modes == 36 and g.std == 0.1
    assert sorted(set(g.centres[:, 0].tolist())) == [-3.75, -2.25, -0.75, 0.75, 2.25, 3.75]  # centred, 1.5 apart
    assert_close(g.centres.mean(0), torch.zeros(2))
    # the presets are the specs with the papers' numbers
    assert_close(make_mixture("grid:25:2:0.05").centres, grid25().centres)
    assert_close(make_mixture("ring:8:1:0.01").centres, ring8().centres)
    assert make_mixture("ring8").n_modes == 8 and make_mixture("grid25").std == 0.05


@pytest.mark.parametrize("spec, message", [
    ("grid:24:1:0.1", "square number of modes"),
    ("ring:8:1:-0.1", "standard deviation must be a positive"),
    ("ring:8:1:0", "standard deviation must be a positive"),
    ("ring:8:0:0.1", "radius must be a positive"),
    ("grid:9:nan:0.1", "spacing must be a positive"),
    ("ring:0:1:0.1", "number of modes must be a positive"),
    ("ring:2.5:1:0.1", "K must be a whole number"),
    ("ring:8:1", "unknown mixture"),
    ("spiral:8:1:0.1", "unknown mixture"),
    ("ring16", "unknown mixture"),
])
def test_bad_mixture_specs_are_refused_with_the_reason(spec, message):
    with pytest.raises(ConfigError, match=message):
        make_mixture(spec)


def test_parallel_lines():
    p = ParallelLines(0.7)
    x = p.sample(100)
    assert (x[:, 0] == 0.7).all() and (x[:, 1] >= 0).all() and (x[:, 1] <= 1).all()
    with pytest.raises(NotImplementedError, match="no density"):
        p.log_prob(x)


def test_make_toy_and_errors():
    assert make_toy("ring8").n_modes == 8
    with pytest.raises(ValueError, match="choose one of gaussian1d"):
        make_toy("spiral")
    with pytest.raises(ValueError, match="positive integer"):
        ring8().sample(0)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        ring8().log_prob(torch.zeros(3, 3))


def test_toy_batches_resume_exactly():
    a = ToyBatches(ring8(), 16, seed=3)
    next(a)
    state = a.state_dict()
    expected = [next(a) for _ in range(3)]
    b = ToyBatches(ring8(), 16, seed=99)
    b.load_state_dict(state)
    for e in expected:
        assert_close(next(b), e, rtol=0, atol=0)


def test_tensor_batches_cover_epoch_and_resume():
    x = torch.arange(10.0)[:, None]
    y = torch.arange(10)
    it = TensorBatches((x, y), batch_size=5, seed=0)
    xb1, yb1 = next(it)
    xb2, yb2 = next(it)
    assert sorted(torch.cat([yb1, yb2]).tolist()) == list(range(10))  # one epoch = a permutation
    assert_close(xb1[:, 0], yb1.float())
    state = it.state_dict()
    expected = [next(it)[1] for _ in range(3)]
    other = TensorBatches((x, y), batch_size=5, seed=7)
    other.load_state_dict(state)
    assert [next(other)[1].tolist() for _ in range(3)] == [e.tolist() for e in expected]


def test_tensor_batches_errors():
    with pytest.raises(ValueError, match="batch_size"):
        TensorBatches(torch.zeros(4, 2), batch_size=8)
    with pytest.raises(ValueError, match="same length"):
        TensorBatches((torch.zeros(4, 2), torch.zeros(3)), batch_size=2)
