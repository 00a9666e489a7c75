"""``gancourse bench modes``: mode collapse on rings and grids of Gaussians, several methods, several seeds.

``--mixtures`` takes ``ring8``, ``grid25`` and specs ``ring:K:RADIUS:STD`` / ``grid:K:SPACING:STD``; a spec
that does not parse is refused in one line before anything trains.

Every method runs under the shared protocol (:class:`gancourse.bench.modes.ToySetup`'s defaults), but a recipe
measured under other settings (``Recipe.measured_setup``: r1-mixture and r1-mixture-refit) runs under those; a
flag given sets its setting for every method, and ``--shared-protocol`` runs every method under the shared one.

Prints each method's settings, as flags, then one line per run as it finishes, then the table (mean ± std over
seeds). With ``--json`` the table and the progress go to stderr and stdout carries one JSON document: a record
per method and mixture with the setup it ran under, the shared setup, the target, the wall time and the load
average at the start and the end. Explained in 04_mode_collapse.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

# ToySetup's fields that a flag sets, each with its flag
FLAGS = {"steps": "--steps", "n_critic": "--n-critic", "lr": "--lr", "r1_lazy": "--r1-lazy", "n_codes": "--n-codes",
         "code_sigma": "--code-sigma", "latent_dim": "--latent-dim", "hidden": "--hidden"}


def setups(args):
    """(the shared protocol with the flags given, {method: the :class:`ToySetup` it runs under}).

    A method whose recipe was measured under other settings runs under them, but for the flags given;
    with ``--shared-protocol`` every method runs under the shared one.
    """
    from gancourse.bench.modes import ToySetup, method_setup

    given = {field: getattr(args, field) for field in FLAGS if getattr(args, field) is not None}
    shared = ToySetup(**given, cpu_threads=args.threads or None)
    if args.shared_protocol:
        return shared, dict.fromkeys(args.methods, shared)
    return shared, {name: method_setup(name, shared, given) for name in args.methods}


def as_flags(setup) -> str:
    """``setup``'s fields as the flags that give them (``--n-critic`` left out where each recipe keeps its own)."""
    flags = []
    for field, flag in FLAGS.items():
        value = getattr(setup, field)
        if field == "r1_lazy":
            flags.append(flag if value else "--no-r1-lazy")
        elif value is not None:
            flags += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return " ".join(flags)


def run(args) -> int:
    import torch

    from gancourse.bench.modes import TARGET, format_table, run_benchmark, setup_dict

    shared, each = setups(args)
    threads = shared.cpu_threads or 1  # train() runs networks this small on one thread unless told otherwise
    out = sys.stderr if args.json else sys.stdout

    def log(line: str) -> None:
        print(line, file=out, flush=True)

    for name, setup in each.items():
        where = "the shared protocol" if setup == shared else "the settings its recipe was measured under"
        log(f"{name}: {as_flags(setup)} ({where})")
    start, load_before = time.perf_counter(), _load()
    records = run_benchmark(args.methods, args.mixtures, seeds=args.seeds, setup=shared, setups=each,
                            log=None if args.quiet else log)
    wall = time.perf_counter() - start
    print(format_table(records), file=out)
    print(f"wall time {wall:.0f} s for {len(records) * args.seeds} runs, each on {threads} CPU thread(s)",
          file=out)
    if args.json:
        doc = {"benchmark": "modes", "records": records, "setup": setup_dict(shared), "target": TARGET,
               "wall_seconds": wall, "load_average": [load_before, _load()], "threads": threads,
               "torch": torch.__version__, "machine": platform.machine(), "python": platform.python_version()}
        json.dump(doc, sys.stdout, indent=1)
        print()
    return 0


