"""``gancourse train classifier``: the Fashion-MNIST classifier whose weights ship with the package.

Trains :class:`gancourse.models.FashionClassifier` with :func:`gancourse.train.train_classifier` on the
train split, prints its accuracy on the test split and writes its state dict to ``--out``; an existing
file is replaced only with ``--force``. On a CPU the defaults reproduce, bit for bit,
``gancourse/weights/fashion_mnist_classifier.pt``, the file :mod:`gancourse.metrics.classifier` loads
(``--device cpu`` on a machine with a GPU; about a minute on two cores).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_OUT = "fashion_mnist_classifier.pt"
EPOCHS = 5  # the shipped weights: 5 epochs, seed 0 (about 91.7 % on the test split)


def run_train_classifier(args) -> int:
    import time

    import torch

    from gancourse.checkpoint import atomic_write, check_writable
    from gancourse.data.images import load_images
    from gancourse.errors import CommandError
    from gancourse.metrics.classifier import accuracy
    from gancourse.models import FashionClassifier
    from gancourse.train import train_classifier

    out = Path(args.out)
    if out.is_dir():
        raise CommandError(f"--out {out} is a folder; give the weight file's name, e.g. --out {out / DEFAULT_OUT}.")
    if out.exists() and not args.force:
        raise CommandError(f"{out} already exists; pass --force to replace it, or choose another --out.")
    check_writable(out.parent)  # before minutes of training
    train = load_images("fashion-mnist", root=args.root, split="train")
    test = load_images("fashion-mnist", root=args.root, split="test")
    torch.manual_seed(args.seed)  # the initial weights
    model = FashionClassifier()
    start = time.perf_counter()
    losses = train_classifier(model, train, epochs=args.epochs, seed=args.seed, device=args.device,
                              progress=not args.quiet)
    seconds = time.perf_counter() - start
    x_test, y_test = test.tensors()
    test_accuracy = accuracy(x_test, y_test, classifier=model)
    atomic_write(out, obj=model.cpu().state_dict())
    print(f"classifier: {args.epochs} epochs on {len(train):,} images in {seconds:.0f} s, "
          f"last epoch's loss {losses[-1]:.4f}")
    print(f"test accuracy {test_accuracy:.2%} on {len(test):,} images")
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    return 0


def register(groups) -> None:
    from gancourse.commands.arguments import device, positive_int

    p = groups["train"].add_parser("classifier", help="the Fashion-MNIST classifier the image metrics measure with")
    p.add_argument("--epochs", type=positive_int, default=EPOCHS,
                   help=f"passes over the train split (default {EPOCHS})")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"weight file to write (default {DEFAULT_OUT})")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", type=device, default=None, help="cpu, cuda, mps (default: the best available)")
    p.add_argument("--root", default=None,
                   help="the folder holding Fashion-MNIST's IDX files (then no other place is searched)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train_classifier)
