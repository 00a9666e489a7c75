import math

import pytest
import torch

from gancourse.data.images import ImageTensors
from gancourse.imagegan import (
    RECIPES,
    SampleGrids,
    build_gan,
    critic_gradient_norms,
    generate,
    judge,
    mean_image_correlation,
    nearest_distance,
    pca_frechet_distance,
    pixel_diversity,
    train_image_gan,
)


def tiny_dataset(n=64, size=28, channels=1):
    g = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (n, channels, size, size), generator=g, dtype=torch.uint8)
    return ImageTensors(pixels, torch.arange(n) % 10, "tiny")


def test_recipes_are_the_papers_settings():
    assert RECIPES["dcgan"] == dict(loss="nonsaturating", n_critic=1, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999))
    wgan = RECIPES["wgan-gp"]
    assert (wgan["loss"], wgan["n_critic"], wgan["gp_weight"], wgan["lr_d"], wgan["betas"]) == (
        "wasserstein", 5, 10.0, 1e-4, (0.5, 0.9))  # fmt: skip


def test_the_critic_has_no_batch_norm():
    G, D = build_gan("dcgan", 1, 28, width=8)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    G2, C = build_gan("wgan-gp", 3, 32, width=8)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in C.modules())
    assert G2(torch.randn(2, 100)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="dcgan, wgan-gp"):
        build_gan("stylegan", 1, 28)


@pytest.mark.parametrize("kind", ["dcgan", "wgan-gp"])
def test_train_image_gan_runs_the_recipe(kind):
    G, D, history = train_image_gan(kind, tiny_dataset(), steps=3, batch_size=16, width=8, device="cpu",
                                    progress=False, log_every=1)  # fmt: skip
    assert len(history) == 3
    assert G(torch.randn(2, 100)).shape == (2, 1, 28, 28)
    if kind == "wgan-gp":
        assert {"gp", "w_estimate"} <= set(history.extra)
    else:
        assert "gp" not in history.extra


def test_generate_keeps_the_mode_and_returns_cpu_images():
    G, _ = build_gan("dcgan", 1, 28, width=8)
    G.train()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    x = generate(G, torch.randn(7, 100), batch_size=3)
    assert x.shape == (7, 1, 28, 28) and x.device.type == "cpu" and G.training
    for k, v in G.state_dict().items():
        torch.testing.assert_close(v, before[k])  # eval mode: running statistics untouched


def test_judge_sees_batches_as_in_training_and_changes_nothing():
    _, D = build_gan("dcgan", 1, 28, width=8)
    D.eval()
    x = torch.rand(10, 1, 28, 28) * 2 - 1
    buffers = {k: v.clone() for k, v in D.named_buffers()}
    p = judge(D, x, batch_size=5)
    scores = judge(D, x, batch_size=5, probability=False)
    assert not D.training
    for k, v in D.named_buffers():
        torch.testing.assert_close(v, buffers[k])
    D.train()
    with torch.no_grad():
        expected = torch.cat([D(x[:5]), D(x[5:])])
    torch.testing.assert_close(scores, expected)
    torch.testing.assert_close(p, torch.sigmoid(expected))


def test_sample_grids_record_the_same_noise_once_per_step():
    G, _ = build_gan("dcgan", 1, 28, width=8)
    grids = SampleGrids(torch.randn(4, 100))
    grids(10, G, None, None)
    grids(10, G, None, None)
    grids(20, G, None, None)
    assert grids.steps == [10, 20] and grids.images[0].shape == (4, 1, 28, 28)
    torch.testing.assert_close(grids.images[0], grids.images[1])  # G unchanged: same pictures


def test_pixel_measurements_on_known_cases():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 1, 6, 6, generator=g)
    assert mean_image_correlation(x * 2, x) == pytest.approx(1.0)
    assert pixel_diversity(x[:1].expand(50, -1, -1, -1)) == 0
    torch.testing.assert_close(nearest_distance(x[:5], x), torch.zeros(5), atol=1e-3, rtol=0)  # cdist via matmul
    assert nearest_distance(x[:1] + 0.5, x[:1]).item() == pytest.approx(0.5)


def test_pca_frechet_distance_of_a_shift_is_its_squared_length():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4000, 1, 4, 4, generator=g) * torch.linspace(0.5, 3, 16).reshape(1, 1, 4, 4)
    assert pca_frechet_distance(x, x, k=8) == pytest.approx(0.0, abs=1e-6)
    shift = torch.zeros(1, 1, 4, 4)
    shift[0, 0, 3, 3] = 2.0  # along the direction of largest variance, inside the top-k components
    assert pca_frechet_distance(x + shift, x, k=8) == pytest.approx(4.0, rel=1e-3)
    assert math.isfinite(pca_frechet_distance(x[:100] * 0.5, x, k=8))


def test_critic_gradient_norms_of_a_linear_critic():
    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.full((1, 2, 2), 0.5))  # |w| = 1 * sqrt(8) / 2

        def forward(self, x):
            return (x * self.w).flatten(1).sum(1)

    norms = critic_gradient_norms(Linear(), torch.rand(5, 2, 2, 2), torch.rand(5, 2, 2, 2))
    torch.testing.assert_close(norms, torch.full((5,), 8**0.5 / 2))