def _load() -> float | None:
    """The one-minute load average (other work competing for the cores), where the system reports it."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def mixture_spec(text: str) -> str:
    """An argparse type: ``text`` if :func:`gancourse.data.toy.make_mixture` accepts it, else one line."""
    import argparse

    from gancourse.data.toy import make_mixture
    from gancourse.errors import ConfigError

    try:
        make_mixture(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _measured(field: str) -> str:
    """What the recipes measured under other settings take for ``field``, for the help: "; 2000 for r1-mixture"."""
    from gancourse.commands.choices import BENCH_MEASURED_SETUPS

    values = {}
    for name, setup in BENCH_MEASURED_SETUPS.items():
        if field in setup:
            value = {True: "on", False: "off"}.get(setup[field], setup[field])
            values.setdefault(value, []).append(name)
    return "".join(f"; {value} for {', '.join(names)}" for value, names in values.items())


def register(groups) -> None:
    import argparse

    from gancourse.commands.arguments import count_or_zero, float_or_zero, positive_float, positive_int
    from gancourse.commands.choices import BENCH_DEFAULTS as DEFAULTS
    from gancourse.commands.choices import BENCH_MEASURED_SETUPS, MIXTURE_SPEC_HELP, RECIPES
    from gancourse.commands.choices import BENCH_METHODS as METHODS
    from gancourse.commands.choices import BENCH_MIXTURES as MIXTURES

    p = groups["bench"].add_parser(
        "modes", help="mode collapse on rings and grids of Gaussians, over seeds",
        description="Every method runs under the shared protocol (the defaults below), except "
                    f"{', '.join(BENCH_MEASURED_SETUPS)}, which run under the settings their recipes were "
                    "measured under (the second default below). A flag given sets its setting for every method; "
                    "--shared-protocol runs every method under the shared one. The settings each method runs "
                    "under are printed first, as flags, and kept in each JSON record.")
    p.add_argument("--seeds", type=positive_int, default=5, help="runs per method and mixture (default 5)")
    p.add_argument("--json", action="store_true", help="JSON records on stdout (table and progress on stderr)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(RECIPES), metavar="METHOD",
                   help=f"recipes to compare (default: {' '.join(METHODS)}; any of {', '.join(RECIPES)})")
    p.add_argument("--mixtures", nargs="+", default=list(MIXTURES), type=mixture_spec, metavar="MIXTURE",
                   help=f"mixtures to train on (default: {' '.join(MIXTURES)}; any of {MIXTURE_SPEC_HELP})")
    p.add_argument("--shared-protocol", action="store_true",
                   help="every method under the shared protocol's settings, none under its recipe's measured ones")
    p.add_argument("--steps", type=positive_int, default=None,
                   help=f"generator steps per run (default {DEFAULTS['steps']}{_measured('steps')})")
    p.add_argument("--n-critic", type=positive_int, default=None,
                   help="D steps per G step for every method (default: each recipe's own, 5 for WGAN-GP, else 1"
                        f"{_measured('n_critic')})")
    p.add_argument("--lr", type=positive_float, default=None,
                   help=f"Adam's learning rate for both networks before the drop (default {DEFAULTS['lr']}"
                        f"{_measured('lr')})")
    p.add_argument("--r1-lazy", action=argparse.BooleanOptionalAction, default=None,
                   help="R1 on the last D step of each G step only, weighted n_critic × γ (methods with R1; "
                        f"default off{_measured('r1_lazy')})")
    p.add_argument("--n-codes", type=positive_int, default=None,
                   help=f"codes of the mixture latent (r1-mixture, r1-mixture-refit; default {DEFAULTS['n_codes']})")
    p.add_argument("--code-sigma", type=float_or_zero, default=None,
                   help=f"spread of each code's Gaussian in the mixture latent (default {DEFAULTS['code_sigma']})")
    p.add_argument("--latent-dim", type=positive_int, default=None,
                   help=f"dimension of the mixture latent's code space (default {DEFAULTS['latent_dim']}"
                        f"{_measured('latent_dim')})")
    p.add_argument("--hidden", type=positive_int, default=None,
                   help=f"width of every hidden layer of G and D (default {DEFAULTS['hidden']})")
    p.add_argument("--threads", type=count_or_zero, default=0,
                   help="CPU threads per run (default 0: one, train()'s choice for networks this small)")
    p.add_argument("--quiet", action="store_true", help="no line per run")
    p.set_defaults(func=run)
