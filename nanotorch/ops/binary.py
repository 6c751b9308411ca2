"""Elementwise math of two tensors beyond arithmetic: logaddexp, hypot, xlogy, copysign,
fmax/fmin (maximum and minimum that skip NaN), and lerp (two tensors and a weight). Inputs
broadcast; each gradient is summed back down to its input's shape (``unbroadcast``)."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.broadcast import shape_of, unbroadcast
from nanotorch.ops.pointwise import ExtremumFn, sigmoid


def _grads(ctx, *grads) -> tuple:
    """The gradient of each input (a function computing it), summed to the input's shape, or
    None where none is needed; ``ctx.saved_tensors`` starts with the inputs."""
    return tuple(unbroadcast(grad(), shape_of(x)) if needed else None
                 for grad, x, needed in zip(grads, ctx.saved_tensors, ctx.needs_input_grad))


class LogAddExpFn(Function):
    """``out = ln(e^a + e^b)``, computed as ``max(a, b) + ln(1 + e^-|a - b|)`` so nothing
    overflows (and ``a`` itself where ``a = b = +-inf``);
    ``da = g * sigmoid(a - b)``, ``db = g * sigmoid(b - a)``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(invalid="ignore"):
            out = np.maximum(a, b) + np.log1p(np.exp(-np.abs(a - b)))
        return np.where(np.isinf(a) & (a == b), a, out)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        with np.errstate(invalid="ignore"):
            return _grads(ctx, lambda: grad * sigmoid(a - b), lambda: grad * sigmoid(b - a))


class HypotFn(Function):
    """``out = sqrt(a^2 + b^2)`` (without overflow);  ``da = g * a / out``, ``db = g * b / out``
    (NaN at ``a = b = 0``, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        with np.errstate(invalid="ignore", divide="ignore"):
            return _grads(ctx, lambda: grad * a / out, lambda: grad * b / out)


class XLogYFn(Function):
    """``out = a * ln(b)``, but 0 where ``a = 0`` (unless ``b`` is NaN);
    ``da = g * ln(b)`` (0 where ``g = 0``, or where ``a = 0`` and ``b <= 0``), ``db = g * a / b``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _xlogy(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        with np.errstate(invalid="ignore", divide="ignore"):
            return _grads(ctx, lambda: np.where((a == 0) & (b <= 0), grad.dtype.type(0), _xlogy(grad, b)),
                          lambda: grad * a / b)


def _xlogy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a * ln(b)``, 0 where ``a = 0`` and ``b`` is not NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        product = a * np.log(b)
    return np.where((a == 0) & ~np.isnan(b), product.dtype.type(0), product)


class CopySignFn(Function):
    """``out = |a|`` with the sign of ``b`` (-0 counts as negative);
    ``da = g * out / a`` (0 where ``a = 0``), ``db = 0``."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.copysign(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(a == 0, out.dtype.type(0), out / a)
        return _grads(ctx, lambda: grad * ratio, lambda: np.zeros_like(grad))


class _NanSkippingFn(ExtremumFn):
    """Shared by fmax/fmin: ``out = pick(a, b)`` (maximum/minimum's forward), where a NaN
    loses to a number (NaN only when both are NaN). ``da = g`` where ``a`` won: ``a`` is at
    least as good as ``b`` (ties go to ``a``) or ``b`` is NaN; ``db = g`` elsewhere (as PyTorch)."""

    better_or_equal = None  # np.greater_equal or np.less_equal (pick: np.fmax or np.fmin)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        with np.errstate(invalid="ignore"):
            a_won = ctx.better_or_equal(a, b) | np.isnan(b)
        zero = grad.dtype.type(0)
        return _grads(ctx, lambda: np.where(a_won, grad, zero), lambda: np.where(a_won, zero, grad))


class FmaxFn(_NanSkippingFn):
    """``out = max(a, b)`` elementwise, skipping NaN (``fmax(nan, 1) = 1``)."""

    pick = staticmethod(np.fmax)
    better_or_equal = staticmethod(np.greater_equal)


class FminFn(_NanSkippingFn):
    """``out = min(a, b)`` elementwise, skipping NaN (``fmin(nan, 1) = 1``)."""

    pick = staticmethod(np.fmin)
    better_or_equal = staticmethod(np.less_equal)


class LerpFn(Function):
    """``out = a + w (b - a)``, computed as ``b - (b - a)(1 - w)`` where ``|w| >= 0.5`` (exact
    at ``w = 1``, as PyTorch); ``da = g (1 - w)``, ``db = g w``, ``dw = g (b - a)``."""

    @staticmethod
    def forward(ctx, a, b, w):
        ctx.save_for_backward(a, b, w)
        diff = b - a
        with np.errstate(invalid="ignore"):
            return np.where(np.abs(w) < 0.5, a + w * diff, b - diff * (1 - w))

    @staticmethod
    def backward(ctx, grad):
        a, b, w = ctx.saved_tensors
        with np.errstate(invalid="ignore"):
            return _grads(ctx, lambda: grad * (1 - w), lambda: grad * w, lambda: grad * (b - a))
