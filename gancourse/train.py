"""One training loop for every GAN in the course, from a 2-D toy to a DCGAN.

:func:`train` takes a generator ``G``, a discriminator (or critic) ``D`` and any iterator of real
batches; it never builds data itself. Each generator step follows Goodfellow et al.'s Algorithm 1:
``n_critic`` discriminator steps (each on a fresh real batch and fresh noise), then one generator step.
The loss family, gradient penalty and weight clipping turn the same loop into a minimax GAN, a
non-saturating GAN, a WGAN or a WGAN-GP.

A run in ``out_dir`` keeps a checkpoint with everything needed to continue bit for bit (step, both
networks, both optimizers, RNG states, the data iterator's position, config, history, version),
written atomically. Ctrl-C stops at the end of the current step, saves, and returns what was done.
Explained in 01_first_gan; the Wasserstein settings in 05_wgan and 07_wgan_gp.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch

from gancourse import __version__
from gancourse.checkpoint import (
    CHECKPOINT,
    CONFIG,
    FORMAT,
    HISTORY,
    CheckpointError,
    atomic_write,
    check_writable,
    load_checkpoint,
    rng_state,
    set_rng_state,
)
from gancourse.config import resolve_device
from gancourse.losses import clip_weights_, get_loss_family, gradient_penalty
from gancourse.models import describe

OPTIMIZERS = ("adam", "rmsprop", "sgd")
# Settings that may change when a run is resumed; every other one must match the checkpoint.
_RESUMABLE_CHANGES = {"steps", "checkpoint_every", "log_every", "device", "bf16", "channels_last", "cpu_threads"}
# Below this many parameters (G and D together) the CPU trains faster on one thread: splitting tiny
# matrix products across cores costs more than it saves, and far more when other programs are busy
# (toy MLPs, 67K parameters: 19 vs 369 ms a step on a loaded 2-core machine). A width-64 DCGAN
# (898K) gains from a second core on a quiet machine, so it keeps torch's setting.
SMALL_MODEL_PARAMS = 250_000


@dataclass
class TrainConfig:
    loss: str = "nonsaturating"  # a family of gancourse.losses.LOSS_FAMILIES
    steps: int = 1000  # generator steps
    n_critic: int = 1  # discriminator steps per generator step (Algorithm 1's k; 5 for WGANs)
    optimizer: str = "adam"  # adam | rmsprop (WGAN with clipping) | sgd
    lr_g: float = 2e-4  # DCGAN paper
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # β1 = 0.5 steadies GAN training (DCGAN paper)
    momentum: float = 0.0  # for sgd only
    gp_weight: float = 0.0  # λ of the gradient penalty; 10 in WGAN-GP
    r1_weight: float = 0.0  # γ of R1, (γ/2)·E‖∇D(x_real)‖² (Mescheder et al. 2018): steadies D on the data
    clip_value: float | None = None  # WGAN weight clipping c; 0.01 in the WGAN paper
    pack: int = 1  # PacGAN: D judges `pack` samples at once, concatenated along dim 1
    seed: int = 0  # seeds the noise and the penalty's interpolation
    device: str | None = None  # None = CUDA, then MPS, then CPU
    checkpoint_every: int = 0  # steps between checkpoints when out_dir is set (0: only at the end)
    log_every: int = 50  # losses are copied to the host (and checked for NaN) this often
    bf16: bool = False  # CUDA only: bfloat16 autocast for the forward passes
    channels_last: bool = False  # image models: NHWC memory layout (faster convolutions on GPUs)
    conditional: bool = False  # pass labels y to G and D (batches are (x, y) pairs)
    cpu_threads: int | None = None  # None: 1 below SMALL_MODEL_PARAMS on the CPU, else torch's setting

    def validate(self) -> None:
        get_loss_family(self.loss)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        for name in ("steps", "n_critic", "pack", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be 0 (only at the end) or positive, got {self.checkpoint_every}.")
        if self.gp_weight < 0:
            raise ValueError(f"gp_weight must be >= 0 (10 is the WGAN-GP value), got {self.gp_weight}.")
        if self.r1_weight < 0:
            raise ValueError(f"r1_weight must be >= 0, got {self.r1_weight}.")
        if self.clip_value is not None and self.clip_value <= 0:
            raise ValueError(f"clip_value must be positive (0.01 in the WGAN paper) or None, got {self.clip_value}.")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ValueError(f"learning rates must be positive, got lr_g={self.lr_g}, lr_d={self.lr_d}.")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise ValueError(f"cpu_threads must be a positive integer or None, got {self.cpu_threads}.")
        if self.pack > 1 and self.conditional:
            raise ValueError("packing (pack > 1) and conditional training cannot be combined.")


@dataclass
class History:
    """What a run did, one entry per generator step: losses, extras and elapsed seconds."""

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    interrupted: bool = False

    def __len__(self) -> int:
        return len(self.step)

    def __getitem__(self, key: str) -> list:
        if key in ("step", "d_loss", "g_loss", "seconds"):
            return getattr(self, key)
        return self.extra[key]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})

    def save(self, path) -> None:
        atomic_write(Path(path), json.dumps(self.to_dict()).encode())

    @classmethod
    def load(cls, path) -> History:
        return cls.from_dict(json.loads(Path(path).read_text()))


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message names the step and what to try."""


