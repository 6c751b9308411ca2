"""Tensor's conversion methods, added to ``Tensor`` by ``tensor_methods.py``: casts to a dtype
(``to``, ``float()``, ``long()`` ...), new tensors of ``self``'s dtype (``new_zeros``,
``new_tensor`` ...) and copies (``clone``, ``contiguous``).
"""

from __future__ import annotations

import builtins

from nanotorch import _device, _dtype, creation
from nanotorch.ops.pointwise import CastFn, CloneFn
from nanotorch.tensor import Tensor


class _ConversionMethods:
    """Added to ``Tensor`` by ``tensor_methods.py`` (``add_methods``)."""

    # -------------------------------------------------------------- conversion
    def to(self, *args, dtype=None, device=None, non_blocking: builtins.bool = False,
           copy: builtins.bool = False) -> Tensor:
        """``to(dtype)``, ``to("cpu")``, ``to(nt.device("cpu"), dtype)``: the CPU is the only
        device (``non_blocking`` is accepted: there is no copy between devices).

        A cast to a float dtype is differentiable; to an integer or bool dtype it is not.
        """
        for a in (*args, device):
            if _device.is_device(a):
                _device.check(a, f".to({str(a)!r})")
            elif a is not None:
                dtype = a
        dtype = _dtype.to_dtype(dtype)
        if dtype is None or dtype == self.data.dtype:
            return self.clone() if copy else self
        if not _dtype.is_floating(dtype):
            return Tensor._make(self.data.astype(dtype), False)
        return CastFn.apply(self, dtype=dtype)

    def type(self, dtype) -> Tensor:
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(_dtype.float32)

    def double(self) -> Tensor:
        return self.to(_dtype.float64)

    def long(self) -> Tensor:
        return self.to(_dtype.int64)

    def int(self) -> Tensor:
        return self.to(_dtype.int32)

    def bool(self) -> Tensor:
        return self.to(_dtype.bool)

    def half(self) -> Tensor:
        return self.to(_dtype.float16)

    def byte(self) -> Tensor:
        return self.to(_dtype.uint8)

    def char(self) -> Tensor:
        return self.to(_dtype.int8)

    def short(self) -> Tensor:
        return self.to(_dtype.int16)

    def is_floating_point(self) -> builtins.bool:
        return _dtype.is_floating(self.data.dtype)

    # ------------------------------------------------------------ new tensors
    def new_tensor(self, data, *, dtype=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
        """A new tensor holding a copy of ``data``, of ``self``'s dtype unless ``dtype`` is given
        (so does every ``new_*``: ``x.new_tensor([1, 2])`` of a float32 ``x`` is float32)."""
        return creation.tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None,
                 requires_grad: builtins.bool = False) -> Tensor:
        return creation.full(size, fill_value, dtype=dtype or self.dtype, device=device,
                             requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
        return creation.zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
        return creation.ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
        return creation.empty(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def clone(self) -> Tensor:
        return CloneFn.apply(self)

    def contiguous(self) -> Tensor:
        return self if self.data.flags.c_contiguous else CloneFn.apply(self)
