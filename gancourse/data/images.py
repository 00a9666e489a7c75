"""Image datasets for the DCGAN notebooks, found on disk before anything is downloaded.

``load_images("fashion-mnist")`` returns a torch ``Dataset`` of ``(x, y)`` pairs with ``x`` a
float tensor (C, H, W) in [-1, 1], the range of the generator's tanh. The same call takes
``"mnist"``, ``"cifar10"``, ``"celeba"``, ``"digits"`` (scikit-learn's 8x8 digits) or
``"folder:PATH"`` (any folder of pictures). Datasets small enough to sit in memory keep their
pixels as one uint8 tensor, and :func:`image_batches` puts them on the training device as one
float tensor, so a batch is an index into memory rather than a trip through PIL and a DataLoader.

Where the files come from, in order: ``$GANCOURSE_DATA``, the course's cache folder
(:data:`COURSE_DATA_DIR`), and system folders such as Debian's ``/usr/share/datasets/fashion-mnist/``
(package ``dataset-fashion-mnist``); a ``root`` argument replaces them all. Only when none of
them has the data is a download tried, and offline that ends in one :class:`DataNotFoundError`
that says the three ways to get the data. Explained in 06_dcgan.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from gancourse.data.batches import TensorBatches, fingerprint
from gancourse.data.local import (  # noqa: F401  (re-exported: the public names of image data)
    _IDX,
    COURSE_DATA_DIR,
    DATA_ENV,
    DataError,
    DataNotFoundError,
    _download,
    _find_idx,
    _idx_files,
    _looked,
    _not_found,
    _readable,
    search_dirs,
    torchvision_mnist,
)
from gancourse.errors import ConfigError, UserError

DATASET_NAMES = ("fashion-mnist", "mnist", "cifar10", "celeba", "digits", "folder:PATH")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}

_FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
# Above this many bytes as float32 a dataset is streamed through a DataLoader instead of resident.
RESIDENT_LIMIT_BYTES = 2 * 1024**3
# A folder's pictures are resized so that their shorter side is the model's; below half of it, most of what
# the model would learn is the interpolation between a few pixels, not the pictures.
MIN_SCALE = 0.5


class ImageFolderError(UserError, ValueError):
    """A folder without images, or an image that cannot be read."""


class ImageTensors(Dataset):
    """A dataset held as one uint8 tensor (N, C, H, W) plus integer labels (-1 where unlabelled)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, name: str, classes=None):
        assert images.dtype == torch.uint8 and images.ndim == 4, (images.dtype, images.shape)
        self.images, self.labels, self.name, self.classes = images, labels.long(), name, classes
        self.channels, self.image_size = images.shape[1], images.shape[-1]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return _to_unit(self.images[i]), int(self.labels[i])

    def tensors(self, device=None, limit: int | None = None):
        """``(x, y)``: every image as float32 in [-1, 1], (N, C, H, W), on ``device``."""
        images, labels = self.images[:limit], self.labels[:limit]
        return _to_unit(images.to(device)), labels.to(device)

    def fingerprint(self) -> str:
        """A digest of the pixels as stored (uint8), the same on every device."""
        return fingerprint(self.images)

    def __repr__(self) -> str:
        return f"ImageTensors({self.name!r}, n={len(self)}, channels={self.channels}, size={self.image_size})"


class ImageFiles(Dataset):
    """Pictures read lazily from a list of files (or from a torchvision dataset), resized and cropped."""

    def __init__(self, items, name: str, image_size: int, channels: int, read=None, classes=None):
        from torchvision import transforms as T

        self.items, self.name, self.classes = items, name, classes
        self.image_size, self.channels = image_size, channels
        self._read = read or self._read_file
        self.transform = T.Compose([
            T.Resize(image_size), T.CenterCrop(image_size), T.ToTensor(),
            T.Normalize([0.5] * channels, [0.5] * channels),  # [0, 1] -> [-1, 1]
        ])  # fmt: skip

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        picture, label = self._read(i)
        return self.transform(picture), label

    def _read_file(self, i):
        from PIL import Image, UnidentifiedImageError

        path = self.items[i]
        try:
            with Image.open(path) as picture:
                return as_mode(picture, self.channels), -1
        except (UnidentifiedImageError, OSError) as err:
            raise ImageFolderError(f"cannot read the image {path}: {err}") from err

    def tensors(self, device=None, limit: int | None = None, batch_size: int = 256):
        """Read every picture once (or the first ``limit``) into ``(x, y)`` on ``device``."""
        data = self if limit is None else torch.utils.data.Subset(self, range(min(limit, len(self))))
        xs, ys = [], []
        for x, y in DataLoader(data, batch_size=batch_size):
            xs.append(x)
            ys.append(y)
        return torch.cat(xs).to(device), torch.cat(ys).long().to(device)

    def fingerprint(self) -> str:
        """A digest of the files (path, size, modification time) and of how they are read."""
        digest = hashlib.sha1(f"{self.name}|{self.image_size}|{self.channels}|{len(self.items)}".encode())
        for item in self.items:
            if isinstance(item, (str, Path)):
                st = Path(item).stat()
                digest.update(f"{item}|{st.st_size}|{st.st_mtime_ns}".encode())
        return digest.hexdigest()[:16]

    def __repr__(self) -> str:
        return f"ImageFiles({self.name!r}, n={len(self)}, channels={self.channels}, size={self.image_size})"


