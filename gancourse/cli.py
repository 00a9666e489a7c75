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
import logging
import os
import sys
import warnings

from gancourse import __version__
from gancourse.errors import UserError

# Modules of gancourse.commands, each with register(subparsers) where subparsers maps a group
# name ("top", "train", "bench") to an argparse subparsers object.
COMMAND_MODULES = [
    "gancourse.commands.doctor",
    "gancourse.commands.toy",
    "gancourse.commands.images",
    "gancourse.commands.bench_speed",
    "gancourse.commands.bench_modes",
    "gancourse.commands.fid",
    "gancourse.commands.classifier",
    "gancourse.commands.exercises",
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
    bench = top.add_parser("bench", help="benchmarks that print figures (modes, speed)")
    bench_sub = bench.add_subparsers(dest="bench", metavar="BENCHMARK")
    bench_sub.required = True
    groups = {"top": top, "train": train_sub, "bench": bench_sub}
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(groups)
    return parser


DEBUG_ENV = "GANCOURSE_DEBUG"


def main(argv: list[str] | None = None) -> int:
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
DISTRIBUTED_COMMANDS = ("train dcgan", "train wgan-gp")


def _check_one_process(args) -> None:
    from gancourse.distributed import world_size

    name = " ".join(a for a in (args.command, getattr(args, "kind", None)) if a)
    if world_size() > 1 and name not in DISTRIBUTED_COMMANDS:
        raise UserError(f"{name} runs in one process; start it without torchrun "
                        f"(torchrun is for {' and '.join(DISTRIBUTED_COMMANDS)}).")


def _run(args, debug: bool) -> int:
    try:
        _check_one_process(args)
        return int(args.func(args) or 0)
    except UserError as e:
        if debug:
            raise
        if os.environ.get("RANK", "0") == "0":  # under torchrun, one line from rank 0, not one per process
            print(f"gancourse {args.command}: error: {e}", file=sys.stderr)
        return e.exit_status
    except OSError as e:  # the machine, not the request: a file that vanished, a folder that turned read-only
        if debug:
            raise
        print(f"gancourse {args.command}: error: {e}. Run again with --debug to see where.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside training
        if debug:
            raise
        print(f"gancourse {args.command}: stopped by Ctrl-C.", file=sys.stderr)
        return 130


def entry() -> None:
    """The ``gancourse`` console script and ``python -m gancourse``: :func:`main`, then the exit.

    Under torchrun the process ends by ``os._exit`` once its output is flushed: the work is done and the
    process group destroyed by then, but the interpreter's teardown can still meet a C++ thread of torch's
    that runs on, abort ("terminate called without an active exception") and make torchrun report a
    finished run as failed.
    """
    status = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # as distributed.world_size() reads it, without importing torch
        logging.shutdown()  # what atexit would do: log files flushed and closed
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    entry()
