"""One training loop for every GAN in the course, from a 2-D toy to a DCGAN, and for GANs of several networks.

:func:`fit` trains an :class:`~gancourse.objectives.Objective` (what one GAN family computes: its
networks, which of them each optimizer updates, one step) on any iterator of real batches; it never
builds data itself. :func:`train` takes a generator ``G`` and a discriminator (or critic) ``D`` and is
``fit(Adversarial(G, D), data)``: each generator step follows Goodfellow et al.'s Algorithm 1,
``n_critic`` discriminator steps (each on a fresh real batch and fresh noise), then one generator step.
The loss family, gradient penalty and weight clipping turn it into a minimax GAN, a non-saturating GAN,
a WGAN or a WGAN-GP; ``train_g=False`` trains D alone against a fixed generator, and ``lr_schedule``
decays both learning rates (torch's schedulers, saved with the run). The objective hands each loss to
the loop's ``update``, so this is the only place in the package where an optimizer steps (apart from
the peer's loop that ``gancourse bench speed`` measures ours against,
:func:`gancourse.bench.speed.pytorch_examples_dcgan_loop`).

Under ``torchrun`` the same loop trains on several processes (:mod:`gancourse.distributed`): each takes
its rows of every global batch and of the noise, gradients are averaged over the processes before every
optimizer step, and only rank 0 writes. ``batch_size`` stays the global batch, so N processes train
as one process would where the networks have no batch norm, and a checkpoint resumes on any number of
processes. With batch norm (and without ``sync_bn``) each process normalises over its own rows, so the run
differs from one process's; the weights stay the same on every process, and the running statistics are
averaged over the processes before every checkpoint and at the end (README, "Training on several GPUs").

A run in ``out_dir`` keeps a checkpoint with everything needed to continue bit for bit (step, every
network, both optimizers, RNG states, the data iterator's position, config, history, version),
written atomically. Only data that saves its position can be resumed (a source with ``state_dict`` and
``load_state_dict``: TensorBatches, ToyBatches, ``image_batches``); resuming a run on any other, such as a
plain DataLoader, is refused, since it would go on with other batches. Ctrl-C (or SIGTERM) stops at the
end of the current step, saves, and returns what was done.
Explained in 01_first_gan; the Wasserstein settings in 05_wgan and 07_wgan_gp; label smoothing and
noisy labels in 09_conditional_and_beyond.

:func:`train_classifier` is the one supervised loop, for the classifier the Fashion-MNIST metrics
measure with (08_evaluation); it lives here because optimizers step nowhere else.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import warnings
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from gancourse import __version__, worklog
from gancourse.augment import parse_policy
from gancourse.checkpoint import (
    CHECKPOINT,
    CONFIG,
    FORMAT,
    HISTORY,
    CheckpointError,
    atomic_write,
    load_checkpoint,
    load_networks,
    lock_run_folder,
    open_run,
)
from gancourse.config import resolve_device
from gancourse.data.batches import EndlessBatches
from gancourse.distributed import Shard, sync_batch_norm_
from gancourse.errors import ConfigError
from gancourse.history import History, LossLog, NonFiniteLossError, check_finite_state
from gancourse.losses import d_bce, get_loss_family
from gancourse.models import describe
from gancourse.objectives import Adversarial, Objective

__all__ = ["CheckpointError", "History", "NonFiniteLossError", "Objective", "TrainConfig", "fit", "generator_average",
           "load_checkpoint", "train", "train_classifier"]

OPTIMIZERS = ("adam", "rmsprop", "sgd")
LR_SCHEDULES = ("constant", "cosine", "multistep")
# Settings that may change when a run is resumed; every other one must match the checkpoint.
_RESUMABLE_CHANGES = {"steps", "checkpoint_every", "log_every", "callback_every", "device", "bf16", "channels_last",
                      "cpu_threads", "sync_bn"}
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
    r1_lazy: bool = False  # R1 on the last of the n_critic D steps only, weighted n_critic × γ (Karras et al. 2020)
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
    train_g: bool = True  # False: D alone against a fixed G (Algorithm 1's inner loop)
    lr_schedule: str = "constant"  # constant | cosine (to 0 at `steps`) | multistep (× lr_gamma at lr_milestones)
    lr_milestones: tuple[int, ...] = ()  # multistep: the steps after which both learning rates are multiplied
    lr_gamma: float = 0.1  # multistep: the factor at each milestone
    callback_every: int = 100  # steps between calls of train()'s callbacks (and one call at the end)
    sync_bn: bool = False  # several CUDA processes: batch norm statistics over the global batch (SyncBatchNorm)
    label_smoothing: float = 0.0  # one-sided: D's real targets 1 - s, fake ones stay 0 (s = 0.1: Salimans et al. 2016)
    label_flip: float = 0.0  # share of D's labels swapped at each D step, drawn from the run's seeded stream
    ema_decay: float = 0.0  # > 0: keep G's exponential moving average, β·avg + (1 − β)·G after each G step
    augment: str = ""  # DiffAugment on D's inputs, real and fake: "translation", "cutout" or both, comma-separated

    @classmethod
    def make(cls, config: TrainConfig | None, overrides: dict) -> TrainConfig:
        """``config`` (or the defaults) with ``overrides`` replacing fields, checked."""
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown training setting(s) {sorted(unknown)}; valid: {', '.join(sorted(known))}.")
        cfg = replace(config or cls(), **overrides)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        get_loss_family(self.loss)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        for name in ("steps", "n_critic", "pack", "log_every", "callback_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}.")
        if self.checkpoint_every < 0:
            raise ConfigError(f"checkpoint_every must be 0 (only at the end) or positive, got {self.checkpoint_every}.")
        if self.gp_weight < 0:
            raise ConfigError(f"gp_weight must be >= 0 (10 is the WGAN-GP value), got {self.gp_weight}.")
        if self.r1_weight < 0:
            raise ConfigError(f"r1_weight must be >= 0, got {self.r1_weight}.")
        if self.clip_value is not None and self.clip_value <= 0:
            raise ConfigError(f"clip_value must be positive (0.01 in the WGAN paper) or None, got {self.clip_value}.")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ConfigError(f"learning rates must be positive, got lr_g={self.lr_g}, lr_d={self.lr_d}.")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise ConfigError(f"cpu_threads must be a positive integer or None, got {self.cpu_threads}.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}.")
        if self.lr_schedule == "multistep" and not self.lr_milestones:
            raise ConfigError("lr_schedule='multistep' needs lr_milestones, the steps after which the rates drop.")
        if not 0 < self.lr_gamma <= 1:
            raise ConfigError(f"lr_gamma must be in (0, 1], got {self.lr_gamma}.")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1) (0.1 is usual), got {self.label_smoothing}.")
        if not 0 <= self.label_flip < 0.5:
            raise ConfigError(f"label_flip must be in [0, 0.5) (a few percent is usual), got {self.label_flip}.")
        if (self.label_smoothing or self.label_flip) and get_loss_family(self.loss)[0] is not d_bce:
            raise ConfigError(f"label_smoothing and label_flip change the targets of D's BCE loss (minimax, "
                              f"nonsaturating); the {self.loss!r} loss has none.")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"ema_decay must be in [0, 1) (0: no average; 0.999 is usual), got {self.ema_decay}.")
        if self.ema_decay and not self.train_g:
            raise ConfigError("ema_decay averages G's weights over its steps; with train_g=False G takes none.")
        parse_policy(self.augment)
        if self.pack > 1 and self.conditional:
            raise ConfigError("packing (pack > 1) and conditional training cannot be combined.")


def _make_optimizer(params, lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas))
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum)


class _StopRequest:
    """Ctrl-C (SIGINT) or SIGTERM asks the loop to stop after the current step; a second one stops at once.

    ``signal`` is the number of the signal that asked (0 while none has).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested, self.signal = False, 0
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested, self.signal = True, signum

    def __exit__(self, *exc):
        for s, previous in self._previous.items():
            signal.signal(s, previous)


