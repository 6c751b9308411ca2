"""Datasets, samplers and the DataLoader (PyTorch's ``torch.utils.data``).

The datasets are in ``dataset.py``, the samplers in ``sampler.py``, ``default_collate`` and
``default_convert`` in ``collate.py``; the DataLoader, which puts them together, is here.
An array-backed dataset (see ``dataset.py``) gets each batch in one indexing per array,
however its indices are chosen (in order, shuffled, by a sampler or a batch sampler).
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from nanotorch.backend import current as current_backend
from nanotorch.random import numpy_generator
from nanotorch.utils.data.collate import _to_tensor, default_collate, default_convert
from nanotorch.utils.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from nanotorch.utils.data.sampler import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
    _ArraySampler,
    _is_int,
)

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
    "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate",
    "default_convert", "get_worker_info", "random_split",
]


class DataLoader:
    """Batches of a dataset, as PyTorch's ``DataLoader``.

    Parameters
    ----------
    dataset : Dataset or IterableDataset
        Map-style: batch ``k`` is ``collate_fn([dataset[i] for i in batch_k])`` for the index
        lists ``batch_k`` of ``batch_sampler``; an array-backed one with the default
        ``collate_fn`` gives a tuple of Tensors ``[B, *]`` (floats as float32), one per
        array, each gathered in one indexing (a slice, i.e. a view, when in order).
        An IterableDataset: each batch collates the next ``batch_size`` samples of its stream.
    batch_size : int or None
        Samples per batch; the last batch holds what is left. ``None``: no batching, each
        sample goes through ``collate_fn`` (default :func:`default_convert`) alone.
    shuffle : bool
        A new random order each epoch: a :class:`RandomSampler` drawing from ``generator``
        (a ``nanotorch.Generator``), else from the global generator.
    sampler : Sampler, or any iterable of indices with ``__len__``
        One epoch's indices (excludes ``shuffle``); by default sequential, or random.
    batch_sampler : Sampler, or any iterable of index lists with ``__len__``
        One epoch's batches of indices; excludes ``batch_size``, ``shuffle``, ``sampler``
        and ``drop_last``. By default ``BatchSampler(sampler, batch_size, drop_last)``.
    collate_fn : callable, optional
        Builds a batch from a list of samples (default :func:`default_collate`).
    drop_last : bool
        Leave out the last batch when it is smaller than ``batch_size``.

    NanoTorch makes every batch in the main process: ``num_workers`` must be 0, and the
    worker options are checked as PyTorch checks them with ``num_workers=0``
    (``timeout >= 0``; ``worker_init_fn`` is never called; ``prefetch_factor``,
    ``persistent_workers=True`` and ``multiprocessing_context`` raise ValueError).
    ``pin_memory``, ``pin_memory_device`` and ``in_order`` are accepted and change nothing:
    there is no GPU to pin memory for (``pin_memory=True`` warns, as PyTorch without an
    accelerator), and one process yields the batches in order.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        _check_single_process(num_workers, timeout, prefetch_factor, persistent_workers,
                              multiprocessing_context)
        shuffle = _check_dataset(dataset, shuffle, sampler, batch_sampler)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        _check_index_source("sampler", sampler, "indices")
        _check_index_source("batch_sampler", batch_sampler, "lists of indices")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("collate_fn must be callable")
        numpy_generator(generator)  # raises TypeError for anything but a generator or None

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:  # the stream's samples, or lists of consecutive ones
            self._stream = dataset if batch_size is None else BatchSampler(dataset, batch_size, drop_last)
        else:
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator) if shuffle
                           else SequentialSampler(dataset))
            if batch_size is not None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        batched = batch_size is not None or batch_sampler is not None
        self.dataset, self.sampler, self.batch_sampler = dataset, sampler, batch_sampler
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last, self.generator = drop_last, generator
        self.collate_fn = collate_fn or (default_collate if batched else default_convert)
        self.num_workers, self.timeout, self.worker_init_fn = num_workers, timeout, worker_init_fn
        self.multiprocessing_context, self.prefetch_factor = multiprocessing_context, prefetch_factor
        self.persistent_workers, self.in_order = persistent_workers, in_order
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        for a in self._arrays()[0] or ():
            if a.dtype.kind not in "biuf":
                raise TypeError(f"can't batch an array of dtype {a.dtype} into a Tensor")

    def __len__(self) -> int:
        """Batches per epoch (samples, without batching); for an IterableDataset, from its
        ``__len__`` (TypeError if it has none)."""
        if self._iterable:
            return len(self._stream)
        return len(self.sampler if self.batch_sampler is None else self.batch_sampler)

    def __iter__(self) -> Iterator:
        if self.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then "
                          "device pinned memory won't be used.", stacklevel=2)
        if self._iterable:
            return map(self.collate_fn, self._stream)
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        arrays, rows = self._arrays()
        if arrays is None:  # one sample at a time
            return (self.collate_fn([self.dataset[i] for i in batch]) for batch in self.batch_sampler)
        return _array_batches(arrays, rows, self.batch_sampler)

    def _arrays(self) -> tuple[tuple[np.ndarray, ...] | None, np.ndarray | None]:
        """``_array_source(dataset)`` when batches are gathered from its arrays (the default
        collate_fn, with batching), else ``(None, None)``."""
        if self.collate_fn is not default_collate or self.batch_sampler is None:
            return None, None
        return _array_source(self.dataset)


