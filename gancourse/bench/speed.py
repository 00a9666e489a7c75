"""How fast the course's DCGAN training step runs, next to the usual recipe, in one run.

The reference loop is written the way pytorch/examples' ``dcgan/main.py`` trains: a DataLoader
over torchvision's dataset with ``ToTensor`` and ``Normalize`` transforms, float32, a sigmoid on
D's output with ``BCELoss``, and ``.item()`` on every step for the printed statistics. Ours is
:func:`gancourse.train.train` with the data resident on the device as one tensor and the
settings of :func:`gancourse.recipes.speed_settings`. Both train the same networks (same class, width, initial
weights), on the same device, batch size and image size, alternately, several times; the
report gives the median images per second of each and their ratio.
"""

from __future__ import annotations

import copy
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from gancourse.config import resolve_device
from gancourse.models import image_networks
from gancourse.recipes import speed_settings


@dataclass
class SpeedResult:
    """Images per second of each loop, one entry per repeat, and what was measured."""

    device: str
    image_size: int
    batch_size: int
    width: int
    steps: int
    workers: int
    threads: int
    settings: dict
    reference: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)
    machine: str = ""

    @property
    def reference_median(self) -> float:
        return statistics.median(self.reference)

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def ratio(self) -> float:
        return self.ours_median / self.reference_median

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(reference_median=self.reference_median, ours_median=self.ours_median, ratio=self.ratio)
        return d

    def summary(self) -> str:
        def row(name, values):
            spread = f"{min(values):8.1f} .. {max(values):8.1f}"
            return f"  {name:<10} {statistics.median(values):9.1f} img/s   (repeats {spread})"

        settings = ", ".join(f"{k}={v}" for k, v in self.settings.items()) or "defaults"
        return "\n".join([
            f"DCGAN training speed on {self.device} ({self.machine}; {self.threads} threads)",
            f"  {self.image_size} px, width {self.width}, batch {self.batch_size}, {self.steps} steps "
            f"x {len(self.ours)} repeats; reference DataLoader workers={self.workers}",
            row("reference", self.reference),
            row("ours", self.ours) + f"   [{settings}]",
            f"  ratio      {self.ratio:9.2f}x",
        ])  # fmt: skip


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pytorch_examples_dcgan_loop(G: nn.Module, D: nn.Module, loader, steps: int, device: torch.device) -> float:
    """``steps`` iterations of the training loop of pytorch/examples' ``dcgan/main.py``; the seconds they took.

    The peer's loop, kept as its script writes it, statement for statement (the comments (1) and (2)
    are the script's): the one place outside :mod:`gancourse.train` where an optimizer steps, because
    this is what the benchmark compares the course's loop with. Only what the script does around the
    loop is left out: its argument parsing, its printing of the statistics it collects, and its saving
    of images and weights. ``loader`` is an iterable of (images, labels) batches on the CPU. D's logits go
    through a sigmoid into BCELoss, as the example's D ends in ``nn.Sigmoid``.
    """
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real_label, fake_label = 1.0, 0.0
    it = iter(loader)
    stats = []
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        try:
            data = next(it)
        except StopIteration:
            it = iter(loader)
            data = next(it)
        # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
        D.zero_grad()
        real = data[0].to(device)
        b = real.size(0)
        label = torch.full((b,), real_label, dtype=real.dtype, device=device)
        output = torch.sigmoid(D(real)).view(-1)
        err_d_real = criterion(output, label)
        err_d_real.backward()
        d_x = output.mean().item()
        noise = torch.randn(b, G.z_dim, 1, 1, device=device)
        fake = G(noise)
        label.fill_(fake_label)
        output = torch.sigmoid(D(fake.detach())).view(-1)
        err_d_fake = criterion(output, label)
        err_d_fake.backward()
        d_g_z1 = output.mean().item()
        err_d = err_d_real + err_d_fake
        opt_d.step()
        # (2) Update G: maximize log(D(G(z)))
        G.zero_grad()
        label.fill_(real_label)
        output = torch.sigmoid(D(fake)).view(-1)
        err_g = criterion(output, label)
        err_g.backward()
        d_g_z2 = output.mean().item()
        opt_g.step()
        stats.append((err_d.item(), err_g.item(), d_x, d_g_z1, d_g_z2))  # the example prints these
    _sync(device)
    return time.perf_counter() - start


