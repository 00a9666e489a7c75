"""Objectives through the one loop: a two-generator CycleGAN between two 2-D mixtures trains, checkpoints and
resumes bit for bit, and its cycle loss is what makes the two translations undo each other."""

import pytest
import torch
from torch.testing import assert_close

from gancourse.data.toy import ToyBatches, TwoDomains, ring
from gancourse.errors import ConfigError
from gancourse.models import MLPDiscriminator, MLPGenerator
from gancourse.objectives import Adversarial, CycleGAN, Objective
from gancourse.train import CheckpointError, fit, load_checkpoint

DOMAINS = TwoDomains(ring(8, radius=1.0, std=0.05), ring(8, radius=2.0, std=0.05))


def _cycle(seed=0, cycle_weight=10.0, identity_weight=0.0, hidden=32):
    torch.manual_seed(seed)
    G_ab, G_ba = (MLPGenerator(z_dim=2, out_dim=2, hidden=hidden, depth=2) for _ in range(2))
    D_a, D_b = (MLPDiscriminator(in_dim=2, hidden=hidden, depth=2) for _ in range(2))
    return CycleGAN(G_ab, G_ba, D_a, D_b, cycle_weight=cycle_weight, identity_weight=identity_weight)


def _states(objective: Objective) -> dict:
    return {f"{name}.{k}": v for name, net in objective.networks().items() for k, v in net.state_dict().items()}


def test_a_cycle_gan_resumes_bit_for_bit(tmp_path):
    settings = dict(steps=12, seed=3, lr_d=1e-3, lr_g=1e-3, progress=False)
    whole = _cycle()
    h_whole = fit(whole, ToyBatches(DOMAINS, 32, seed=1), **settings)

    first = _cycle()
    fit(first, ToyBatches(DOMAINS, 32, seed=1), out_dir=tmp_path, **{**settings, "steps": 5})
    resumed = _cycle(seed=99)  # other initial weights: everything must come from the checkpoint
    h_resumed = fit(resumed, ToyBatches(DOMAINS, 32, seed=7), out_dir=tmp_path, resume=True, **settings)
    assert_close(_states(resumed), _states(whole), rtol=0, atol=0)
    assert h_resumed.d_loss == h_whole.d_loss and h_resumed.g_loss == h_whole.g_loss
    assert h_resumed["cycle"] == h_whole["cycle"] and len(h_whole["cycle"]) == 12
    ckpt = load_checkpoint(tmp_path)
    assert sorted(ckpt["models"]) == ["D_a", "D_b", "G_ab", "G_ba"] and ckpt["objective"]["class"] == "CycleGAN"
    assert set(ckpt["opt_g"]["state"]) == set(range(2 * len(list(whole.G_ab.parameters()))))  # both generators


def test_a_cycle_gan_resumed_with_other_weights_of_its_losses_is_refused(tmp_path):
    fit(_cycle(), ToyBatches(DOMAINS, 16), steps=2, out_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="cycle_weight: checkpoint 10.0, asked 1.0"):
        fit(_cycle(cycle_weight=1.0), ToyBatches(DOMAINS, 16), steps=4, out_dir=tmp_path, resume=True, progress=False)


def test_a_cycle_gan_refuses_the_one_generator_gans_settings():
    with pytest.raises(ConfigError, match="gp_weight, pack are for the one-generator GAN"):
        fit(_cycle(), ToyBatches(DOMAINS, 16), steps=1, gp_weight=10.0, pack=2, progress=False)
    with pytest.raises(ValueError, match="pairs"):
        fit(_cycle(), ToyBatches(ring(8), 16), steps=1, progress=False)


def _cycle_error(objective: CycleGAN) -> float:
    """Mean ‖F(G(a)) − a‖ on fresh samples of A: how far a round trip lands from where it started."""
    a, _ = DOMAINS.sample(2000, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        return (objective.G_ba(objective.G_ab(a)) - a).norm(dim=1).mean().item()


def _on_b(translate) -> float:
    """Share of translated samples of A within 3σ of a mode of B (the target domain)."""
    from gancourse.metrics.modes import mode_coverage

    a, _ = DOMAINS.sample(2000, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        return mode_coverage(translate(a), DOMAINS.b.centres, DOMAINS.b.std).high_quality_fraction


@pytest.mark.slow
def test_the_cycle_loss_makes_the_translations_undo_each_other():
    runs = {}
    for weight in (10.0, 0.0):  # 0: the wrong variant, two GANs that each match their domain and nothing more
        objective = _cycle(cycle_weight=weight)
        fit(objective, ToyBatches(DOMAINS, 64, seed=0), steps=600, lr_d=2e-3, lr_g=2e-3, progress=False)
        runs[weight] = objective
    # measured on two seeds: a round trip lands 0.03 from its start with the cycle loss, 1.30 without it
    assert _cycle_error(runs[10.0]) < 0.1
    assert _cycle_error(runs[0.0]) > 10 * _cycle_error(runs[10.0])
    # and both translate A onto B: 52-64 % of G(a) within 3σ of B's modes, where A itself has none
    assert _on_b(runs[10.0].G_ab) > 0.4 and _on_b(runs[0.0].G_ab) > 0.4
    assert _on_b(lambda a: a) == 0.0


def test_train_is_fit_with_the_adversarial_objective():
    from gancourse.data import ring8
    from gancourse.train import train

    def nets():
        torch.manual_seed(0)
        return MLPGenerator(hidden=16, depth=2), MLPDiscriminator(hidden=16, depth=2)

    G, D = nets()
    h1 = train(G, D, ToyBatches(ring8(), 16), steps=5, progress=False)
    G2, D2 = nets()
    h2 = fit(Adversarial(G2, D2), ToyBatches(ring8(), 16), steps=5, progress=False)
    assert h1.d_loss == h2.d_loss
    assert_close(G2.state_dict(), G.state_dict(), rtol=0, atol=0)


class _CountingD(MLPDiscriminator):
    """Counts the batches it scores, to see which phase of a step looks at what."""

    calls = 0

    def forward(self, x, y=None):
        type(self).calls += 1
        return super().forward(x, y)


@pytest.mark.parametrize("loss, per_step", [("relativistic", 4), ("nonsaturating", 3)])
def test_a_relativistic_generator_step_scores_a_real_batch_again(loss, per_step):
    # D's step scores a real and a fake batch; G's step its fakes, and for the relativistic loss the real
    # batch once more with the updated D (the non-saturating G is the wrong variant: one call fewer)
    torch.manual_seed(0)
    G, D = MLPGenerator(z_dim=2, out_dim=2, hidden=16, depth=2), _CountingD(in_dim=2, hidden=16, depth=2)
    _CountingD.calls = 0
    h = fit(Adversarial(G, D), ToyBatches(ring(8), 32), steps=5, loss=loss, progress=False, log_every=1)
    assert _CountingD.calls == 5 * per_step
    assert all(torch.isfinite(torch.tensor(h.g_loss)))
