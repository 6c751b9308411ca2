"""Functions that make tensors: from data, filled, ranges and random draws.

Random functions draw from the global generator (``nanotorch.manual_seed``) unless given
``generator=``. Floats are float32 unless ``dtype`` says otherwise.
"""

from __future__ import annotations

import numpy as np

from nanotorch import _device, _dtype
from nanotorch.random import numpy_generator
from nanotorch.tensor import Tensor, _shape_arg


def _on_cpu(device, name: str) -> None:
    """``device=`` as PyTorch's creation functions take it: the CPU (or None), else raise."""
    if device is not None:
        _device.check(device, f"{name}(device={str(device)!r})")


def _new(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(array, False)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float(dtype) -> np.dtype:
    return _dtype.to_dtype(dtype) or _dtype.DEFAULT_FLOAT


def _random_float(dtype) -> np.dtype:
    """The dtype of a random float draw: float32 unless a float dtype is asked for."""
    dtype = _float(dtype)
    if not _dtype.is_floating(dtype):
        raise TypeError(f"rand/randn draw floats; {dtype} is not a float dtype")
    return dtype


def tensor(data, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """A new tensor holding a copy of ``data`` (float32 for floats, int64 for ints)."""
    _on_cpu(device, "tensor")
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None, *, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array of the right dtype."""
    _on_cpu(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None and data.dtype == _dtype.default_dtype_for(data)
                                         or _dtype.to_dtype(dtype) == data.dtype):
        return Tensor._make(data, False)
    return Tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares memory with ``array``, keeping its dtype (as PyTorch)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._make(array, False)


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    _on_cpu(device, "zeros")
    return _new(np.zeros(_shape_arg(size), dtype=_float(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    _on_cpu(device, "ones")
    return _new(np.ones(_shape_arg(size), dtype=_float(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    _on_cpu(device, "empty")
    return _new(np.empty(_shape_arg(size), dtype=_float(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    _on_cpu(device, "full")
    if dtype is None:
        dtype = _dtype.default_dtype_for(np.asarray(fill_value))
    return _new(np.full(tuple(size) if not isinstance(size, int) else (size,), fill_value,
                        dtype=_dtype.to_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    _on_cpu(device, "eye")
    return _new(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """``[start, end)`` by ``step``; int64 when all three are integers, else float32."""
    _on_cpu(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dtype.int64 if ints else _dtype.DEFAULT_FLOAT
    return _new(np.arange(start, end, step, dtype=_dtype.to_dtype(dtype)), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``; an integer ``dtype`` truncates
    them toward zero, as PyTorch (NumPy's ``linspace`` would round toward -inf)."""
    _on_cpu(device, "linspace")
    dtype = _float(dtype)
    values = np.linspace(start, end, steps, dtype=np.float64)
    if not _dtype.is_floating(dtype):
        values = np.trunc(values)
    return _new(values.astype(dtype), requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    _on_cpu(device, "zeros_like")
    return _new(np.zeros(t.shape, dtype=_dtype.to_dtype(dtype) or t.dtype), requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    _on_cpu(device, "ones_like")
    return _new(np.ones(t.shape, dtype=_dtype.to_dtype(dtype) or t.dtype), requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    _on_cpu(device, "full_like")
    return _new(np.full(t.shape, fill_value, dtype=_dtype.to_dtype(dtype) or t.dtype), requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Uniform on ``[0, 1)``."""
    _on_cpu(device, "rand")
    gen = numpy_generator(generator)
    return _new(gen.random(_shape_arg(size), dtype=np.float64).astype(_random_float(dtype)), requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Standard normal."""
    _on_cpu(device, "randn")
    gen = numpy_generator(generator)
    return _new(gen.standard_normal(_shape_arg(size)).astype(_random_float(dtype)), requires_grad)


def randint(low, high=None, size=None, dtype=None, generator=None, *, device=None) -> Tensor:
    """Integers uniform on ``[low, high)``; ``randint(high, size)`` starts at 0 (as PyTorch)."""
    _on_cpu(device, "randint")
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint needs a size, e.g. randint(0, 10, (32,))")
        low, high, size = 0, low, high
    gen = numpy_generator(generator)
    return _new(gen.integers(low, high, size=tuple(size)).astype(_dtype.to_dtype(dtype) or _dtype.int64),
                False)


def randperm(n: int, generator=None, *, device=None) -> Tensor:
    _on_cpu(device, "randperm")
    gen = numpy_generator(generator)
    return _new(gen.permutation(n).astype(np.int64), False)


def randint_like(t: Tensor, low, high=None, dtype=None, requires_grad: bool = False, *,
                 device=None) -> Tensor:
    """Integers uniform on ``[low, high)`` (``randint_like(t, high)``: from 0) in ``t``'s shape
    and dtype."""
    _on_cpu(device, "randint_like")
    low, high = (0, low) if high is None else (low, high)
    return _new(numpy_generator().integers(low, high, size=t.shape).astype(_dtype.to_dtype(dtype) or t.dtype),
                requires_grad)


def rand_like(t: Tensor, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    _on_cpu(device, "rand_like")
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, requires_grad: bool = False, *, device=None) -> Tensor:
    _on_cpu(device, "randn_like")
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)
