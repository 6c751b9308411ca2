"""Arithmetic: + - * / ** @ and negation. Gradients are summed back over broadcast dims."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.broadcast import shape_of, unbroadcast


class AddFn(Function):
    """``out = a + b``;  ``da = g``, ``db = g``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (shape_of(a), shape_of(b))
        return a + b

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        return (unbroadcast(grad, ctx.shapes[0]) if na else None,
                unbroadcast(grad, ctx.shapes[1]) if nb else None)


class SubFn(Function):
    """``out = a - b``;  ``da = g``, ``db = -g``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (shape_of(a), shape_of(b))
        return a - b

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        return (unbroadcast(grad, ctx.shapes[0]) if na else None,
                unbroadcast(-grad, ctx.shapes[1]) if nb else None)


class RSubFn(Function):
    """``out = c - a`` for a number ``c``;  ``da = -g``."""

    @staticmethod
    def forward(ctx, a, c):
        return c - a

    @staticmethod
    def backward(ctx, grad):
        return -grad, None


class MulFn(Function):
    """``out = a * b``;  ``da = g * b``, ``db = g * a``. Saves only the side a gradient reads."""

    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na else None)
        ctx.shapes = (shape_of(a), shape_of(b))
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (unbroadcast(grad * b, ctx.shapes[0]) if na else None,
                unbroadcast(grad * a, ctx.shapes[1]) if nb else None)


class DivFn(Function):
    """``out = a / b``;  ``da = g / b``, ``db = -g * a / b^2``. ``a`` is saved only for ``db``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        ctx.shapes = (shape_of(a), shape_of(b))
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (unbroadcast(grad / b, ctx.shapes[0]) if na else None,
                unbroadcast(-grad * a / (b * b), ctx.shapes[1]) if nb else None)


class PowScalarFn(Function):
    """``out = a ** p`` for a number ``p``;  ``da = g * p * a^(p-1)``."""

    @staticmethod
    def forward(ctx, a, exponent):
        ctx.save_for_backward(a)
        ctx.exponent = exponent
        return a ** exponent

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        p = ctx.exponent
        if p == 0:
            return np.zeros_like(grad)
        return grad * (p * a ** (p - 1)).astype(grad.dtype, copy=False)


class PowFn(Function):
    """``out = a ** b``;  ``da = g * b * a^(b-1)``, ``db = g * out * log(a)``.

    NOTE: as in PyTorch, ``da`` is 0 where ``b == 0`` and ``db`` is 0 where ``a == 0`` and
    ``b >= 0`` (not ``0 * inf`` or ``0 * -inf``).
    """

    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        a, b = np.asarray(a, dtype=out.dtype), np.asarray(b, dtype=out.dtype)  # a number is 0-d
        na, nb = ctx.needs_input_grad
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if na:
                da = unbroadcast(grad * np.where(b == 0, 0, b * np.power(a, b - 1)), a.shape)
            if nb:
                db = unbroadcast(grad * np.where((a == 0) & (b >= 0), 0, out * np.log(a)), b.shape)
        return da, db


class NegFn(Function):
    """``out = -a``;  ``da = -g``."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class MatMulFn(Function):
    """``out = a @ b`` (1-D, 2-D or batched, as ``np.matmul``).

    ``da = g @ b^T``, ``db = a^T @ g`` (over the last two dims), summed over broadcast batch
    dims; a 1-D operand is treated as a row (``a``) or a column (``b``) and squeezed back.
    """

    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na else None)  # only what backward reads
        ctx.shapes = (a.shape, b.shape)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        a2_shape = (1,) + a_shape if len(a_shape) == 1 else a_shape
        b2_shape = b_shape + (1,) if len(b_shape) == 1 else b_shape
        g = grad[..., None] if len(b_shape) == 1 else grad
        g = g[..., None, :] if len(a_shape) == 1 else g
        na, nb = ctx.needs_input_grad
        da = db = None
        if na:
            da = unbroadcast(g @ np.swapaxes(b.reshape(b2_shape), -1, -2), a2_shape).reshape(a_shape)
        if nb:
            db = unbroadcast(np.swapaxes(a.reshape(a2_shape), -1, -2) @ g, b2_shape).reshape(b_shape)
        return da, db


class RemainderFn(Function):
    """``out = a - floor(a / b) * b`` (the sign of ``b``, Python's ``%``, as PyTorch);
    ``da = g``, ``db = -g * floor(a / b)``. ``FmodFn`` swaps floor for trunc."""

    mod, quotient = staticmethod(np.remainder), staticmethod(np.floor_divide)

    @classmethod
    def forward(cls, ctx, a, b):
        _check_integer_divisor(a, b)
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):  # a float % 0 is nan, as PyTorch
            return cls.mod(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            return (unbroadcast(grad, shape_of(a)) if na else None,
                    unbroadcast(-grad * ctx.quotient(a, b), shape_of(b)) if nb else None)


class FmodFn(RemainderFn):
    """``out = a - trunc(a / b) * b`` (C's ``fmod``: the sign of ``a``, where ``%`` takes the
    sign of ``b``);  ``da = g``, ``db = -g * trunc(a / b)``."""

    mod = staticmethod(np.fmod)
    quotient = staticmethod(lambda a, b: np.trunc(a / b))


class FloorDivideFn(Function):
    """``out = floor(a / b)``; not differentiable (PyTorch raises too: the gradient would be
    0 almost everywhere and undefined at the steps)."""

    @staticmethod
    def forward(ctx, a, b):
        _check_integer_divisor(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor_divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("the derivative for floor_divide (//) is not implemented")


def _check_integer_divisor(a, b) -> None:
    """Integer ``%`` and ``//`` by zero raise (NumPy would give 0 with a warning)."""
    b = np.asarray(b)
    if np.asarray(a).dtype.kind in "iub" and b.dtype.kind in "iub" and not b.all():
        raise ZeroDivisionError("integer division or modulo by zero")