def _nan_hint(cfg: TrainConfig) -> str:
    return ("Training stopped; the last good checkpoint (if any) is kept. "
            f"Try a smaller learning rate (--lr; here lr_d={cfg.lr_d}, lr_g={cfg.lr_g})"
            + (f", or check the gradient penalty (--gp-weight {cfg.gp_weight})" if cfg.gp_weight else "")
            + ", and look at the data's range.")


def _make_schedule(opt, cfg: TrainConfig):
    if opt is None or cfg.lr_schedule == "constant":
        return None
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps)
    return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.lr_milestones), gamma=cfg.lr_gamma)


def _cpu_threads(cfg: TrainConfig, device: torch.device, networks) -> int | None:
    """Threads to train on: ``cpu_threads``, else one for small networks on the CPU, else torch's setting."""
    if device.type != "cpu":
        return None
    n_params = sum(p.numel() for m in networks for p in m.parameters())
    return cfg.cpu_threads or (1 if n_params < SMALL_MODEL_PARAMS else None)


def generator_average(G: torch.nn.Module, decay: float) -> AveragedModel:
    """G's exponential moving average, torch's ``AveragedModel`` with ``get_ema_multi_avg_fn(decay)``.

    It starts as a copy of G; each :meth:`~torch.optim.swa_utils.AveragedModel.update_parameters`
    moves every weight to β·avg + (1 − β)·G (Karras et al. 2018; Yazıcı et al. 2019). Batch norm's
    running mean and variance are averaged the same way (``use_buffers=True``), so the average
    normalises with statistics from the same window of steps as its weights, not with G's latest;
    the batch counter, an integer, is averaged too and means nothing. ``average.module`` is a network
    of G's class, to sample and evaluate.
    """
    if not 0 < decay < 1:
        raise ConfigError(f"the average's decay must be in (0, 1), got {decay}.")
    return AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def train(G, D, data, config: TrainConfig | None = None, *, out_dir=None, resume: bool = False,
          overwrite: bool = False, callbacks=(), progress: bool = True, meta: dict | None = None,
          G_ema: AveragedModel | None = None, **overrides) -> History:
    """Train ``G`` against ``D`` on batches from ``data``; return the :class:`History`.

    ``fit(Adversarial(G, D), data, ...)``: the GAN of notebooks 01–09 through the one loop (:func:`fit`).

    ``config`` is a :class:`TrainConfig`; keyword ``overrides`` replace its fields
    (``train(G, D, data, steps=500, loss="wasserstein", gp_weight=10, n_critic=5)``).
    ``callbacks`` are called as ``fn(step, G, D, history)`` every ``callback_every`` steps and at the end.
    With ``out_dir``, checkpoints, ``history.json`` and ``config.json`` are written there; an existing
    run is never overwritten unless ``overwrite=True``, and ``resume=True`` continues it exactly; a
    resume with other settings, other networks or other data is refused, and so is a resume on data
    that cannot return to its position (no ``state_dict``/``load_state_dict``, e.g. a plain DataLoader).
    ``meta`` is kept in the checkpoint as it is (the command line keeps its arguments there).

    With ``ema_decay`` β > 0 the run keeps G's exponential moving average (``G_ema``, from
    :func:`generator_average`; pass your own to read it afterwards), updated after every G step and
    saved and resumed with the run; ``augment`` passes what D sees, real and fake, through
    :class:`gancourse.augment.DiffAugment`.

    In a process group of several processes (:func:`gancourse.distributed.launch`, or one the caller
    started), every process calls ``train`` with the same arguments and ``data`` yielding the same
    global batches; each trains on its share, and rank 0 alone checks and writes ``out_dir``, shows
    the progress bar and calls the callbacks (which must not use the process group).

    What it leaves of the caller's state: torch's global random generators are as they were before the
    call (the run seeds and draws from a copy, on the CPU and on its CUDA device), and so are the thread
    count and cuDNN's setting. G and D are trained in place and moved to the run's device; with
    ``sync_bn`` on several processes their BatchNorm layers are replaced by SyncBatchNorm, in place,
    with the same weights and ``state_dict`` keys.
    """
    cfg = TrainConfig.make(config, overrides)
    if G_ema is not None and not cfg.ema_decay:
        raise ConfigError("G_ema is given but ema_decay is 0: set ema_decay to the decay G_ema was built with.")
    if cfg.ema_decay and G_ema is None:
        G_ema = generator_average(G, cfg.ema_decay)
    return fit(Adversarial(G, D, G_ema), data, cfg, out_dir=out_dir, resume=resume, overwrite=overwrite,
               callbacks=callbacks, progress=progress, meta=meta)


