"""Ops along one dim that depend on the order of its elements: the sort order (``sort``,
``argsort``, ``topk``, ``median`` and ``quantile`` gather the values at it with ``GatherFn``,
so the gradient goes back to the elements picked), the running extremes of ``cummax`` and
``cummin`` (gathered the same way) and the cumulative product ``cumprod``."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function


def sort_order(a: np.ndarray, dim: int, descending: bool = False) -> np.ndarray:
    """The int64 indices that sort ``a`` along ``dim``, as PyTorch orders them: stable (equal
    elements keep their order) and NaN counted as the largest value (last, or first when
    ``descending``).

    Descending: sort the reversed slice ascending, then reverse the result; equal elements,
    reversed twice, are back in their first order. Negating ``a`` would break on bools and
    unsigned integers.
    """
    if not descending:
        return np.argsort(a, axis=dim, kind="stable").astype(np.int64, copy=False)
    reversed_order = np.argsort(np.flip(a, dim), axis=dim, kind="stable")
    return (a.shape[dim] - 1 - np.flip(reversed_order, dim)).astype(np.int64, copy=False)


def median_index(a: np.ndarray, dim: int) -> np.ndarray:
    """Where the lower median of each slice along ``dim`` is (``a``'s shape, size 1 at ``dim``):
    element ``(n - 1) // 2`` of the sort order, or the first NaN of a slice that has one (the
    median of such a slice is NaN, as PyTorch's)."""
    order = sort_order(a, dim)
    middle = np.take(order, [(a.shape[dim] - 1) // 2], axis=dim)
    nan = a != a
    first_nan = np.argmax(nan, axis=dim, keepdims=True)
    return np.where(nan.any(axis=dim, keepdims=True), first_nan, middle)


def running_extreme_index(a: np.ndarray, dim: int, better) -> np.ndarray:
    """For each position along ``dim``, where the best value so far is (``better``: ``np.fmax``
    for cummax, ``np.fmin`` for cummin): the latest position holding the running best (a tie
    moves it on, as PyTorch), and once a NaN is met the latest NaN (NaN beats every number).

    Vectorized: a position is a candidate where it holds the running best or a NaN; the running
    maximum of the candidates' positions is the answer."""
    nan = a != a
    with np.errstate(invalid="ignore"):
        best = better.accumulate(a, axis=dim)
    positions = np.arange(a.shape[dim]).reshape((-1,) + (1,) * (a.ndim - dim - 1))
    candidate = np.where((a == best) | nan, positions, 0)
    latest_nan = np.maximum.accumulate(np.where(nan, positions, -1), axis=dim)
    return np.where(latest_nan >= 0, latest_nan, np.maximum.accumulate(candidate, axis=dim))


class CumProdFn(Function):
    """``out[i] = prod_{j<=i} a[j]`` along ``dim``.

    ``da[k] = before[k] * h[k]`` with ``before[k] = prod_{j<k} a[j]`` and
    ``h[k] = sum_{i>=k} g[i] prod_{k<j<=i} a[j]``, found from the end by ``h[k] = g[k] +
    a[k+1] h[k+1]``. NOTE: no division by ``a``, so zeros get their exact gradient (the
    shortcut ``sum_{i>=k} g[i] out[i] / a[k]`` is 0/0 there).
    """

    @staticmethod
    def forward(ctx, a, dim):
        ctx.save_for_backward(a)
        ctx.dim = dim
        return np.cumprod(a, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if a.shape[ctx.dim] == 0:
            return grad
        x, g = np.moveaxis(a, ctx.dim, 0), np.moveaxis(grad, ctx.dim, 0)  # the dim first
        before = np.cumprod(np.concatenate([np.ones_like(x[:1]), x[:-1]]), axis=0)
        h = np.empty_like(g)
        h[-1] = g[-1]
        for k in range(len(x) - 2, -1, -1):
            h[k] = g[k] + x[k + 1] * h[k + 1]
        return np.moveaxis(before * h, 0, ctx.dim)
