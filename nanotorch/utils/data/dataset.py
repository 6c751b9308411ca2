"""Datasets (PyTorch's ``torch.utils.data.dataset``).

A *map-style* dataset has ``__getitem__`` and ``__len__``: sample ``i`` is ``dataset[i]``.
An :class:`IterableDataset` is a stream: its samples are what iterating it gives. A dataset
that holds its samples as equal-length arrays (``Dataset(X, y)``, ``TensorDataset``, MNIST,
or a ``Subset`` of one) is *array-backed*: the DataLoader then builds each batch with one
gather per array instead of one ``dataset[i]`` call per sample.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate

import numpy as np

from nanotorch.creation import from_numpy
from nanotorch.tensor import Tensor
from nanotorch.utils.data.collate import _to_tensor
from nanotorch.utils.data.sampler import _permutation


class Dataset:
    """A dataset: subclass it with ``__getitem__``/``__len__``, or give it arrays.

    ``Dataset(X, y)`` (the seed's form) holds equal-length arrays ``X[N, *], y[N, *]`` in
    ``arrays``; ``dataset[i]`` returns ``(X[i], y[i])`` and the DataLoader gathers whole
    batches from ``arrays``. ``a + b`` is ``ConcatDataset([a, b])``.
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

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset, Iterable):
    """A stream of samples: subclass it with ``__iter__`` (an abstract method, as in
    PyTorch: without it the class can't be instantiated). A DataLoader over it batches
    consecutive samples; it has a length only if the subclass defines ``__len__``
    (``len()`` raises TypeError otherwise). ``a + b`` is ``ChainDataset([a, b])``."""

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} has no len(): an IterableDataset has one only "
                        "if it defines __len__")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


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


class ConcatDataset(Dataset):
    """The samples of ``datasets`` one after the other (map-style datasets).

    ``cumulative_sizes[k]`` is the number of samples in ``datasets[0..k]``; sample ``i`` is
    sample ``i - cumulative_sizes[k-1]`` of the dataset ``k`` whose range holds ``i``. A
    negative ``i`` counts from the end.
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise AssertionError("ConcatDataset does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = list(accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError(f"absolute value of index should not exceed dataset length "
                                 f"({index} for {n} samples)")
            index += n
        if index >= n:
            raise IndexError(f"index {index} is out of range for a ConcatDataset of {n} samples")
        k = bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


class ChainDataset(IterableDataset):
    """The streams of ``datasets`` (IterableDatasets) one after the other; its length is
    the sum of theirs."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            _check_iterable(d)
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            _check_iterable(d)
            total += len(d)
        return total


class StackDataset(Dataset):
    """Samples of several equal-length datasets side by side: ``StackDataset(a, b)[i]`` is
    ``(a[i], b[i])`` and ``StackDataset(x=a, y=b)[i]`` is ``{"x": a[i], "y": b[i]}``."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("StackDataset takes datasets either as positional arguments (tuple "
                             "samples) or as keyword arguments (dict samples), not both")
        if not (args or kwargs):
            raise ValueError("At least one dataset should be passed")
        self.datasets = args or kwargs
        lengths = [len(d) for d in (args or kwargs.values())]
        if any(n != lengths[0] for n in lengths):
            raise ValueError(f"Size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: d[index] for key, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)


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


def _check_iterable(dataset) -> None:
    if not isinstance(dataset, IterableDataset):
        raise AssertionError(f"ChainDataset only supports IterableDataset, got {type(dataset).__name__}")
