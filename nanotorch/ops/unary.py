"""More elementwise math: sin, cos, tan and the other trigonometric and hyperbolic functions
and their inverses, log1p, expm1, exp2, erf, erfc, sinc, logit, nan_to_num, the step functions
(floor, ceil, round, trunc, sign) whose gradient is zero, and atan2 of two tensors."""

from __future__ import annotations

import math

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.broadcast import shape_of, unbroadcast


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
_erfc = np.frompyfunc(math.erfc, 1, 1)


def erf(a: np.ndarray) -> np.ndarray:
    """``erf`` elementwise, in ``a``'s dtype. NOTE: NumPy has no erf ufunc; ``math.erf`` is
    exact to double precision but runs at only about 2*10^6 elements a second (one Python
    call each; see the README)."""
    return np.asarray(_erf(a), dtype=a.dtype)


def erfc(a: np.ndarray) -> np.ndarray:
    """``erfc = 1 - erf`` elementwise, in ``a``'s dtype, from ``math.erfc`` (as ``erf``): exact
    where ``1 - erf(a)`` would round to 0 (``erfc(5)`` is ``1.5e-12``)."""
    return np.asarray(_erfc(a), dtype=a.dtype)


class StepFn(Function):
    """``out = fn(a)`` for a piecewise-constant ``fn`` (floor, ceil, round, trunc, sign);
    ``da = 0`` (as PyTorch; the jumps have no derivative)."""

    @staticmethod
    def forward(ctx, a, fn):
        return fn(a).astype(a.dtype, copy=False)  # integers stay integers

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad)