def _make_optimizer(params, lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas))
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum)


class _Batches:
    """Turns any iterable into an endless iterator of (x, y) pairs; keeps the source's state_dict."""

    def __init__(self, data):
        if isinstance(data, torch.Tensor):
            raise TypeError(
                "train() takes an iterator of batches, not a tensor; wrap it: "
                "gancourse.data.TensorBatches(x, batch_size=128)."
            )
        self.source = data
        self.it = data if hasattr(data, "__next__") else iter(data)

    def next(self):
        try:
            batch = next(self.it)
        except StopIteration:  # a finite iterable such as a DataLoader: start its next epoch
            if self.it is self.source:
                raise ValueError("the data iterator ran out; pass an endless one (TensorBatches, ToyBatches).") from None
            self.it = iter(self.source)
            batch = next(self.it)
        if isinstance(batch, (tuple, list)):
            return batch[0], (batch[1] if len(batch) > 1 else None)
        return batch, None

    def state_dict(self):
        return self.source.state_dict() if hasattr(self.source, "state_dict") else None

    def load_state_dict(self, state) -> None:
        if state is not None and hasattr(self.source, "load_state_dict"):
            self.source.load_state_dict(state)


class _StopRequest:
    """Ctrl-C (SIGINT) asks the loop to stop after the current step; a second Ctrl-C stops at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _pack(x: torch.Tensor, pack: int) -> torch.Tensor:
    # (B, F, ...) -> (B / pack, pack·F, ...): consecutive samples side by side along dim 1
    if pack == 1:
        return x
    if x.shape[0] % pack:
        raise ValueError(f"the batch size {x.shape[0]} is not a multiple of pack={pack}.")
    return x.reshape(x.shape[0] // pack, pack * x.shape[1], *x.shape[2:])


def train(G, D, data, config: TrainConfig | None = None, *, out_dir=None, resume: bool = False,
          overwrite: bool = False, callbacks=(), callback_every: int = 100, progress: bool = True,
          **overrides) -> History:
    """Train ``G`` against ``D`` on batches from ``data``; return the :class:`History`.

    ``config`` is a :class:`TrainConfig`; keyword ``overrides`` replace its fields
    (``train(G, D, data, steps=500, loss="wasserstein", gp_weight=10, n_critic=5)``).
    ``callbacks`` are called as ``fn(step, G, D, history)`` every ``callback_every`` steps and at the end.
    With ``out_dir``, checkpoints, ``history.json`` and ``config.json`` are written there; an existing
    run is never overwritten unless ``overwrite=True``, and ``resume=True`` continues it exactly.
    """
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown training setting(s) {sorted(unknown)}; valid: {', '.join(sorted(known))}.")
    cfg = replace(config or TrainConfig(), **overrides)
    cfg.validate()
    if callback_every < 1:
        raise ValueError(f"callback_every must be a positive integer, got {callback_every}.")
    d_loss_fn, g_loss_fn = get_loss_family(cfg.loss)

    out = Path(out_dir) if out_dir is not None else None
    if resume and out is None:
        raise ValueError("resume=True needs the out_dir of the run to continue.")
    ckpt = None
    if out is not None:
        if resume:
            ckpt = load_checkpoint(out / CHECKPOINT)
            _check_same_run(ckpt["config"], cfg, out / CHECKPOINT)
        elif (out / CHECKPOINT).exists() and not overwrite:
            raise FileExistsError(
                f"{out} already holds a run ({CHECKPOINT}); continue it with resume=True (--resume), "
                f"replace it with overwrite=True, or choose another folder."
            )
        check_writable(out)

    device = resolve_device(cfg.device)
    use_bf16 = cfg.bf16 and device.type == "cuda"
    if cfg.bf16 and not use_bf16:
        import warnings

        warnings.warn(f"bf16 autocast is for CUDA GPUs; training in float32 on {device.type}.", stacklevel=2)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
    for model in (G, D):
        model.to(device)
        if cfg.channels_last:
            model.to(memory_format=torch.channels_last)
    opt_g = _make_optimizer(G.parameters(), cfg.lr_g, cfg)
    opt_d = _make_optimizer(D.parameters(), cfg.lr_d, cfg)
    batches = _Batches(data)

    if ckpt is not None:
        load_checkpoint(out / CHECKPOINT, G, D)
        opt_g.load_state_dict(ckpt["opt_g"])
        opt_d.load_state_dict(ckpt["opt_d"])
        set_rng_state(ckpt["rng"])
        batches.load_state_dict(ckpt["data"])
        history = History.from_dict(ckpt["history"])
        history.interrupted = False
        start = int(ckpt["step"])
    else:
        torch.manual_seed(cfg.seed)
        history = History()
        start = 0
    if out is not None:
        atomic_write(out / CONFIG, json.dumps(asdict(cfg), indent=2).encode())

    def save(step: int) -> None:
        atomic_write(out / CHECKPOINT, obj={
            "format": FORMAT, "version": __version__, "step": step,
            "G": G.state_dict(), "D": D.state_dict(),
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
            "rng": rng_state(), "data": batches.state_dict(),
            "config": asdict(cfg), "history": history.to_dict(),
            "models": {"G": describe(G), "D": describe(D)},
        })
        history.save(out / HISTORY)

    pending: list[tuple[int, float, dict[str, torch.Tensor]]] = []
    t0 = time.perf_counter() - (history.seconds[-1] if history.seconds else 0.0)

    def flush() -> None:
        """Copy pending losses to the host in one transfer and stop on the first non-finite one."""
        if not pending:
            return
        names = list(pending[0][2])
        values = torch.stack([torch.stack([v[n].float() for n in names]) for _, _, v in pending]).cpu()
        for (step, seconds, _), row in zip(pending, values.tolist()):
            for name, value in zip(names, row):
                if not math.isfinite(value):
                    pending.clear()
                    raise NonFiniteLossError(
                        f"step {step}: {name} = {value}. Training stopped; the last good checkpoint (if any) "
                        f"is kept. Try a smaller learning rate (lr_d={cfg.lr_d}, lr_g={cfg.lr_g})"
                        + (f", or check the gradient penalty (gp_weight={cfg.gp_weight})" if cfg.gp_weight else "")
                        + ", and look at the data's range."
                    )
            history.step.append(step)
            history.seconds.append(seconds)
            history.d_loss.append(row[names.index("d_loss")])
            history.g_loss.append(row[names.index("g_loss")])
            for name, value in zip(names, row):
                if name not in ("d_loss", "g_loss"):
                    history.extra.setdefault(name, []).append(value)
        pending.clear()

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()

    def prepare(x):
        x = x.to(device, non_blocking=True)
        if cfg.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    threads_before = torch.get_num_threads()
    if device.type == "cpu":
        n_params = sum(p.numel() for m in (G, D) for p in m.parameters())
        threads = cfg.cpu_threads or (1 if n_params < SMALL_MODEL_PARAMS else None)
        if threads:
            torch.set_num_threads(threads)

    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.steps, initial=start, disable=not progress, desc=f"{cfg.loss} GAN",
               unit="step", mininterval=1.0, dynamic_ncols=True)
    G.train()
    D.train()
    step = start
    try:
        with _StopRequest() as stop:
            while step < cfg.steps and not stop.requested:
                for k in range(cfg.n_critic):
                    x_real, y = batches.next()
                    x_real = prepare(x_real)
                    y = y.to(device) if (cfg.conditional and y is not None) else None
                    if cfg.conditional and y is None:
                        raise ValueError("conditional=True needs batches of (x, y) pairs with labels y.")
                    z = torch.randn(x_real.shape[0], G.z_dim, device=device)
                    last = k == cfg.n_critic - 1
                    # The last critic step's fakes are reused for the generator step, as in
                    # pytorch/examples' DCGAN: one generator forward pass per step instead of two.
                    with autocast(), (contextlib.nullcontext() if last else torch.no_grad()):
                        x_fake = G(z, y) if y is not None else G(z)
                    with autocast():
                        real_logits = D(_pack(x_real, cfg.pack), y) if y is not None else D(_pack(x_real, cfg.pack))
                        fake_d = _pack(x_fake.detach(), cfg.pack)
                        fake_logits = D(fake_d, y) if y is not None else D(fake_d)
                        d_loss = d_loss_fn(real_logits.float(), fake_logits.float())
                    logged = {"real_score": real_logits.detach().float().mean(),
                              "fake_score": fake_logits.detach().float().mean()}
                    if cfg.loss == "wasserstein":
                        logged["w_estimate"] = logged["real_score"] - logged["fake_score"]
                    if cfg.gp_weight:
                        with autocast():
                            gp = gradient_penalty(D, _pack(x_real, cfg.pack), fake_d, y)
                        d_loss = d_loss + cfg.gp_weight * gp
                        logged["gp"] = gp.detach()
                    if cfg.r1_weight:
                        x_r = _pack(x_real, cfg.pack)
                        with autocast():
                            # α·x + (1-α)·x = x: the penalty with target 0 is E‖∇D(x_real)‖², i.e. R1
                            r1 = gradient_penalty(D, x_r, x_r, y, target=0.0)
                        d_loss = d_loss + 0.5 * cfg.r1_weight * r1
                        logged["r1"] = r1.detach()
                    opt_d.zero_grad(set_to_none=True)
                    d_loss.backward()
                    opt_d.step()
                    if cfg.clip_value is not None:
                        clip_weights_(D, cfg.clip_value)

                # Generator step: D's weights need no gradient here, which saves a third of its backward.
                D.requires_grad_(False)
                with autocast():
                    fake_g = _pack(x_fake, cfg.pack)
                    g_loss = g_loss_fn((D(fake_g, y) if y is not None else D(fake_g)).float())
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                D.requires_grad_(True)

                step += 1
                pending.append((step, time.perf_counter() - t0,
                                {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), **logged}))
                bar.update(1)
                at_end = step == cfg.steps
                if step % cfg.log_every == 0 or at_end:
                    flush()
                    bar.set_postfix(d_loss=f"{history.d_loss[-1]:.3f}", g_loss=f"{history.g_loss[-1]:.3f}",
                                    refresh=False)
                if callbacks and (step % callback_every == 0 or at_end):
                    flush()
                    for fn in callbacks:
                        fn(step, G, D, history)
                if out is not None and (at_end or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0)):
                    flush()
                    save(step)
            if stop.requested and step < cfg.steps:
                flush()
                history.interrupted = True
                where = ""
                if out is not None:
                    save(step)
                    where = f" Checkpoint saved in {out}; resume=True continues from here."
                print(f"Stopped by Ctrl-C after step {step} of {cfg.steps}.{where}")
    finally:
        bar.close()
        torch.set_num_threads(threads_before)
        G.requires_grad_(True)
        D.requires_grad_(True)
    return history


def _check_same_run(saved: dict, cfg: TrainConfig, path: Path) -> None:
    asked = asdict(cfg)
    differ = [k for k in asked if k not in _RESUMABLE_CHANGES and k in saved
              and _normal(saved[k]) != _normal(asked[k])]
    if differ:
        detail = ", ".join(f"{k}: checkpoint {saved[k]!r}, asked {asked[k]!r}" for k in differ)
        raise CheckpointError(
            f"{path} was trained with other settings ({detail}). Resume with the same settings, "
            f"or start a new run in another folder."
        )


def _normal(value):
    return list(value) if isinstance(value, (tuple, list)) else value
