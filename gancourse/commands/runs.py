"""What the training commands share: their arguments kept with the run, and the check on ``--resume``.

A run trained from the command line keeps its arguments in the checkpoint (``meta["arguments"]``).
``--resume`` with any other argument than the few that may change (:data:`RESUMABLE`) is refused in
the command line's words, before anything is loaded or written; :func:`gancourse.train.train` then
checks the networks, the data and the settings themselves.
"""

from __future__ import annotations

from pathlib import Path

# Arguments a resumed run may change: how long, how often to write, where to look, what to show, and
# how batch norm shares its statistics (a run may resume on any number of processes).
RESUMABLE = {"steps", "checkpoint_every", "sample_every", "device", "quiet", "resume", "out", "root", "download",
             "sync_bn", "threads"}

# Arguments newer than some runs, with the value those runs were trained with (the default)
ADDED_LATER = {"conditional": False}


def arguments(args) -> dict:
    """The parsed arguments as plain values, for the checkpoint."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "func"}


def check_resume(args) -> None:
    """On ``--resume``: the run in ``--out`` must exist and have been trained with these arguments."""
    from gancourse.checkpoint import CHECKPOINT, load_checkpoint
    from gancourse.errors import CommandError

    if not args.resume:
        return
    ckpt = load_checkpoint(Path(args.out) / CHECKPOINT)
    saved = (ckpt.get("meta") or {}).get("arguments")
    if saved is None:  # trained through the Python API: train() checks what it can
        return
    asked = arguments(args)
    if (saved.get("command"), saved.get("kind")) != (asked.get("command"), asked.get("kind")):
        raise CommandError(
            f"the run in {args.out} was trained by 'gancourse {saved.get('command')} {saved.get('kind')}', not "
            f"'gancourse {asked['command']} {asked.get('kind')}'; resume it with that command."
        )
    saved = {**{k: v for k, v in ADDED_LATER.items() if k in asked}, **saved}
    differ = [k for k in sorted(set(saved) | set(asked)) if k not in RESUMABLE and saved.get(k) != asked.get(k)]
    if differ:
        detail = ", ".join(f"--{k.replace('_', '-')} {saved.get(k)} (the run) vs {asked.get(k)} (asked)"
                           for k in differ)
        raise CommandError(
            f"the run in {args.out} was trained with other arguments: {detail}. Resume with the run's "
            f"arguments, or start a new run with another --out."
        )
