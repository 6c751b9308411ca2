"""Layer ops: linear, batch norm, dropout and leaky ReLU.

Linear and batch norm run on the backend's kernels (``ctx.backend``); the checks before
each call make sure a kernel only ever sees the shapes and dtypes its docstring promises.
Convolution and pooling are in ``conv.py``, the losses in ``loss.py``.
"""

from __future__ import annotations

import math

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.random import default_generator


def contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous array: the same object when it already is one (0-d stays 0-d)."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def check_float(op: str, name: str, a, dtype: np.dtype | None = None) -> None:
    """Raise ``TypeError`` unless ``a`` is a float array (of exactly ``dtype`` when given)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(a).__name__}")
    if a.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating point tensor, got dtype {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{op}: {name} has dtype {a.dtype} but the input has dtype {dtype}; "
                        "convert one of them (e.g. model.double() or x.float())")


def check_vector(op: str, name: str, a, size: int, dtype: np.dtype) -> None:
    """Raise unless ``a`` is ``None`` or a ``[size]`` array of ``dtype`` (a per-feature vector)."""
    if a is None:
        return
    check_float(op, name, a, dtype)
    if a.shape != (size,):
        raise ValueError(f"{op}: {name} must have shape ({size},), got {a.shape}")


def _rows(a: np.ndarray, k: int) -> np.ndarray:
    """``a[..., k]`` as C-contiguous ``[N, k]`` rows, without a copy when it already is.
    (``N`` is computed, not ``-1``: NumPy can't infer it when ``k`` is 0.)"""
    if a.ndim == 2 and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a.reshape(math.prod(a.shape[:-1]), k))


class Linear(Function):
    """``y = x @ w.T + b`` for ``x[..., K], w[M, K], b[M] | None -> y[..., M]``.

    The leading dims of ``x`` are flattened into ``N`` rows for the kernel. With
    ``dy[N, M]``: ``dx = dy @ w``, ``dw = dy.T @ x``, ``db = dy.sum(0)``; only the gradients
    in ``ctx.needs_input_grad`` are computed.
    """

    @staticmethod
    def forward(ctx, x, w, b):
        check_float("linear", "input", x)
        check_float("linear", "weight", w, x.dtype)
        if w.ndim != 2:
            raise ValueError(f"linear: weight must be 2-D [out_features, in_features], got {w.shape}")
        m, k = w.shape
        if x.ndim == 0 or x.shape[-1] != k:
            raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape "
                             f"{w.shape}: the input's last dim must be in_features={k}")
        check_vector("linear", "bias", b, m, x.dtype)
        x2 = _rows(x, k)
        w = contiguous(w)
        ctx.save_for_backward(x2, w)
        ctx.x_shape = x.shape
        y = ctx.backend.linear_forward(x2, w, None if b is None else contiguous(b))
        return y if x.ndim == 2 else y.reshape(x.shape[:-1] + (m,))

    @staticmethod
    def backward(ctx, grad):
        x2, w = ctx.saved_tensors
        need_dx, need_dw, need_db = ctx.needs_input_grad
        dx, dw, db = ctx.backend.linear_backward(_rows(grad, w.shape[0]), x2, w,
                                                 need_dx, need_dw, need_db)
        if dx is not None and dx.shape != ctx.x_shape:  # NOTE: not a view when it need not be:
            dx = dx.reshape(ctx.x_shape)                 # a view's .grad is stored as a copy
        return dx, dw, db


class BatchNorm(Function):
    """Batch normalization of ``x[N, C], [N, C, L] or [N, C, H, W]`` per channel ``C``.

    ``y = (x - mean) * invstd * gamma + beta``, ``invstd = 1 / sqrt(var + eps)``. Training:
    ``mean``/``var`` are the batch's (biased variance) and the running stats, when given,
    move in place: ``r = (1 - momentum) * r + momentum * stat`` (unbiased variance).
    Eval: the running stats are used.
    Backward, with ``xhat = (x - mean) * invstd`` and ``M`` values per channel:
    ``dbeta = sum(dy)``, ``dgamma = sum(dy * xhat)``; training:
    ``dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma)``; eval: ``dx = dy * gamma * invstd``.
    """

    @staticmethod
    def forward(ctx, x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
        check_float("batch_norm", "input", x)
        if x.ndim not in (2, 3, 4):
            raise ValueError("batch_norm: expected input of shape [N, C], [N, C, L] or [N, C, H, W], "
                             f"got {x.shape}")
        c = x.shape[1]
        for name, v in (("weight", gamma), ("bias", beta),
                        ("running_mean", running_mean), ("running_var", running_var)):
            check_vector("batch_norm", name, v, c, x.dtype)
        if training and x.size and x.size // max(c, 1) == 1:
            raise ValueError("Expected more than 1 value per channel when training, "
                             f"got input size {x.shape}")
        if not training and (running_mean is None or running_var is None):
            raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
        # NOTE: the kernels take [N, C] or [N, C, H, W]; [N, C, L] is passed as [N, C, L, 1].
        x4 = contiguous(x[..., None] if x.ndim == 3 else x)
        ctx.training = training
        if x.size == 0:  # NOTE: an empty batch: an empty result, running stats untouched (PyTorch)
            ctx.save_for_backward(x4, gamma)
            return np.empty_like(x)
        y, mean, invstd = ctx.backend.batch_norm_forward(x4, gamma, beta, running_mean, running_var,
                                                         training, momentum, eps)
        ctx.save_for_backward(x4, gamma, mean, invstd)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        need_dx, need_dgamma, need_dbeta = ctx.needs_input_grad[:3]
        if grad.size == 0:  # the empty batch above: nothing to sum
            zeros = np.zeros(grad.shape[1], dtype=grad.dtype)
            return (np.zeros_like(grad) if need_dx else None, zeros if need_dgamma else None,
                    zeros.copy() if need_dbeta else None)
        x4, gamma, mean, invstd = ctx.saved_tensors
        dx, dgamma, dbeta = ctx.backend.batch_norm_backward(
            contiguous(grad.reshape(x4.shape)), x4, gamma, mean, invstd, ctx.training,
            need_dx, need_dgamma, need_dbeta)
        return (None if dx is None else dx.reshape(grad.shape)), dgamma, dbeta


class Dropout(Function):
    """``y = x * m / (1 - p)`` with ``m ~ Bernoulli(1 - p)`` per element (so ``E[y] = x``);
    ``dx = dy * m / (1 - p)``. The mask comes from the global generator."""

    @staticmethod
    def forward(ctx, x, p):
        check_float("dropout", "input", x)
        keep = default_generator().random(x.shape, dtype=np.float32) >= p
        # NOTE: p = 1 drops everything: the scale is then 0 rather than 1/0.
        scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
        mask = keep * x.dtype.type(scale)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class LeakyReLU(Function):
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
