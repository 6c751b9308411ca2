"""Reductions, cumulative sums (cumsum, logcumsumexp) and the softmax family. ``dim`` is NumPy's
``axis`` (None = every dim)."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.sorting import median_index


def _expand_back(grad: np.ndarray, shape: tuple, dim, keepdim: bool) -> np.ndarray:
    """Re-insert the reduced dims of ``grad`` so it broadcasts against the input ``shape``."""
    if dim is None:
        return grad.reshape((1,) * len(shape))
    if not keepdim:
        grad = np.expand_dims(grad, dim)
    return grad


def _spread_back(grad: np.ndarray, shape: tuple, dim, keepdim: bool) -> np.ndarray:
    """``grad`` copied over the reduced dims into a new array of the input ``shape``."""
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = _expand_back(grad, shape, dim, keepdim)
    return out


def _count(shape: tuple, dim) -> int:
    if dim is None:
        return int(np.prod(shape))
    dims = (dim,) if isinstance(dim, int) else dim
    return int(np.prod([shape[d] for d in dims]))


class SumFn(Function):
    """``out = sum(a, dim)``;  ``da = g`` broadcast back over the summed dims."""

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        ctx.shape, ctx.dim, ctx.keepdim = a.shape, dim, keepdim
        return a.sum(axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _spread_back(grad, ctx.shape, ctx.dim, ctx.keepdim)


class MeanFn(Function):
    """``out = sum(a, dim) / n``;  ``da = g / n`` broadcast back."""

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        ctx.shape, ctx.dim, ctx.keepdim = a.shape, dim, keepdim
        return a.mean(axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _spread_back(grad / _count(ctx.shape, ctx.dim), ctx.shape, ctx.dim, ctx.keepdim)


class VarFn(Function):
    """``out = sum((a - mean)^2) / (n - ddof)`` (``ddof=1``: unbiased, PyTorch's default);
    ``da = g * 2 (a - mean) / (n - ddof)``."""

    @staticmethod
    def forward(ctx, a, dim=None, ddof=1, keepdim=False):
        ctx.save_for_backward(a)
        ctx.dim, ctx.ddof, ctx.keepdim = dim, ddof, keepdim
        return a.var(axis=dim, ddof=ddof, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        g = _expand_back(grad, a.shape, ctx.dim, ctx.keepdim)
        centered = a - a.mean(axis=ctx.dim, keepdims=True)
        # NOTE: with n - ddof <= 0 the forward is inf or nan (NumPy warns), and so is the
        # gradient (2 / 0 = inf), as in PyTorch, instead of a ZeroDivisionError.
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.float64(2) / max(_count(a.shape, ctx.dim) - ctx.ddof, 0)
            return (g * centered * scale).astype(grad.dtype, copy=False)


class StdFn(VarFn):
    """``out = sqrt(var(a))``;  ``da = dvar(g / (2 out))``, VarFn's gradient of ``g / (2 out)``.

    NOTE: the gradient is 0 where ``out == 0`` (a constant slice), as in PyTorch, not ``0/0``.
    """

    @staticmethod
    def forward(ctx, a, dim=None, ddof=1, keepdim=False):
        out = np.sqrt(VarFn.forward(ctx, a, dim, ddof, keepdim))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved_tensors[1]
        return VarFn.backward(ctx, np.divide(grad, 2 * out, out=np.zeros_like(grad), where=out != 0))


class _ExtremeFn(Function):
    """Shared by MaxFn, MinFn and MedianFn over all elements: ``da = g`` at the element picked.

    NOTE: the gradient is shared evenly among tied elements, as PyTorch's ``max()``; when
    the result is NaN, among the NaN elements (``a == nan`` is never true).
    (``max(dim)`` gathers the values at ``argmax``: ``TakeAlongDimFn`` in ``shape.py``.)
    """

    reduce = None

    @classmethod
    def forward(cls, ctx, a):
        if a.size == 0:
            raise RuntimeError(f"{cls.__name__.removesuffix('Fn').lower()}() of an empty tensor")
        ctx.save_for_backward(a)
        return cls.reduce(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        out = ctx.reduce(a)
        hit = np.isnan(a) if out != out else a == out
        return grad * hit / hit.sum(dtype=grad.dtype)


class MaxFn(_ExtremeFn):
    """``out = max(a)``."""

    reduce = staticmethod(np.max)


class MinFn(_ExtremeFn):
    """``out = min(a)``."""

    reduce = staticmethod(np.min)


class MedianFn(_ExtremeFn):
    """``out = the lower median of a`` (element ``(n - 1) // 2`` of the sorted values; NaN if any is)."""

    reduce = staticmethod(lambda a: a.reshape(-1)[median_index(a.reshape(-1), 0)[0]])


def _logsumexp(a: np.ndarray, dim, keepdims: bool = True) -> np.ndarray:
    """``log(sum(exp(a)))``, NOTE: computed as ``m + log(sum(exp(a - m)))`` with ``m`` the
    max, so no exp overflows (logits of 1e4 are fine); rows of all ``-inf``, and empty rows,
    give ``-inf``."""
    m = np.max(a, axis=dim, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the answer for those rows
        out = m + np.log(np.exp(a - m).sum(axis=dim, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=dim)


class LogSumExpFn(Function):
    """``out = log(sum(exp(a), dim))``;  ``da = g * exp(a - out)`` (the softmax)."""

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        out = _logsumexp(a, dim)
        ctx.save_for_backward(a, out)
        ctx.dim, ctx.keepdim = dim, keepdim
        return out if keepdim else np.squeeze(out, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return _expand_back(grad, a.shape, ctx.dim, ctx.keepdim) * np.exp(a - out)


class SoftmaxFn(Function):
    """``out = exp(a - logsumexp(a))`` along ``dim``;  ``da = out * (g - sum(g * out))``."""

    @staticmethod
    def forward(ctx, a, dim=-1):
        e = np.exp(a - a.max(axis=dim, keepdims=True))
        out = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(axis=ctx.dim, keepdims=True))


class LogSoftmaxFn(Function):
    """``out = a - logsumexp(a)`` along ``dim``;  ``da = g - exp(out) * sum(g)``."""

    @staticmethod
    def forward(ctx, a, dim=-1):
        out = a - _logsumexp(a, dim)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - np.exp(out) * grad.sum(axis=ctx.dim, keepdims=True)


class CumSumFn(Function):
    """``out[i] = sum_{j<=i} a[j]`` along ``dim``;  ``da[j] = sum_{i>=j} g[i]`` (a reversed cumsum)."""

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        return np.cumsum(a, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return np.flip(np.cumsum(np.flip(grad, ctx.dim), axis=ctx.dim), ctx.dim)


def _reversed_logcumsumexp(a: np.ndarray, dim: int) -> np.ndarray:
    """``out[j] = ln(sum_{i>=j} e^a[i])`` along ``dim``, a running ``logaddexp`` from the end."""
    return np.flip(np.logaddexp.accumulate(np.flip(a, dim), axis=dim), dim)


class LogCumSumExpFn(Function):
    """``out[i] = ln(sum_{j<=i} e^a[j])`` along ``dim``, a running ``logaddexp`` (no overflow).

    ``da[j] = sum_{i>=j} g[i] e^(a[j] - out[i])``. NOTE: kept in log space, with the positive
    and negative parts of ``g`` apart: ``da[j] = e^(a[j] + L+[j]) - e^(a[j] + L-[j])`` with
    ``L+-[j] = ln(sum_{i>=j} g+-[i] e^-out[i])`` (``g+ = max(g, 0)``, ``g- = max(-g, 0)``).
    """

    @staticmethod
    def forward(ctx, a, dim):
        out = np.logaddexp.accumulate(a, axis=dim)
        ctx.save_for_backward(a, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            parts = [np.exp(a + _reversed_logcumsumexp(np.log(g) - out, ctx.dim))
                     for g in (np.maximum(grad, 0), np.maximum(-grad, 0))]
        return parts[0] - parts[1]


class ProdFn(Function):
    """``out = prod(a, dim)``;  ``da_j = g * prod_{i != j} a_i``, the products of the elements
    before and after ``j`` (NOTE: exclusive cumulative products, so a zero is no 0/0)."""

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        ctx.save_for_backward(a)
        ctx.dim, ctx.keepdim = dim, keepdim
        return np.prod(a, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if a.size == 0:
            return np.zeros_like(a)
        g = _expand_back(grad, a.shape, ctx.dim, ctx.keepdim)
        flat = a.reshape(-1) if ctx.dim is None else a
        axis = 0 if ctx.dim is None else ctx.dim
        ones = np.ones_like(np.take(flat, [0], axis=axis))
        before = np.cumprod(np.concatenate([ones, np.delete(flat, -1, axis=axis)], axis=axis), axis=axis)
        after = np.flip(np.cumprod(np.concatenate([ones, np.delete(np.flip(flat, axis), -1, axis=axis)],
                                                  axis=axis), axis=axis), axis)
        return g * (before * after).reshape(a.shape)


class NormFn(Function):
    """The vector ``p``-norm over ``dim``: ``out = (sum |a|^p)^(1/p)``; ``p = inf``: max |a|,
    ``-inf``: min |a|, ``0``: the count of non-zeros.

    ``da = g sign(a) |a|^(p-1) / out^(p-1)`` (``p = 2``: ``g a / out``; ``p = 1``:
    ``g sign(a)``), 0 at ``a == 0`` and where ``out`` is 0 (a zero vector's norm has no
    slope; PyTorch picks 0); for ``p = +-inf``, ``g sign(a)`` shared evenly among the
    elements that reach the extreme; for ``p = 0``, 0.
    """

    @staticmethod
    def forward(ctx, a, p=2.0, dim=None, keepdim=False):
        absolute = np.abs(a)
        if p == np.inf:
            out = np.max(absolute, axis=dim, keepdims=True, initial=0.0)  # 0 when empty
        elif p == -np.inf:
            if a.size == 0:
                raise RuntimeError("norm(p=-inf) of an empty tensor")
            out = np.min(absolute, axis=dim, keepdims=True)
        elif p == 0:
            out = (a != 0).sum(axis=dim, keepdims=True).astype(a.dtype)
        elif p == 1:
            out = absolute.sum(axis=dim, keepdims=True)
        elif p == 2:
            out = np.sqrt((a * a).sum(axis=dim, keepdims=True))
        else:
            out = (absolute ** p).sum(axis=dim, keepdims=True) ** (1 / p)
        ctx.save_for_backward(a, out)
        ctx.p, ctx.dim, ctx.keepdim = p, dim, keepdim
        return out if keepdim else (out.reshape(()) if dim is None else np.squeeze(out, axis=dim))

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        p = ctx.p
        g = _expand_back(grad, a.shape, ctx.dim, ctx.keepdim)
        if p == 0:
            return np.zeros_like(a)
        sign = np.sign(a)
        if p == np.inf or p == -np.inf:
            hit = (np.abs(a) == out).astype(a.dtype)
            return g * sign * hit / np.maximum(hit.sum(axis=ctx.dim, keepdims=True), 1)
        if p == 1:
            return g * sign
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                scale = a / out
            else:  # sign(a) |a|^(p-1), 0 at a == 0 (where |a|^(p-1) may be inf)
                scale = np.where(a == 0, 0, sign * np.abs(a) ** (p - 1)) / out ** (p - 1)
        return g * np.where(out == 0, 0, scale).astype(a.dtype, copy=False)


class AMaxFn(Function):
    """``out = max(a, dim)`` (``dim`` an int, a tuple or None);  ``da = g`` at the maxima.

    NOTE: the gradient is shared evenly among tied elements of a slice, as PyTorch's ``amax``
    (``max(dim)`` instead gives it all to the one ``argmax`` picks). ``reduce``: np.max or np.min.
    """

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, reduce=np.max):
        dims = range(a.ndim) if dim is None else (dim,) if isinstance(dim, int) else dim
        empty = [d % a.ndim for d in dims if a.shape[d] == 0] if a.ndim else []
        if empty:  # the max of no elements (other dims may be empty: then so is the result)
            raise RuntimeError(f"{reduce.__name__}: expected reduction dim {empty[0]} to have "
                               f"non-zero size (shape {a.shape})")
        out = reduce(a, axis=dim, keepdims=True)
        ctx.save_for_backward(a, out)
        ctx.dim, ctx.keepdim = dim, keepdim
        return out if keepdim else np.squeeze(out, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        hit = (a == out).astype(grad.dtype)
        return _expand_back(grad, a.shape, ctx.dim, ctx.keepdim) * hit / hit.sum(axis=ctx.dim, keepdims=True)
