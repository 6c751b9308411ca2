"""Normalization ops: batch norm (on the backend's kernels) and layer norm (in NumPy, no C
kernel; ``benchmarks/test_bench_layer_norm.py`` times it against PyTorch)."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.checks import check_float, check_vector, contiguous


class BatchNormFn(Function):
    """Batch normalization of ``x[N, C], [N, C, L] or [N, C, H, W]`` per channel ``C``.

    ``y = (x - mean) * invstd * gamma + beta``, ``invstd = 1 / sqrt(var + eps)``. Training:
    ``mean``/``var`` are the batch's (biased variance) and the running stats, when given,
    move in place: ``r = (1 - momentum) * r + momentum * stat`` (unbiased variance).
    Eval: the running stats are used.
    Backward, with ``xhat = (x - mean) * invstd`` and ``M`` values per channel:
    ``dbeta = sum(dy)``, ``dgamma = sum(dy * xhat)``; training:
    ``dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma)``; eval: ``dx = dy * gamma * invstd``.
    """

    uses_backend = True

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


class LayerNormFn(Function):
    """Normalize over the last ``k`` dims (``normalized_shape``) of ``x``:
    ``y = xhat * w + b``, ``xhat = (x - mean) * r``, ``r = 1 / sqrt(var + eps)`` (biased var).

    Backward, with ``M`` elements per normalized group and ``h = g * w``:
    ``dx = r * (h - mean(h) - xhat * mean(h * xhat))``, ``dw = sum(g * xhat)`` and
    ``db = sum(g)`` over the leading dims.
    """

    @staticmethod
    def forward(ctx, x, w, b, normalized_shape, eps=1e-5):
        check_float("layer_norm", "input", x)
        k = len(normalized_shape)
        if x.shape[x.ndim - k:] != tuple(normalized_shape) or x.ndim < k:
            raise ValueError(f"layer_norm: input of shape {x.shape} does not end with normalized_shape "
                             f"{tuple(normalized_shape)}")
        for name, v in (("weight", w), ("bias", b)):
            if v is not None and (v.shape != tuple(normalized_shape) or v.dtype != x.dtype):
                raise ValueError(f"layer_norm: {name} must have shape {tuple(normalized_shape)} and dtype "
                                 f"{x.dtype}, got {v.shape} {v.dtype}")
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        r = 1 / np.sqrt((centered * centered).mean(axis=axes, keepdims=True) + eps)
        xhat = centered * r
        ctx.save_for_backward(xhat, r, w)
        ctx.axes = axes
        y = xhat if w is None else xhat * w
        return y if b is None else y + b

    @staticmethod
    def backward(ctx, grad):
        xhat, r, w = ctx.saved_tensors
        axes = ctx.axes
        lead = tuple(range(grad.ndim - len(axes)))
        nx, nw, nb = ctx.needs_input_grad[:3]
        dx = None
        if nx:
            h = grad if w is None else grad * w
            dx = r * (h - h.mean(axis=axes, keepdims=True) - xhat * (h * xhat).mean(axis=axes, keepdims=True))
        dw = (grad * xhat).sum(axis=lead) if nw else None
        db = grad.sum(axis=lead) if nb else None
        return dx, dw, db
