"""Short runs whose weights and losses are recorded in ``tests/data/reference_runs.json``, so that a change to
the training path that alters any run's numbers, by a single bit, fails ``test_train_reproduces_the_recorded_runs``.

The record was written before the loop took its objectives (:mod:`gancourse.objectives`); rewrite it only for a
change meant to alter the numbers, and say why in the commit: ``python tests/reference_runs.py``.
"""

import hashlib
import json
from pathlib import Path

import torch

RECORD = Path(__file__).with_name("data") / "reference_runs.json"

# name -> train() settings on the toy ring; "image" cases train a width-8 DCGAN on fixed random images
CASES = {
    "nonsaturating": dict(loss="nonsaturating"),
    "wgan-gp": dict(loss="wasserstein", gp_weight=10.0, n_critic=3, betas=(0.0, 0.9)),
    "wgan-clipping": dict(loss="wasserstein", clip_value=0.01, n_critic=2, optimizer="rmsprop", lr_d=5e-5, lr_g=5e-5),
    "hinge-pack2": dict(loss="hinge", pack=2),
    "multistep-r1": dict(loss="nonsaturating", lr_schedule="multistep", lr_milestones=(5, 12), lr_gamma=0.5,
                         r1_weight=0.1),
    "d-alone": dict(loss="nonsaturating", train_g=False, n_critic=2),
    "lazy-r1": dict(loss="nonsaturating", r1_weight=0.5, r1_lazy=True, n_critic=3),
    "label-hacks": dict(loss="nonsaturating", label_smoothing=0.1, label_flip=0.2, n_critic=2),
    "image-conditional": dict(loss="least_squares", conditional=True),
    "image-wgan-gp": dict(loss="wasserstein", gp_weight=10.0, n_critic=2, betas=(0.0, 0.9)),
}


def run(name: str) -> dict:
    """Train the case ``name`` for 15 steps; a digest of every weight and buffer, and the logged losses."""
    from gancourse.data import TensorBatches, ToyBatches, ring8
    from gancourse.models import image_networks, toy_networks
    from gancourse.train import train

    settings = CASES[name]
    torch.manual_seed(0)
    if name.startswith("image"):
        conditional = settings.get("conditional", False)
        G, D = image_networks(1, 28, width=8, n_classes=3 if conditional else None,
                              norm="none" if settings.get("gp_weight") else "batch")
        g = torch.Generator().manual_seed(1)
        x = torch.rand(64, 1, 28, 28, generator=g) * 2 - 1
        data = TensorBatches((x, torch.arange(64) % 3) if conditional else x, 16, seed=2)
    else:
        G, D = toy_networks(2, hidden=32, depth=2, pack=settings.get("pack", 1))
        data = ToyBatches(ring8(), 64, seed=1)
    history = train(G, D, data, steps=15, seed=5, device="cpu", progress=False, log_every=1, **settings)
    digest = hashlib.sha256()
    for net in (G, D):
        for key, value in net.state_dict().items():
            digest.update(key.encode())
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return {"weights": digest.hexdigest(), "d_loss": history.d_loss, "g_loss": history.g_loss}


def main() -> None:
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps({name: run(name) for name in CASES}, indent=1) + "\n")
    print(f"wrote {RECORD}")


if __name__ == "__main__":
    main()
