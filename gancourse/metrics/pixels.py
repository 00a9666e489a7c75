"""Measurements on pixels, with no pretrained network: quick checks of image samples on a CPU.

The mean image's correlation with the data's, the spread across images, the distance to the nearest
real image (and its label, a crude classifier), and a Fréchet distance between Gaussians fitted in
the data's top principal components. Explained in 06_dcgan and 07_wgan_gp.
"""

from __future__ import annotations

import torch


def mean_image_correlation(x: torch.Tensor, reference: torch.Tensor) -> float:
    """Pearson correlation between the mean image of ``x`` and that of ``reference``.

    Noise has a flat mean image (about 0); a generator that learnt where garments put their pixels
    matches the real mean image closely (close to 1).
    """
    a, b = x.float().mean(0).flatten(), reference.float().mean(0).flatten()
    return torch.corrcoef(torch.stack([a, b]))[0, 1].item()


def pixel_diversity(x: torch.Tensor) -> float:
    """Mean over pixels of the standard deviation across images: 0 when every image is the same."""
    return x.float().std(0).mean().item()


def _distances(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    return torch.cdist(x.flatten(1).float(), reference.flatten(1).float())  # (N, M)


def nearest_distance(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per image of ``x``, the RMS pixel distance to its nearest image in ``reference``: (N,)."""
    return _distances(x, reference).min(1).values / x[0].numel() ** 0.5


def nearest_labels(images: torch.Tensor, reference: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The label of each image's nearest reference image (Euclidean, pixels): a crude classifier.

    Enough to group generated samples by the class they resemble, so that their latent vectors
    can be averaged per class for latent arithmetic.
    """
    return labels[_distances(images, reference).argmin(1)]


_PCA_CACHE: dict = {}


def _pixel_pca(reference: torch.Tensor, k: int):
    """(centre, basis (pixels, k)) of ``reference``'s top-k principal components, cached per tensor."""
    ref = reference.flatten(1).double()
    key = (reference.data_ptr(), tuple(reference.shape), k, float(ref.sum()))
    if key not in _PCA_CACHE:
        centre = ref.mean(0)
        _, vectors = torch.linalg.eigh((ref - centre).T @ (ref - centre))  # ascending eigenvalues
        if len(_PCA_CACHE) >= 4:
            _PCA_CACHE.pop(next(iter(_PCA_CACHE)))
        _PCA_CACHE[key] = (centre, vectors[:, -k:])
    return _PCA_CACHE[key]


def pca_frechet_distance(x: torch.Tensor, reference: torch.Tensor, k: int = 32) -> float:
    """Fréchet distance between Gaussians fitted to ``x`` and ``reference`` in ``reference``'s top-k
    principal components of pixel space.

    A crude, fast stand-in for FID on small grey images: it compares means and covariances of the
    main directions of variation of the real data, with no pretrained network. The distance itself is
    pytorch-fid's, through :func:`gancourse.metrics.fid.frechet_distance`.
    """
    from gancourse.metrics.fid import frechet_distance, statistics

    centre, basis = _pixel_pca(reference, k)
    a = ((x.flatten(1).double() - centre) @ basis).numpy()
    b = ((reference.flatten(1).double() - centre) @ basis).numpy()
    return frechet_distance(statistics(a), statistics(b), n=min(len(a), len(b)))
