"""``gancourse bench speed``: images per second of our DCGAN step next to pytorch/examples' loop."""

from __future__ import annotations


def run(args) -> int:
    import json
    import sys

    from gancourse.bench.speed import run_speed

    log = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    result = run_speed(
        args.device, dataset=args.dataset, root=args.root, image_size=args.image_size, width=args.width,
        batch_size=args.batch_size, steps=args.steps, warmup=args.warmup, repeats=args.repeats,
        workers=args.workers, threads=args.threads, log=log,
    )  # fmt: skip
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
    return 0


def register(groups) -> None:
    from gancourse.commands.arguments import count_or_zero, device, positive_int
    p = groups["bench"].add_parser("speed", help="our DCGAN training step against the usual DataLoader loop")
    p.add_argument("--device", type=device, default=None, help="cpu or cuda (default: the best available)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist"])
    p.add_argument("--root", default=None, help="folder holding the dataset's IDX files")
    p.add_argument("--image-size", type=int, default=28, choices=[28, 32, 64])
    p.add_argument("--width", type=positive_int, default=64)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--steps", type=positive_int, default=None, help="steps per repeat (default 20 on CPU, 200 on GPU)")
    p.add_argument("--warmup", type=count_or_zero, default=3, help="steps of each loop before measuring (0: none)")
    p.add_argument("--repeats", type=positive_int, default=5)
    p.add_argument("--workers", type=count_or_zero, default=2,
                   help="reference DataLoader workers (the example's default: 2)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(func=run)
