"""Checkpoint files and run folders: written atomically, read with errors that name the file and the cause.

A checkpoint is a dict saved with ``torch.save`` and marked with :data:`FORMAT`; :func:`gancourse.train.train`
decides what goes in it (step, networks, optimizers, RNG states, data position, config, history).
Writing goes to a temporary file beside the target and is renamed over it, so a crash mid-write
never replaces the last good file with half of one. A run folder is one that holds :data:`MARKER`;
:func:`lock_run_folder` refuses anyone else's folder and keeps a second run out, and :func:`open_run`
decides whether a run may continue from its checkpoint.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from pathlib import Path

try:  # POSIX: an advisory lock keeps two runs out of one folder
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

import torch

from gancourse.errors import ConfigError, DiskFull, OutputNotWritable, RunFolderError, UserError

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"
CONFIG = "config.json"
FORMAT = "gancourse-checkpoint"
# What every checkpoint holds; a resumed run also needs the rest of what train() writes.
REQUIRED = ("step", "config", "models")  # and every network that "models" names ("G" and "D" for a GAN)
RESUME_REQUIRED = ("opt_d", "rng", "data", "history")
MARKER = ".gancourse-run"  # marks a folder as a run folder, and is the file a running run locks
# Temporary files carry this prefix, so the ones a crashed writer left are told apart from the user's own;
# the second pattern is the name earlier versions gave to the files of a run.
TMP_PREFIX = ".gancourse-tmp-"
_LEFTOVER = re.compile(rf"^({re.escape(TMP_PREFIX)}.*|\.(checkpoint\.pt|history\.json|config\.json)\..*\.tmp)$")


class CheckpointError(UserError, RuntimeError):
    """A checkpoint is missing, unreadable, not ours, or does not fit the networks."""


def _read_umask() -> int:
    umask = os.umask(0)  # the only way to read it; done once, at import, before any thread starts
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def _file_mode() -> int:
    """The mode a plain ``open()`` gives a new file under the umask (mkstemp alone gives 0600)."""
    return 0o666 & ~_UMASK


@contextlib.contextmanager
def _disk_full_is_one_line(path: Path):
    try:
        yield
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(
                f"the disk is full: {path} could not be written ({e.strerror}). The previous {path.name}, if any, "
                f"is intact; free some space and run again (a training run continues with --resume)."
            ) from e
        raise


def atomic_write(path: Path, payload: bytes | None = None, obj=None) -> None:
    """Write to a temporary file beside ``path``, then rename: a crash never leaves half a file."""
    with _disk_full_is_one_line(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TMP_PREFIX}{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                if payload is not None:
                    f.write(payload)
                else:
                    torch.save(obj, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, _file_mode())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def atomic_save(path, save) -> None:
    """Call ``save(tmp)`` on a temporary file beside ``path`` (same suffix), then rename it over ``path``.

    For writers that take a file name (``fig.savefig``, torchvision's ``save_image``).
    """
    path = Path(path)
    with _disk_full_is_one_line(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TMP_PREFIX}{path.stem}.", suffix=path.suffix)
        os.close(fd)
        try:
            save(tmp)
            os.chmod(tmp, _file_mode())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def check_run_folder(out_dir: Path) -> None:
    """Refuse a folder that is a file, or that holds files and is not a gancourse run: nothing of the user's
    is overwritten. An empty or new folder, or one with :data:`MARKER` or a checkpoint, is fine."""
    if out_dir.exists() and not out_dir.is_dir():
        raise RunFolderError(f"{out_dir} is a file, not a folder; choose a folder for the run (--out).")
    if not out_dir.is_dir() or (out_dir / MARKER).exists() or (out_dir / CHECKPOINT).exists():
        return
    theirs = sorted(p.name for p in out_dir.iterdir())
    if theirs:
        shown = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3 else "")
        raise RunFolderError(
            f"{out_dir} holds files that are not a gancourse run ({shown}); nothing was written. "
            f"Choose a new or empty folder for the run (--out)."
        )


class RunLock:
    """An exclusive lock on a run folder for as long as a run writes to it.

    The lock is an ``fcntl.flock`` on :data:`MARKER`, released by the operating system when the process
    ends, even after ``kill -9``. Taking it also removes temporary files that a crashed writer left.
    """

    def __init__(self, out_dir: Path):
        self.out_dir, self._file = Path(out_dir), None

    def acquire(self) -> RunLock:
        self._file = open(self.out_dir / MARKER, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise RunFolderError(
                        f"another gancourse run is writing to {self.out_dir}; wait for it to end, "
                        f"or choose another folder (--out)."
                    ) from None
            for leftover in self.out_dir.iterdir():
                if _LEFTOVER.match(leftover.name) and leftover.is_file():
                    leftover.unlink(missing_ok=True)
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the flock
            self._file = None


def check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=f"{TMP_PREFIX}write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputNotWritable(
            f"cannot write to the output folder {out_dir}: {e.strerror or e}. "
            f"Choose a folder you can write to (--out)."
        ) from e


def checkpoint_path(path) -> Path:
    """``path``, or the checkpoint inside it when it is a run folder; a clear error when there is none."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: the file does not exist. Train first, or check the path.")
    return path


