"""The Fréchet Inception Distance, computed the way papers compute it, between tensors, datasets, runs and folders.

FID (Heusel et al. 2017) fits a Gaussian to the features of each image set and measures their Fréchet
distance, the squared 2-Wasserstein distance between the two Gaussians (:mod:`gancourse.metrics.frechet`).
The features come from :mod:`gancourse.metrics.features`: pytorch-fid's Inception with weights found
offline (:mod:`gancourse.metrics.inception`), or the course classifier's. This module reads what is
compared (a tensor, a dataset, a generator, a run folder, a folder of pictures) and caches the statistics
of datasets. Explained in 08_evaluation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from gancourse.errors import ConfigError
from gancourse.metrics.features import FEATURES, features_of, network_key
from gancourse.metrics.frechet import frechet_distance, statistics
from gancourse.metrics.inception import WeightsNotFound, inception, weights_source

__all__ = ["FEATURES", "WeightsNotFound", "dataset_statistics", "features_of", "fid", "fid_between",
           "frechet_distance", "inception", "network_key", "open_source", "statistics", "weights_source"]


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
        # no model takes these pictures: Inception resizes them all to 299 px, so no size is too small
        return load_images(f"folder:{path}", image_size=image_size, min_scale=None), None, f"pictures in {path}"
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
