"""Image loading on tiny IDX files and picture folders written in temporary directories."""

import gzip
import os
import struct
from pathlib import Path
from urllib.error import URLError

import pytest
import torch

from gancourse.data import images, local
from gancourse.data.images import (
    DataNotFoundError,
    ImageFolderError,
    LoaderBatches,
    image_batches,
    load_images,
)
from gancourse.errors import ConfigError

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def write_idx(path: Path, array: torch.Tensor, compress: bool = False) -> None:
    """The IDX format: two zero bytes, type 0x08 (uint8), the rank, big-endian sizes, then bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    payload = header + array.to(torch.uint8).numpy().tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        payload = gzip.compress(payload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)


def write_mnist_split(folder: Path, split="train", n=6, compress=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = 0, 255  # the two ends of the range
    labels = torch.arange(n) % 10
    prefix = "train" if split == "train" else "t10k"
    write_idx(folder / f"{prefix}-images-idx3-ubyte", pixels, compress)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, compress)
    return pixels, labels


@pytest.fixture(autouse=True)
def isolated_data_dirs(tmp_path, monkeypatch):
    """No test sees the real cache, $GANCOURSE_DATA or the system folders."""
    monkeypatch.setattr(local, "COURSE_DATA_DIR", tmp_path / "cache")
    monkeypatch.delenv(images.DATA_ENV, raising=False)
    monkeypatch.setitem(images._IDX, "fashion-mnist", ("FashionMNIST", ("fashion-mnist",), ()))
    monkeypatch.setitem(images._IDX, "mnist", ("MNIST", ("mnist",), ()))


@pytest.mark.parametrize("compress", [False, True])
def test_idx_files_in_root_become_images_in_minus_one_one(tmp_path, compress):
    pixels, labels = write_mnist_split(tmp_path / "fm", compress=compress)
    data = load_images("fashion-mnist", root=tmp_path / "fm", download=False)
    assert len(data) == 6 and data.channels == 1 and data.image_size == 28
    x, y = data.tensors()
    assert x.shape == (6, 1, 28, 28) and x.dtype == torch.float32
    torch.testing.assert_close(x, pixels[:, None].float() / 127.5 - 1)
    assert x[0, 0, 0, 0] == -1 and x[0, 0, 0, 1] == 1
    torch.testing.assert_close(y, labels)
    x0, y0 = data[3]
    torch.testing.assert_close(x0, x[3])
    assert y0 == 3
    assert data.classes[9] == "Ankle boot"


def test_gzipped_files_are_unpacked_once_into_the_cache(tmp_path):
    write_mnist_split(tmp_path / "fm", compress=True)
    load_images("fashion-mnist", root=tmp_path / "fm", download=False)
    (unpacked,) = (tmp_path / "cache" / "idx" / "fashion-mnist").glob("train-images-idx3-ubyte.*")
    stamp = unpacked.stat().st_mtime_ns
    load_images("fashion-mnist", root=tmp_path / "fm", download=False)
    assert unpacked.stat().st_mtime_ns == stamp


def test_a_folder_named_by_the_environment_variable_may_hold_the_files_itself(tmp_path, monkeypatch):
    pixels, _ = write_mnist_split(tmp_path / "flat", n=5, seed=4)
    monkeypatch.setenv(images.DATA_ENV, str(tmp_path / "flat"))
    torch.testing.assert_close(load_images("fashion-mnist").images[:, 0], pixels)


def test_two_copies_of_a_dataset_never_share_the_cache(tmp_path):
    first, _ = write_mnist_split(tmp_path / "a", compress=True, n=6, seed=1)
    second, _ = write_mnist_split(tmp_path / "b", compress=True, n=6, seed=2)
    torch.testing.assert_close(load_images("fashion-mnist", root=tmp_path / "a").images[:, 0], first)
    torch.testing.assert_close(load_images("fashion-mnist", root=tmp_path / "b").images[:, 0], second)
    torch.testing.assert_close(load_images("fashion-mnist", root=tmp_path / "a").images[:, 0], first)
    # a copy replaced in place (same path, new content) is unpacked again
    third, _ = write_mnist_split(tmp_path / "a", compress=True, n=8, seed=3)
    os.utime(tmp_path / "a" / "train-images-idx3-ubyte.gz", ns=(1, 10**18))
    torch.testing.assert_close(load_images("fashion-mnist", root=tmp_path / "a").images[:, 0], third)


def test_truncated_files_are_named_and_nothing_half_is_cached(tmp_path):
    from gancourse.data.local import DataError

    write_mnist_split(tmp_path / "gz", compress=True, n=40)
    gz = tmp_path / "gz" / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[: len(gz.read_bytes()) // 2])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz is truncated or corrupt"):
        load_images("fashion-mnist", root=tmp_path / "gz")
    assert not list((tmp_path / "cache" / "idx" / "fashion-mnist").iterdir())
    write_mnist_split(tmp_path / "raw", n=40)
    raw = tmp_path / "raw" / "train-images-idx3-ubyte"
    raw.write_bytes(raw.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"declares 40 × 28 × 28 values \(31,376 bytes\) but it holds 31,276"):
        load_images("fashion-mnist", root=tmp_path / "raw")
    write_mnist_split(tmp_path / "mixed", n=40)
    write_mnist_split(tmp_path / "other", n=30)
    (tmp_path / "other" / "train-labels-idx1-ubyte").replace(tmp_path / "mixed" / "train-labels-idx1-ubyte")
    with pytest.raises(DataError, match="40 images but .* 30 labels"):
        load_images("fashion-mnist", root=tmp_path / "mixed")


def test_torchvision_layout_is_found_through_the_environment_variable(tmp_path, monkeypatch):
    pixels, _ = write_mnist_split(tmp_path / "data" / "MNIST" / "raw", split="test", n=4)
    monkeypatch.setenv(images.DATA_ENV, str(tmp_path / "data"))
    data = load_images("mnist", split="test", download=False)
    torch.testing.assert_close(data.images[:, 0], pixels)


def test_system_folder_is_searched_after_the_others(tmp_path, monkeypatch):
    write_mnist_split(tmp_path / "usr-share", n=3)
    monkeypatch.setitem(
        images._IDX,
        "fashion-mnist",
        ("FashionMNIST", ("fashion-mnist",), (str(tmp_path / "usr-share"),)),
    )
    assert len(load_images("fashion-mnist", download=False)) == 3
    write_mnist_split(local.COURSE_DATA_DIR / "fashion-mnist", n=5)
    assert len(load_images("fashion-mnist", download=False)) == 5  # the course's copy wins


def test_mismatched_image_and_label_counts_are_an_error(tmp_path):
    write_mnist_split(tmp_path / "fm", n=6)
    write_idx(tmp_path / "fm" / "train-labels-idx1-ubyte", torch.zeros(5))
    with pytest.raises(ValueError, match="6 images but .* 5 labels"):
        load_images("fashion-mnist", root=tmp_path / "fm", download=False)


def test_nothing_local_and_no_download_names_the_three_ways(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        load_images("fashion-mnist", root=tmp_path / "empty", download=False)
    message = str(info.value)
    assert str(tmp_path / "empty") in message
    assert "download=True" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "root=PATH" in message and "GANCOURSE_DATA" in message
    assert "Downloading failed" not in message


def test_offline_download_ends_in_the_course_error_not_a_network_traceback(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, *args, **kwargs):
            raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", Offline)
    with pytest.raises(DataNotFoundError, match="(?s)Downloading failed: URLError.*Three ways") as info:
        load_images("fashion-mnist", root=tmp_path / "dl")
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_successful_download_is_read_from_torchvisions_layout(tmp_path, monkeypatch):
    import torchvision.datasets

    def fake_download(root, train=True, download=False):
        write_mnist_split(Path(root) / "FashionMNIST" / "raw", n=7)

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", fake_download)
    assert len(load_images("fashion-mnist", root=tmp_path / "dl", download=True)) == 7


def test_image_size_resizes_every_image(tmp_path):
    write_mnist_split(tmp_path / "fm")
    data = load_images("fashion-mnist", root=tmp_path / "fm", image_size=32, download=False)
    x, _ = data.tensors()
    assert x.shape == (6, 1, 32, 32) and data.image_size == 32
    assert x.min() >= -1 and x.max() <= 1


def test_unknown_names_and_splits_are_rejected():
    with pytest.raises(ValueError, match="fashion-mnist, mnist, cifar10"):
        load_images("imagenet")
    with pytest.raises(ValueError, match="split"):
        load_images("mnist", split="validation")


def test_digits_are_resized_scaled_and_split_without_overlap():
    train, test = load_images("digits"), load_images("digits", split="test")
    assert len(train) + len(test) == 1797
    x, y = train.tensors()
    assert x.shape == (len(train), 1, 32, 32)
    assert x.min() == -1 and x.max() <= 1 and x.max() > 0.9
    assert set(y.tolist()) == set(range(10))
    assert load_images("digits", image_size=28).image_size == 28


def test_resident_batches_are_float_tensors_on_the_device(tmp_path):
    write_mnist_split(tmp_path / "fm", n=10)
    data = load_images("fashion-mnist", root=tmp_path / "fm", download=False)
    batches = image_batches(data, batch_size=4, device="cpu", seed=1)
    batch = next(batches)
    assert batch.shape == (4, 1, 28, 28) and batch.dtype == torch.float32
    all_x = data.tensors()[0]
    assert any(torch.equal(batch[0], row) for row in all_x)


# --- folders of pictures -----------------------------------------------------------------------


def write_pictures(folder: Path, n=5, mode="RGB", size=(40, 30)):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    channels = 3 if mode == "RGB" else 1
    for i in range(n):
        pixels = torch.randint(0, 256, (size[1], size[0], channels), generator=g, dtype=torch.uint8)
        Image.fromarray(pixels.squeeze(-1).numpy(), mode=mode).save(folder / f"pic{i}.png")


def test_folder_of_pictures_without_class_subfolders(tmp_path):
    write_pictures(tmp_path / "pics", n=3)
    write_pictures(tmp_path / "pics" / "nested", n=2)
    with pytest.warns(UserWarning, match="upscaled to 32 px"):  # 40 × 30 px
        data = load_images(f"folder:{tmp_path / 'pics'}", image_size=32)
    assert len(data) == 5 and data.channels == 3
    x, y = data.tensors()
    assert x.shape == (5, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert (y == -1).all()


def test_grey_folder_gives_one_channel(tmp_path):
    write_pictures(tmp_path / "grey", n=2, mode="L")
    data = load_images(f"folder:{tmp_path / 'grey'}", image_size=28)
    assert data[0][0].shape == (1, 28, 28)


def test_empty_folder_names_the_folder(tmp_path):
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "notes.txt").write_text("no pictures here")
    with pytest.raises(ImageFolderError, match="nothing holds no images"):
        load_images(f"folder:{tmp_path / 'nothing'}")
    with pytest.raises(ImageFolderError, match="does not exist"):
        load_images(f"folder:{tmp_path / 'missing'}")


def test_unreadable_picture_names_the_file(tmp_path):
    write_pictures(tmp_path / "pics", n=1)
    (tmp_path / "pics" / "z_broken.png").write_bytes(b"this is not a png")
    with pytest.raises(ImageFolderError, match="z_broken.png"):
        load_images(f"folder:{tmp_path / 'pics'}")  # found when the folder is opened, not mid-training


def test_one_colour_picture_makes_a_colour_folder(tmp_path, capsys):
    write_pictures(tmp_path / "pics", n=1, mode="L")  # pic0.png, the first file, is grey
    from PIL import Image

    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "pics" / "pic1.png")
    data = load_images(f"folder:{tmp_path / 'pics'}", image_size=28)
    assert data.channels == 3 and "1 of the 2 pictures" in capsys.readouterr().out
    x, _ = data.tensors()
    assert x.shape == (2, 3, 28, 28) and x[1, 0].mean() > x[1, 1].mean() + 1  # the red one is red
    assert load_images(f"folder:{tmp_path / 'pics'}", image_size=28, channels=1).channels == 1  # --channels 1
    write_pictures(tmp_path / "grey", n=2, mode="L")
    assert load_images(f"folder:{tmp_path / 'grey'}", image_size=28).channels == 1


def test_pictures_under_half_the_model_size_are_refused_in_one_line(tmp_path):
    write_pictures(tmp_path / "pics", n=2, size=(40, 40))
    write_pictures(tmp_path / "pics" / "small", n=1, size=(1, 1))
    with pytest.raises(ConfigError) as refused:
        load_images(f"folder:{tmp_path / 'pics'}")  # the model's 64 px by default
    message = str(refused.value)
    assert "\n" not in message and "is 1×1 px (small/pic0.png)" in message and "the model takes 64 px" in message
    assert "at least 32 px a side, or pass a smaller --image-size (at most 2)" in message
    write_pictures(tmp_path / "wide", n=1, size=(80, 15))  # one side is enough
    with pytest.raises(ConfigError, match="is 80×15 px"):
        load_images(f"folder:{tmp_path / 'wide'}", image_size=32)
    with pytest.warns(UserWarning, match="upscaled to 64 px"):
        assert len(load_images(f"folder:{tmp_path / 'pics'}", min_scale=None)) == 3  # any size, when asked


def test_pictures_under_the_model_size_are_upscaled_with_a_warning(tmp_path):
    import warnings

    write_pictures(tmp_path / "pics", n=2, size=(64, 64))
    write_pictures(tmp_path / "pics" / "small", n=1, size=(40, 32))  # exactly half: upscaled, not refused
    with pytest.warns(UserWarning) as said:
        data = load_images(f"folder:{tmp_path / 'pics'}")
    assert [str(w.message) for w in said] == [
        f"1 of the 3 pictures in {tmp_path / 'pics'} are under 64 px a side (the smallest, small/pic0.png, is "
        "40×32 px); they are upscaled to 64 px."]
    assert data[2][0].shape == (3, 64, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pictures of the model's size or larger: not a word
        load_images(f"folder:{tmp_path / 'pics'}", image_size=32)


def test_16_bit_palette_and_alpha_pictures_keep_their_contrast(tmp_path):
    import numpy as np
    from PIL import Image

    folder = tmp_path / "pics"
    folder.mkdir()
    ramp = np.linspace(0, 65535, 28 * 28).reshape(28, 28).astype(np.uint16)
    Image.fromarray(ramp).save(folder / "a16.png")  # 16-bit grey, 0 .. 65535
    x, _ = load_images(f"folder:{folder}", image_size=28).tensors()
    assert x.min() == -1 and x.max() == 1 and abs(x.mean().item()) < 0.02  # the whole ramp, not clipped to white
    rgba = np.zeros((28, 28, 4), dtype=np.uint8)
    rgba[:, :14] = (0, 0, 0, 255)  # left half opaque black, right half fully transparent
    Image.fromarray(rgba, "RGBA").save(folder / "b_alpha.png")
    Image.fromarray(np.full((28, 28), 3, np.uint8), "L").convert("P").save(folder / "c_palette.png")
    x, _ = load_images(f"folder:{folder}", image_size=28).tensors()
    assert x.shape[1] == 3  # the RGBA picture is in colour
    torch.testing.assert_close(x[1, :, :, :14], torch.full((3, 28, 14), -1.0))  # opaque black stays black
    torch.testing.assert_close(x[1, :, :, 14:], torch.full((3, 28, 14), 1.0))  # transparent shows the white page
    torch.testing.assert_close(x[2], torch.full((3, 28, 28), 3 / 127.5 - 1))


def test_palettes_are_grey_or_colour_by_their_colours(tmp_path):
    import numpy as np
    from PIL import Image

    (tmp_path / "grey").mkdir()
    Image.fromarray(np.full((28, 28), 90, np.uint8), "L").convert("P").save(tmp_path / "grey" / "p.png")
    data = load_images(f"folder:{tmp_path / 'grey'}", image_size=28)
    assert data.channels == 1
    torch.testing.assert_close(data.tensors()[0], torch.full((1, 1, 28, 28), 90 / 127.5 - 1))
    (tmp_path / "red").mkdir()
    Image.new("RGB", (28, 28), (250, 0, 0)).convert("P").save(tmp_path / "red" / "p.png")
    x, _ = load_images(f"folder:{tmp_path / 'red'}", image_size=28).tensors()
    assert x.shape[1] == 3 and x[0, 0].mean() > 0.9 and x[0, 1].mean() < -0.9


def test_float_pictures_of_0_to_255_are_not_darkened(tmp_path):
    import numpy as np
    from PIL import Image

    (tmp_path / "f").mkdir()
    Image.fromarray(np.linspace(0, 255, 28 * 28, dtype=np.float32).reshape(28, 28), "F").save(tmp_path / "f" / "a.tif")
    x, _ = load_images(f"folder:{tmp_path / 'f'}", image_size=28).tensors()
    assert x.min() == -1 and x.max() == 1


def test_a_file_cut_inside_its_header_is_named(tmp_path):
    from gancourse.data.local import DataError

    write_mnist_split(tmp_path / "raw", n=4)
    (tmp_path / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(DataError, match="train-images-idx3-ubyte is truncated inside its header"):
        load_images("fashion-mnist", root=tmp_path / "raw")


def test_channels_convert_a_tensor_dataset(tmp_path):
    write_mnist_split(tmp_path / "fm", n=4)
    grey = load_images("fashion-mnist", root=tmp_path / "fm")
    colour = load_images("fashion-mnist", root=tmp_path / "fm", channels=3)
    assert colour.channels == 3 and torch.equal(colour.images[:, 0], grey.images[:, 0])
    assert torch.equal(images.with_channels(colour, 1).images, grey.images)  # equal channels give the same grey


def test_loader_batches_resume_exactly(tmp_path):
    write_pictures(tmp_path / "pics", n=7, size=(8, 8))
    data = load_images(f"folder:{tmp_path / 'pics'}", image_size=8)
    first = LoaderBatches(data, batch_size=2, seed=3, num_workers=0)
    next(first)
    state = first.state_dict()
    expected = [next(first) for _ in range(4)]  # crosses an epoch boundary (3 batches per epoch)
    second = LoaderBatches(data, batch_size=2, seed=99, num_workers=0)
    second.load_state_dict(state)
    for want in expected:
        torch.testing.assert_close(next(second), want)
    assert image_batches(data, 2, resident=False).__class__ is not images.TensorBatches


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist_test_split(monkeypatch):
    monkeypatch.setitem(images._IDX, "fashion-mnist", ("FashionMNIST", (), (str(DEBIAN_FASHION),)))
    data = load_images("fashion-mnist", split="test", download=False)
    assert len(data) == 10_000
    assert torch.bincount(data.labels).tolist() == [1000] * 10


def test_torchvision_dataset_over_local_files(tmp_path):
    for split in ("train", "test"):
        write_mnist_split(tmp_path / "fm", split=split, n=5 if split == "train" else 3, compress=True)
    train = images.torchvision_mnist("fashion-mnist", root=tmp_path / "fm")
    test = images.torchvision_mnist("fashion-mnist", root=tmp_path / "fm", split="test")
    assert (len(train), len(test)) == (5, 3)
    ours = load_images("fashion-mnist", root=tmp_path / "fm", download=False)
    assert torch.equal(train.data, ours.images[:, 0])
    with pytest.raises(DataNotFoundError):
        images.torchvision_mnist("mnist", root=tmp_path / "empty")
    with pytest.raises(ValueError, match="not 'cifar10'"):
        images.torchvision_mnist("cifar10")


def test_a_folder_has_a_test_split_only_in_its_own_sub_folder(tmp_path):
    write_pictures(tmp_path / "flat", n=4)
    assert len(load_images(f"folder:{tmp_path / 'flat'}", image_size=32)) == 4  # no sub-folders: all train
    with pytest.raises(ImageFolderError, match=r"has no test split: put the pictures to train on in .*train"):
        load_images(f"folder:{tmp_path / 'flat'}", split="test", image_size=32)  # never the training pictures
    write_pictures(tmp_path / "split" / "train", n=5)
    write_pictures(tmp_path / "split" / "test", n=2)
    train, test = (load_images(f"folder:{tmp_path / 'split'}", split=s, image_size=32) for s in ("train", "test"))
    assert (len(train), len(test)) == (5, 2)
    with pytest.raises(ConfigError, match="'train' or 'test' for a folder"):
        load_images(f"folder:{tmp_path / 'split'}", split="valid", image_size=32)