def load_checkpoint(path, G=None, D=None) -> dict:
    """Read a checkpoint written by :func:`train`; optionally load its weights into ``G`` and ``D``.

    Every failure is a :class:`CheckpointError` that names the file and why; the file is never changed.
    """
    path = checkpoint_path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, or written by something else
        raise CheckpointError(
            f"the checkpoint {path} could not be read ({type(e).__name__}: {str(e)[:200]}); "
            f"it may be truncated or not a checkpoint. The file was left as it is."
        ) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a gancourse checkpoint (no '{FORMAT}' marker).")
    missing = [k for k in REQUIRED if k not in ckpt]
    missing += [k for k in (ckpt.get("models") or {"G": None, "D": None}) if k not in ckpt]
    if missing:
        raise CheckpointError(
            f"{path} is incomplete (no {', '.join(map(repr, missing))}): it was not written whole by gancourse, "
            f"or was edited. Train again, or use another checkpoint."
        )
    load_weights(ckpt, path, G, D)
    return ckpt


def load_weights(ckpt: dict, path, G=None, D=None) -> None:
    """Load the weights of a checkpoint already read (from ``path``) into ``G`` and ``D``."""
    load_networks(ckpt, path, {name: model for name, model in (("G", G), ("D", D)) if model is not None})


def load_networks(ckpt: dict, path, networks: dict) -> None:
    """Load the weights of a checkpoint already read (from ``path``) into each network of ``networks``, by name."""
    for name, model in networks.items():
        if name not in ckpt:
            raise CheckpointError(f"{path} holds no network {name!r}; it holds {', '.join(ckpt.get('models', {}))}.")
        try:
            model.load_state_dict(ckpt[name])
        except RuntimeError as e:
            raise CheckpointError(
                f"the {name} in {path} does not fit the network given ({ckpt['models'][name]['class']} "
                f"with {ckpt['models'][name].get('hparams')}): {str(e).splitlines()[0]}"
            ) from e


def load_generator(path, average: bool = True):
    """(G, checkpoint): the generator a checkpoint describes, rebuilt with its weights, in eval mode.

    Where the run kept G's moving average (``G_ema``, a recipe with ``ema_decay``), the weights are the
    average's unless ``average=False``: the generator that recipe samples with.
    """
    from gancourse.models import build

    ckpt = load_checkpoint(path)
    try:
        G = build(ckpt["models"]["G"])
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path} describes a generator that cannot be built: {e}") from None
    if average and "G_ema" in ckpt:  # AveragedModel's state: "n_averaged" and the network under "module."
        state = {k.removeprefix("module."): v for k, v in ckpt["G_ema"].items() if k.startswith("module.")}
        load_networks({**ckpt, "G": state}, path, {"G": G})
    else:
        load_weights(ckpt, path, G=G)
    return G.eval(), ckpt


def lock_run_folder(out: Path, resume: bool) -> RunLock:
    """Check that ``out`` may take this run, create it, and lock it; nothing else is written yet."""
    if resume:
        checkpoint_path(out)  # a folder without a run stays as it is
    else:
        check_run_folder(out)
    check_writable(out)
    return RunLock(out).acquire()


