"""``gancourse fid A B``: the Fréchet distance between two sets of images.

A and B are each a checkpoint or a run folder (its generator's samples), a folder of pictures, or a
dataset split such as ``fashion-mnist:test``. Statistics of dataset splits are cached on disk.
Explained in 08_evaluation.
"""

from __future__ import annotations


def run(args) -> int:
    import json

    from gancourse.metrics.fid import fid_between

    result = fid_between(args.a, args.b, features=args.features, n=args.n, batch_size=args.batch_size,
                         device=args.device, seed=args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"FID ({result['features']} features) = {result['fid']:.3f}")
        print(f"  A: {result['a']}, {result['n_a']} images\n  B: {result['b']}, {result['n_b']} images")
    return 0


def register(groups) -> None:
    from gancourse.commands.arguments import device, positive_int
    from gancourse.commands.choices import FID_FEATURES as FEATURES

    p = groups["top"].add_parser("fid", help="Fréchet distance between two sets of images (FID)")
    p.add_argument("a", help="a checkpoint or run folder, a folder of pictures, or a dataset split "
                             "(fashion-mnist:test)")
    p.add_argument("b", help="the same kinds as A")
    p.add_argument("--features", default="inception", choices=list(FEATURES),
                   help="inception (pytorch-fid's, as papers) or classifier (the course's, fast on a CPU)")
    p.add_argument("--n", type=positive_int, default=10_000, help="images from each side (default 10,000)")
    p.add_argument("--batch-size", type=positive_int, default=50)
    p.add_argument("--device", type=device, default=None, help="cpu or cuda (default: the best available)")
    p.add_argument("--seed", type=int, default=0, help="seed of a generator's noise")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)