def get_worker_info() -> None:
    """The DataLoader worker process this code runs in: None, as in PyTorch's main process
    (NanoTorch loads every batch in the main process)."""
    return None


# ------------------------------------------------------------------- helpers
_ARRAY_GETITEMS = (Dataset.__getitem__, TensorDataset.__getitem__)


def _check_single_process(num_workers, timeout, prefetch_factor, persistent_workers,
                          multiprocessing_context) -> None:
    """The worker options, as PyTorch takes them with ``num_workers=0`` (the only count here)."""
    if not _is_int(num_workers) or num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                         f"multiprocessing (got {num_workers!r})")
    if num_workers > 0:
        raise ValueError(
            f"DataLoader(num_workers={num_workers!r}): NanoTorch makes every batch in the main "
            "process, with no worker processes (an array dataset's batch is one slice of its "
            "arrays, already fast). Leave num_workers out, or pass num_workers=0.")
    if timeout < 0:
        raise ValueError(f"timeout option should be non-negative, got {timeout!r}")
    if prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing "
                         "(num_workers > 0); with num_workers=0 leave it None")
    if persistent_workers:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if multiprocessing_context is not None:
        raise ValueError("multiprocessing_context can only be used with multi-process loading "
                         "(num_workers > 0), but got num_workers=0")


def _check_dataset(dataset, shuffle, sampler, batch_sampler) -> bool:
    """Check that ``dataset`` is one a DataLoader takes, with options that fit it; return
    ``shuffle`` as a bool."""
    if isinstance(dataset, IterableDataset):
        if shuffle not in (None, False):
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                             f"but got shuffle={shuffle!r}")
        for name, given in (("sampler", sampler), ("batch_sampler", batch_sampler)):
            if given is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} "
                                 f"option, but got {name}={given!r}")
        return False
    needs_len = sampler is None and batch_sampler is None  # for the default sampler
    if not hasattr(dataset, "__getitem__") or needs_len and not hasattr(dataset, "__len__"):
        raise TypeError(f"a DataLoader needs a map-style dataset with __getitem__ and __len__, or an "
                        f"IterableDataset (a stream with __iter__ must subclass it), not "
                        f"{type(dataset).__name__}")
    return bool(shuffle)


def _check_index_source(name: str, given, what: str) -> None:
    if given is not None and not (hasattr(given, "__iter__") and hasattr(given, "__len__")):
        raise TypeError(f"{name} must be an iterable of {what} with __len__, not {type(given).__name__}")


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


def _array_batches(arrays: tuple[np.ndarray, ...], rows: np.ndarray | None, batch_sampler) -> Iterator[tuple]:
    """The batches of an array-backed dataset (sample ``i`` is row ``rows[i]``, or ``i``
    when ``rows`` is None), each a tuple of Tensors, one indexing per array."""
    n = len(arrays[0]) if rows is None else len(rows)
    for index in _index_batches(batch_sampler, n):
        if isinstance(index, slice) and rows is None:  # in order: a view
            yield tuple(_to_tensor(a[index]) for a in arrays)
        else:
            index = index if rows is None else rows[index]
            yield tuple(_to_tensor(_gather(a, index)) for a in arrays)


def _index_batches(batch_sampler, n: int) -> Iterator[slice | np.ndarray]:
    """The index batches of ``batch_sampler`` over ``n`` samples, as int64 arrays, or as
    slices when they go in order. A ``BatchSampler``'s sampler is drawn once per epoch, as
    one array that the batches are slices of."""
    if type(batch_sampler) is not BatchSampler:
        for batch in batch_sampler:
            yield _checked(_int64(batch), n)
        return
    sampler, size = batch_sampler.sampler, batch_sampler.batch_size
    in_order = type(sampler) is SequentialSampler and len(sampler) <= n
    order = None if in_order else _checked(_epoch(sampler), n)
    total = len(sampler) if in_order else len(order)
    stop = total - total % size if batch_sampler.drop_last else total
    for start in range(0, stop, size):
        end = min(start + size, total)
        yield slice(start, end) if order is None else order[start:end]


def _epoch(sampler) -> np.ndarray:
    """One epoch of ``sampler``'s indices as an int64 array (drawn as one by NanoTorch's
    own samplers)."""
    if type(sampler).__iter__ is _ArraySampler.__iter__:
        return sampler._indices()
    return _int64(sampler)


def _int64(indices: Iterable) -> np.ndarray:
    """Integer indices (ints, NumPy integers, 0-d integer Tensors) as an int64 array."""
    return np.fromiter(map(operator.index, indices), dtype=np.int64)


def _checked(index: np.ndarray, n: int) -> np.ndarray:
    """``index``, each checked to be in ``0 .. n-1``."""
    if index.size and (index.min() < 0 or index.max() >= n):
        bad = index[(index < 0) | (index >= n)][0]
        raise IndexError(f"sampler gave index {bad}, out of range for a dataset of {n} samples")
    return index


def _gather(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``a[index]``: one batch's rows of an array-backed dataset, one gather per array, by
    the backend's ``take_rows`` (on the C backend a kernel that copies the rows on two
    threads: a shuffled MNIST batch 20-23 -> 14 us); ``index`` is already checked to be in
    range."""
    return current_backend().take_rows(a, index)
