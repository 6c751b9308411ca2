"""Layer normalization, in NumPy (no C kernel; ``benchmarks/test_bench_layer_norm.py`` times it
against PyTorch)."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.nn import check_float


class LayerNorm(Function):
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