def fit(objective: Objective, data, config: TrainConfig | None = None, *, out_dir=None, resume: bool = False,
        overwrite: bool = False, callbacks=(), progress: bool = True, meta: dict | None = None,
        **overrides) -> History:
    """Train an :class:`~gancourse.objectives.Objective` on batches from ``data``; return the :class:`History`.

    The one loop, whatever the GAN: everything :func:`train` says of folders, resume, callbacks, several
    processes and the caller's state holds here, for every network of ``objective.networks()``. The
    checkpoint keeps each network under its name, and the objective's own settings
    (``objective.settings()``), which a resume must give again. Callbacks are called as
    ``fn(step, *objective.callback_args(), history)``.
    """
    cfg = TrainConfig.make(config, overrides)
    objective.validate(cfg)
    out = Path(out_dir) if out_dir is not None else None
    shard = Shard.current()
    batches = EndlessBatches(data, shard)
    networks = objective.networks()
    run_id = {"data": batches.identity(), "models": {name: describe(net) for name, net in networks.items()}}
    if objective.describe():
        run_id["objective"] = objective.describe()
    if out is None and resume:
        raise ConfigError("resume=True (--resume) needs the out_dir (--out) of the run to continue.")
    if resume:
        batches.refuse_resume()  # a source that cannot return to its position would continue with other batches
    if shard.active:
        _check_split(cfg, shard, (run_id["data"] or {}).get("batch_size"))
    lock = None

    def open_folder():  # one run per folder at a time; rank 0 alone checks and locks it
        nonlocal lock
        lock = lock_run_folder(out, resume)
        return open_run(out, asdict(cfg), run_id, resume, overwrite, _RESUMABLE_CHANGES)

    try:
        ckpt = shard.agree(open_folder, main_only=True) if out is not None else None
        if resume and shard.active:  # rank 0 has checked the checkpoint; the others read it too
            ckpt = shard.agree(lambda: ckpt if shard.main else load_checkpoint(out / CHECKPOINT))
        device = resolve_device(cfg.device)
        cuda = [] if device.type != "cuda" else [device.index if device.index is not None
                                                  else torch.cuda.current_device()]
        with torch.random.fork_rng(devices=cuda):  # the run seeds and draws from its own copy of the generators
            return _run(objective, batches, cfg, out, ckpt, run_id, callbacks, progress, meta, shard)
    finally:
        if lock is not None:
            lock.release()


