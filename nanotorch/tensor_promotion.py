"""PyTorch's type promotion for binary ops (``Tensor._operands``), added to ``Tensor``."""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch import _dtype
from nanotorch.tensor import Tensor, add_methods

SCALARS = (int, float, builtins.bool)


class _Promotion:
    """Added to ``Tensor`` at the end of this module (``add_methods``)."""

    def _operands(self, other, divide: builtins.bool = False) -> tuple:
        """``(self, other)`` ready for a binary op, with PyTorch's type promotion.

        NumPy alone would make ``int64 + float32`` and ``float32 * np.float64(2)`` float64.
        Here a float operand's dtype wins over an integer or bool one, a number (Python or
        NumPy scalar) never widens a float tensor, and ``/`` of integers gives float32.
        Only operands that cannot require grad (integers, bools) are ever cast. A number
        stays a number; other data (lists, arrays) becomes a tensor.
        """
        dtype = self.data.dtype
        if isinstance(other, Tensor):
            other_dtype = other.data.dtype
            if other_dtype == dtype and (not divide or dtype.kind == "f"):
                return self, other  # the common case, first
        else:
            if isinstance(other, np.generic):
                other = other.item()
            if isinstance(other, SCALARS):
                if dtype.kind == "f" or not (divide or isinstance(other, builtins.float)):
                    return self, other
                return self.to(_dtype.DEFAULT_FLOAT), other
            other = Tensor(other, dtype=dtype if dtype.kind == "f" else None)
            other_dtype = other.data.dtype
        if dtype.kind == "f" or other_dtype.kind == "f":
            target = dtype if dtype.kind == "f" else other_dtype
            if dtype.kind == other_dtype.kind:
                return self, other  # float32 with float64 widens, as in PyTorch
        elif divide:
            target = _dtype.DEFAULT_FLOAT
        else:
            return self, other  # integers and bools: NumPy's promotion is PyTorch's
        return self.to(target), other.to(target)


add_methods(_Promotion)
