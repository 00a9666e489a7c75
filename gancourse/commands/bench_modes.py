"""``gancourse bench modes``: mode collapse on rings and grids of Gaussians, several methods, several seeds.

``--mixtures`` takes ``ring8``, ``grid25`` and specs ``ring:K:RADIUS:STD`` / ``grid:K:SPACING:STD``; a spec
that does not parse is refused in one line before anything trains.

Prints one line per run as it finishes, then the table (mean ± std over seeds). With ``--json`` the
table and the progress go to stderr and stdout carries one JSON document: a record per method and
mixture, the settings, the target, the wall time and the load average at the start and the end.
Explained in 04_mode_collapse.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time


def run(args) -> int:
    import torch

    from gancourse.bench.modes import TARGET, ToySetup, format_table, run_benchmark, setup_dict

    knobs = {"steps": args.steps, "n_critic": args.n_critic, "lr": args.lr, "n_codes": args.n_codes,
             "code_sigma": args.code_sigma, "latent_dim": args.latent_dim, "hidden": args.hidden,
             "r1_lazy": args.r1_lazy or None}
    setup = ToySetup(**{k: v for k, v in knobs.items() if v is not None}, cpu_threads=args.threads or None)
    threads = setup.cpu_threads or 1  # train() runs networks this small on one thread unless told otherwise
    out = sys.stderr if args.json else sys.stdout

    def log(line: str) -> None:
        print(line, file=out, flush=True)

    start, load_before = time.perf_counter(), _load()
    records = run_benchmark(args.methods, args.mixtures, seeds=args.seeds, setup=setup,
                            log=None if args.quiet else log)
    wall = time.perf_counter() - start
    print(format_table(records), file=out)
    print(f"wall time {wall:.0f} s for {len(records) * args.seeds} runs, each on {threads} CPU thread(s)",
          file=out)
    if args.json:
        doc = {"benchmark": "modes", "records": records, "setup": setup_dict(setup), "target": TARGET,
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


def register(groups) -> None:
    from gancourse.commands.arguments import count_or_zero, float_or_zero, positive_float, positive_int
    from gancourse.commands.choices import BENCH_DEFAULTS as DEFAULTS
    from gancourse.commands.choices import BENCH_METHODS as METHODS
    from gancourse.commands.choices import BENCH_MIXTURES as MIXTURES
    from gancourse.commands.choices import MIXTURE_SPEC_HELP, RECIPES

    p = groups["bench"].add_parser("modes", help="mode collapse on rings and grids of Gaussians, over seeds")
    p.add_argument("--seeds", type=positive_int, default=5, help="runs per method and mixture (default 5)")
    p.add_argument("--json", action="store_true", help="JSON records on stdout (table and progress on stderr)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(RECIPES), metavar="METHOD",
                   help=f"recipes to compare (default: {' '.join(METHODS)}; any of {', '.join(RECIPES)})")
    p.add_argument("--mixtures", nargs="+", default=list(MIXTURES), type=mixture_spec, metavar="MIXTURE",
                   help=f"mixtures to train on (default: {' '.join(MIXTURES)}; any of {MIXTURE_SPEC_HELP})")
    p.add_argument("--steps", type=positive_int, default=None,
                   help=f"generator steps per run (default {DEFAULTS['steps']})")
    p.add_argument("--n-critic", type=positive_int, default=None,
                   help="D steps per G step for every method (default: each recipe's own, 5 for WGAN-GP, else 1)")
    p.add_argument("--lr", type=positive_float, default=None,
                   help=f"Adam's learning rate for both networks before the drop (default {DEFAULTS['lr']})")
    p.add_argument("--r1-lazy", action="store_true",
                   help="R1 on the last D step of each G step only, weighted n_critic × γ (methods with R1)")
    p.add_argument("--n-codes", type=positive_int, default=None,
                   help=f"codes of the mixture latent (r1-mixture, r1-mixture-refit; default {DEFAULTS['n_codes']})")
    p.add_argument("--code-sigma", type=float_or_zero, default=None,
                   help=f"spread of each code's Gaussian in the mixture latent (default {DEFAULTS['code_sigma']})")
    p.add_argument("--latent-dim", type=positive_int, default=None,
                   help=f"dimension of the mixture latent's code space (default {DEFAULTS['latent_dim']})")
    p.add_argument("--hidden", type=positive_int, default=None,
                   help=f"width of every hidden layer of G and D (default {DEFAULTS['hidden']})")
    p.add_argument("--threads", type=count_or_zero, default=0,
                   help="CPU threads per run (default 0: one, train()'s choice for networks this small)")
    p.add_argument("--quiet", action="store_true", help="no line per run")
    p.set_defaults(func=run)
