"""``gancourse bench quality``: each image recipe's samples after the same budget, against the real floor."""

from __future__ import annotations


def run(args) -> int:
    import json
    import sys

    from gancourse.bench.quality import run_quality

    if args.table:
        return _table(args)
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    result = run_quality(
        args.recipes, minutes=args.minutes, steps=args.steps, seeds=args.seeds, n=args.n, split=args.split,
        dataset=args.dataset, root=args.root, width=args.width, batch_size=args.batch_size, device=args.device,
        threads=args.threads, inception=args.inception, log=log,
    )  # fmt: skip
    if args.json:
        print(result.summary(), file=sys.stderr)
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.summary())
    return 0


def _table(args) -> int:
    """The table of ``--table`` records, merged into one (they must have measured the same way)."""
    import functools
    import json
    import statistics
    from pathlib import Path

    from gancourse.bench.quality import QualityResult
    from gancourse.errors import CommandError

    results = []
    for name in args.table:
        try:
            result = QualityResult.from_dict(json.loads(Path(name).read_text()))
            result.summary()  # every figure the table prints is there and is a number
        except (OSError, ValueError, KeyError, TypeError, AttributeError, statistics.StatisticsError) as e:
            raise CommandError(f"--table {name}: not a record of 'gancourse bench quality --json' ({e}).") from None
        results.append(result)
    result = functools.reduce(QualityResult.merged, results)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
    return 0


def register(groups) -> None:
    from gancourse.commands.arguments import count_or_zero, device, positive_float, positive_int, sample_count
    from gancourse.commands.choices import BENCH_QUALITY_RECIPES, IMAGE_RECIPES

    p = groups["bench"].add_parser(
        "quality", help="sample quality of the image recipes after the same budget, over seeds",
        description="Each recipe trains Fashion-MNIST's train split for the same budget (CPU-minutes on a CPU, "
                    "each recipe's steps set by timing a few of them first; or --steps for every recipe), then "
                    "its generator (its moving average where the recipe keeps one) draws --n images, scored "
                    "against --n real images of --split by the shipped classifier's features: Fréchet distance, "
                    "precision, recall, classes present. The real floor is other real images scored the same way.")
    p.add_argument("--recipes", nargs="+", default=list(BENCH_QUALITY_RECIPES), choices=list(IMAGE_RECIPES),
                   metavar="RECIPE", help=f"recipes to compare (default: {' '.join(BENCH_QUALITY_RECIPES)}; "
                                          f"any of {', '.join(IMAGE_RECIPES)})")
    p.add_argument("--minutes", type=positive_float, default=None, help="CPU-minutes per run (default 5)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="generator steps per run instead of a time budget (needed on a GPU; not with --minutes)")
    p.add_argument("--seeds", type=positive_int, default=3, help="runs per recipe (default 3)")
    p.add_argument("--n", type=sample_count, default=2000, help="samples and real images per score (default 2000)")
    p.add_argument("--split", choices=["test", "train"], default="test",
                   help="real images to score against: the test split (default), or train images for choosing "
                        "a recipe without looking at the test split")
    p.add_argument("--inception", action="store_true",
                   help="also the Inception FID of the best recipe and of dcgan (first seed) and of the floor")
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist"])
    p.add_argument("--root", default=None, help="folder holding the dataset's IDX files")
    p.add_argument("--width", type=positive_int, default=64)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--device", type=device, default="cpu", help="cpu (default) or cuda")
    p.add_argument("--threads", type=count_or_zero, default=1,
                   help="CPU threads per run (default 1; 0: torch's choice)")
    p.add_argument("--json", action="store_true", help="JSON record on stdout (table and progress on stderr)")
    p.add_argument("--quiet", action="store_true", help="no line per run")
    p.add_argument("--table", nargs="+", default=None, metavar="JSON",
                   help="train nothing: print the table of these --json records, merged into one")
    p.set_defaults(func=run)
