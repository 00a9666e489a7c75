"""Checkpoint files: written atomically, read with errors that name the file and the cause.

A checkpoint is a dict saved with ``torch.save`` and marked with :data:`FORMAT`; :func:`gancourse.train.train`
decides what goes in it (step, networks, optimizers, RNG states, data position, config, history).
Writing goes to a temporary file beside the target and is renamed over it, so a crash mid-write
never replaces the last good file with half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import torch

from gancourse.errors import OutputNotWritable, UserError

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"
CONFIG = "config.json"
FORMAT = "gancourse-checkpoint"


class CheckpointError(UserError, RuntimeError):
    """A checkpoint is missing, unreadable, not ours, or does not fit the networks."""


def atomic_write(path: Path, payload: bytes | None = None, obj=None) -> None:
    """Write to a temporary file beside ``path``, then rename: a crash never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if payload is not None:
                f.write(payload)
            else:
                torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        save(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputNotWritable(
            f"cannot write to the output folder {out_dir}: {e.strerror or e}. "
            f"Choose a folder you can write to."
        ) from e


def load_checkpoint(path, G=None, D=None) -> dict:
    """Read a checkpoint written by :func:`train`; optionally load its weights into ``G`` and ``D``.

    Every failure is a :class:`CheckpointError` that names the file and why; the file is never changed.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: the file does not exist. Train first, or check the path.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, or written by something else
        raise CheckpointError(
            f"the checkpoint {path} could not be read ({type(e).__name__}: {str(e)[:200]}); "
            f"it may be truncated or not a checkpoint. The file was left as it is."
        ) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a gancourse checkpoint (no '{FORMAT}' marker).")
    for name, model in (("G", G), ("D", D)):
        if model is None:
            continue
        try:
            model.load_state_dict(ckpt[name])
        except RuntimeError as e:
            raise CheckpointError(
                f"the {name} in {path} does not fit the network given ({ckpt['models'][name]['class']} "
                f"with {ckpt['models'][name].get('hparams')}): {str(e).splitlines()[0]}"
            ) from e
    return ckpt


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