def open_run(out, config: dict, run_id: dict, resume: bool, overwrite: bool, resumable: set) -> dict | None:
    """Under the run's lock: the checkpoint to continue from when ``resume`` (read once), else None.

    ``config`` is the run's training config as a dict, ``run_id`` its networks and data; a resume with
    anything else than ``resumable`` settings changed is refused, each difference named.
    """
    if not resume:
        if (out / CHECKPOINT).exists() and not overwrite:
            raise RunFolderError(
                f"{out} already holds a run ({CHECKPOINT}); continue it with --resume (resume=True), "
                f"or choose another folder (--out); from Python, overwrite=True replaces it."
            )
        return None
    ckpt = load_checkpoint(out / CHECKPOINT)
    missing = [k for k in RESUME_REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"{out / CHECKPOINT} cannot be resumed: it holds no {', '.join(missing)}.")
    _check_same_run(ckpt, config, run_id, out / CHECKPOINT, resumable)
    if config["steps"] <= ckpt["step"]:
        if ckpt["config"].get("lr_schedule") == "cosine":
            raise ConfigError(f"the run in {out} is finished: its cosine schedule ended at step {ckpt['step']}.")
        raise ConfigError(
            f"the run in {out} is already at step {ckpt['step']}; to train further, resume with more "
            f"steps than that (--steps {2 * ckpt['step']}, for example)."
        )
    return ckpt


def _check_same_run(ckpt: dict, asked: dict, run_id: dict, path: Path, resumable: set) -> None:
    """Refuse to resume with any setting, network or data other than the checkpoint's; name each difference."""
    saved = ckpt["config"]
    fixed = set(asked) - set(resumable)
    if saved.get("lr_schedule") == "cosine":
        fixed.add("steps")  # the cosine reaches 0 at the run's first step count: it cannot be stretched
    differ = [(k, saved[k], asked[k]) for k in asked
              if k in fixed and k in saved and _normal(saved[k]) != _normal(asked[k])]
    for name in run_id["models"]:
        before, now = ckpt.get("models", {}).get(name, {}), run_id["models"][name]
        if before.get("class") != now.get("class"):
            differ.append((f"{name} network", before.get("class"), now.get("class")))
            continue
        old_hp, new_hp = before.get("hparams", {}), now.get("hparams", {})
        differ += [(f"{name} {k}", old_hp.get(k), new_hp.get(k)) for k in sorted(set(old_hp) | set(new_hp))
                   if _normal(old_hp.get(k)) != _normal(new_hp.get(k))]
    extra = sorted(set(ckpt.get("models", {})) - set(run_id["models"]))
    if extra:
        differ.append(("networks", sorted(ckpt["models"]), sorted(run_id["models"])))
    before, now = ckpt.get("objective", {}), run_id.get("objective", {})
    if before.get("class") != now.get("class"):
        differ.append(("objective", before.get("class", "Adversarial"), now.get("class", "Adversarial")))
    else:
        old_s, new_s = before.get("settings", {}), now.get("settings", {})
        differ += [(k, old_s.get(k), new_s.get(k)) for k in sorted(set(old_s) | set(new_s))
                   if _normal(old_s.get(k)) != _normal(new_s.get(k))]
    before, now = ckpt.get("data_identity"), run_id["data"]
    if before is not None and now is None:  # the run's data was known; this source cannot say what it is
        differ.append(("data", before.get("data", before.get("fingerprint")), "a source without identity()"))
    elif before is not None:
        differ += [(f"data {k}", before.get(k), now.get(k)) for k in sorted(set(before) | set(now))
                   if before.get(k) != now.get(k)]
    if differ:
        detail = "; ".join(f"{k}: checkpoint {a!r}, asked {b!r}" for k, a, b in differ)
        raise CheckpointError(
            f"{path} was trained with other settings ({detail}). Resume with the same settings, "
            f"or start a new run in another folder."
        )


def _normal(value):
    return list(value) if isinstance(value, (tuple, list)) else value
