"""``gancourse train toy``: an MLP GAN on a 2-D toy distribution, from the command line.

Writes ``checkpoint.pt``, ``history.json``, ``config.json`` and ``samples.png`` (samples over the
true density with the discriminator's surface) into ``--out``; ``--resume`` continues a run exactly.
"""

from __future__ import annotations

from pathlib import Path


def run(args) -> int:
    from gancourse.commands.runs import arguments, check_resume
    from gancourse.data import make_toy
    from gancourse.errors import CommandError
    from gancourse.experiments import train_toy
    from gancourse.metrics.modes import mode_coverage
    from gancourse.plot import save_toy_picture

    if args.batch_size % args.pack:
        raise CommandError(f"--batch-size {args.batch_size} is not a multiple of --pack {args.pack}.")
    check_resume(args)
    out = Path(args.out)
    dist = make_toy(args.dataset)
    if dist.dim != 2:
        raise CommandError(
            f"train toy draws 2-D pictures; {args.dataset} is {dist.dim}-D. Use ring8, grid25 or gaussian2d."
        )
    settings = dict(loss=args.loss, n_critic=args.n_critic, lr_g=args.lr, lr_d=args.lr, gp_weight=args.gp_weight,
                    pack=args.pack, device=args.device, checkpoint_every=args.checkpoint_every)
    # the recipe the loss belongs to gives what the flags do not set (WGAN-GP's betas (0.5, 0.9), for one)
    recipe = {"minimax": "minimax", "wasserstein": "wgan-gp"}.get(args.loss, "nonsaturating")
    run = train_toy(recipe, dist, args.steps, batch_size=args.batch_size, seed=args.seed,
                    networks=dict(hidden=args.hidden, depth=args.depth, z_dim=args.z_dim), out_dir=out,
                    resume=args.resume, progress=not args.quiet, meta={"arguments": arguments(args)}, **settings)
    x = run.samples(2500)
    step = run.history.step[-1] if run.history.step else 0
    D_view = run.D.cpu() if args.pack == 1 else None  # a packed D judges pack points at once: no 2-D surface
    save_toy_picture(out / "samples.png", x, dist=dist, D=D_view, title=f"{args.dataset}, {args.loss}, step {step}")

    summary = f"{len(run.history)} steps in {run.seconds:.1f} s"
    if hasattr(dist, "centres"):
        r = mode_coverage(x, dist.centres, dist.std)
        summary += (f"; modes captured {r.modes_captured}/{r.n_modes}, high quality "
                    f"{100 * r.high_quality_fraction:.1f} %, reverse KL {r.reverse_kl:.3f}")
    print(summary)
    print(f"wrote {out / 'samples.png'}, {out / 'checkpoint.pt'}, {out / 'history.json'}")
    # 130 after Ctrl-C, 143 after SIGTERM, as shells report them
    return 128 + run.history.stop_signal if run.history.interrupted else 0


def register(groups) -> None:
    from gancourse.commands.arguments import count_or_zero, device, float_or_zero, positive_float, positive_int
    from gancourse.commands.choices import LOSSES as LOSS_FAMILIES
    from gancourse.commands.choices import TOY_DATASETS as TOY_NAMES

    p = groups["train"].add_parser("toy", help="an MLP GAN on a 2-D toy distribution")
    p.add_argument("--dataset", default="grid25", choices=[n for n in TOY_NAMES if n != "gaussian1d"])
    p.add_argument("--loss", default="nonsaturating", choices=list(LOSS_FAMILIES))
    p.add_argument("--steps", type=positive_int, default=2000, help="generator steps (default 2000)")
    p.add_argument("--out", required=True, help="output folder (created; an existing run needs --resume)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate of G and D")
    p.add_argument("--n-critic", type=positive_int, default=1, help="discriminator steps per generator step")
    p.add_argument("--gp-weight", type=float_or_zero, default=0.0, help="gradient penalty weight (10 for WGAN-GP)")
    p.add_argument("--pack", type=positive_int, default=1, help="PacGAN packing degree")
    p.add_argument("--hidden", type=positive_int, default=128)
    p.add_argument("--depth", type=positive_int, default=3)
    p.add_argument("--z-dim", type=positive_int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", type=device, default=None, help="cpu, cuda, mps (default: the best available)")
    p.add_argument("--checkpoint-every", type=count_or_zero, default=500)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
