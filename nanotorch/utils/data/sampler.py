"""Samplers: which dataset indices an epoch visits, in what order (PyTorch's
``torch.utils.data.Sampler`` family, and ``DistributedSampler``).

A sampler is an iterable of indices, usually with a length; a :class:`BatchSampler` groups
another sampler's indices into lists, one per batch. The random samplers draw from their
``generator`` (a ``nanotorch.Generator``) or else the global generator (fixed by
``nanotorch.manual_seed``), anew at the start of each epoch: the same distributions as
PyTorch's, though not its exact random streams.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

import numpy as np

from nanotorch import distributed
from nanotorch.creation import from_numpy
from nanotorch.random import numpy_generator
from nanotorch.sampling import multinomial
from nanotorch.tensor import Tensor


class Sampler:
    """The base of samplers: a subclass defines ``__iter__`` (one epoch's indices, or lists
    of them for a batch sampler) and, if it can, ``__len__`` (how many), which
    ``len(DataLoader)`` needs."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class _ArraySampler(Sampler):
    """A sampler that draws a whole epoch at once, as an int64 array (``_indices()``).
    Iterating it gives those indices as ints; the DataLoader gathers an array dataset's
    batches from the array itself."""

    def _indices(self) -> np.ndarray:
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())


class SequentialSampler(_ArraySampler):
    """The indices ``0, 1, ..., len(data_source) - 1``, in order, every epoch."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def _indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(_ArraySampler):
    """``num_samples`` (default ``n = len(data_source)``) random indices in ``0 .. n-1``.

    Without replacement: a random permutation of ``0 .. n-1``, each index once, followed by
    as many further permutations as ``num_samples`` needs, the last one cut short. With
    replacement: ``num_samples`` independent uniform draws, each index with probability 1/n.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement!r}")
        numpy_generator(generator)  # raises TypeError for anything but a generator or None
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        _check_positive("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        """How many indices an epoch gives."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _indices(self) -> np.ndarray:
        n = len(self.data_source)
        if n == 0:
            raise ValueError("RandomSampler can't draw indices from an empty data_source")
        if self.replacement:
            return numpy_generator(self.generator).integers(0, n, self.num_samples, dtype=np.int64)
        full, rest = divmod(self.num_samples, n)
        orders = [_permutation(self.generator, n) for _ in range(full)]
        if rest:
            orders.append(_permutation(self.generator, n)[:rest])
        return np.concatenate(orders)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices``, each once, in a new random order every epoch."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        numpy_generator(generator)  # raises TypeError for anything but a generator or None
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator:
        for i in _permutation(self.generator, len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(_ArraySampler):
    """``num_samples`` indices into ``weights``, index ``i`` drawn with probability
    ``weights[i] / sum(weights)`` (the weights need not sum to 1; a zero weight is never drawn).

    With ``replacement`` the draws are independent; without, each index is drawn at most
    once (as if drawing one at a time and removing it), by ``nanotorch.multinomial``, which
    raises RuntimeError for negative weights or weights summing to 0.
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        _check_positive("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement!r}")
        w = np.asarray(weights.data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {w.shape}")
        numpy_generator(generator)  # raises TypeError for anything but a generator or None
        self.weights = from_numpy(w)
        self.num_samples, self.replacement, self.generator = int(num_samples), replacement, generator

    def _indices(self) -> np.ndarray:
        return multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator).data

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """The indices of ``sampler`` in lists of ``batch_size``, in order: the last list holds
    what is left, or is left out with ``drop_last``. Its length is ``ceil(N / batch_size)``
    (``floor`` with ``drop_last``) for a sampler of length ``N``."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        _check_positive("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self) -> Iterator[list]:
        return _batches(self.sampler, self.batch_size, self.drop_last)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(_ArraySampler):
    """The share of each epoch's samples that one rank of a data-parallel job trains on.

    Every rank builds the same epoch order (a permutation drawn from ``seed + epoch`` when
    ``shuffle``, else ``0 .. N-1``) and takes every ``num_replicas``-th index from ``rank`` on,
    so the ranks' shares are disjoint and together cover the epoch. Each rank gets
    ``ceil(N / num_replicas)`` indices, the order padded with its own first indices when
    ``N`` does not divide (a few samples then count twice), or, with ``drop_last``,
    ``floor(N / num_replicas)`` with the tail left out. Call ``set_epoch(epoch)`` before each
    epoch so the shuffle changes (the same on every rank). ``num_replicas`` and ``rank``
    default to the process group's.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if not _is_int(num_replicas) or num_replicas < 1:
            raise ValueError(f"num_replicas must be a positive integer, got {num_replicas!r}")
        if not _is_int(rank) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank!r}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        self.num_samples = n // self.num_replicas if drop_last else -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order from now on (call it on every rank)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def _indices(self) -> np.ndarray:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad (repeating the order as often as needed) to divide evenly
            order = np.resize(order, self.total_size)
        return order[:self.total_size][self.rank::self.num_replicas].astype(np.int64)


def _batches(items: Iterable, size: int, drop_last: bool) -> Iterator[list]:
    """Consecutive items of ``items`` in lists of ``size``; the last, shorter list is left
    out when ``drop_last``."""
    items = iter(items)
    while batch := list(islice(items, size)):
        if drop_last and len(batch) < size:
            return
        yield batch


def _check_positive(name: str, value) -> None:
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _permutation(generator, n: int) -> np.ndarray:
    """A random order of ``range(n)`` (int64) from ``generator`` or the global generator."""
    return np.asarray(numpy_generator(generator).permutation(n), dtype=np.int64)