def _check_split(cfg: TrainConfig, shard: Shard, batch_size: int | None) -> None:
    """Refuse, before anything runs, a global batch that does not split into equal shares or whole packs."""
    if cfg.sync_bn and resolve_device(cfg.device).type != "cuda":
        raise ConfigError("sync_bn (--sync-bn) is for CUDA GPUs (torch's SyncBatchNorm); on the CPU each process "
                          "keeps its own batch statistics.")
    if batch_size is None:
        return  # checked on the first batch
    share = batch_size // shard.world
    shard.rows(batch_size)
    if share % cfg.pack:
        raise ConfigError(f"each of the {shard.world} processes takes {share} of the {batch_size} samples of a batch, "
                          f"not a multiple of pack={cfg.pack} (--pack).")


def _agreed_stop(stop: _StopRequest, shard: Shard) -> bool:
    """Whether any process was asked to stop; then every process stops at this step, as the one asked."""
    signum = shard.stop_signal(stop.signal)
    if signum:
        stop.requested, stop.signal = True, signum
    return stop.requested


def _run(objective: Objective, batches, cfg: TrainConfig, out, ckpt, run_id: dict, callbacks, progress: bool, meta,
         shard: Shard) -> History:
    """The body of :func:`fit`, once the run folder is checked and locked."""
    device = resolve_device(cfg.device)
    if cfg.bf16 and device.type != "cuda":
        warnings.warn(f"bf16 autocast is for CUDA GPUs; training in float32 on {device.type}.", stacklevel=2)
    networks = objective.networks()
    for model in networks.values():
        if cfg.sync_bn and shard.active:
            sync_batch_norm_(model)
        model.to(device)
        if cfg.channels_last:
            model.to(memory_format=torch.channels_last)
    objective.bind(cfg, device, shard)
    players = objective.players  # "D" and "G": the networks each optimizer updates

    def parameters(player: str) -> list:
        return [p for name in players[player] for p in networks[name].parameters()]

    optimizers = {"D": _make_optimizer(parameters("D"), cfg.lr_d, cfg),
                  "G": _make_optimizer(parameters("G"), cfg.lr_g, cfg) if "G" in players else None}
    opt_d, opt_g = optimizers["D"], optimizers["G"]
    sched_d, sched_g = _make_schedule(opt_d, cfg), _make_schedule(opt_g, cfg)
    stateful = {"opt_d": opt_d, "opt_g": opt_g, "sched_d": sched_d, "sched_g": sched_g}

    updates = [0]  # optimizer steps of this call, for the work log

    def update(player: str, loss: torch.Tensor) -> None:
        """One optimizer step of ``player`` on ``loss``: the only place an optimizer steps."""
        updates[0] += 1
        opt = optimizers[player]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for name in players[player]:
            shard.average_gradients(networks[name])  # the gradient of the mean over the global batch
        opt.step()

    if ckpt is not None:
        load_networks(ckpt, out / CHECKPOINT, networks)
        for name, obj in stateful.items():
            if obj is not None and ckpt.get(name) is not None:
                obj.load_state_dict(ckpt[name])
        shard.set_rng_state(ckpt["rng"], device)
        batches.load_state_dict(ckpt["data"])
        history, start = History.from_dict(ckpt["history"]), int(ckpt["step"])
        history.interrupted, history.stop_signal = False, 0
    else:
        torch.manual_seed(cfg.seed)
        history, start = History(), 0
    shard.broadcast_state(*networks.values())  # every process starts from rank 0's networks
    if out is not None and shard.main:
        atomic_write(out / CONFIG, json.dumps(asdict(cfg), indent=2).encode())

    def save(step: int) -> None:
        atomic_write(out / CHECKPOINT, obj={
            "format": FORMAT, "version": __version__, "step": step,
            **{name: net.state_dict() for name, net in networks.items()},
            **{name: (obj.state_dict() if obj is not None else None) for name, obj in stateful.items()},
            "rng": shard.rng_state(device), "data": batches.state_dict(), "config": asdict(cfg),
            "history": history.to_dict(), "models": run_id["models"], "data_identity": run_id["data"],
            "meta": meta, **({"objective": run_id["objective"]} if "objective" in run_id else {}),
        })
        history.save(out / HISTORY)

    losses = LossLog(history, _nan_hint(cfg))

    def flush(step: int) -> None:  # losses to the history, and the guard on them and on every weight
        losses.flush()
        check_finite_state(step, {**{name: net.state_dict() for name, net in networks.items()},
                                  "D's optimizer": opt_d.state_dict(),
                                  **({"G's optimizer": opt_g.state_dict()} if opt_g is not None else {})},
                           losses.hint)

    def after_step(step: int, log: bool, call: bool, write: bool) -> None:
        # on every process, so that an error (a NaN, a full disk) stops them all at this step
        if log:
            flush(step)
            bar.set_postfix(d_loss=f"{history.d_loss[-1]:.3f}", g_loss=f"{history.g_loss[-1]:.3f}", refresh=False)
        if call:
            flush(step)
            for fn in callbacks if shard.main else ():
                fn(step, *objective.callback_args(), history)
        if write:
            flush(step)  # a checkpoint never holds a non-finite value
            if shard.main:
                save(step)

    def stopped(step: int, signum: int) -> None:
        flush(step)
        history.interrupted, history.stop_signal = True, signum
        if out is not None and shard.main:
            save(step)
        if shard.main:
            where = f" Checkpoint saved in {out}; resume=True continues from here." if out is not None else ""
            who = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            print(f"Stopped by {who} after step {step} of {cfg.steps}.{where}")

    settled = [None]  # the step at which the processes' batch norm statistics were last averaged

    def settle(step: int) -> None:
        # on every process, outside shard.agree: a collective that every process reaches at the same step
        if shard.active and not cfg.sync_bn and settled[0] != step:
            shard.average_batch_norm_statistics(*networks.values())
            settled[0] = step

    t0 = time.perf_counter() - (history.seconds[-1] if history.seconds else 0.0)
    threads_before, cudnn_before = torch.get_num_threads(), torch.backends.cudnn.benchmark
    trained = [networks[name] for names in players.values() for name in names]  # not G's average: it takes no step
    if threads := _cpu_threads(cfg, device, trained):
        torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = cudnn_before or device.type == "cuda"  # fixed shapes: cuDNN picks kernels
    was_training = {name: net.training for name, net in networks.items()}
    for name, mode in objective.train_modes(cfg).items():
        networks[name].train(mode)
    bar = tqdm(total=cfg.steps, initial=start, disable=not (progress and shard.main), desc=f"{cfg.loss} GAN",
               unit="step", mininterval=1.0, dynamic_ncols=True)
    step = start
    try:
        with _StopRequest() as stop:
            while step < cfg.steps and not _agreed_stop(stop, shard):
                values = shard.average(objective.step(batches, update))  # the global batch's means
                for schedule in (sched_d, sched_g):
                    if schedule is not None:
                        schedule.step()
                step += 1
                losses.add(step, time.perf_counter() - t0, values)
                bar.update(1)
                at_end = step == cfg.steps
                log = step % cfg.log_every == 0 or at_end
                call = bool(callbacks) and (step % cfg.callback_every == 0 or at_end)
                write = out is not None and (at_end or bool(cfg.checkpoint_every and step % cfg.checkpoint_every == 0))
                if write:
                    settle(step)
                if log or call or write:
                    shard.agree(lambda: after_step(step, log, call, write))  # noqa: B023 - called at once
            if stop.requested and step < cfg.steps:
                settle(step)
                shard.agree(lambda: stopped(step, stop.signal))
            settle(step)  # the networks every process returns hold the same statistics
    finally:
        bar.close()
        if shard.main:
            worklog.record(updates[0], batches.examples / max(batches.drawn, 1), networks.values())
        torch.set_num_threads(threads_before)
        torch.backends.cudnn.benchmark = cudnn_before
        for name, net in networks.items():
            net.train(was_training[name])
    return history


