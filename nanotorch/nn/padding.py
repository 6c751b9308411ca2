"""Padding layers: ``ZeroPad2d``, ``ConstantPad1d``/``2d``, ``ReflectionPad1d``/``2d`` and
``ReplicationPad1d``/``2d``, each ``functional.pad`` with one mode."""

from __future__ import annotations

from numbers import Integral

from nanotorch.nn import functional as F
from nanotorch.nn.module import Module
from nanotorch.tensor import Tensor


class _PadNd(Module):
    """``F.pad(input, padding, mode, value)`` over the last ``dims`` dims; ``padding`` is an int for
    every side or ``2 * dims`` ints ``(left, right[, top, bottom])``."""

    dims = 1
    mode = "constant"

    def __init__(self, padding, value: float | None = None) -> None:
        super().__init__()
        sides = 2 * self.dims
        if isinstance(padding, Integral):
            padding = (int(padding),) * sides
        if not isinstance(padding, (tuple, list)) or len(padding) != sides:
            raise ValueError(f"{type(self).__name__}: padding must be an int or {sides} ints, "
                             f"got {padding!r}")
        self.padding, self.value = tuple(int(p) for p in padding), value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self.mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value``: ``[*, L] -> [*, left + L + right]``."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dims with ``value``: ``[*, H, W] -> [*, top + H + bottom, left + W + right]``."""

    dims = 2


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last dim with its mirror image about the edge (each padding < the dim's size)."""

    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Pad the last two dims with their mirror images about the edges."""

    dims = 2


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating its edge values."""

    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Pad the last two dims by repeating their edge values."""

    dims = 2
