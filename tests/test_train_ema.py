"""G's moving average and DiffAugment inside the loop: the recursion, batch norm, resume and the checkpoint."""

import pytest
import torch
from torch.optim.swa_utils import AveragedModel
from torch.testing import assert_close

from gancourse.checkpoint import load_generator
from gancourse.data import TensorBatches
from gancourse.errors import ConfigError
from gancourse.models import DCGANDiscriminator, DCGANGenerator
from gancourse.objectives import CycleGAN
from gancourse.train import CheckpointError, fit, generator_average, train

BETA = 0.8


def _images(n=48):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


def _nets(seed=0, spectral=False):
    torch.manual_seed(seed)
    return (DCGANGenerator(z_dim=8, image_size=28, channels=1, width=4),
            DCGANDiscriminator(28, 1, width=4, norm="none" if spectral else "batch", spectral_norm=spectral))


def _record_updates(monkeypatch):
    """G's weights and buffers each time the average is updated, in order."""
    seen = []
    original = AveragedModel.update_parameters

    def recording(self, model):
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        original(self, model)

    monkeypatch.setattr(AveragedModel, "update_parameters", recording)
    return seen


def _by_hand(states, beta):
    """avg₁ = G₁, avgₖ = β·avgₖ₋₁ + (1 − β)·Gₖ, float entries only."""
    avg = {k: v.clone() for k, v in states[0].items() if v.is_floating_point()}
    for state in states[1:]:
        for k in avg:
            avg[k] = beta * avg[k] + (1 - beta) * state[k]
    return avg


def test_the_average_follows_the_recursion_for_weights_and_batch_norm_statistics(monkeypatch):
    seen = _record_updates(monkeypatch)
    G, D = _nets()
    G_ema = generator_average(G, BETA)
    train(G, D, TensorBatches(_images(), 16, seed=0), steps=5, ema_decay=BETA, G_ema=G_ema, progress=False,
          device="cpu")
    assert len(seen) == 5  # once after each G step
    average = G_ema.module.state_dict()
    expected = _by_hand(seen, BETA)
    assert any("running_mean" in k for k in expected)  # batch norm's statistics are among the averaged entries
    for k, v in expected.items():
        assert_close(average[k], v, rtol=1e-5, atol=1e-6, msg=k)
    # the wrong variants: the weights swapped (β on the new weights), and G's own latest statistics
    swapped = _by_hand(seen, 1 - BETA)
    assert not all(torch.allclose(average[k], swapped[k], atol=1e-6) for k in expected)
    bn = next(k for k in expected if "running_mean" in k)
    assert not torch.allclose(average[bn], G.state_dict()[bn], atol=1e-6)


@pytest.mark.parametrize("settings", [
    dict(ema_decay=BETA),
    dict(ema_decay=BETA, augment="translation,cutout", loss="hinge"),
    dict(augment="translation", r1_weight=0.5),
])
def test_resume_is_bit_identical_with_the_average_and_augmentation(tmp_path, settings):
    spectral = settings.get("loss") == "hinge"
    data = lambda seed: TensorBatches(_images(), 16, seed=seed)  # noqa: E731
    G, D = _nets(spectral=spectral)
    G_ema = generator_average(G, BETA) if "ema_decay" in settings else None
    full = train(G, D, data(1), steps=6, seed=5, progress=False, device="cpu", G_ema=G_ema, **settings)

    G1, D1 = _nets(spectral=spectral)
    train(G1, D1, data(1), steps=3, seed=5, out_dir=tmp_path, progress=False, device="cpu", **settings)
    G2, D2 = _nets(seed=9, spectral=spectral)
    G2_ema = generator_average(G2, BETA) if "ema_decay" in settings else None
    resumed = train(G2, D2, data(1), steps=6, seed=5, out_dir=tmp_path, resume=True, progress=False, device="cpu",
                    G_ema=G2_ema, **settings)
    assert resumed.d_loss == full.d_loss and resumed.g_loss == full.g_loss
    for a, b in ((G, G2), (D, D2)) + (((G_ema, G2_ema),) if G_ema is not None else ()):
        for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(p, q), name


def test_sampling_reads_the_average_from_the_checkpoint_unless_asked_for_g(tmp_path):
    G, D = _nets()
    G_ema = generator_average(G, BETA)
    train(G, D, TensorBatches(_images(), 16, seed=0), steps=3, ema_decay=BETA, G_ema=G_ema, out_dir=tmp_path,
          progress=False, device="cpu")
    averaged, _ = load_generator(tmp_path)
    raw, _ = load_generator(tmp_path, average=False)
    for k, v in G_ema.module.state_dict().items():
        assert torch.equal(averaged.state_dict()[k], v), k
    for k, v in G.state_dict().items():
        assert torch.equal(raw.state_dict()[k], v), k
    assert not torch.equal(averaged.state_dict()["net.0.weight"], raw.state_dict()["net.0.weight"])


def test_the_average_and_augmentation_are_fixed_on_resume_and_refused_where_they_mean_nothing(tmp_path):
    G, D = _nets()
    train(G, D, TensorBatches(_images(), 16, seed=0), steps=2, ema_decay=BETA, out_dir=tmp_path, progress=False,
          device="cpu")
    for other in (dict(ema_decay=0.9), dict(ema_decay=BETA, augment="cutout")):
        G, D = _nets()
        with pytest.raises(CheckpointError, match="other settings"):
            train(G, D, TensorBatches(_images(), 16, seed=0), steps=4, out_dir=tmp_path, resume=True, progress=False,
                  device="cpu", **other)
    G, D = _nets()
    for bad, said in ((dict(ema_decay=1.0), "ema_decay must be in"), (dict(augment="flip"), "unknown augmentation"),
                      (dict(ema_decay=BETA, train_g=False), "G takes none"),
                      (dict(G_ema=generator_average(G, BETA)), "ema_decay is 0")):
        with pytest.raises(ConfigError, match=said):
            train(G, D, TensorBatches(_images(), 16, seed=0), steps=1, progress=False, device="cpu", **bad)
    nets = [_nets()[0] for _ in range(2)] + [_nets()[1] for _ in range(2)]
    with pytest.raises(ConfigError, match="ema_decay"):
        fit(CycleGAN(*nets), TensorBatches(_images(), 16, seed=0), steps=1, ema_decay=BETA, progress=False)


def test_keeping_an_average_does_not_change_the_run(monkeypatch):
    # the average takes no optimizer step, so it must not change how the run trains (its thread count included):
    # G with and without the average end bit for bit the same, even where G and its copy together would pass
    # the size below which the loop trains on one thread
    import gancourse.train as train_module

    G, D = _nets()
    total = sum(p.numel() for m in (G, D) for p in m.parameters())
    monkeypatch.setattr(train_module, "SMALL_MODEL_PARAMS", total + 1)  # G + D below it; G + D + G's copy above
    chosen = []
    real_choice = train_module._cpu_threads
    monkeypatch.setattr(train_module, "_cpu_threads", lambda *a: chosen.append(real_choice(*a)) or chosen[-1])
    runs = []
    for ema in (False, True):
        G, D = _nets()
        average = {"G_ema": generator_average(G, BETA), "ema_decay": BETA} if ema else {}
        train(G, D, TensorBatches(_images(), 8, seed=0), steps=6, seed=0, progress=False, **average)
        runs.append(G.state_dict())
    assert chosen == [1, 1]  # one thread both times
    assert all(torch.equal(a, b) for a, b in zip(runs[0].values(), runs[1].values(), strict=True))
