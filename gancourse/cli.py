"""The ``gancourse`` command: ``doctor``, ``train``, ``sample``, ``bench`` and friends.

Each group of subcommands lives in a module of :mod:`gancourse.commands` with a ``register``
function; this file only assembles them, so ``gancourse --help`` lists everything the course offers.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gancourse import __version__
from gancourse.checkpoint import CheckpointError
from gancourse.errors import CommandError

# Modules of gancourse.commands, each with register(subparsers) where subparsers maps a group
# name ("top", "train", "bench") to an argparse subparsers object.
COMMAND_MODULES = [
    "gancourse.commands.doctor",
    "gancourse.commands.toy",
    "gancourse.commands.images",
    "gancourse.commands.bench_speed",
    "gancourse.commands.bench_modes",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gancourse", description="The GAN course's command line.")
    parser.add_argument("--version", action="version", version=f"gancourse {__version__}")
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CommandError, CheckpointError, ValueError, FileExistsError, PermissionError, FileNotFoundError) as e:
        print(f"gancourse {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
