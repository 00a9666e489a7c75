"""``gancourse train toy``: an MLP GAN on a 2-D toy distribution, from the command line.

Writes ``checkpoint.pt``, ``history.json``, ``config.json`` and ``samples.png`` (samples over the
true density with the discriminator's surface) into ``--out``; ``--resume`` continues a run exactly.
"""

from __future__ import annotations

import time
from pathlib import Path

from gancourse.losses import LOSS_FAMILIES


def build_toy_gan(dim: int, hidden: int, depth: int, z_dim: int, pack: int = 1):
    from gancourse.models import MLPDiscriminator, MLPGenerator

    return (MLPGenerator(z_dim=z_dim, out_dim=dim, hidden=hidden, depth=depth),
            MLPDiscriminator(in_dim=dim * pack, hidden=hidden, depth=depth))


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from gancourse.checkpoint import atomic_save
    from gancourse.data import ToyBatches, make_toy
    from gancourse.plot import plot_toy
    from gancourse.train import train

    out = Path(args.out)
    dist = make_toy(args.dataset)
    if dist.dim != 2:
        from gancourse.cli import CommandError

        raise CommandError(
            f"train toy draws 2-D pictures; {args.dataset} is {dist.dim}-D. Use ring8, grid25 or gaussian2d."
        )
    torch.manual_seed(args.seed)
    G, D = build_toy_gan(dist.dim, args.hidden, args.depth, args.z_dim, args.pack)
    settings = dict(loss=args.loss, steps=args.steps, n_critic=args.n_critic, lr_g=args.lr, lr_d=args.lr,
                    gp_weight=args.gp_weight, pack=args.pack, seed=args.seed, device=args.device,
                    checkpoint_every=args.checkpoint_every)
    if args.loss == "wasserstein":
        settings["betas"] = (0.5, 0.9)
    start = time.perf_counter()
    history = train(G, D, ToyBatches(dist, args.batch_size, seed=args.seed), out_dir=out, resume=args.resume,
                    progress=not args.quiet, **settings)
    seconds = time.perf_counter() - start

    G.eval()
    with torch.no_grad():
        x = G(torch.randn(2500, G.z_dim, generator=torch.Generator().manual_seed(0)).to(next(G.parameters()).device))
    fig, ax = plt.subplots(figsize=(5, 5))
    D_view = D if args.pack == 1 else None  # a packed D judges pack points at once: no 2-D surface
    plot_toy(ax, x.cpu(), dist=dist, D=D_view.cpu() if D_view is not None else None,
             title=f"{args.dataset}, {args.loss}, step {history.step[-1] if history.step else 0}")
    atomic_save(out / "samples.png", lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight"))
    plt.close(fig)

    summary = f"{len(history)} steps in {seconds:.1f} s"
    if hasattr(dist, "centres"):
        from gancourse.metrics.modes import mode_coverage

        r = mode_coverage(x.cpu(), dist.centres, dist.std)
        summary += (f"; modes captured {r.modes_captured}/{r.n_modes}, high quality "
                    f"{100 * r.high_quality_fraction:.1f} %, reverse KL {r.reverse_kl:.3f}")
    print(summary)
    print(f"wrote {out / 'samples.png'}, {out / 'checkpoint.pt'}, {out / 'history.json'}")
    return 0


def register(groups) -> None:
    from gancourse.data.toy import TOY_NAMES

    p = groups["train"].add_parser("toy", help="an MLP GAN on a 2-D toy distribution")
    p.add_argument("--dataset", default="grid25", choices=[n for n in TOY_NAMES if n != "gaussian1d"])
    p.add_argument("--loss", default="nonsaturating", choices=list(LOSS_FAMILIES))
    p.add_argument("--steps", type=int, default=2000, help="generator steps (default 2000)")
    p.add_argument("--out", required=True, help="output folder (created; an existing run needs --resume)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of G and D")
    p.add_argument("--n-critic", type=int, default=1, help="discriminator steps per generator step")
    p.add_argument("--gp-weight", type=float, default=0.0, help="gradient penalty weight (10 for WGAN-GP)")
    p.add_argument("--pack", type=int, default=1, help="PacGAN packing degree")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--z-dim", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
