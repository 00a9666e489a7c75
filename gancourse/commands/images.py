"""``gancourse train <image recipe>`` (dcgan, wgan-gp, sngan, ...) and ``gancourse sample``: image GANs.

``train`` writes into ``--out``: ``checkpoint.pt``, ``history.json``, ``config.json`` (from the
training loop) and a sample grid ``samples_<step>.png`` every ``--sample-every`` steps, the last
one also as ``samples.png``. ``sample`` rebuilds the generator a checkpoint describes and saves a
grid of its images.

``torchrun --standalone --nproc-per-node N -m gancourse train ...`` trains on N processes
(:mod:`gancourse.distributed`); rank 0 alone writes and prints, and ``--batch-size`` is the global batch.
"""

from __future__ import annotations

from pathlib import Path


def run_train(args) -> int:
    from gancourse.distributed import launch

    return launch(lambda device: _train(args, device), args.device, batch_size=args.batch_size)


def _train(args, device) -> int:
    """``gancourse train <image recipe>`` on ``device``: this process's own, under torchrun."""
    import time

    import torch

    from gancourse.callbacks import SampleFiles
    from gancourse.checkpoint import CHECKPOINT
    from gancourse.commands.runs import arguments, check_resume
    from gancourse.data.images import load_images
    from gancourse.distributed import Shard
    from gancourse.errors import CommandError
    from gancourse.experiments import train_image_recipe
    from gancourse.models import IMAGE_SIZES

    check_resume(args)
    shard = Shard.current()
    data = shard.main_first(lambda: load_images(args.dataset, root=args.root, image_size=args.image_size,
                                                download=args.download, channels=args.channels))
    if data.image_size not in IMAGE_SIZES:
        raise CommandError(
            f"{data.name} has {data.image_size} px images; the DCGAN networks take {IMAGE_SIZES} px. "
            f"Pass --image-size 32 or 64."
        )
    out = Path(args.out)
    fixed_z = torch.randn(64, args.z_dim, generator=torch.Generator().manual_seed(args.seed))
    start = time.perf_counter()
    run = train_image_recipe(
        args.kind, data, steps=args.steps, batch_size=args.batch_size, width=args.width, z_dim=args.z_dim,
        device=device, seed=args.seed, out_dir=out, resume=args.resume, callbacks=[SampleFiles(fixed_z, out)],
        callback_every=args.sample_every, checkpoint_every=args.checkpoint_every, progress=not args.quiet,
        sync_bn=args.sync_bn, cpu_threads=args.threads, meta={"arguments": arguments(args)},
        conditional=args.conditional,
    )  # fmt: skip
    seconds, history = time.perf_counter() - start, run.history
    if shard.main:
        done = history.step[-1] if history.step else 0
        on = f" on {shard.world} processes" if shard.active else ""
        print(f"{args.kind} on {data.name}{on}: step {done} of {args.steps} ({seconds:.1f} s this run)")
        print(f"wrote {out / 'samples.png'}, {out / CHECKPOINT}, {out / 'history.json'}")
    return 128 + history.stop_signal if history.interrupted else 0  # 130 after Ctrl-C, 143 after SIGTERM


def run_sample(args) -> int:
    import torch

    from gancourse.checkpoint import load_generator
    from gancourse.errors import CommandError
    from gancourse.models import generate
    from gancourse.plot import save_image_grid

    out = Path(args.out)
    if out.is_dir():
        raise CommandError(f"--out {out} is a folder; give the picture's file name, e.g. --out {out / 'grid.png'}.")
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise CommandError(f"--out {out}: the picture is written as PNG or JPEG; end the name in .png or .jpg.")
    if (args.checkpoint is None) == (args.pretrained is None):
        raise CommandError("give one source of samples: a checkpoint (a run folder or its checkpoint.pt) or "
                           "--pretrained NAME ('gancourse pretrained list' names the shipped generators).")
    if args.pretrained is not None:
        from gancourse.pretrained import load

        G, source = load(args.pretrained), f"of the shipped generator {args.pretrained!r}"
    else:
        G, ckpt = load_generator(args.checkpoint)
        if type(G).__name__ != "DCGANGenerator":
            raise CommandError(
                f"{args.checkpoint} holds a {type(G).__name__}, not an image generator; sample grids come from "
                f"runs of 'gancourse train dcgan', 'train sngan' and the other image recipes."
            )
        source = f"from step {ckpt['step']}" + (" (G's moving average)" if "G_ema" in ckpt else "")
    y = torch.arange(args.n) % G.n_classes if G.n_classes else None  # a conditional G: the classes in turn
    save_image_grid(generate(G, n=args.n, seed=args.seed, y=y), out, nrow=args.nrow)
    print(f"wrote {args.n} samples {source} to {args.out}")
    return 0


