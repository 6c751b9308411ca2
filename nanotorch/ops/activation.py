"""Activation functions beyond ReLU, sigmoid and tanh (``pointwise.py``): leaky ReLU, GELU, SiLU,
ELU (and SELU, CELU), softplus, hardtanh (and ReLU6), log-sigmoid, hard sigmoid, hard swish, PReLU."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.broadcast import unbroadcast
from nanotorch.ops.checks import check_float
from nanotorch.ops.pointwise import sigmoid


class LeakyReLUFn(Function):
    """``y = x if x > 0 else s * x``;  ``dx = dy if x > 0 else s * dy``.

    NOTE: at exactly 0 the gradient is ``s * dy``, as PyTorch.
    """

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        check_float("leaky_relu", "input", x)
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.slope = negative_slope
        return np.where(positive, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        return np.where(ctx.saved_tensors[0], grad, grad * ctx.slope)


class GELUFn(Function):
    """``y = x * Phi(x)``, ``Phi(x) = (1 + erf(x / sqrt 2)) / 2`` (the normal CDF);
    ``dx = g * (Phi(x) + x * phi(x))``, ``phi(x) = e^(-x^2/2) / sqrt(2 pi)``.
    ``approximate="tanh"``: ``Phi(x) ~ (1 + tanh(u)) / 2``, ``u = sqrt(2/pi) (x + 0.044715 x^3)``,
    and ``dx = g * ((1 + t) / 2 + x (1 - t^2) / 2 * du/dx)``, ``t = tanh(u)``.
    On the backend's kernels (``gelu_forward``/``gelu_backward``)."""

    uses_backend = True

    @staticmethod
    def forward(ctx, x, approximate="none"):
        check_float("gelu", "input", x)
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return ctx.backend.gelu_forward(x, approximate)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return ctx.backend.gelu_backward(grad, x, ctx.approximate)


class SiLUFn(Function):
    """``y = x * sigmoid(x)``;  ``dx = g * s * (1 + x * (1 - s))``, ``s = sigmoid(x)``."""

    @staticmethod
    def forward(ctx, x):
        check_float("silu", "input", x)
        s = sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return grad * s * (1 + x * (1 - s))


class ELUFn(Function):
    """``y = scale * x`` if ``x > 0``, else ``scale * alpha * (e^(k x) - 1)`` (``k = input_scale``);
    ``dx = g * scale`` if ``x > 0``, else ``g * scale * alpha * k * e^(k x)``.

    ELU is ``scale = k = 1``; SELU sets ``alpha`` and ``scale`` to its constants; CELU is
    ``k = 1 / alpha``.
    """

    @staticmethod
    def forward(ctx, x, alpha=1.0, scale=1.0, input_scale=1.0):
        check_float("elu", "input", x)
        ctx.save_for_backward(x)
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        negative = np.expm1(np.minimum(x, 0) * input_scale) * (alpha * scale)
        return np.where(x > 0, x * scale, negative).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        k = ctx.input_scale
        negative = grad * (ctx.scale * ctx.alpha * k) * np.exp(np.minimum(x, 0) * k)
        return np.where(x > 0, grad * ctx.scale, negative)


class SoftplusFn(Function):
    """``y = log(1 + e^(beta x)) / beta``, and ``y = x`` where ``beta x > threshold``;
    ``dx = g * sigmoid(beta x)`` (``g`` past the threshold). NOTE: computed as
    ``max(z, 0) + log1p(e^-|z|)``, which never overflows."""

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        check_float("softplus", "input", x)
        z = x * beta
        ctx.save_for_backward(z)
        ctx.threshold = threshold
        soft = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta
        return np.where(z > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return np.where(z > ctx.threshold, grad, grad * sigmoid(z))


class HardtanhFn(Function):
    """``y = min(max(x, lo), hi)``;  ``dx = g`` where ``lo < x < hi``, else 0 (ReLU6: 0 and 6)."""

    @staticmethod
    def forward(ctx, x, lo=-1.0, hi=1.0):
        check_float("hardtanh", "input", x)
        if lo > hi:
            raise ValueError(f"hardtanh: min_val {lo} must not be greater than max_val {hi}")
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where((x > ctx.lo) & (x < ctx.hi), grad, np.zeros((), dtype=grad.dtype))


class LogSigmoidFn(Function):
    """``y = log sigmoid(x) = min(x, 0) - log1p(e^-|x|)`` (never overflows);
    ``dx = g * (1 - sigmoid(x))``."""

    @staticmethod
    def forward(ctx, x):
        check_float("logsigmoid", "input", x)
        ctx.save_for_backward(x)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, grad):
        return grad * sigmoid(-ctx.saved_tensors[0])


class HardsigmoidFn(Function):
    """``y = min(max(x + 3, 0), 6) / 6``;  ``dx = g / 6`` where ``-3 < x < 3``, else 0 (also at NaN)."""

    @staticmethod
    def forward(ctx, x):
        check_float("hardsigmoid", "input", x)
        ctx.save_for_backward(x)
        return np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where((x > -3) & (x < 3), grad / 6, np.zeros((), dtype=grad.dtype))


class HardswishFn(Function):
    """``y = x * min(max(x + 3, 0), 6) / 6``;  ``dx = 0`` where ``x <= -3``, ``g`` where ``x >= 3``,
    else ``g * (x / 3 + 1/2)``. NOTE: written out, not as ``x * hardsigmoid(x)``, whose product
    rule gives NaN at +-inf (``inf * 0``); PyTorch gives ``g`` and 0 there."""

    @staticmethod
    def forward(ctx, x):
        check_float("hardswish", "input", x)
        ctx.save_for_backward(x)
        return x * np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        inner = np.where(x >= 3, grad, grad * (x / 3 + 0.5))
        return np.where(x <= -3, np.zeros((), dtype=grad.dtype), inner)


class PReLUFn(Function):
    """``y = x if x > 0 else w * x``, ``w`` broadcast against ``x`` (one slope, or one per channel);
    ``dx = g if x > 0 else w * g``;  ``dw = 0 if x > 0 else x * g``, summed over the broadcast dims.
    NOTE: its own op, not ``where(x > 0, x, w * x)``: that one's ``dw`` is ``x * 0 = NaN`` at ``x = inf``."""

    @staticmethod
    def forward(ctx, x, w):
        positive = x > 0
        ctx.save_for_backward(x, w, positive)
        return np.where(positive, x, w * x)

    @staticmethod
    def backward(ctx, grad):
        x, w, positive = ctx.saved_tensors
        needs_x, needs_w = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad.dtype)
        return (np.where(positive, grad, w * grad) if needs_x else None,
                unbroadcast(np.where(positive, zero, x * grad), w.shape) if needs_w else None)