def ours_loop(G, D, batches, steps: int, device: torch.device, settings: dict) -> float:
    """``steps`` generator steps of the course's training loop; returns the seconds they took."""
    from gancourse.train import train

    _sync(device)
    start = time.perf_counter()
    train(G, D, batches, steps=steps, device=str(device), progress=False, log_every=50, **settings)
    _sync(device)
    return time.perf_counter() - start


def machine_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def run_speed(device=None, *, dataset: str = "fashion-mnist", root=None, image_size: int = 28,
              width: int = 64, batch_size: int = 128, steps: int | None = None, warmup: int = 3,
              repeats: int = 5, workers: int = 2, settings: dict | None = None, seed: int = 0,
              threads: int | None = None, log=None) -> SpeedResult:  # fmt: skip
    """Measure both loops alternately ``repeats`` times on ``device``; see the module docstring.

    ``steps`` per repeat defaults to 20 on the CPU and 200 on a GPU. ``workers`` is the reference
    DataLoader's worker count (the example's default is 2). ``settings`` overrides
    :func:`speed_settings` for our loop. On the CPU both loops run on ``threads`` threads (default:
    torch's setting), so the ratio compares the loops, not thread counts.
    """
    from torchvision import transforms as T

    from gancourse.data import TensorBatches
    from gancourse.data.images import load_images, torchvision_mnist

    device = resolve_device(device)
    if threads is not None:
        torch.set_num_threads(threads)
    settings = speed_settings(device) if settings is None else dict(settings)
    if device.type == "cpu":  # both loops on the same number of threads (train() may pick 1 for small nets)
        settings.setdefault("cpu_threads", torch.get_num_threads())
    steps = steps or (200 if device.type == "cuda" else 20)

    # Reference input: torchvision's dataset decoded per item, as in the example.
    tf = [T.ToTensor(), T.Normalize((0.5,), (0.5,))]
    if image_size != 28:
        tf.insert(0, T.Resize(image_size))
    tv_data = torchvision_mnist(dataset, root=root, transform=T.Compose(tf))
    loader = torch.utils.data.DataLoader(tv_data, batch_size=batch_size, shuffle=True, num_workers=workers,
                                         drop_last=True, persistent_workers=workers > 0)  # fmt: skip
    # Ours: the same images as one resident float tensor on the device.
    x = load_images(dataset, root=root, image_size=image_size).tensors(device)[0]
    batches = TensorBatches(x, batch_size, seed=seed)

    torch.manual_seed(seed)
    G0, D0 = image_networks(1, image_size, width=width, z_dim=100)
    nets = {name: (copy.deepcopy(G0).to(device), copy.deepcopy(D0).to(device)) for name in ("reference", "ours")}

    def once(name: str, n: int) -> float:
        G, D = nets[name]
        if name == "reference":
            return pytorch_examples_dcgan_loop(G, D, loader, n, device)
        return ours_loop(G, D, batches, n, device, settings)

    if warmup:
        once("reference", warmup)  # also starts the DataLoader workers
        once("ours", warmup)
    result = SpeedResult(str(device), image_size, batch_size, width, steps, workers, torch.get_num_threads(),
                         settings, machine=machine_name(device))  # fmt: skip
    for r in range(repeats):
        order = ("reference", "ours") if r % 2 == 0 else ("ours", "reference")  # share any drift
        for name in order:
            seconds = once(name, steps)
            getattr(result, name).append(steps * batch_size / seconds)
        if log:
            ref, ours = result.reference[-1], result.ours[-1]
            log(f"repeat {r + 1}/{repeats}: reference {ref:.1f} img/s, ours {ours:.1f} img/s")
    return result
