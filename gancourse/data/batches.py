"""Minibatches from a dataset held as one tensor, with a resumable position; any iterable made endless.

On several processes every process draws the same global batches and keeps its own rows of each
(:class:`EndlessBatches` with a ``shard``), so the position to resume from is the same everywhere.

Small datasets (Fashion-MNIST is 47 MB as uint8) fit on the training device, so a batch is one
index into a resident tensor instead of a DataLoader round trip through PIL and worker processes.
"""

from __future__ import annotations

import hashlib

import torch

from gancourse.errors import ConfigError


def fingerprint(x: torch.Tensor, rows: int = 2048) -> str:
    """A short digest of a tensor's content: its shape and an even spread of at most ``rows`` rows.

    Enough to tell two datasets (or two copies of one) apart without hashing every byte of a large
    tensor or copying it off the GPU.
    """
    step = max(1, len(x) // rows)
    sample = x[::step].detach().to("cpu", torch.float32).contiguous()
    digest = hashlib.sha1(str(tuple(x.shape)).encode())
    digest.update(sample.numpy().tobytes())
    return digest.hexdigest()[:16]


class TensorBatches:
    """Infinite iterator over shuffled minibatches of ``data`` (a tensor or a tuple of tensors).

    Every epoch is a fresh permutation drawn from the iterator's own generator, so the order depends
    only on ``seed`` and survives a checkpoint through :meth:`state_dict`. The last incomplete batch
    of an epoch is dropped (batch norm dislikes tiny batches).
    """

    def __init__(self, data, batch_size: int, seed: int = 0, device=None, source_fingerprint: str | None = None):
        tensors = tuple(data) if isinstance(data, (tuple, list)) else (data,)
        if not tensors or any(not isinstance(t, torch.Tensor) for t in tensors):
            raise TypeError("TensorBatches needs a tensor or a tuple of tensors.")
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError(f"all tensors need the same length, got {[len(t) for t in tensors]}.")
        if not 0 < batch_size <= n:
            raise ConfigError(
                f"batch_size (--batch-size) must be between 1 and the dataset size {n}, got {batch_size}."
            )
        self.tensors = tuple(t.to(device) if device is not None else t for t in tensors)
        # the data's own digest, when the tensors were computed from it (floats may differ across devices)
        self.source_fingerprint = source_fingerprint
        self.single = not isinstance(data, (tuple, list))
        self.batch_size = batch_size
        self.n = n
        self.generator = torch.Generator().manual_seed(seed)
        self._order = torch.randperm(n, generator=self.generator)
        self._pos = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._pos + self.batch_size > self.n:
            self._order = torch.randperm(self.n, generator=self.generator)
            self._pos = 0
        idx = self._order[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        idx = idx.to(self.tensors[0].device)
        batch = tuple(t[idx] for t in self.tensors)
        return batch[0] if self.single else batch

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.n // self.batch_size

    def identity(self) -> dict:
        """What a resumed run must see again: the batch size and the data (:func:`fingerprint`)."""
        digest = self.source_fingerprint or "-".join(fingerprint(t) for t in self.tensors)
        return {"batch_size": self.batch_size, "examples": self.n, "fingerprint": digest}

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "order": self._order.clone(), "pos": self._pos}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self._order = state["order"].clone()
        self._pos = int(state["pos"])


class EndlessBatches:
    """Any iterable as an endless source of (x, y) pairs (y None for unlabelled data); keeps its ``state_dict``.

    A finite iterable such as a DataLoader starts its next epoch when it runs out; an iterator that
    runs out is an error, since it cannot be restarted. Only a source with ``state_dict`` and
    ``load_state_dict`` can be resumed (:attr:`resumable`); :func:`gancourse.train.train` refuses to
    resume any other. With a ``shard``
    (:class:`gancourse.distributed.Shard`), each batch is cut to this process's rows: ``data`` must
    then give every process the same global batches (a seeded :class:`TensorBatches` does).
    """

    def __init__(self, data, shard=None):
        if isinstance(data, torch.Tensor):
            raise TypeError(
                "train() takes an iterator of batches, not a tensor; wrap it: "
                "gancourse.data.TensorBatches(x, batch_size=128)."
            )
        self.source = data
        self.it = data if hasattr(data, "__next__") else iter(data)
        self.shard = shard if shard is not None and shard.world > 1 else None
        self.drawn = self.examples = 0  # global batches drawn, and their rows

    def next(self) -> tuple:
        try:
            batch = next(self.it)
        except StopIteration:  # a finite iterable such as a DataLoader: start its next epoch
            if self.it is self.source:
                raise ValueError(
                    "the data iterator ran out; pass an endless one (TensorBatches, ToyBatches)."
                ) from None
            self.it = iter(self.source)
            batch = next(self.it)
        x, y = (batch[0], batch[1] if len(batch) > 1 else None) if isinstance(batch, (tuple, list)) else (batch, None)
        self.drawn, self.examples = self.drawn + 1, self.examples + len(x)
        if self.shard is not None:  # (B, ...) -> this process's (B / world, ...)
            rows = self.shard.rows(len(x))
            x, y = x[rows], (y[rows] if y is not None else None)
        return x, y

    @property
    def resumable(self) -> bool:
        """Whether the source can save its position and return to it (``state_dict`` and ``load_state_dict``).

        A plain DataLoader cannot: resumed, it would start an epoch afresh, with other batches than the
        run would have seen.
        """
        return hasattr(self.source, "state_dict") and hasattr(self.source, "load_state_dict")

    def refuse_resume(self) -> None:
        """A one-line error, unless the source is :attr:`resumable`."""
        if not self.resumable:
            raise ConfigError(
                f"this run's data ({type(self.source).__name__}) cannot save its position, so a resumed run would "
                f"see other batches than the run it continues; resume needs a source with state_dict() and "
                f"load_state_dict(), such as gancourse.data.TensorBatches, ToyBatches or image_batches()."
            )

    def state_dict(self):
        return self.source.state_dict() if self.resumable else None

    def identity(self) -> dict | None:
        """The source's ``identity()`` (batch size and data fingerprint), or None if it has none."""
        return self.source.identity() if hasattr(self.source, "identity") else None

    def load_state_dict(self, state) -> None:
        """Return the source to a saved position; refused for a source or a checkpoint without one."""
        self.refuse_resume()
        if state is None:
            raise ConfigError("the checkpoint holds no position of its data (it was trained on a source that "
                              "cannot save one), so it cannot be resumed exactly; start a new run (--out).")
        self.source.load_state_dict(state)
        if self.it is not self.source:  # an iterable (not its own iterator) starts again from the loaded state
            self.it = iter(self.source)
