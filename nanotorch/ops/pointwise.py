"""Elementwise functions of one tensor (and maximum, minimum, where, dropout)."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.broadcast import shape_of, unbroadcast
from nanotorch.ops.checks import check_float
from nanotorch.random import numpy_generator


class ExpFn(Function):
    """``out = e^a``;  ``da = g * out``."""

    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class LogFn(Function):
    """``out = ln a``;  ``da = g / a``."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        return grad / ctx.saved_tensors[0]


class SqrtFn(Function):
    """``out = sqrt(a)``;  ``da = g / (2 out)``."""

    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * ctx.saved_tensors[0])


def sign(a: np.ndarray) -> np.ndarray:
    """-1, 0 or 1 by the sign of each element, as PyTorch: 0 at NaN (NumPy's ``sign``
    gives NaN there), and a bool array as it is."""
    if a.dtype == np.bool_:
        return a.copy()
    out = np.sign(a)
    if out.dtype.kind == "f":
        out = np.where(out != out, out.dtype.type(0), out)
    return out


class AbsFn(Function):
    """``out = |a|``;  ``da = g * sign(a)`` (0 at 0 and at NaN, as PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        return grad * sign(ctx.saved_tensors[0])


class ReLUFn(Function):
    """``out = max(a, 0)``;  ``da = g * (out > 0)``. Runs on the backend's kernels."""

    uses_backend = True

    @staticmethod
    def forward(ctx, a):
        out = ctx.backend.relu_forward(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return ctx.backend.relu_backward(grad, ctx.saved_tensors[0])


def sigmoid(a: np.ndarray) -> np.ndarray:
    """``1 / (1 + e^-a)``. NOTE: e^-|a| never overflows; the two branches are the same function."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


class SigmoidFn(Function):
    """``out = 1 / (1 + e^-a)``;  ``da = g * out * (1 - out)``."""

    @staticmethod
    def forward(ctx, a):
        out = sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * out * (1 - out)


class TanhFn(Function):
    """``out = tanh(a)``;  ``da = g * (1 - out^2)``."""

    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * (1 - out * out)


class ClampFn(Function):
    """``out = min(max(a, lo), hi)`` for bounds that are numbers, arrays or ``None`` (so
    ``hi`` wins where ``lo > hi``, as PyTorch). ``da = g`` where ``lo <= a <= hi``;
    ``dlo = g`` where ``a < lo <= hi``; ``dhi = g`` where ``a > hi`` or ``hi < lo`` (each
    summed down to its input's shape)."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a, lo, hi)
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        a, lo, hi = ctx.saved_tensors
        keep = np.ones(np.broadcast_shapes(a.shape, shape_of(lo), shape_of(hi)), dtype=bool)
        below = above = None
        if lo is not None:
            keep &= a >= lo
            below = (a < lo) if hi is None else (a < lo) & (lo <= hi)
        if hi is not None:
            keep &= a <= hi
            above = (a > hi) if lo is None else (a > hi) | (hi < lo)
        need_a, need_lo, need_hi = ctx.needs_input_grad
        return (unbroadcast(grad * keep, a.shape) if need_a else None,
                unbroadcast(grad * below, lo.shape) if need_lo else None,
                unbroadcast(grad * above, hi.shape) if need_hi else None)


class ExtremumFn(Function):
    """Shared backward of maximum/minimum: the gradient goes to the input that won;
    NOTE: on a tie it is split in half between the two, and where either is NaN (the
    result is NaN) each gets all of it, as PyTorch does."""

    pick = None  # np.maximum or np.minimum

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.pick(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        win_a = (ctx.pick(a, b) == a).astype(grad.dtype)
        win_a -= 0.5 * (a == b)
        win_b = 1 - win_a
        nan = np.isnan(a) | np.isnan(b)
        if nan.any():
            win_a, win_b = np.where(nan, 1, win_a), np.where(nan, 1, win_b)
        na, nb = ctx.needs_input_grad
        return (unbroadcast(grad * win_a, shape_of(a)) if na else None,
                unbroadcast(grad * win_b, shape_of(b)) if nb else None)


class MaximumFn(ExtremumFn):
    """``out = max(a, b)`` elementwise."""

    pick = staticmethod(np.maximum)


class MinimumFn(ExtremumFn):
    """``out = min(a, b)`` elementwise."""

    pick = staticmethod(np.minimum)


class WhereFn(Function):
    """``out = a where cond else b``;  ``da = g * cond``, ``db = g * !cond``."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = (shape_of(a), shape_of(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        _, na, nb = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad.dtype)
        return (None,
                unbroadcast(np.where(cond, grad, zero), ctx.shapes[0]) if na else None,
                unbroadcast(np.where(cond, zero, grad), ctx.shapes[1]) if nb else None)


class CastFn(Function):
    """``out = a`` as another dtype;  ``da = g`` cast back."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype) if ctx.dtype.kind == "f" else None


class CloneFn(Function):
    """``out = copy of a``;  ``da = g``."""

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class DropoutFn(Function):
    """``y = x * m / (1 - p)`` with ``m ~ Bernoulli(1 - p)`` per element (so ``E[y] = x``);
    ``dx = dy * m / (1 - p)``. The mask comes from the global generator."""

    @staticmethod
    def forward(ctx, x, p):
        check_float("dropout", "input", x)
        keep = numpy_generator().random(x.shape, dtype=np.float32) >= p
        # NOTE: p = 1 drops everything: the scale is then 0 rather than 1/0.
        scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
        mask = keep * x.dtype.type(scale)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]
