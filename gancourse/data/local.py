"""Where datasets live on disk: the folders searched, IDX files, downloads and the offline error.

Search order: ``$GANCOURSE_DATA``, the course's cache folder (:data:`COURSE_DATA_DIR`), then system
folders such as Debian's ``/usr/share/datasets/fashion-mnist/`` (package ``dataset-fashion-mnist``); a
``root`` argument (``--root``) replaces them all, so a named folder is never silently swapped for another
copy. A download is tried only when none of them has the data; offline
it ends in one :class:`DataNotFoundError` that says the three ways to get it. Used by
:mod:`gancourse.data.images`.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

from gancourse.errors import OutputNotWritable, UserError

DATA_ENV = "GANCOURSE_DATA"
COURSE_DATA_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gancourse"
# name -> (torchvision class name, folder names that may hold the IDX files, system folders)
_IDX = {
    "fashion-mnist": (
        "FashionMNIST",
        ("fashion-mnist", "fashion_mnist"),
        ("/usr/share/datasets/fashion-mnist",),
    ),
    "mnist": ("MNIST", ("mnist",), ("/usr/share/datasets/mnist",)),
}
_APT_PACKAGE = {"fashion-mnist": "dataset-fashion-mnist"}


class DataNotFoundError(UserError, FileNotFoundError):
    """The dataset is on none of the searched paths and could not be downloaded."""


class DataError(UserError, ValueError):
    """A dataset file that is truncated, corrupt or inconsistent; the message names the file."""


def search_dirs(root=None) -> list[Path]:
    """Folders searched for data, in order: ``$GANCOURSE_DATA``, the course cache; or ``root`` alone.

    A ``root`` the user named is the only place looked in: reading another copy instead would be
    training on data they did not ask for.
    """
    if root is not None:
        return [Path(root).expanduser()]
    dirs = []
    if os.environ.get(DATA_ENV):
        dirs.append(Path(os.environ[DATA_ENV]).expanduser())
    dirs.append(COURSE_DATA_DIR)
    return dirs


def _not_found(name: str, looked: list[Path], reason: str | None) -> DataNotFoundError:
    where = "\n".join(f"  - {p}" for p in looked)
    apt = _APT_PACKAGE.get(name)
    ways = [
        f"with internet: load_images({name!r}, download=True) (or --download) saves it under {COURSE_DATA_DIR}",
        f"on Debian/Ubuntu: sudo apt-get install {apt}" if apt else
        "copy the files from a machine that has them (torchvision's folder layout works)",
        f"a folder you already have: load_images({name!r}, root=PATH) or export {DATA_ENV}=PATH",
    ]  # fmt: skip
    lines = [f"{name} was not found on this machine. Looked in:", where]
    if reason:
        lines.append(f"Downloading failed: {reason}")
    lines.append("Three ways to get it:")
    lines += [f"  {i}. {w}" for i, w in enumerate(ways, 1)]
    return DataNotFoundError("\n".join(lines))


def _download(name: str, root, fetch) -> Path:
    """Run ``fetch(folder)``; turn any network failure into the course's DataNotFoundError."""
    if root is not None:
        target = Path(root).expanduser()
    else:
        target = Path(os.environ[DATA_ENV]).expanduser() if os.environ.get(DATA_ENV) else COURSE_DATA_DIR
    try:
        target.mkdir(parents=True, exist_ok=True)
        fetch(target)
    except (
        RuntimeError,
        OSError,
        ValueError,
        ImportError,
    ) as err:  # what torchvision raises offline
        raise _not_found(name, _looked(name, root), f"{type(err).__name__}: {err}") from None
    return target


def _looked(name: str, root) -> list[Path]:
    system = [Path(p) for p in _IDX[name][2]] if name in _IDX and root is None else []
    return search_dirs(root) + system


# --- MNIST and Fashion-MNIST: IDX files, plain or gzipped ------------------------------------


def _idx_files(folder: Path, split: str):
    prefix = "train" if split == "train" else "t10k"
    found = []
    for kind in ("images-idx3", "labels-idx1"):
        stem = folder / f"{prefix}-{kind}-ubyte"
        path = next((p for p in (stem, stem.with_name(stem.name + ".gz")) if p.is_file()), None)
        if path is None:
            return None
        found.append(path)
    return found


def _find_idx(name: str, root, split: str):
    found = locate_idx(name, root, split)
    return found[0] if found else None


def locate_idx(name: str, root=None, split: str = "train") -> tuple[list[Path], str] | None:
    """([images, labels] IDX files, where they were found) for ``name``, searching as :func:`load_images`
    does; ``where`` is "root", "$GANCOURSE_DATA", "the course cache" or "the system folder"."""
    tv_name, aliases, system = _IDX[name]
    candidates = []
    for i, d in enumerate(search_dirs(root)):
        where = "root" if root is not None and i == 0 else (
            "the course cache" if d == COURSE_DATA_DIR else f"${DATA_ENV}")
        if where != "the course cache":
            candidates.append((d, where))  # a folder the user named may hold the files themselves
        candidates += [(c, where) for c in [d / tv_name / "raw"] + [d / a for a in aliases]]
    if root is None:
        candidates += [(Path(p), "the system folder") for p in system]
    for folder, where in candidates:
        files = _idx_files(folder, split)
        if files:
            return files, where
    return None


