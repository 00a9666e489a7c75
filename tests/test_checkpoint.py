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


def test_files_get_the_mode_the_umask_implies(tmp_path, monkeypatch):
    from gancourse import checkpoint
    from gancourse.checkpoint import atomic_save

    monkeypatch.setattr(checkpoint, "_UMASK", 0o022)  # the umask read when the module was imported
    atomic_write(tmp_path / "a.json", b"{}")
    atomic_save(tmp_path / "b.txt", lambda tmp: open(tmp, "w").write("x"))
    monkeypatch.setattr(checkpoint, "_UMASK", 0o077)
    atomic_write(tmp_path / "c.json", b"{}")
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"a.json": 0o644, "b.txt": 0o644, "c.json": 0o600}  # mkstemp alone gives 0600 to all
    current = os.umask(0)
    os.umask(current)
    assert checkpoint._read_umask() == current  # and that is the process's umask


def test_a_full_disk_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno

    from gancourse.errors import DiskFull

    target = tmp_path / "checkpoint.pt"
    atomic_write(target, b"good")

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(DiskFull, match=r"the disk is full: .*checkpoint.pt.*is intact"):
        atomic_write(target, b"half")
    assert target.read_bytes() == b"good" and os.listdir(tmp_path) == ["checkpoint.pt"]


def test_incomplete_checkpoints_are_refused(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": "gancourse-checkpoint", "step": 3, "G": {}, "D": {}, "config": {}}, path)
    with pytest.raises(CheckpointError, match="incomplete \\(no 'models'\\)"):
        load_checkpoint(path)


def test_a_folder_of_someone_elses_files_is_refused(tmp_path):
    from gancourse.checkpoint import MARKER, check_run_folder
    from gancourse.errors import RunFolderError

    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "config.json").write_text("my own settings")
    with pytest.raises(RunFolderError, match=r"holds files that are not a gancourse run \(config.json\)"):
        check_run_folder(mine)
    with pytest.raises(RunFolderError, match="is a file"):
        check_run_folder(mine / "config.json")
    check_run_folder(tmp_path / "new")  # a new folder
    (tmp_path / "empty").mkdir()
    check_run_folder(tmp_path / "empty")
    (mine / MARKER).touch()
    check_run_folder(mine)  # a run folder may hold its own files


def test_the_run_lock_keeps_a_second_run_out_and_cleans_leftovers(tmp_path):
    from gancourse.checkpoint import RunLock
    from gancourse.errors import RunFolderError

    leftovers = [".gancourse-tmp-checkpoint.pt.abcd1234.tmp", ".gancourse-tmp-write-test-zz99yy88",
                 ".gancourse-tmp-samples.k3j4h5g6.png", ".checkpoint.pt.abc.tmp"]  # the last: an older version's
    users = ["samples.png", ".hidden-of-the-users", ".config.settings.json", ".notes.abcdefgh.png"]
    for name in leftovers + users:
        (tmp_path / name).write_text("x")
    lock = RunLock(tmp_path).acquire()
    assert not any((tmp_path / name).exists() for name in leftovers)
    assert all((tmp_path / name).exists() for name in users)
    with pytest.raises(RunFolderError, match="another gancourse run is writing"):
        RunLock(tmp_path).acquire()
    lock.release()
    RunLock(tmp_path).acquire().release()  # free again once the first run ends
