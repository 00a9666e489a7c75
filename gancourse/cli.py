"""The ``gancourse`` command: ``doctor``, ``train``, ``sample``, ``bench`` and friends.

Each group of subcommands lives in a module of :mod:`gancourse.commands` with a ``register``
function; this file only assembles them, so ``gancourse --help`` lists everything the course offers.
Building the parser imports neither torch nor SciPy (the choices are written out in
:mod:`gancourse.commands.choices`): each command imports what it needs when it runs, so ``--help`` and
``--version`` answer at once.
A :class:`gancourse.errors.UserError` ends in one line and its exit status (2: a bad request, 1: a
run that failed, 130: Ctrl-C); any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import logging
import os
import sys
import time
import warnings

from gancourse import __version__
from gancourse.commands import choices
from gancourse.errors import UserError

# Modules of gancourse.commands, each with register(subparsers) where subparsers maps a group
# name ("top", "train", "bench") to an argparse subparsers object.
COMMAND_MODULES = [
    "gancourse.commands.doctor",
    "gancourse.commands.toy",
    "gancourse.commands.images",
    "gancourse.commands.bench_speed",
    "gancourse.commands.bench_modes",
    "gancourse.commands.bench_quality",
    "gancourse.commands.fid",
    "gancourse.commands.classifier",
    "gancourse.commands.exercises",
    "gancourse.commands.pretrained",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gancourse", description="The GAN course's command line.")
    parser.add_argument("--version", action="version", version=f"gancourse {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help=f"show the Python traceback of every error (also: {DEBUG_ENV}=1)")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    top.required = True
    train = top.add_parser("train", help="train a GAN and write checkpoints, samples and history.json")
    train_sub = train.add_subparsers(dest="kind", metavar="KIND")
    train_sub.required = True
    bench = top.add_parser("bench", help="benchmarks that print figures (modes, quality, speed)")
    bench_sub = bench.add_subparsers(dest="bench", metavar="BENCHMARK")
    bench_sub.required = True
    groups = {"top": top, "train": train_sub, "bench": bench_sub}
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(groups)
    return parser


DEBUG_ENV = "GANCOURSE_DEBUG"


def main(argv: list[str] | None = None) -> int:
    """The ``gancourse`` command on ``argv`` (by default the process's arguments): its exit status."""
    return _main(argv)[0]


def _main(argv: list[str] | None = None) -> tuple[int, str | None]:
    """(the exit status, the one line this process printed where the command ended in an error, else None)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    parser = build_parser()
    quiet = os.environ.get("RANK", "0") != "0"  # under torchrun, rank 0 alone says what is wrong with the arguments
    with contextlib.redirect_stderr(io.StringIO()) if quiet else contextlib.nullcontext():
        args = parser.parse_args([a for a in argv if a != "--debug"])  # --debug may stand anywhere
    with warnings.catch_warnings():
        if not debug:  # a warning is a note of one line, not a source excerpt
            warnings.showwarning = lambda message, *rest, **kw: print(f"gancourse: note: {message}", file=sys.stderr)
        return _run(args, debug)


# the commands that train on several processes when started by torchrun; every other one needs one process
DISTRIBUTED_COMMANDS = tuple(f"train {name}" for name in choices.IMAGE_RECIPES)


def _check_one_process(args) -> None:
    from gancourse.distributed import world_size

    name = " ".join(a for a in (args.command, getattr(args, "kind", None)) if a)
    if world_size() > 1 and name not in DISTRIBUTED_COMMANDS:
        raise UserError(f"{name} runs in one process; start it without torchrun "
                        f"(torchrun is for the image recipes, 'gancourse train dcgan' and the like).")


def _run(args, debug: bool) -> tuple[int, str | None]:
    try:
        _check_one_process(args)
        return int(args.func(args) or 0), None
    except UserError as e:
        if debug:
            raise
        if os.environ.get("RANK", "0") == "0":  # under torchrun, one line from rank 0, not one per process
            return e.exit_status, _say(f"gancourse {args.command}: error: {e}")
        return e.exit_status, None
    except OSError as e:  # the machine, not the request: a file that vanished, a folder that turned read-only
        if debug:
            raise
        return 1, _say(f"gancourse {args.command}: error: {e}. Run again with --debug to see where.")
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside training
        if debug:
            raise
        return 130, _say(f"gancourse {args.command}: stopped by Ctrl-C.")


def _say(line: str) -> str:
    print(line, file=sys.stderr)
    return line


def entry() -> None:
    """The ``gancourse`` console script and ``python -m gancourse``: :func:`main`, then the exit.

    Under torchrun :func:`main` runs inside torch's ``record`` (:func:`_recorded_main`), and the process ends
    by ``os._exit`` once its output is flushed: the work is done and the process group destroyed by then, but
    the interpreter's teardown can still meet a C++ thread of torch's that runs on, abort ("terminate called
    without an active exception") and make torchrun report a finished run as failed.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:  # as distributed.world_size() reads it, without importing torch
        sys.exit(main())
    status = _recorded_main()
    logging.shutdown()  # what atexit would do: log files flushed and closed
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


class _Refused(Exception):
    """The one line a command ended in under torchrun, with its exit status; raised only through ``record``."""

    def __init__(self, line: str, exit_status: int):
        super().__init__(line)
        self.exit_status = exit_status


# How long a process other than rank 0 waits before it ends in a refusal that rank 0 prints: torchrun takes the
# first process to fail for the root cause of its report, and stops the others as soon as one has failed
REPORT_GRACE_SECONDS = 3.0


def _recorded_main() -> int:
    """:func:`main` under torch's ``record``: its exit status, and torchrun's error file written on the way.

    torchrun's failure report shows, for each process that failed, what the process wrote to the file named
    by ``TORCHELASTIC_ERROR_FILE``. A bug writes its traceback there, as ``record`` does; a command that ended
    in one line writes that line, so that the report's root cause is what the user was told, with no traceback.
    A refusal is printed by rank 0 alone, so it is in the report once: the other processes write nothing, and
    wait :data:`REPORT_GRACE_SECONDS` for rank 0 to end first (torchrun stops them then).
    """
    from torch.distributed.elastic.multiprocessing.errors import ErrorHandler, record

    class OneLine(ErrorHandler):
        def record_exception(self, e: BaseException) -> None:
            if not isinstance(e, _Refused):
                return super().record_exception(e)
            file = self._get_error_file_path()
            if file:  # the report shows "py_callstack" where there is one, else the message
                self._write_error_file(file, json.dumps(
                    {"message": {"message": str(e), "extraInfo": {"timestamp": str(int(time.time()))}}}))

    def run() -> int:
        status, line = _main()
        if line is not None:
            raise _Refused(line, status)
        if status and os.environ.get("RANK", "0") != "0":  # a refusal that rank 0 tells
            time.sleep(REPORT_GRACE_SECONDS)
        return status

    try:
        return record(run, error_handler=OneLine())() or 0  # None: record's answer to SystemExit(0) (--help)
    except _Refused as refused:
        return refused.exit_status


if __name__ == "__main__":
    entry()
