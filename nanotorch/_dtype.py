"""Dtypes: NanoTorch uses NumPy dtypes directly, float32 by default (as PyTorch)."""

from __future__ import annotations

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)  # noqa: A001 - mirrors torch.bool
float = float32  # noqa: A001 - torch.float
double = float64
long = int64
short = int16
half = float16
int = int32  # noqa: A001 - torch.int

DEFAULT_FLOAT = float32


def to_dtype(dtype) -> np.dtype | None:
    """Turn a NumPy dtype, a Python type or a name into a NumPy dtype (``None`` stays ``None``)."""
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"not a dtype: {dtype!r}") from exc


def default_dtype_for(array: np.ndarray) -> np.dtype:
    """The dtype ``nanotorch.tensor`` gives data when no dtype is asked for.

    float64 (and so Python floats) becomes float32; every other dtype stays: int32 stays
    int32 and uint8 uint8, as in PyTorch (Python ints are int64 already).
    """
    kind = array.dtype.kind
    if kind == "f":
        return DEFAULT_FLOAT if array.dtype == float64 else array.dtype
    if kind in "iub":
        return array.dtype
    raise TypeError(f"can't make a tensor from data of dtype {array.dtype}")


def is_floating(dtype: np.dtype) -> bool:
    """True for float dtypes, the only ones that can require grad."""
    return dtype.kind == "f"
