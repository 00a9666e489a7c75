import os

import pytest
import torch

from gancourse.checkpoint import CheckpointError, atomic_write, check_writable, load_checkpoint


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "f.json"
    atomic_write(target, b"first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert os.listdir(tmp_path) == ["f.json"]


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "ck.pt"
    atomic_write(target, obj={"a": torch.ones(2)})
    before = target.read_bytes()

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        atomic_write(target, obj={"bad": Unpicklable()})
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["ck.pt"]


def test_load_checkpoint_accepts_a_folder_and_names_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint at .*checkpoint.pt"):
        load_checkpoint(tmp_path)


def test_check_writable(tmp_path):
    check_writable(tmp_path / "new" / "deeper")
    assert (tmp_path / "new" / "deeper").is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(PermissionError, match="cannot write to the output folder"):
        check_writable(tmp_path / "file" / "run")


def test_atomic_save_keeps_the_old_file_when_the_writer_fails(tmp_path):
    from gancourse.checkpoint import atomic_save

    target = tmp_path / "grid.png"
    atomic_save(target, lambda tmp: open(tmp, "wb").write(b"new"))
    assert target.read_bytes() == b"new"

    def broken(tmp):
        open(tmp, "wb").write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_save(target, broken)
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["grid.png"]
