"""DCGAN and WGAN-GP on images: the two recipes, one function to train them, and what we look at.

The recipes are the papers' settings. DCGAN (Radford et al. 2016): BCE with the non-saturating
generator loss, one discriminator step per generator step, Adam 2e-4 with beta1 = 0.5. WGAN-GP
(Gulrajani et al. 2017): the Wasserstein loss with a gradient penalty of weight 10 on a critic
without batch norm, 5 critic steps per generator step, Adam 1e-4 with betas (0.5, 0.9) as in the
authors' MNIST code. :func:`train_image_gan` builds the networks for a dataset, keeps the data
resident on the device and calls the course's one training loop. Explained in 06_dcgan and
07_wgan_gp.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gancourse.models import DCGANDiscriminator, DCGANGenerator

RECIPES: dict[str, dict] = {
    "dcgan": dict(loss="nonsaturating", n_critic=1, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999)),
    "wgan-gp": dict(loss="wasserstein", n_critic=5, gp_weight=10.0, lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.9)),
}


def _recipe(kind: str) -> dict:
    if kind not in RECIPES:
        raise ValueError(f"unknown image GAN {kind!r}; choose one of {', '.join(RECIPES)}.")
    return dict(RECIPES[kind])


def build_gan(kind: str, channels: int, image_size: int, width: int = 64, z_dim: int = 100):
    """(G, D) for ``kind``: the same DCGAN generator; for WGAN-GP a critic without batch norm.

    Batch norm makes each sample's score depend on the rest of the batch, while the gradient
    penalty constrains the gradient of one sample's score with respect to that sample alone.
    """
    _recipe(kind)
    G = DCGANGenerator(z_dim=z_dim, image_size=image_size, channels=channels, width=width)
    norm = "batch" if kind == "dcgan" else "none"
    D = DCGANDiscriminator(image_size=image_size, channels=channels, width=width, norm=norm)
    return G, D


def train_image_gan(kind: str, data, *, steps: int, batch_size: int = 128, width: int = 64, z_dim: int = 100,
                    device=None, seed: int = 0, G=None, D=None, **train_kwargs):  # fmt: skip
    """Train ``kind`` ("dcgan" or "wgan-gp") on an image dataset; return ``(G, D, history)``.

    ``data`` is a dataset from :func:`gancourse.data.images.load_images`; it becomes one tensor on
    the training device. ``G`` and ``D`` default to :func:`build_gan`'s networks. Other keywords
    go to :func:`gancourse.train.train` (``out_dir``, ``resume``, ``callbacks``, recipe overrides).
    """
    from gancourse.bench.speed import speed_settings
    from gancourse.config import resolve_device
    from gancourse.data.images import image_batches
    from gancourse.train import train

    device = resolve_device(device)
    torch.manual_seed(seed)  # the networks' initial weights
    if G is None or D is None:
        G, D = build_gan(kind, data.channels, data.image_size, width=width, z_dim=z_dim)
    batches = image_batches(data, batch_size, device=device, seed=seed)
    settings = {**_recipe(kind), **speed_settings(device), **train_kwargs}
    history = train(G, D, batches, steps=steps, device=str(device), seed=seed, **settings)
    return G, D, history


@torch.no_grad()
def generate(G, z: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """G(z) on the CPU in evaluation mode (batch norm uses its running statistics); G's mode is kept."""
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    try:
        return torch.cat([G(chunk.to(device)).float().cpu() for chunk in z.split(batch_size)])
    finally:
        G.train(was_training)


@torch.no_grad()
def judge(D, x: torch.Tensor, batch_size: int = 128, probability: bool = True) -> torch.Tensor:
    """D's view of each image as D sees batches during training: sigmoid(D(x)), or the raw score.

    A DCGAN discriminator trains in batch-norm training mode on batches that are all real or all
    fake, so that is how it is asked here; its running statistics and mode are left as they were.
    ``probability=False`` gives the raw score (a WGAN critic's output is no probability).
    """
    buffers = {k: v.clone() for k, v in D.named_buffers()}
    was_training = D.training
    device = next(D.parameters()).device
    D.train()
    try:
        scores = torch.cat([D(chunk.to(device)).float().cpu() for chunk in x.split(batch_size)])
    finally:
        D.train(was_training)
        for k, v in D.named_buffers():
            v.copy_(buffers[k])
    return torch.sigmoid(scores) if probability else scores


def critic_gradient_norms(D, x_real: torch.Tensor, x_fake: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """|grad_x D(x_hat)| at random points x_hat between real and fake images, per image: (B,).

    The quantity the gradient penalty pushes towards 1; a 1-Lipschitz critic has every norm <= 1.
    """
    device = next(D.parameters()).device
    g = torch.Generator().manual_seed(seed)
    alpha = torch.rand(len(x_real), *([1] * (x_real.dim() - 1)), generator=g)
    x_hat = (alpha * x_real + (1 - alpha) * x_fake).to(device).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat)
    return grad.flatten(1).norm(dim=1).detach().cpu()


@dataclass
class SampleGrids:
    """A training callback that keeps ``G(z)`` for the same fixed ``z`` at every call.

    ``train(..., callbacks=[grids], callback_every=100)``; afterwards ``grids.steps[i]`` and
    ``grids.images[i]`` (CPU tensors in [-1, 1]) show how the same noise turned into pictures.
    """

    z: torch.Tensor
    steps: list[int] = field(default_factory=list)
    images: list[torch.Tensor] = field(default_factory=list)

    def __call__(self, step, G, D, history) -> None:
        if self.steps and self.steps[-1] == step:
            return
        self.steps.append(step)
        self.images.append(generate(G, self.z))


# --- simple measurements on pixels -------------------------------------------------------------


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


def nearest_distance(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per image of ``x``, the RMS pixel distance to its nearest image in ``reference``: (N,)."""
    d = torch.cdist(x.flatten(1).float(), reference.flatten(1).float())
    return d.min(1).values / x[0].numel() ** 0.5


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
    main directions of variation of the real data, with no pretrained network.
    """
    import numpy as np
    from scipy import linalg

    centre, basis = _pixel_pca(reference, k)
    a = ((x.flatten(1).double() - centre) @ basis).numpy()
    b = ((reference.flatten(1).double() - centre) @ basis).numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    root = root.real if np.iscomplexobj(root) else root
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))