def train_classifier(model, data, *, epochs: int, batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
                     device=None, progress: bool = True) -> list[float]:
    """Fit ``model`` to labelled images by cross-entropy; return the mean loss of each epoch.

    ``data``: an :class:`~gancourse.data.images.ImageTensors` (or a pair ``(x, y)`` of tensors). A plain
    supervised loop, apart from the GAN loop above: every epoch visits the images once in an order
    drawn from ``seed``, with Adam and a cosine decay of the learning rate to 0 at the last step, so a
    few epochs settle the weights. The same seed gives the same weights on the CPU. The model is left
    in evaluation mode. Trains :class:`~gancourse.models.FashionClassifier`; explained in 08_evaluation.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs must be a positive integer, got {epochs!r}.")
    device = resolve_device(device)
    x, y = data.tensors() if hasattr(data, "tensors") else data
    if batch_size < 1 or len(x) == 0:
        raise ConfigError(f"need a positive batch_size and at least one image, got {batch_size} and {len(x)}.")
    torch.manual_seed(seed)  # dropout or anything else random inside the model
    order = torch.Generator().manual_seed(seed)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_batches = -(-len(x) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * n_batches)
    losses = []
    for _ in tqdm(range(epochs), disable=not progress, desc="classifier", unit="epoch"):
        total = torch.zeros((), device=device)
        for index in torch.randperm(len(x), generator=order).split(batch_size):
            xb, yb = x[index].to(device), y[index].to(device)
            loss = torch.nn.functional.cross_entropy(model(xb), yb)  # -log softmax(logits)[y], batch mean
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            total += loss.detach() * len(index)
        losses.append(float(total) / len(x))
    model.eval()
    return losses
