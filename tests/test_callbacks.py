import torch
from fakes import Shift

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


class _Pictures(torch.nn.Module):
    """A cheap 'generator' of 64 px colour images (786 kB a frame of 64), so 301 calls take no time."""

    z_dim = 100

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, z, y=None):
        return (self.w * z[:, :3, None, None]).tanh().expand(-1, 3, 64, 64)


def test_snapshots_of_a_3000_step_run_stay_evenly_spaced_and_under_50_mb():
    from gancourse.callbacks import Snapshots

    snaps = Snapshots(torch.randn(64, 100))
    for step in range(0, 3001, 10):
        snaps(step, _Pictures(), None, None)
    assert snaps.nbytes() <= 50_000_000 and len(snaps) >= 20
    assert snaps.samples[0].dtype == torch.uint8  # one byte a pixel
    gaps = {b - a for a, b in zip(snaps.steps[:-2], snaps.steps[1:-1], strict=True)}
    assert len(gaps) == 1 and snaps.steps[-1] == 3000  # evenly spaced, and the end is there


def test_snapshots_thin_out_evenly_and_give_frames_back_as_they_were():
    from gancourse.callbacks import Snapshots
    from gancourse.models import MLPDiscriminator

    G, D = Shift(), MLPDiscriminator()
    z = torch.randn(50, 2)
    snaps = Snapshots(z, bounds=((-1, 1), (-1, 1)), resolution=8, max_snapshots=10)
    for step in range(1, 101):
        with torch.no_grad():
            G.shift.fill_(step / 100)
        snaps(step, G, D, None)
    assert len(snaps) <= 10 and snaps.steps[-1] == 100
    assert len({b - a for a, b in zip(snaps.steps[:-2], snaps.steps[1:-1], strict=True)}) == 1
    last = snaps.frame(len(snaps) - 1)
    torch.testing.assert_close(last["samples"], z + 1.0, atol=2e-3, rtol=1e-3)  # float16, not another step's
    assert last["surface"].shape == (8, 8)


def test_snapshots_of_a_number_use_g_s_own_fixed_noise():
    from gancourse.callbacks import Snapshots
    from gancourse.models import MixtureLatentGenerator, generate

    torch.manual_seed(0)
    G = MixtureLatentGenerator(n_codes=5)  # noise of 3 coordinates, not the 2 of the samples
    snaps = Snapshots(50)
    snaps(0, G, None, None)
    snaps(1, G, None, None)
    assert snaps.samples[0].shape == (50, 2) and torch.equal(snaps.samples[0], snaps.samples[1])
    torch.testing.assert_close(snaps.frame(0)["samples"], generate(G, n=50).half().float())