def load_images(name: str = "fashion-mnist", root=None, split: str = "train",
                image_size: int | None = None, download: bool | None = None,
                channels: int | None = None, *, min_scale: float | None = MIN_SCALE):  # fmt: skip
    """The dataset ``name`` with images in [-1, 1], channels first.

    ``root``: the folder to read from (and to download into); no other place is then searched. ``split``:
    "train" or "test" ("valid" also for CelebA); a folder's splits are its ``train`` and ``test`` sub-folders
    where it has both, and a folder without them is all train split. ``image_size``: side length in pixels; by
    default the native size (28 for the MNISTs, 32 for CIFAR-10 and digits, 64 for CelebA and folders).
    ``download``: ``None`` downloads only when no local copy exists, ``False`` never downloads, ``True`` also
    downloads when nothing is found locally (it never replaces a local copy). ``channels``: 1 or 3 to convert (a
    folder of pictures otherwise trains in colour when any picture is in colour). ``min_scale``: a folder whose
    smallest picture is under ``min_scale`` × ``image_size`` on a side is refused, and one under ``image_size``
    is upscaled with a warning; None accepts any size.
    """
    key = name.strip()
    if key.lower().startswith("folder:"):
        folder = _folder_split(Path(key[len("folder:") :]).expanduser(), split)
        return _load_folder(folder, image_size or 64, channels, min_scale)
    key = key.lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}.get(key, key)
    if split not in ("train", "test", "valid") or (split == "valid" and key != "celeba"):
        raise ConfigError(f"split must be 'train' or 'test' (or 'valid' for celeba), got {split!r}.")
    if key in _IDX:
        data = _load_idx(key, root, split, download)
    elif key == "cifar10":
        data = _load_cifar10(root, split, download)
    elif key == "digits":
        data = _load_digits(split, image_size or 32)
    elif key == "celeba":
        return with_channels(_load_celeba(root, split, image_size or 64, download), channels)
    else:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}.")
    return with_channels(resize(data, image_size) if image_size else data, channels)


def image_batches(data, batch_size: int, *, device=None, seed: int = 0, resident: bool | None = None):
    """An infinite iterator of image batches (tensors in [-1, 1]) for the training loop.

    Resident (the default when the dataset fits in :data:`RESIDENT_LIMIT_BYTES`): the whole set
    becomes one float tensor on ``device`` and batches are drawn by :class:`TensorBatches`.
    Otherwise a DataLoader streams from disk with the same resumable order.
    """
    if resident is None:
        resident = len(data) * data.channels * data.image_size**2 * 4 <= RESIDENT_LIMIT_BYTES
    digest = data.fingerprint() if hasattr(data, "fingerprint") else None
    if resident:
        return TensorBatches(data.tensors(device)[0], batch_size, seed=seed, source_fingerprint=digest)
    return LoaderBatches(data, batch_size, seed=seed, device=device)