class _SlopeFn(Function):
    """Base of the one-input ops below: ``out = f(a)``;  ``da = g * slope(a)``, ``slope`` being
    the derivative ``f'``. NOTE: outside ``f``'s domain (``asin(2)``, ``atanh(1)``) the result
    is NaN or inf without NumPy's warning, as in PyTorch."""

    f = slope = None  # set by each subclass

    @classmethod
    def forward(cls, ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore", divide="ignore"):
            return cls.f(a)

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return grad * ctx.slope(ctx.saved_tensors[0])


def _erf_slope(a: np.ndarray) -> np.ndarray:
    """``erf'(a) = 2/sqrt(pi) * e^(-a^2)``."""
    return (2 / math.sqrt(math.pi)) * np.exp(-a * a)


class ErfFn(_SlopeFn):
    """``out = erf(a) = 2/sqrt(pi) * integral_0^a e^(-t^2) dt``;  ``da = g * 2/sqrt(pi) * e^(-a^2)``."""

    f = staticmethod(erf)
    slope = staticmethod(_erf_slope)


class ErfcFn(_SlopeFn):
    """``out = erfc(a) = 1 - erf(a)``;  ``da = -g * 2/sqrt(pi) * e^(-a^2)``."""

    f = staticmethod(erfc)
    slope = staticmethod(lambda a: -_erf_slope(a))


class TanFn(_SlopeFn):
    """``out = tan(a)``;  ``da = g * (1 + tan(a)^2)``."""

    f = staticmethod(np.tan)
    slope = staticmethod(lambda a: 1 + np.tan(a) ** 2)


class AsinFn(_SlopeFn):
    """``out = asin(a)`` for ``-1 <= a <= 1``;  ``da = g / sqrt(1 - a^2)``."""

    f = staticmethod(np.arcsin)
    slope = staticmethod(lambda a: 1 / np.sqrt(1 - a * a))


class AcosFn(_SlopeFn):
    """``out = acos(a)`` for ``-1 <= a <= 1``;  ``da = -g / sqrt(1 - a^2)``."""

    f = staticmethod(np.arccos)
    slope = staticmethod(lambda a: -1 / np.sqrt(1 - a * a))


class AtanFn(_SlopeFn):
    """``out = atan(a)``;  ``da = g / (1 + a^2)``."""

    f = staticmethod(np.arctan)
    slope = staticmethod(lambda a: 1 / (1 + a * a))


class SinhFn(_SlopeFn):
    """``out = sinh(a) = (e^a - e^-a) / 2``;  ``da = g * cosh(a)``."""

    f = staticmethod(np.sinh)
    slope = staticmethod(np.cosh)


class CoshFn(_SlopeFn):
    """``out = cosh(a) = (e^a + e^-a) / 2``;  ``da = g * sinh(a)``."""

    f = staticmethod(np.cosh)
    slope = staticmethod(np.sinh)


class AsinhFn(_SlopeFn):
    """``out = asinh(a) = ln(a + sqrt(a^2 + 1))``;  ``da = g / sqrt(a^2 + 1)``."""

    f = staticmethod(np.arcsinh)
    slope = staticmethod(lambda a: 1 / np.sqrt(a * a + 1))


class AcoshFn(_SlopeFn):
    """``out = acosh(a) = ln(a + sqrt(a^2 - 1))`` for ``a >= 1``;
    ``da = g / (sqrt(a - 1) sqrt(a + 1))`` (``= g / sqrt(a^2 - 1)``, without overflowing ``a^2``)."""

    f = staticmethod(np.arccosh)
    slope = staticmethod(lambda a: 1 / (np.sqrt(a - 1) * np.sqrt(a + 1)))


class AtanhFn(_SlopeFn):
    """``out = atanh(a) = ln((1 + a) / (1 - a)) / 2`` for ``-1 < a < 1``;  ``da = g / (1 - a^2)``."""

    f = staticmethod(np.arctanh)
    slope = staticmethod(lambda a: 1 / (1 - a * a))


class Exp2Fn(_SlopeFn):
    """``out = 2^a``;  ``da = g * 2^a * ln(2)``."""

    f = staticmethod(np.exp2)
    slope = staticmethod(lambda a: np.exp2(a) * math.log(2))


class SincFn(Function):
    """``out = sin(pi a) / (pi a)``, 1 at ``a = 0``;  ``da = g * (cos(pi a) - out) / a``, 0 at
    ``a = 0`` (where sinc is flat)."""

    @staticmethod
    def forward(ctx, a):
        with np.errstate(invalid="ignore", divide="ignore"):
            pia = a * a.dtype.type(math.pi)
            out = np.where(a == 0, a.dtype.type(1), np.sin(pia) / pia)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (np.cos(a * a.dtype.type(math.pi)) - out) / a
        return grad * np.where(a == 0, a.dtype.type(0), slope)


class LogitFn(Function):
    """``out = ln(z / (1 - z))`` with ``z = a`` clamped to ``[eps, 1 - eps]`` (no clamp when
    ``eps`` is None or negative). ``da = g / (a (1 - a))``; with a clamp, 0 outside the bounds;
    without one, NaN outside ``[0, 1]`` and ``g * inf`` at 0 and 1 (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, eps):
        clamp = eps is not None and eps >= 0
        z = np.clip(a, eps, 1 - eps) if clamp else a
        ctx.save_for_backward(a)
        ctx.bounds = (eps, 1 - eps) if clamp else None
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log(z / (1 - z))

    @staticmethod
    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        lo, hi = ctx.bounds or (0, 1)
        outside = (a < lo) | (a > hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            da = grad / (a * (1 - a))
            if ctx.bounds is None:
                da = np.where((a == 0) | (a == 1), grad * np.inf, da)
        return np.where(outside, da.dtype.type(0 if ctx.bounds else np.nan), da)


class NanToNumFn(Function):
    """``out = a`` with NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (the
    infinities by default by the dtype's largest and smallest finite value);
    ``da = g`` where ``a`` is finite, else 0."""

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        ctx.save_for_backward(a)
        return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        return np.where(np.isfinite(ctx.saved_tensors[0]), grad, grad.dtype.type(0))


class Atan2Fn(Function):
    """``out = atan2(a, b)``, the angle of the point ``(x=b, y=a)`` in ``(-pi, pi]``;
    ``da = g * b / (a^2 + b^2)``, ``db = -g * a / (a^2 + b^2)`` (NaN at ``a = b = 0``, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = grad / (a * a + b * b)
        return (unbroadcast(scale * b, shape_of(a)) if na else None,
                unbroadcast(-scale * a, shape_of(b)) if nb else None)
