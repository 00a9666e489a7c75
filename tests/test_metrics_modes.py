import math

import pytest
import torch
from torch.testing import assert_close

from gancourse.metrics.modes import (
    evaluate_generator,
    mode_counts,
    mode_coverage,
    modes_passed,
    nearest_mode,
    reverse_kl,
)

# four modes on the corners of a square, std 0.1: a sample within 0.3 of a corner is high quality
CENTRES = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
STD = 0.1


def test_nearest_mode_index_and_distance():
    x = torch.tensor([[-0.9, -1.0], [1.0, 1.2], [0.0, 0.0]])
    index, dist = nearest_mode(x, CENTRES)
    assert index[:2].tolist() == [0, 3]
    assert_close(dist, torch.tensor([0.1, 0.2, math.sqrt(2)]))


def test_all_samples_on_one_mode():
    x = CENTRES[2].repeat(100, 1)
    report = mode_coverage(x, CENTRES, STD)
    assert report.modes_captured == 1
    assert report.high_quality_fraction == 1.0
    assert report.counts == [0, 0, 100, 0]
    assert report.reverse_kl == pytest.approx(math.log(4))


def test_uniform_over_modes():
    x = CENTRES.repeat(25, 1)
    report = mode_coverage(x, CENTRES, STD)
    assert (report.modes_captured, report.n_modes, report.n_samples) == (4, 4, 100)
    assert report.high_quality_fraction == 1.0
    assert report.reverse_kl == pytest.approx(0.0, abs=1e-12)


def test_half_off_mode():
    on = CENTRES.repeat(10, 1)  # 40 samples, 10 per mode
    off = torch.tensor([[0.5, 0.5]]).repeat(
        40, 1
    )  # 0.71 from the nearest centre: low quality, nearest mode 3
    report = mode_coverage(torch.cat([on, off]), CENTRES, STD)
    assert report.high_quality_fraction == 0.5
    assert report.modes_captured == 4
    assert report.counts == [10, 10, 10, 10]
    assert report.nearest_counts == [10, 10, 10, 50]  # the 40 off-mode samples are all nearest mode 3
    # the reverse KL uses every sample's nearest mode: q = (1/8, 1/8, 1/8, 5/8)
    q = torch.tensor([1, 1, 1, 5], dtype=torch.float64) / 8
    assert report.reverse_kl == pytest.approx(float((q * (4 * q).log()).sum()))


def test_threshold_is_three_std_by_default_and_can_be_changed():
    x = torch.tensor([[-1.0 + 2.9 * STD, -1.0], [1.0, 1.0 - 3.1 * STD]])
    assert mode_coverage(x, CENTRES, STD).high_quality_fraction == 0.5
    assert mode_coverage(x, CENTRES, STD, threshold=4.0).high_quality_fraction == 1.0
    assert mode_coverage(x, CENTRES, STD, threshold=2.0).high_quality_fraction == 0.0


def test_min_count_makes_capture_stricter():
    x = torch.cat([CENTRES[:1].repeat(5, 1), CENTRES[1:2].repeat(1, 1)])
    assert mode_coverage(x, CENTRES, STD).modes_captured == 2
    assert mode_coverage(x, CENTRES, STD, min_count=2).modes_captured == 1
    with pytest.raises(ValueError):
        mode_coverage(x, CENTRES, STD, min_count=0)


def test_mode_counts_split_all_and_high_quality():
    x = torch.tensor([[-1.0, -1.0], [-0.5, -0.5], [1.0, 1.0]])
    all_counts, hq_counts = mode_counts(x, CENTRES, STD)
    assert all_counts.tolist() == [2, 0, 0, 1]
    assert hq_counts.tolist() == [1, 0, 0, 1]


def test_reverse_kl_known_values():
    assert reverse_kl(torch.tensor([3, 1])) == pytest.approx(
        0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    )
    assert reverse_kl(torch.tensor([1, 1]), weights=torch.tensor([0.25, 0.75])) == pytest.approx(
        0.5 * math.log(2) + 0.5 * math.log(2 / 3)
    )
    with pytest.raises(ValueError):
        reverse_kl(torch.zeros(3))


def test_true_mixture_samples_score_like_the_closed_form():
    # in 2-D, P(|x - mu| <= 3 std) = 1 - exp(-9/2) = 0.9889 for an isotropic Gaussian
    gen = torch.Generator().manual_seed(0)
    idx = torch.arange(20000) % 4
    x = CENTRES[idx] + STD * torch.randn(20000, 2, generator=gen)
    report = mode_coverage(x, CENTRES, STD)
    assert report.modes_captured == 4
    assert report.high_quality_fraction == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert report.reverse_kl < 1e-3


class _CornerGenerator(torch.nn.Module):
    """Sends z to the corner given by the signs of z: uniform over the four modes."""

    z_dim = 2

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, z):
        return self.scale * torch.sign(z)


