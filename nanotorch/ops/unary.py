"""More elementwise math of one tensor: sin, cos, log1p, expm1, erf, and the step functions
(floor, ceil, round, trunc, sign) whose gradient is zero."""

from __future__ import annotations

import math

import numpy as np

from nanotorch.autograd.function import Function


class SinFn(Function):
    """``out = sin(a)``;  ``da = g * cos(a)``."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, grad):
        return grad * np.cos(ctx.saved_tensors[0])


class CosFn(Function):
    """``out = cos(a)``;  ``da = -g * sin(a)``."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, grad):
        return -grad * np.sin(ctx.saved_tensors[0])


class Log1pFn(Function):
    """``out = ln(1 + a)`` (accurate for small ``a``);  ``da = g / (1 + a)``."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log1p(a)

    @staticmethod
    def backward(ctx, grad):
        return grad / (1 + ctx.saved_tensors[0])


class Expm1Fn(Function):
    """``out = e^a - 1`` (accurate for small ``a``);  ``da = g * (out + 1)``."""

    @staticmethod
    def forward(ctx, a):
        out = np.expm1(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * (ctx.saved_tensors[0] + 1)


_erf = np.frompyfunc(math.erf, 1, 1)


def erf(a: np.ndarray) -> np.ndarray:
    """``erf`` elementwise, in ``a``'s dtype. NOTE: NumPy has no erf ufunc; ``math.erf`` is
    exact to double precision but runs at only about 2*10^6 elements a second (one Python
    call each; see the README)."""
    return np.asarray(_erf(a), dtype=a.dtype)


class ErfFn(Function):
    """``out = erf(a) = 2/sqrt(pi) * integral_0^a e^(-t^2) dt``;  ``da = g * 2/sqrt(pi) * e^(-a^2)``."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return erf(a)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad * (2 / math.sqrt(math.pi)) * np.exp(-a * a)


class StepFn(Function):
    """``out = fn(a)`` for a piecewise-constant ``fn`` (floor, ceil, round, trunc, sign);
    ``da = 0`` (as PyTorch; the jumps have no derivative)."""

    @staticmethod
    def forward(ctx, a, fn):
        return fn(a).astype(a.dtype, copy=False)  # integers stay integers

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad)