class LoaderBatches:
    """Infinite shuffled DataLoader batches (images only) whose position survives ``state_dict``."""

    def __init__(self, data, batch_size: int, seed: int = 0, device=None, num_workers: int = 2):
        self.data, self.batch_size = data, batch_size
        self.device, self.num_workers = device, num_workers
        self.generator = torch.Generator().manual_seed(seed)
        self._new_epoch()

    def _new_epoch(self) -> None:
        self._order = torch.randperm(len(self.data), generator=self.generator)
        self._pos, self._it = 0, None

    def __iter__(self):
        return self

    def __next__(self):
        if self._pos + self.batch_size > len(self._order):
            self._new_epoch()
        if self._it is None:  # a loader over the rest of this epoch's order, last partial batch dropped
            end = len(self._order) // self.batch_size * self.batch_size
            rest = self._order[self._pos : end].tolist()
            loader = DataLoader(self.data, self.batch_size, sampler=rest, num_workers=self.num_workers)
            self._it = iter(loader)
        self._pos += self.batch_size
        return next(self._it)[0].to(self.device)

    def identity(self) -> dict:
        """The batch size and the dataset (its name and size)."""
        digest = self.data.fingerprint() if hasattr(self.data, "fingerprint") else None
        return {"batch_size": self.batch_size, "examples": len(self.data), "data": self.data.name,
                "fingerprint": digest}

    def state_dict(self) -> dict:
        return {
            "generator": self.generator.get_state(),
            "order": self._order.clone(),
            "pos": self._pos,
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self._order, self._pos, self._it = state["order"].clone(), int(state["pos"]), None


def resize(data: ImageTensors, image_size: int) -> ImageTensors:
    """The same dataset at ``image_size`` pixels a side (antialiased bilinear, in chunks)."""
    if image_size == data.image_size:
        return data
    from torchvision.transforms.v2.functional import resize as _resize

    chunks = [_resize(c, [image_size, image_size], antialias=True) for c in data.images.split(4096)]
    return ImageTensors(torch.cat(chunks), data.labels, data.name, data.classes)


def _to_unit(images: torch.Tensor) -> torch.Tensor:
    return images.float().div_(127.5).sub_(1.0)  # [0, 255] -> [-1, 1]


def _load_idx(name: str, root, split: str, download) -> ImageTensors:
    from torchvision import datasets
    from torchvision.datasets.mnist import read_image_file, read_label_file

    files = _find_idx(name, root, split)
    if files is None and download is not False:
        tv_class = getattr(datasets, _IDX[name][0])
        target = _download(name, root, lambda d: tv_class(d, train=split == "train", download=True))
        files = _idx_files(target / _IDX[name][0] / "raw", split)
    if files is None:
        raise _not_found(name, _looked(name, root), None)
    images = read_image_file(str(_readable(files[0], name)))  # (N, 28, 28) uint8
    labels = read_label_file(str(_readable(files[1], name)))
    if len(images) != len(labels):
        raise DataError(f"{files[0]} has {len(images)} images but {files[1]} has {len(labels)} labels; "
                        f"the two files come from different copies. Replace them with one whole copy.")
    classes = _FASHION_CLASSES if name == "fashion-mnist" else [str(i) for i in range(10)]
    return ImageTensors(images[:, None], labels, name, classes)


# --- CIFAR-10, CelebA, scikit-learn digits, folders ------------------------------------------


def _load_cifar10(root, split: str, download) -> ImageTensors:
    from torchvision.datasets import CIFAR10

    train = split == "train"
    for d in search_dirs(root):
        try:
            data = CIFAR10(str(d), train=train, download=False)
            break
        except RuntimeError:  # "Dataset not found or corrupted"
            continue
    else:
        if download is False:
            raise _not_found("cifar10", search_dirs(root), None)
        target = _download("cifar10", root, lambda d: CIFAR10(str(d), train=train, download=True))
        data = CIFAR10(str(target), train=train, download=False)
    images = torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous()  # (N, 32, 32, 3) -> NCHW
    return ImageTensors(images, torch.tensor(data.targets), "cifar10", list(data.classes))


def _load_celeba(root, split: str, image_size: int, download) -> ImageFiles:
    from torchvision.datasets import CelebA
    from torchvision.transforms import CenterCrop

    split = {"test": "test", "valid": "valid"}.get(split, "train")
    for d in search_dirs(root):
        try:
            data = CelebA(str(d), split=split, target_type=[], download=False)
            break
        except RuntimeError:
            continue
    else:
        if download is False:
            raise _not_found("celeba", search_dirs(root), None)
        target = _download("celeba", root, lambda d: CelebA(str(d), split=split, download=True))
        data = CelebA(str(target), split=split, target_type=[], download=False)
    crop = CenterCrop(178)  # the face, as in the DCGAN paper's preprocessing

    def read(i):
        return crop(data[i][0]), -1

    return ImageFiles(range(len(data)), "celeba", image_size, channels=3, read=read)


def _load_digits(split: str, image_size: int) -> ImageTensors:
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = torch.from_numpy(digits.images).float()  # (1797, 8, 8), values 0..16
    keep = torch.arange(len(pixels)) % 5 != 0 if split == "train" else torch.arange(len(pixels)) % 5 == 0
    images = (pixels[keep] * (255 / 16)).round().to(torch.uint8)[:, None]
    data = ImageTensors(images, torch.from_numpy(digits.target)[keep], "digits", [str(i) for i in range(10)])
    return resize(data, image_size)


_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_WIDE_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}  # more than 8 bits a pixel


def is_grey(picture) -> bool:
    """True for grey pictures, a palette of greys included."""
    if picture.mode == "P":
        palette = picture.getpalette() or []
        return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))
    return picture.mode in _GREY_MODES