def test_evaluate_generator_draws_n_samples_and_restores_mode():
    class Mixture:
        centres = CENTRES
        std = STD

    G = _CornerGenerator().train()
    report = evaluate_generator(G, Mixture, n=2500)
    assert G.training
    assert report.n_samples == 2500
    assert report.modes_captured == 4
    assert report.high_quality_fraction == 1.0
    assert report.reverse_kl < 0.01
    assert evaluate_generator(G, Mixture, n=2500) == report  # fixed noise seed


# The checks of 04_mode_collapse, each fed the sample set it must reject.

def _hq_matches_the_2d_rayleigh_share(report) -> bool:  # 04: the data's own high-quality share
    return abs(report.high_quality_fraction - (1 - math.exp(-4.5))) < 0.005


def test_04_data_check_rejects_the_1d_share_and_too_wide_modes():
    from gancourse.data.toy import grid25

    g = grid25()
    real = mode_coverage(g.sample(2500, generator=torch.Generator().manual_seed(0)), g.centres, g.std)
    assert _hq_matches_the_2d_rayleigh_share(real)
    # P(|x| <= 3σ) in 1-D is 99.7 %, not the 98.9 % of 2-D; a sampler 10 % too wide gives 97.6 %
    assert abs(math.erf(3 / math.sqrt(2)) - (1 - math.exp(-4.5))) > 0.005
    wide = grid25(std=0.055).sample(2500, generator=torch.Generator().manual_seed(0))
    assert not _hq_matches_the_2d_rayleigh_share(mode_coverage(wide, g.centres, g.std))


def _one_lump_off_the_modes(lump, ring) -> bool:  # 04: SGD's samples at step 150
    spread = float(ring.sample(10000, generator=torch.Generator().manual_seed(0)).std(0).min())
    report = mode_coverage(lump, ring.centres, ring.std)
    return bool(lump.std(0).max() < 0.5 * spread) and report.high_quality_fraction < 0.05


def test_04_lump_check_rejects_a_lump_on_a_mode_and_a_spread_ring():
    from gancourse.data.toy import ring8

    ring = ring8()
    noise = 0.05 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    between = (ring.centres[0] + ring.centres[1]) / 2
    assert _one_lump_off_the_modes(between + noise, ring)
    assert not _one_lump_off_the_modes(ring.centres[0] + 0.002 * noise, ring)  # a lump on a mode is high quality
    assert not _one_lump_off_the_modes(ring.sample(1000), ring)  # the whole ring is no lump


def _collapsed_on_the_border(samples, grid) -> bool:  # 04: the non-saturating generator against a strong D
    strict = mode_coverage(samples, grid.centres, grid.std, min_count=20)
    report = mode_coverage(samples, grid.centres, grid.std)
    inner = [k for k, c in enumerate(grid.centres) if c.abs().max() < 3]
    return (strict.modes_captured <= 15 and report.reverse_kl > 0.2
            and sum(report.nearest_counts[k] for k in inner) < 0.5 * 2500 * len(inner) / 25)


def _remedied(samples, grid) -> bool:  # 04: the recommended method against the same D
    strict = mode_coverage(samples, grid.centres, grid.std, min_count=20)
    report = mode_coverage(samples, grid.centres, grid.std)
    return strict.modes_captured == 25 and report.high_quality_fraction > 0.8 and report.reverse_kl < 0.1


def test_04_collapse_and_remedy_checks_tell_the_two_apart():
    from gancourse.data.toy import grid25

    g = grid25()
    gen = torch.Generator().manual_seed(0)
    real = g.sample(2500, generator=gen)
    border = g.centres[g.centres.abs().max(1).values > 3][:12]  # 12 of the 16 modes of the border
    on_border = border[torch.randint(12, (2500,), generator=gen)] + g.std * torch.randn(2500, 2, generator=gen)
    assert _collapsed_on_the_border(on_border, g) and not _remedied(on_border, g)
    assert _remedied(real, g) and not _collapsed_on_the_border(real, g)
    blurred = real + 0.3 * torch.randn(2500, 2, generator=gen)  # every mode, evenly, but not sharp
    assert not _remedied(blurred, g) and not _collapsed_on_the_border(blurred, g)


def test_modes_passed_follows_a_chase_and_not_a_point_that_stays():
    # 04's check: the samples' mean of a chasing lump passes mode after mode; one that stays at the centre, as a
    # generator spread over every mode does, passes none, and one that settles on a mode passes one
    angle = torch.linspace(0.2, 3 * math.pi - 0.2, 40)
    chase = 1.2 * torch.stack([angle.cos(), angle.sin()], 1)
    assert modes_passed(chase, CENTRES) == [3, 1, 0, 2, 3, 1]
    assert modes_passed(0.05 * torch.randn(40, 2, generator=torch.Generator().manual_seed(0)), CENTRES) == []
    assert modes_passed(torch.tensor([[0.9, 1.1]]).repeat(40, 1), CENTRES) == [3]
    assert modes_passed(chase, CENTRES, away=2.0) == []
