"""Tensor's comparisons and logic, added to ``Tensor`` by ``tensor_methods.py``: ``==``, ``<`` ...
(``eq``, ``lt`` ...), the bitwise operators ``& | ^ ~ << >>``, ``logical_and`` ..., ``isnan``,
``isclose``/``allclose``/``equal``, ``any`` and ``all``. They give bool (or integer) tensors and
have no gradient.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch.tensor import Tensor
from nanotorch.tensor_args import _dims, _tensor_arg


class _LogicMethods:
    """Added to ``Tensor`` by ``tensor_methods.py`` (``add_methods``)."""

    # ------------------------------------------------------------ comparisons
    def _compare(self, ufunc, other) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._make(ufunc(self.data, other), False)

    def __eq__(self, other) -> Tensor:
        return self._compare(np.equal, other)

    def __ne__(self, other) -> Tensor:
        return self._compare(np.not_equal, other)

    def __lt__(self, other) -> Tensor:
        return self._compare(np.less, other)

    def __le__(self, other) -> Tensor:
        return self._compare(np.less_equal, other)

    def __gt__(self, other) -> Tensor:
        return self._compare(np.greater, other)

    def __ge__(self, other) -> Tensor:
        return self._compare(np.greater_equal, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def _bitwise(self, ufunc, other, reflected: builtins.bool = False) -> Tensor:
        """``& | ^`` of integer or bool tensors (bitwise; on bools, logical), as PyTorch."""
        other = other.data if isinstance(other, Tensor) else np.asarray(other)
        if self.data.dtype.kind not in "biu" or other.dtype.kind not in "biu":
            raise TypeError(f"{ufunc.__name__.lstrip('_')} needs integer or bool tensors, got {self.dtype} "
                            f"and {other.dtype}")
        if other.ndim == 0 and self.data.dtype.kind != "b":
            other = other.astype(self.data.dtype)  # a number keeps the tensor's integer dtype
        return Tensor._make(np.asarray(ufunc(other, self.data) if reflected else ufunc(self.data, other)),
                            False)

    def __and__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_and, other)

    def __or__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_or, other)

    def __xor__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_xor, other)

    def __rand__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_and, other, reflected=True)

    def __ror__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_or, other, reflected=True)

    def __rxor__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_xor, other, reflected=True)

    def __invert__(self) -> Tensor:
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"~ (bitwise not) needs an integer or bool tensor, got {self.dtype}")
        return Tensor._make(np.asarray(~self.data), False)

    def __lshift__(self, other) -> Tensor:
        return self._bitwise(_left_shift, other)

    def __rshift__(self, other) -> Tensor:
        return self._bitwise(_right_shift, other)

    def __rlshift__(self, other) -> Tensor:
        return self._bitwise(_left_shift, other, reflected=True)

    def __rrshift__(self, other) -> Tensor:
        return self._bitwise(_right_shift, other, reflected=True)

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__
    bitwise_left_shift, bitwise_right_shift = __lshift__, __rshift__

    def logical_not(self) -> Tensor:
        return Tensor._make(np.asarray(np.logical_not(self.data)), False)

    def logical_and(self, other: Tensor) -> Tensor:
        """True where both are non-zero (any dtypes, broadcast together)."""
        return _logical(np.logical_and, self, other)

    def logical_or(self, other: Tensor) -> Tensor:
        """True where either is non-zero."""
        return _logical(np.logical_or, self, other)

    def logical_xor(self, other: Tensor) -> Tensor:
        """True where exactly one is non-zero."""
        return _logical(np.logical_xor, self, other)

    def isnan(self) -> Tensor:
        return Tensor._make(np.asarray(np.isnan(self.data)), False)

    def isinf(self) -> Tensor:
        return Tensor._make(np.asarray(np.isinf(self.data)), False)

    def isfinite(self) -> Tensor:
        return Tensor._make(np.asarray(np.isfinite(self.data)), False)

    def isclose(self, other: Tensor, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                equal_nan: builtins.bool = False) -> Tensor:
        """Elementwise ``|self - other| <= atol + rtol * |other|`` (or exactly equal, so inf matches
        inf), as a bool tensor; NaN matches NaN only with ``equal_nan``. One dtype for both."""
        other = _tensor_arg("isclose", other)
        if other.dtype != self.dtype:
            raise RuntimeError(f"isclose: {self.dtype} did not match {other.dtype}")
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if tol < 0:
                raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tol}")
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.isclose(self.data, other.data, rtol=rtol, atol=atol, equal_nan=equal_nan)
        return Tensor._make(np.asarray(close), False)

    def allclose(self, other: Tensor, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                 equal_nan: builtins.bool = False) -> builtins.bool:
        """Whether ``isclose`` holds everywhere (the two broadcast together)."""
        return builtins.bool(self.isclose(other, rtol, atol, equal_nan).data.all())

    def equal(self, other: Tensor) -> builtins.bool:
        """Whether ``self`` and ``other`` have the same shape and the same elements (NaN is never equal)."""
        other = _tensor_arg("equal", other)
        return self.shape == other.shape and builtins.bool((self.data == other.data).all())

    def any(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return Tensor._make(np.asarray(self.data.any(axis=_dims(dim, self.ndim), keepdims=keepdim)), False)

    def all(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return Tensor._make(np.asarray(self.data.all(axis=_dims(dim, self.ndim), keepdims=keepdim)), False)


def _shift_out_of_range(a: np.ndarray, b: np.ndarray):
    """Where the shift ``b`` is negative or at least the bit width of ``a``'s and ``b``'s result
    dtype (NumPy's shift is undefined there; PyTorch shifts every bit out). A bool result, as of
    ``bool << bool``, raises."""
    dtype = np.result_type(a, b)
    if dtype == np.bool_:
        raise TypeError("shifts need an integer tensor (or a bool tensor and an integer), got two bools")
    return (b < 0) | (b >= dtype.itemsize * 8)


def _left_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a << b``, 0 where ``b`` is out of range (``_shift_out_of_range``)."""
    out = _shift_out_of_range(a, b)
    return np.where(out, 0, np.left_shift(a, np.where(out, 0, b)))


def _right_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a >> b`` (the sign bit fills in), -1 or 0 (the sign) where ``b`` is out of range."""
    out = _shift_out_of_range(a, b)
    return np.where(out, np.where(a < 0, -1, 0), np.right_shift(a, np.where(out, 0, b)))


def _logical(ufunc, t: Tensor, other) -> Tensor:
    """``logical_and``/``or``/``xor``: ``ufunc`` of the two tensors' truth values (non-zero), as bools."""
    return Tensor._make(np.asarray(ufunc(t.data, _tensor_arg(ufunc.__name__, other).data)), False)