def as_mode(picture, channels: int):
    """``picture`` as 8-bit grey ("L") or RGB with its real contrast.

    16- and 32-bit greys are scaled to 8 bits (PIL's own conversion clips them to white); transparent
    pixels are laid on white, as a page would show them; palettes are expanded.
    """
    import numpy as np
    from PIL import Image

    if picture.mode in _WIDE_MODES:
        values = np.asarray(picture, dtype=np.float64)
        peak = values.max(initial=0)
        top = 65535.0 if picture.mode != "F" else 1.0 if peak <= 1 else 255.0 if peak <= 255 else 65535.0
        picture = Image.fromarray(np.clip(np.rint(values * (255 / top)), 0, 255).astype(np.uint8), "L")
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        picture = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return picture.convert("L" if channels == 1 else "RGB")


def _folder_split(folder: Path, split: str) -> Path:
    """The folder a split of ``folder:PATH`` reads: PATH/train and PATH/test where PATH has both, else PATH
    itself for the train split. A folder without them has no test split, and asking for one is refused:
    serving the training pictures as "held out" would be silently wrong."""
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test' for a folder of pictures, got {split!r}.")
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return folder / split
    if split == "test":
        raise ImageFolderError(
            f"the folder {folder} has no test split: put the pictures to train on in {folder / 'train'} and "
            f"held-out pictures in {folder / 'test'}.")
    return folder


def _load_folder(folder: Path, image_size: int, channels: int | None = None,
                 min_scale: float | None = MIN_SCALE) -> ImageFiles:
    """Every picture under ``folder``; colour (3 channels) if any picture is in colour, unless ``channels``.

    Pictures are refused or upscaled with a warning by :func:`check_picture_sizes`."""
    if not folder.is_dir():
        raise ImageFolderError(f"the image folder {folder} does not exist.")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ImageFolderError(
            f"the folder {folder} holds no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))}, in sub-folders too)."
        )
    from PIL import Image, UnidentifiedImageError

    grey, sizes = 0, {}
    for path in files:  # the header only: cheap, and a file that cannot be read is named now, not mid-training
        try:
            with Image.open(path) as picture:
                grey += is_grey(picture)
                sizes[path] = picture.size  # (width, height)
        except (UnidentifiedImageError, OSError) as err:
            raise ImageFolderError(f"cannot read the image {path}: {err}; remove it or replace it.") from err
    check_picture_sizes(folder, sizes, image_size, min_scale)
    if channels is None:
        channels = 1 if grey == len(files) else 3
        if 0 < grey < len(files):
            print(f"note: {grey} of the {len(files)} pictures in {folder} are grey and the others in colour; "
                  f"training in colour (pass --channels 1 for grey).")
    if channels not in (1, 3):
        raise ConfigError(f"channels (--channels) must be 1 (grey) or 3 (colour), got {channels}.")
    return ImageFiles(files, f"folder:{folder}", image_size, channels)


def check_picture_sizes(folder: Path, sizes: dict[Path, tuple[int, int]], image_size: int,
                        min_scale: float | None = MIN_SCALE) -> None:
    """Refuse ``folder`` when a picture's shorter side is under ``min_scale`` × ``image_size``; warn, in one
    line, when some are under ``image_size`` (they are upscaled). ``sizes``: (width, height) of each picture."""
    small = {path: size for path, size in sizes.items() if min(size) < image_size}
    if not small:
        return
    path, (width, height) = min(small.items(), key=lambda item: min(item[1]))
    side, name = min(width, height), path.relative_to(folder)
    if min_scale is not None and side < min_scale * image_size:
        need = math.ceil(min_scale * image_size)
        raise ConfigError(
            f"the smallest picture in {folder} is {width}×{height} px ({name}); the model takes {image_size} px "
            f"a side, and a picture under {need} px upscaled that far would be mostly interpolation. Use pictures of "
            f"at least {need} px a side, or pass a smaller --image-size (at most {int(side / min_scale)})."
        )
    warnings.warn(f"{len(small)} of the {len(sizes)} pictures in {folder} are under {image_size} px a side (the "
                  f"smallest, {name}, is {width}×{height} px); they are upscaled to {image_size} px.", stacklevel=4)


def with_channels(data, channels: int | None):
    """``data`` with ``channels`` (1: grey, 3: colour) per image; unchanged when None or already so."""
    if channels is None or channels == data.channels:
        return data
    if channels not in (1, 3):
        raise ConfigError(f"channels (--channels) must be 1 (grey) or 3 (colour), got {channels}.")
    if not isinstance(data, ImageTensors):
        raise ConfigError(f"{data.name} is read from files; it cannot be converted to {channels} channels.")
    if channels == 3:
        images = data.images.expand(-1, 3, -1, -1).contiguous()
    else:  # ITU-R 601 luma, as PIL's convert("L")
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        images = (data.images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    return ImageTensors(images, data.labels, data.name, data.classes)
