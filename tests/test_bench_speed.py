import copy

import pytest
import torch
from test_data_images import write_mnist_split

from gancourse.bench import speed
from gancourse.bench.speed import SpeedResult, ours_loop, pytorch_examples_dcgan_loop, run_speed, speed_settings
from gancourse.data import TensorBatches, images, local
from gancourse.models import DCGANDiscriminator, DCGANGenerator


def tiny_nets():
    torch.manual_seed(0)
    return DCGANGenerator(z_dim=100, image_size=28, channels=1, width=8), DCGANDiscriminator(28, 1, width=8)


def params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_both_loops_train_the_networks():
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.zeros(64)), batch_size=16)
    for loop in ("reference", "ours"):
        G, D = tiny_nets()
        g0, d0 = params(G).clone(), params(D).clone()
        if loop == "reference":
            pytorch_examples_dcgan_loop(G, D, loader, 6, torch.device("cpu"))  # 6 > 4 batches: restarts the loader
        else:
            ours_loop(G, D, TensorBatches(x, 16), 6, torch.device("cpu"), {"channels_last": True})
        assert not torch.equal(params(G), g0) and not torch.equal(params(D), d0)


def test_pytorch_examples_dcgan_loop_is_the_examples_bce_game():
    """One reference step equals a hand-written step of pytorch/examples' DCGAN (same noise)."""
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    G, D = tiny_nets()
    G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
    torch.manual_seed(5)
    pytorch_examples_dcgan_loop(G, D, [(x, None)], 1, torch.device("cpu"))

    torch.manual_seed(5)
    opt_d = torch.optim.Adam(D2.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G2.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    fake = G2(torch.randn(8, 100, 1, 1))
    (bce(D2(x), torch.ones(8)) + bce(D2(fake.detach()), torch.zeros(8))).backward()
    opt_d.step()
    G2.zero_grad()
    bce(D2(fake), torch.ones(8)).backward()
    opt_g.step()
    torch.testing.assert_close(params(D), params(D2), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(params(G), params(G2), rtol=1e-4, atol=1e-6)


def test_speed_settings_per_device():
    assert speed_settings("cpu") == {"channels_last": True}
    assert speed_settings("mps") == {}


def test_speed_result_medians_and_ratio():
    r = SpeedResult("cpu", 28, 128, 64, 10, 2, 2, {"channels_last": True},
                    reference=[100.0, 300.0, 200.0], ours=[500.0, 400.0, 900.0], machine="x")  # fmt: skip
    assert r.reference_median == 200 and r.ours_median == 500 and r.ratio == pytest.approx(2.5)
    d = r.to_dict()
    assert d["ratio"] == pytest.approx(2.5) and d["reference"] == [100.0, 300.0, 200.0]
    assert "2.50x" in r.summary() and "channels_last=True" in r.summary()


def test_run_speed_on_tiny_idx_files(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "COURSE_DATA_DIR", tmp_path / "cache")
    monkeypatch.delenv(images.DATA_ENV, raising=False)
    for split in ("train", "test"):
        write_mnist_split(tmp_path / "fm", split=split, n=40)
    lines = []
    r = run_speed("cpu", root=tmp_path / "fm", width=8, batch_size=16, steps=2, warmup=1, repeats=2, workers=0,
                  log=lines.append)  # fmt: skip
    assert len(r.reference) == len(r.ours) == 2 and min(r.reference + r.ours) > 0
    assert r.settings == {**speed.speed_settings("cpu"), "cpu_threads": r.threads} and len(lines) == 2
