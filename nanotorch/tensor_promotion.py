"""PyTorch's type promotion for binary ops (``Tensor._operands``), added to ``Tensor``."""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch import _dtype
from nanotorch.tensor import Tensor, add_methods

SCALARS = (int, float, builtins.bool)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < floating point


def _promote(a: np.dtype | None, b: np.dtype | None) -> np.dtype | None:
    """``torch.promote_types``: the higher category wins (``float16`` with ``int64`` is
    ``float16``, where NumPy says ``float64``); within one category, NumPy's rule."""
    if a is None or b is None:
        return a if b is None else b
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb:
        return np.promote_types(a, b)
    return a if ca > cb else b


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """A result from operands of a higher priority, given that of a lower one: the
    higher stands unless the lower is of a higher category (PyTorch's ``combine_categories``)."""
    if higher is None:
        return lower
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or (lower is not None and lower.kind == "f"):
        return _promote(higher, lower)
    return higher


def result_type(*operands) -> np.dtype:
    """PyTorch's result dtype of an elementwise op on ``operands`` (tensors and numbers).

    Three tiers, highest first: tensors with dims, 0-d tensors, numbers (a Python float
    counts as float32, an int as int64). A lower tier decides only when it is of a higher
    category (bool < integer < float) than all above it: ``float32 tensor * 0-d float64
    tensor`` is float32 and ``uint8 tensor * 0-d int64 tensor`` is uint8, but ``int64
    tensor * 0-d float64 tensor`` is float64 and ``int64 tensor * 0.5`` float32."""
    dims = zero = numbers = None
    for x in operands:
        if isinstance(x, Tensor):
            if x.data.ndim:
                dims = _promote(dims, x.data.dtype)
            else:
                zero = _promote(zero, x.data.dtype)
        else:
            kind = (_dtype.bool if isinstance(x, (builtins.bool, np.bool_))
                    else _dtype.int64 if isinstance(x, (int, np.integer)) else _dtype.DEFAULT_FLOAT)
            numbers = _promote(numbers, np.dtype(kind))
    return _combine(dims, _combine(zero, numbers))


_BOUNDS: dict[np.dtype, tuple[int, int]] = {}


def _bounds(dtype: np.dtype) -> tuple[int, int]:
    """The smallest and largest value of an integer dtype (``np.iinfo``, kept)."""
    if dtype not in _BOUNDS:
        info = np.iinfo(dtype)
        _BOUNDS[dtype] = (int(info.min), int(info.max))
    return _BOUNDS[dtype]


class _Promotion:
    """Added to ``Tensor`` at the end of this module (``add_methods``)."""

    def _operands(self, other, divide: builtins.bool = False) -> tuple:
        """``(self, other)`` ready for a binary op, both cast to PyTorch's result dtype
        (``result_type``; for ``/`` of integers, float32). A number stays a number (NumPy
        then keeps the tensor's dtype); an integer that the result's integer dtype cannot
        hold wraps, as in PyTorch (``uint8 + -3`` adds 253). Other data (lists, arrays)
        becomes a tensor."""
        dtype = self.data.dtype
        if isinstance(other, Tensor):
            if other.data.dtype == dtype and (not divide or dtype.kind == "f"):
                return self, other  # the common case, first
        else:
            if isinstance(other, np.generic):
                other = other.item()
            if isinstance(other, SCALARS):
                if dtype.kind == "f":
                    return self, other  # a number never widens a float tensor: the common case
                if (dtype.kind in "iu" and type(other) is int and not divide
                        and _bounds(dtype)[0] <= other <= _bounds(dtype)[1]):
                    return self, other  # an int the integer tensor's dtype holds
            else:
                other = Tensor(other, dtype=dtype if dtype.kind == "f" else None)
        target = result_type(self, other)
        if divide and target.kind != "f":
            target = np.dtype(_dtype.DEFAULT_FLOAT)
        if isinstance(other, Tensor):
            return self.to(target), other.to(target)
        if target.kind in "iu" and not isinstance(other, builtins.bool) and isinstance(other, int):
            low, high = _bounds(target)
            if not low <= other <= high:
                other = np.array(other).astype(target)  # wraps, as a C cast does
        return self.to(target), other


add_methods(_Promotion)