def register(groups) -> None:
    from gancourse.commands.arguments import count_or_zero, device, positive_int, sample_count
    from gancourse.commands.choices import IMAGE_DATASETS as DATASET_NAMES
    from gancourse.commands.choices import IMAGE_RECIPES

    helps = {"dcgan": "DCGAN (Radford et al.)", "wgan-gp": "WGAN-GP: critic without batch norm",
             "hinge": "DCGAN's networks under the hinge loss",
             "least-squares": "LSGAN: DCGAN's networks, least squares",
             "dcgan-ema": "DCGAN sampled from G's moving average", "ttur": "DCGAN with D at 4e-4, G at 1e-4 (TTUR)",
             "diffaugment": "DCGAN with DiffAugment (translation, cutout)",
             "sngan": "hinge loss, spectral norm in D (SNGAN)",
             "sngan-ema-augment": "sngan with G's moving average and DiffAugment"}
    for kind in IMAGE_RECIPES:
        p = groups["train"].add_parser(kind, help=f"{helps[kind]} on an image dataset")
        p.add_argument("--dataset", default="fashion-mnist", help=f"one of {', '.join(DATASET_NAMES)}")
        p.add_argument("--root", default=None,
                       help="the folder holding the dataset's files (then no other place is searched)")
        p.add_argument("--download", action="store_true", default=None,
                       help="download the dataset if no local copy is found (needs internet)")  # fmt: skip
        p.add_argument("--image-size", type=int, default=None, choices=[28, 32, 64], help="resize to 28, 32 or 64 px")
        p.add_argument("--channels", type=int, default=None, choices=[1, 3],
                       help="1 (grey) or 3 (colour); by default the dataset's own (a folder: colour if any picture is)")
        p.add_argument("--steps", type=positive_int, default=3000, help="generator steps (default 3000)")
        p.add_argument("--batch-size", type=positive_int, default=128)
        p.add_argument("--width", type=positive_int, default=64, help="channels of G's last hidden layer (default 64)")
        p.add_argument("--z-dim", type=positive_int, default=100)
        p.add_argument("--out", required=True, help="output folder (created; an existing run needs --resume)")
        p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
        p.add_argument("--device", type=device, default=None, help="cpu, cuda, mps (default: the best available)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--threads", type=positive_int, default=None,
                       help="CPU threads to train on (default: torch's choice)")
        p.add_argument("--sample-every", type=positive_int, default=500, help="steps between sample grids")
        p.add_argument("--checkpoint-every", type=count_or_zero, default=500)
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--conditional", action="store_true",
                       help="a class-conditional GAN: G and D get each image's label (09)")
        p.add_argument("--sync-bn", action="store_true",
                       help="under torchrun on GPUs: batch norm statistics over the global batch (SyncBatchNorm)")
        p.set_defaults(func=run_train, kind=kind)

    p = groups["top"].add_parser("sample", help="a grid of images from a trained image GAN's checkpoint")
    p.add_argument("checkpoint", nargs="?", default=None, help="checkpoint.pt (or the run folder holding it)")
    p.add_argument("--pretrained", default=None, metavar="NAME",
                   help="a generator shipped with the package instead ('gancourse pretrained list')")
    p.add_argument("--n", type=sample_count, default=64, help="number of images (default 64)")
    p.add_argument("--out", default="grid.png", help="PNG file to write (default grid.png)")
    p.add_argument("--nrow", type=positive_int, default=8, help="images per row")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise z")
    p.set_defaults(func=run_sample)