def find_local_idx(name: str = "fashion-mnist", split: str = "train", root=None) -> list[Path] | None:
    """The [images, labels] IDX files of ``name`` found on disk without downloading, or None."""
    if name not in _IDX:
        raise ValueError(f"{name!r} is not stored as IDX files; choose one of {', '.join(_IDX)}.")
    return _find_idx(name, root, split)


def _readable(path: Path, name: str) -> Path:
    """A path torchvision's IDX reader can open, checked whole: gzipped files are unpacked once into the cache.

    The unpacked copy is named after the source's identity (its resolved path, size and modification
    time), so two copies of a dataset never share a cache entry and a changed source is unpacked again.
    """
    if path.suffix != ".gz":
        check_idx(path, path)
        return path
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:12]
    for cache in (
        COURSE_DATA_DIR / "idx" / name,
        Path(tempfile.gettempdir()) / "gancourse-idx" / name,
    ):
        out = cache / f"{path.stem}.{key}"
        try:
            if out.is_file():
                return out
            cache.mkdir(parents=True, exist_ok=True)
            _remove_abandoned_parts(cache)
            partial = out.with_name(f"{out.name}.{os.getpid()}.part")
            try:
                with gzip.open(path, "rb") as src, open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                check_idx(partial, path)
            except (EOFError, gzip.BadGzipFile, zlib.error, DataError) as err:
                partial.unlink(missing_ok=True)
                if isinstance(err, DataError):
                    raise
                raise DataError(f"{path} is truncated or corrupt ({err}); replace it with a whole copy.") from None
            os.replace(partial, out)  # atomic: a second process never sees half a file
            return out
        except PermissionError:
            continue
    raise OutputNotWritable(f"no writable folder to unpack {path}: set {DATA_ENV} to a folder you can write to.")


def _remove_abandoned_parts(cache: Path) -> None:
    """Delete ``*.<pid>.part`` files whose unpacking process no longer runs (it crashed or was killed)."""
    for part in cache.glob("*.part"):
        pid = part.suffixes[-2][1:] if len(part.suffixes) >= 2 else ""
        if pid.isdigit() and not _alive(int(pid)):
            part.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


_IDX_ITEM_BYTES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def check_idx(path: Path, source: Path) -> tuple[int, ...]:
    """The dimensions an IDX file's header declares, after checking that the file holds exactly that much.

    ``source`` is the file to name in the error (the ``.gz`` a cached copy came from).
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
        if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _IDX_ITEM_BYTES or not 1 <= head[3] <= 4:
            raise DataError(f"{source} is not an IDX file (its header is wrong); replace it with a whole copy.")
        raw_dims = f.read(4 * head[3])
        if len(raw_dims) < 4 * head[3]:
            raise DataError(f"{source} is truncated inside its header; replace it with a whole copy.")
        dims = struct.unpack(f">{head[3]}I", raw_dims)
    expected = 4 + 4 * len(dims) + math.prod(dims) * _IDX_ITEM_BYTES[head[2]]
    if size != expected:
        shape = " × ".join(map(str, dims))
        raise DataError(
            f"{source} is truncated or corrupt: its header declares {shape} values ({expected:,} bytes) but it "
            f"holds {size:,} bytes; replace it with a whole copy."
        )
    return dims


def torchvision_mnist(name: str = "fashion-mnist", root=None, split: str = "train", transform=None):
    """torchvision's own ``FashionMNIST`` / ``MNIST`` dataset over the local IDX files, offline.

    torchvision expects ``ROOT/FashionMNIST/raw/*-ubyte`` (unpacked); the files found by
    :func:`load_images` are linked into that layout under the course cache. Used where code
    should look like the usual torchvision recipe (the speed benchmark's reference loop).
    """
    from torchvision import datasets

    name = name.lower().replace("_", "-")
    if name not in _IDX:
        raise ValueError(f"torchvision_mnist serves {sorted(_IDX)}, not {name!r}.")
    tv_name = _IDX[name][0]
    raw = COURSE_DATA_DIR / "torchvision" / tv_name / "raw"
    for part in ("train", "test"):
        files = _find_idx(name, root, part)
        if files is None:
            raise _not_found(name, _looked(name, root), None)
        for path in files:
            src = _readable(path, name).resolve()
            link = raw / (path.stem if path.suffix == ".gz" else path.name)  # the name torchvision looks for
            if not (link.is_symlink() and link.resolve() == src):
                raw.mkdir(parents=True, exist_ok=True)
                link.unlink(missing_ok=True)
                link.symlink_to(src)
    tv_class = getattr(datasets, tv_name)
    return tv_class(str(raw.parent.parent), train=split == "train", transform=transform)
