import torch

from gancourse.callbacks import SampleFiles, SampleGrids
from gancourse.models import DCGANGenerator


def test_sample_grids_record_the_same_noise_once_per_step():
    G = DCGANGenerator(z_dim=100, image_size=28, channels=1, width=8)
    grids = SampleGrids(torch.randn(4, 100))
    grids(10, G, None, None)
    grids(10, G, None, None)
    grids(20, G, None, None)
    assert grids.steps == [10, 20] and grids.images[0].shape == (4, 1, 28, 28)
    torch.testing.assert_close(grids.images[0], grids.images[1])  # G unchanged: same pictures
    with torch.no_grad():
        G.net[0].weight.mul_(2)
    grids(30, G, None, None)
    assert not torch.allclose(grids.images[2], grids.images[1])  # another G, other pictures


def test_sample_files_write_a_grid_per_step_and_the_latest(tmp_path):
    from PIL import Image

    G = DCGANGenerator(z_dim=100, image_size=28, channels=1, width=8)
    files = SampleFiles(torch.randn(16, 100), tmp_path / "run")
    files(5, G, None, None)
    files(10, G, None, None)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "samples.png", "samples_000005.png", "samples_000010.png"]  # fmt: skip
    width, height = Image.open(tmp_path / "run" / "samples.png").size
    assert (width, height) == (8 * 30 + 2, 2 * 30 + 2)  # 8 per row, 28 px + 2 px padding
