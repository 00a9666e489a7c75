"""Training on several processes of one machine (``torchrun``): the glue between torch.distributed and the loop.

Under ``torchrun --nproc-per-node N`` every process runs the same program. :func:`launch` starts the
process group (NCCL on CUDA GPUs, each process on the GPU of its ``LOCAL_RANK``; gloo on the CPU) and
:class:`Shard` is what :func:`gancourse.train.train` asks of it: this process's rows of every global
batch and of every global draw of noise, the average of the gradients over all processes before each
optimizer step, and agreement on what must happen everywhere at the same step (a stop request, an error).

The gradients are averaged by one all-reduce after each backward pass, not by DistributedDataParallel:
the critic is called three times before its backward pass (real, fake, the gradient penalty's double
backward) and frozen during the generator's step, and DDP's hooks are known to average wrongly when
gradients pass through ``torch.autograd.grad`` (pytorch/pytorch#47562; #63929 lists what DDP lacks for
higher-order gradients). Each process's losses are means over its B/N samples, so the average of the
processes' gradients is the gradient of the mean over the global batch B: one process's update at batch B.

Without torchrun, or with one process, a :class:`Shard` is the whole batch and nothing is exchanged.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass

import torch

from gancourse.errors import ConfigError, RunFailed, UserError

__all__ = ["Shard", "launch", "process_group", "world_size"]


def world_size() -> int:
    """The number of processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def rng_state() -> dict:
    """torch's random state on the CPU and, where CUDA is in use, on every GPU: what a checkpoint keeps."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore :func:`rng_state`'s state."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --- whether a folder may take a run, and whether a run may continue ---------------------------


_CONTROL = {}  # the process group for flags and errors (CPU tensors), made once per process group


@dataclass(frozen=True)
class Shard:
    """This process's place among ``world`` processes: ``rank`` 0 is the one that writes."""

    rank: int = 0
    world: int = 1

    @classmethod
    def current(cls) -> Shard:
        """The process group in use (one started by :func:`launch` or by the caller), else the whole batch."""
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0: it alone writes checkpoints, samples, history and the progress bar."""
        return self.rank == 0

    # --- the rows of a global batch ------------------------------------------------------------

    def rows(self, n_global: int) -> slice:
        """This process's rows of a global batch of ``n_global``; refused unless it splits evenly."""
        if n_global % self.world:
            raise ConfigError(
                f"the batch size {n_global} (--batch-size) does not split evenly over {self.world} processes; "
                f"choose a multiple of {self.world}."
            )
        n = n_global // self.world
        return slice(self.rank * n, (self.rank + 1) * n)

    def draw(self, sample, n: int, *shape: int, **kwargs) -> torch.Tensor:
        """This process's ``n`` rows of ``sample((n·world, *shape), **kwargs)``, e.g. ``torch.randn``.

        Every process draws the global batch from the same random stream and keeps its own rows, so the
        union over processes is what one process would draw for the whole batch, and the streams stay in step.
        """
        return sample((n * self.world, *shape), **kwargs)[self.rows(n * self.world)]

    # --- what every process does together --------------------------------------------------------

    def average_gradients(self, module: torch.nn.Module) -> None:
        """Replace every ``.grad`` of ``module`` by its mean over the processes (one all-reduce)."""
        if not self.active:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch.distributed.all_reduce(flat)  # a sum: gloo has no average
        flat /= self.world
        for g, chunk in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
            g.copy_(chunk.view_as(g))

    def average_batch_norm_statistics(self, *modules: torch.nn.Module) -> None:
        """Replace every batch norm layer's running mean and variance by their mean over the processes.

        Without SyncBatchNorm each process normalises over its own B/N samples and keeps its own running
        statistics. The running mean is an exponential average of batch means, linear in them, so the
        mean of the processes' running means is the running mean of the global batches' means (what one
        process at batch B keeps, were its weights the same); the running variance averaged this way misses
        the spread between the processes' means. Called before every checkpoint, so the one saved and the
        networks every process keeps are the same.
        """
        if not self.active:
            return
        stats = [t for module in modules for m in module.modules()
                 if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats
                 for t in (m.running_mean, m.running_var) if t is not None]
        if not stats:
            return
        flat = torch.cat([t.reshape(-1).float() for t in stats])
        torch.distributed.all_reduce(flat)
        flat /= self.world
        for t, chunk in zip(stats, flat.split([t.numel() for t in stats]), strict=True):
            t.copy_(chunk.view_as(t))

    def average(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The mean over processes of each logged value (each process's is a mean over its rows)."""
        if not self.active:
            return values
        flat = torch.stack([v.detach().float().reshape(()) for v in values.values()])
        torch.distributed.all_reduce(flat)
        return dict(zip(values, flat / self.world, strict=True))

    def broadcast_state(self, *modules: torch.nn.Module) -> None:
        """Copy rank 0's weights and buffers into every process, so all start from the same networks."""
        if self.active:
            for module in modules:
                for t in module.state_dict().values():
                    torch.distributed.broadcast(t, 0)

    def rng_state(self, device: torch.device) -> dict:
        """The random state for a checkpoint (:func:`rng_state` on one process).

        On several GPUs every process's generator is in the same state; rank 0's is kept as GPU 0's.
        """
        if self.active and device.type == "cuda":
            return {"torch": torch.get_rng_state(), "cuda": [torch.cuda.get_rng_state(device)]}
        return rng_state()

    def set_rng_state(self, state: dict, device: torch.device) -> None:
        """Restore :meth:`rng_state`'s state, on any number of processes."""
        if self.active and device.type == "cuda":
            torch.set_rng_state(state["torch"])
            if state.get("cuda"):
                torch.cuda.set_rng_state(state["cuda"][0], device)  # GPU 0's: where rank 0, or one process, drew
        else:
            set_rng_state(state)

    def stop_signal(self, signal: int) -> int:
        """The largest of every process's stop signal (0: none asked): one answer for all, at the same step."""
        if not self.active:
            return signal
        flag = torch.tensor([signal], dtype=torch.int64)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX, group=_control_group())
        return int(flag.item())

    def agree(self, fn, *, main_only: bool = False):
        """``fn()`` on every process (on rank 0 alone with ``main_only``); an error anywhere is raised everywhere.

        Without it, a process that stopped on an error would leave the others waiting in their next
        all-reduce. A :class:`UserError` is raised as it is; any other error becomes a :class:`RunFailed`
        on the processes that did not have it, and keeps its traceback where it happened.
        """
        if not self.active:
            return fn()
        result, mine, told = None, None, None
        if self.main or not main_only:
            try:
                result = fn()
            except Exception as e:  # shared with the others, then raised again below
                mine = e
                told = e if isinstance(e, UserError) else RunFailed(
                    f"process {self.rank} stopped on an error ({type(e).__name__}: {str(e)[:200]}).")
        everyone = [None] * self.world
        torch.distributed.all_gather_object(everyone, told, group=_control_group())
        if mine is not None:
            raise mine
        first = next((e for e in everyone if e is not None), None)
        if first is not None:
            raise first
        return result

    def main_first(self, fn):
        """``fn()`` on rank 0, then on the others (a download or an unpacked cache is made once)."""
        if not self.active:
            return fn()
        first = self.agree(fn, main_only=True)
        then = self.agree(lambda: None if self.main else fn())
        return first if self.main else then


def _control_group():
    """A gloo group beside NCCL: a stop flag read every step would otherwise wait for the GPU."""
    dist = torch.distributed
    if dist.get_backend() == "gloo":
        return None
    key = id(dist.group.WORLD)
    if key not in _CONTROL:
        _CONTROL[key] = dist.new_group(backend="gloo")
    return _CONTROL[key]


def sync_batch_norm_(module: torch.nn.Module) -> torch.nn.Module:
    """Every BatchNorm layer of ``module`` becomes a :class:`torch.nn.SyncBatchNorm` (statistics over all processes).

    In place, with the same weights, buffers and ``state_dict`` keys, so checkpoints stay interchangeable.
    """
    converted = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if converted is not module:
        raise TypeError("sync_batch_norm_ converts the layers inside a network, not a BatchNorm layer alone.")
    return module


def _device_for(asked: str | None, local_rank: int, n_local: int) -> torch.device:
    """The device of the process with ``local_rank``: its own GPU, or the CPU."""
    from gancourse.config import resolve_device

    device = resolve_device(asked)
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise ConfigError(f"training on several processes needs CUDA GPUs or the CPU, not {device.type} "
                          f"(--device cuda or --device cpu).")
    if device.index is not None:
        raise ConfigError(f"under torchrun each process trains on the GPU of its LOCAL_RANK; pass --device cuda, "
                          f"not {asked} (CUDA_VISIBLE_DEVICES picks which GPUs).")
    if n_local > torch.cuda.device_count():
        raise ConfigError(f"{n_local} processes on this machine but {torch.cuda.device_count()} GPU(s) visible; "
                          f"start one process per GPU (--nproc-per-node {torch.cuda.device_count()}).")
    return torch.device("cuda", local_rank)


@contextlib.contextmanager
def process_group(device: str | None = None):
    """Under torchrun, start the process group for ``device`` and yield this process's device; else yield ``device``.

    NCCL for CUDA (each process on the GPU of its ``LOCAL_RANK``), gloo for the CPU. The group is
    destroyed on the way out. Without torchrun (or with one process) nothing is started; inside a
    group already started, it is used as it is.
    """
    if world_size() == 1:
        yield device
        return
    dist = torch.distributed
    local_rank = int(os.environ.get("LOCAL_RANK", _rank()))
    own = _device_for(device, local_rank, int(os.environ.get("LOCAL_WORLD_SIZE", world_size())))
    if dist.is_initialized():
        yield str(own)
        return
    if own.type == "cuda":
        torch.cuda.set_device(own)
        dist.init_process_group("nccl", device_id=own)
    else:
        dist.init_process_group("gloo")
    try:
        yield str(own)
    finally:
        _CONTROL.pop(id(dist.group.WORLD), None)
        dist.destroy_process_group()


def launch(main, device: str | None = None, *, batch_size: int | None = None) -> int:
    """``main(device)`` on this process, under torchrun one of several; its exit status.

    The global ``batch_size`` must split evenly over the processes. On ranks other than 0 warnings are
    silent and a :class:`UserError` ends without a word (rank 0 prints it), with the same exit status.
    """
    world, rank = world_size(), _rank()
    if world == 1:
        return main(device)
    with warnings.catch_warnings():
        if rank != 0:
            warnings.simplefilter("ignore")
        try:
            if batch_size is not None:
                Shard(rank, world).rows(batch_size)
            with process_group(device) as own:
                return main(own)
        except UserError as e:
            if rank != 0:
                return e.exit_status
            raise
