"""The linear op, ``y = x @ w.T + b``, on the backend's kernels (``ctx.backend``); the checks
before each call make sure a kernel only ever sees the shapes and dtypes its docstring promises."""

from __future__ import annotations

import math

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.checks import check_float, check_vector, contiguous


def _rows(a: np.ndarray, k: int) -> np.ndarray:
    """``a[..., k]`` as C-contiguous ``[N, k]`` rows, without a copy when it already is.
    (``N`` is computed, not ``-1``: NumPy can't infer it when ``k`` is 0.)"""
    if a.ndim == 2 and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a.reshape(math.prod(a.shape[:-1]), k))


class LinearFn(Function):
    """``y = x @ w.T + b`` for ``x[..., K], w[M, K], b[M] | None -> y[..., M]``.

    The leading dims of ``x`` are flattened into ``N`` rows for the kernel. With
    ``dy[N, M]``: ``dx = dy @ w``, ``dw = dy.T @ x``, ``db = dy.sum(0)``; only the gradients
    in ``ctx.needs_input_grad`` are computed.
    """

    uses_backend = True

    @staticmethod
    def forward(ctx, x, w, b):
        # NOTE: the common case (float arrays of one dtype object) in one test; anything
        # else takes the checks that word the error
        if not (type(x) is np.ndarray and type(w) is np.ndarray and x.dtype is w.dtype
                and x.dtype.kind == "f"):
            check_float("linear", "input", x)
            check_float("linear", "weight", w, x.dtype)
        if w.ndim != 2:
            raise ValueError(f"linear: weight must be 2-D [out_features, in_features], got {w.shape}")
        m, k = w.shape
        if x.ndim == 0 or x.shape[-1] != k:
            raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape "
                             f"{w.shape}: the input's last dim must be in_features={k}")
        if b is not None:
            check_vector("linear", "bias", b, m, x.dtype)
            b = contiguous(b)
        x2 = _rows(x, k)
        w = contiguous(w)
        ctx.save_for_backward(x2, w)
        ctx.x_shape = x.shape
        y = ctx.backend.linear_forward(x2, w, b)
        return y if x.ndim == 2 else y.reshape(x.shape[:-1] + (m,))

    @staticmethod
    def backward(ctx, grad):
        x2, w = ctx.saved_tensors
        need_dx, need_dw, need_db = ctx.needs_input_grad
        dx, dw, db = ctx.backend.linear_backward(_rows(grad, w.shape[0]), x2, w,
                                                 need_dx, need_dw, need_db)
        if dx is not None and dx.shape != ctx.x_shape:  # not a view when it need not be:
            dx = dx.reshape(ctx.x_shape)                 # a view's .grad is stored as a copy
        return dx, dw, db
