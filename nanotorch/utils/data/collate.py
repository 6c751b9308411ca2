"""From samples to what the DataLoader yields: ``default_collate`` stacks a list of samples
into a batch; ``default_convert`` turns one sample's arrays into Tensors (no batching)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nanotorch import _dtype
from nanotorch.creation import from_numpy
from nanotorch.functions import stack
from nanotorch.tensor import Tensor


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


def default_convert(data):
    """One sample as the DataLoader yields it without batching (``batch_size=None``).

    A numeric NumPy array or scalar becomes a Tensor (floats float32, other dtypes kept);
    a dict, namedtuple, tuple or list is converted field by field (a tuple or other
    sequence comes back as a list, as in PyTorch); anything else (Tensors, Python numbers,
    strings, arrays of strings) is returned as it is.
    """
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
        return _to_tensor(array) if array.dtype.kind in "biuf" else data
    if isinstance(data, Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a namedtuple
        return type(data)(*(default_convert(field) for field in data))
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(field) for field in data]
    return data


def _to_tensor(a: np.ndarray) -> Tensor:
    """A batch array as a Tensor: float64 as float32, other dtypes kept (no copy if already)."""
    dtype = _dtype.default_dtype_for(a)
    return from_numpy(a if a.dtype == dtype else a.astype(dtype))
