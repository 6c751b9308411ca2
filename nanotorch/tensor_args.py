"""The argument helpers that several of Tensor's method families share (``tensor_methods.py``
lists the families): dims counted from 0 (``_dim``, ``_dims``, ``_dim_list``), data as an array
(``_array``), shapes broadcast together (``broadcast_shapes``), and the checks of float and
tensor arguments.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch.tensor import Tensor
from nanotorch.tensor_promotion import result_type


def _array(x) -> np.ndarray:
    """A tensor's array; other data (lists, arrays) as an array."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _check_floating(op: str, t: Tensor) -> None:
    """Raise (PyTorch's NotImplementedError) unless ``t`` is a float tensor."""
    if t.data.dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for {t.dtype} tensors, only for float "
                                  f"tensors; convert with .float()")


def _tensor_arg(op: str, other) -> Tensor:
    """``other``, which must be a Tensor (PyTorch's ``op(tensor, number)`` is a TypeError)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"{op}(): argument 'other' must be Tensor, not {type(other).__name__}")
    return other


def broadcast_shapes(op: str, *shapes: tuple) -> tuple:
    """The shape ``shapes`` broadcast to, or a ValueError naming them (PyTorch: a RuntimeError)."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{op}: shapes {', '.join(map(str, shapes))} do not broadcast together") from None


def _value_for(value, *operands) -> builtins.int | builtins.float:
    """``addcmul``'s ``value``: truncated to an int when the operands' result is an integer tensor."""
    return builtins.int(value) if result_type(*operands).kind in "biu" else value


def _dims(dim, ndim: builtins.int = -1):
    """``dim`` as NumPy's ``axis``: None, an int, or a tuple of ints. No dims (``()``,
    ``[]``) means every dim, as in PyTorch (NumPy's ``axis=()`` reduces none). On a 0-d
    tensor (``ndim == 0``) dims 0 and -1 mean the whole tensor, as in PyTorch."""
    if dim is None or not isinstance(dim, builtins.int) and len(dim) == 0:
        return None
    if ndim == 0:
        dims = (dim,) if isinstance(dim, builtins.int) else tuple(dim)
        if any(d not in (0, -1) for d in dims):
            raise IndexError(f"dimension out of range (expected to be in range of [-1, 0], but got {dim})")
        return None
    return dim if isinstance(dim, builtins.int) else tuple(dim)


def _dim(dim: builtins.int, ndim: builtins.int) -> builtins.int:
    """``dim`` counted from 0 (negative counts from the end), or IndexError when out of range;
    a 0-d tensor takes 0 and -1, as in PyTorch."""
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _dim_list(dims, ndim: builtins.int) -> list:
    """One int or a sequence of them as a list of dims counted from 0 (``_dim``)."""
    return [_dim(d, ndim) for d in ((dims,) if isinstance(dims, builtins.int) else dims)]
