"""Datasets and the DataLoader (PyTorch's ``torch.utils.data``)."""

from __future__ import annotations

import numpy as np


class Dataset:
    """A dataset: subclass it with ``__getitem__``/``__len__``, or give it arrays.

    ``Dataset(X, y)`` (the seed's form) holds equal-length arrays; ``dataset[i]``
    returns ``(X[i], y[i])`` and the DataLoader slices whole batches from ``arrays``.
    """

    def __init__(self, *arrays) -> None:
        arrays = tuple(np.asarray(a) for a in arrays)
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
