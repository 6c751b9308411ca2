"""Datasets and the DataLoader (PyTorch's ``torch.utils.data``).

A dataset is anything with ``__getitem__`` and ``__len__``. One that holds its samples as
equal-length arrays (``Dataset(X, y)``, ``TensorDataset``, MNIST, or a ``Subset`` of one)
is *array-backed*: the DataLoader then builds each batch with one gather per array
instead of one ``dataset[i]`` call per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from nanotorch import _dtype, distributed
from nanotorch.backend import current as current_backend
from nanotorch.creation import from_numpy
from nanotorch.functions import stack
from nanotorch.random import numpy_generator
from nanotorch.tensor import Tensor


class Dataset:
    """A dataset: subclass it with ``__getitem__``/``__len__``, or give it arrays.

    ``Dataset(X, y)`` (the seed's form) holds equal-length arrays ``X[N, *], y[N, *]`` in
    ``arrays``; ``dataset[i]`` returns ``(X[i], y[i])`` and the DataLoader gathers whole
    batches from ``arrays``.
    """

    def __init__(self, *arrays) -> None:
        arrays = tuple(np.asarray(a.data if isinstance(a, Tensor) else a, order="C") for a in arrays)
        if any(a.ndim == 0 for a in arrays):
            raise ValueError("Dataset arrays need a first (sample) dimension; got a 0-d array")
        if arrays and any(len(a) != len(arrays[0]) for a in arrays):
            raise ValueError(f"Dataset arrays differ in length: {[len(a) for a in arrays]}")
        self.arrays = arrays

    def __len__(self) -> int:
        if not getattr(self, "arrays", None):
            raise NotImplementedError(f"{type(self).__name__} must define __len__")
        return len(self.arrays[0])

    def __getitem__(self, index):
        if not getattr(self, "arrays", None):
            raise NotImplementedError(f"{type(self).__name__} must define __getitem__")
        return tuple(a[index] for a in self.arrays)


class TensorDataset(Dataset):
    """Samples are rows of equal-length tensors or arrays ``t[N, *]``: ``ds[i]`` is the
    tuple of ``t[i]``, each a Tensor (floats float32, integers int64)."""

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        super().__init__(*tensors)

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The data as Tensors (sharing memory with ``arrays``)."""
        return tuple(from_numpy(a) for a in self.arrays)

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        return tuple(_to_tensor(np.asarray(a[index])) for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``: ``subset[i] = dataset[indices[i]]`` (a
    negative index counts from the end, as in PyTorch)."""

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        index = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if index.size == 0:
            index = index.astype(np.int64)
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise ValueError(f"Subset indices must be a 1-d sequence of ints, got {index.dtype} "
                             f"of shape {index.shape}")
        n = len(dataset)
        index = index.astype(np.int64, copy=False)
        if index.size and (index.min() < -n or index.max() >= n):
            bad = index[(index < -n) | (index >= n)][0]
            raise IndexError(f"Subset index {bad} is out of range for a dataset of {n} samples")
        self.dataset = dataset
        self.indices = np.where(index < 0, index + n, index)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        i = self.indices[index]
        return self.dataset[int(i) if i.ndim == 0 else i]


def random_split(dataset, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    ``lengths`` are sample counts adding up to ``len(dataset)``, or fractions adding up to
    1: each gets ``floor(n * fraction)`` samples and the remainder is dealt one by one
    from the first. The permutation comes from ``generator`` (a ``nanotorch.Generator``,
    e.g. ``Generator().manual_seed(42)``), else from the global generator
    (``nanotorch.manual_seed``).
    """
    n = len(dataset)
    lengths = list(lengths)
    if any(isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or x < 0
           for x in lengths):
        raise ValueError(f"lengths must be non-negative numbers, got {lengths}")
    if all(isinstance(x, (int, np.integer)) for x in lengths):
        sizes = [int(x) for x in lengths]
    elif abs(sum(lengths) - 1) <= 1e-9 and all(x <= 1 for x in lengths):
        sizes = [int(np.floor(n * x)) for x in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        raise ValueError(f"fractional lengths must add up to 1, got {lengths} (sum {sum(lengths)})")
    if sum(sizes) != n:
        raise ValueError(f"lengths {sizes} add up to {sum(sizes)}, the dataset has {n} samples")
    order = _permutation(generator, n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


class DataLoader:
    """Batches of a dataset, in order or reshuffled each epoch.

    Parameters
    ----------
    dataset : Dataset
        Array-backed (see the module docstring): each batch is a tuple of Tensors, one per
        array, ``[B, *]`` (floats as float32, integers as int64), gathered in one indexing
        per array (a slice, i.e. a view, when not shuffling). Any other dataset: each
        batch is ``collate_fn([dataset[i] for i in batch indices])``.
    batch_size : int
        Samples per batch; the last batch holds what is left.
    shuffle : bool
        Draw a new permutation of the samples at the start of each epoch, from
        ``generator`` (a ``nanotorch.Generator``) or else the global generator.
    sampler : iterable of int, optional
        The sample indices of one epoch, in order (e.g. a :class:`DistributedSampler`);
        it needs ``__len__``, and excludes ``shuffle``.
    drop_last : bool
        Leave out the last batch when it is smaller than ``batch_size``.
    collate_fn : callable, optional
        Builds a batch from a list of samples (default: :func:`default_collate`); given,
        it is used for array-backed datasets too.
    num_workers : int
        Only 0: batches are made in the main process (accepted so PyTorch code that passes
        ``num_workers=0`` runs; any other value raises and says why).

    The options after ``sampler`` are keyword-only, as PyTorch's other arguments
    (``batch_sampler``, ``num_workers`` ...) sit between them.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, sampler=None, *,
                 drop_last: bool = False, collate_fn: Callable | None = None, generator=None,
                 num_workers: int = 0) -> None:
        if num_workers != 0:
            raise ValueError(
                f"DataLoader(num_workers={num_workers!r}): NanoTorch makes every batch in the main "
                "process, with no worker processes (an array dataset's batch is one slice of its "
                "arrays, already fast). Leave num_workers out, or pass num_workers=0.")
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"a DataLoader needs a dataset with __getitem__ and __len__, "
                            f"not {type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("collate_fn must be callable")
        numpy_generator(generator)  # raises TypeError for anything but a generator or None
        if sampler is not None:
            if shuffle:
                raise ValueError("sampler option is mutually exclusive with shuffle")
            if not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
                raise TypeError(f"sampler must be an iterable of indices with __len__, "
                                f"not {type(sampler).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.generator = generator
        if collate_fn is None:
            for a in _array_source(dataset)[0] or ():
                if a.dtype.kind not in "biuf":
                    raise TypeError(f"can't batch an array of dtype {a.dtype} into a Tensor")

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator:
        n, size = len(self.dataset), self.batch_size
        arrays, rows = _array_source(self.dataset) if self.collate_fn is None else (None, None)
        order = None
        if self.shuffle:
            order = _permutation(self.generator, n)
        elif self.sampler is not None:
            order = _sampled_indices(self.sampler, n)
        if order is not None:
            n = len(order)
            rows = order if rows is None else rows[order]
        starts = range(0, n - n % size if self.drop_last else n, size)
        if arrays is None:  # one sample at a time
            collate = self.collate_fn or default_collate
            for s in starts:
                indices = range(s, min(s + size, n)) if rows is None else rows[s:s + size].tolist()
                yield collate([self.dataset[i] for i in indices])
        elif rows is None:  # in order: slices, i.e. views
            for s in starts:
                yield tuple(_to_tensor(a[s:s + size]) for a in arrays)
        else:
            for s in starts:
                index = rows[s:s + size]
                yield tuple(_to_tensor(_gather(a, index)) for a in arrays)


class DistributedSampler:
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

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad (repeating the order as often as needed) to divide evenly
            order = np.resize(order, self.total_size)
        order = order[:self.total_size]
        return iter(order[self.rank::self.num_replicas].tolist())


def default_collate(batch: list):
    """Stack a list of samples into a batch, recursively.

    Tensors are stacked (``[B, *]``, keeping their dtype); arrays and numbers become a
    Tensor (floats float32, integers int64, bools bool); strings a list; a tuple, list or
    dict of fields becomes the same structure of batched fields.
    """
    if not isinstance(batch, (list, tuple)) or not batch:
        raise ValueError("default_collate needs a non-empty list of samples")
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch)
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, (np.ndarray, np.generic, int, float)):
        arrays = [np.asarray(x.data if isinstance(x, Tensor) else x) for x in batch]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: samples have different shapes {sorted(shapes)}")
        stacked = np.stack(arrays)
        if stacked.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: can't make a Tensor from dtype {stacked.dtype}")
        return _to_tensor(stacked)
    if isinstance(first, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(sample) != len(first) for sample in batch):
            raise ValueError("default_collate: samples have different numbers of fields")
        fields = [default_collate(list(column)) for column in zip(*batch)]
        if hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError("default_collate: samples must be Tensors, arrays, numbers, strings, or "
                    f"tuples/lists/dicts of them; got {type(first).__name__}")


# ------------------------------------------------------------------- helpers
_ARRAY_GETITEMS = (Dataset.__getitem__, TensorDataset.__getitem__)


def _array_source(dataset) -> tuple[tuple[np.ndarray, ...] | None, np.ndarray | None]:
    """``(arrays, rows)`` if ``dataset`` is array-backed: sample ``i`` is row ``rows[i]``
    (``i`` itself when ``rows`` is None) of each array. ``(None, None)`` otherwise."""
    rows = None
    while isinstance(dataset, Subset):
        rows = dataset.indices if rows is None else dataset.indices[rows]
        dataset = dataset.dataset
    # A subclass that overrides __getitem__ (e.g. to transform samples) is not array-backed.
    if getattr(dataset, "arrays", None) and type(dataset).__getitem__ in _ARRAY_GETITEMS:
        return dataset.arrays, rows
    return None, None


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _sampled_indices(sampler, n: int) -> np.ndarray:
    """One epoch of ``sampler`` as int64 indices, each checked to be in ``0 .. n-1``."""
    index = np.fromiter(iter(sampler), dtype=np.int64)
    if index.size and (index.min() < 0 or index.max() >= n):
        bad = index[(index < 0) | (index >= n)][0]
        raise IndexError(f"sampler gave index {bad}, out of range for a dataset of {n} samples")
    return index


def _permutation(generator, n: int) -> np.ndarray:
    """A random order of ``range(n)`` (int64) from ``generator`` or the global generator."""
    return np.asarray(numpy_generator(generator).permutation(n), dtype=np.int64)


def _gather(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``a[index]``: one batch's rows of an array-backed dataset, one gather per array, by
    the backend's ``take_rows`` (on the C backend a kernel that copies the rows on two
    threads: a shuffled MNIST batch 20-23 -> 14 us); ``index`` is already checked to be in
    range."""
    return current_backend().take_rows(a, index)


def _to_tensor(a: np.ndarray) -> Tensor:
    """A batch array as a Tensor: floats as float32, integers as int64 (no copy if already)."""
    dtype = _dtype.default_dtype_for(a)
    return from_numpy(a if a.dtype == dtype else a.astype(dtype))
