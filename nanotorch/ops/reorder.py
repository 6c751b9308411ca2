"""Ops that move, repeat or mask elements: flip, roll, repeat, tril/triu, diagonal, diag_embed, pad. Each
backward moves the gradient back the opposite way (or sums the copies)."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function


class FlipFn(Function):
    """``out = a`` reversed along ``dims``;  ``da = g`` reversed along ``dims``."""

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.flip(a, dims).copy()  # PyTorch's flip copies

    @staticmethod
    def backward(ctx, grad):
        return np.flip(grad, ctx.dims)


class RollFn(Function):
    """``out = a`` shifted by ``shifts`` along ``dims`` (wrapping around; ``dims=None``: the
    flattened tensor);  ``da = g`` shifted back by ``-shifts``."""

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(a, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        back = -np.asarray(ctx.shifts)
        return np.roll(grad, back if back.ndim else int(back), ctx.dims)


class RepeatFn(Function):
    """``out = a`` tiled ``repeats[d]`` times along each dim ``d`` (``np.tile``; leading
    repeats add dims);  ``da`` = the sum of ``g`` over the copies."""

    @staticmethod
    def forward(ctx, a, repeats):
        if len(repeats) < a.ndim:
            raise ValueError(f"repeat: {len(repeats)} repeats for a tensor with {a.ndim} dims; "
                             "give at least one per dim")
        if min(repeats, default=1) < 0:
            raise ValueError(f"repeat: repeats must be >= 0, got {repeats}")
        ctx.shape = (1,) * (len(repeats) - a.ndim) + a.shape
        ctx.repeats, ctx.a_shape = repeats, a.shape
        return np.tile(a, repeats)

    @staticmethod
    def backward(ctx, grad):
        # out's dim d has size repeats[d] * shape[d]: split it in two and sum the copies.
        split = [n for pair in zip(ctx.repeats, ctx.shape) for n in pair]
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return summed.reshape(ctx.a_shape)


class TriangleFn(Function):
    """``out = a`` with the elements above (``tril``) or below (``triu``) the ``diagonal``-th
    diagonal of the last two dims set to 0;  ``da = g`` with the same elements set to 0."""

    @staticmethod
    def forward(ctx, a, diagonal=0, upper=False):
        if a.ndim < 2:
            raise ValueError(f"{'triu' if upper else 'tril'}: expected a tensor with at least 2 dims, "
                             f"got shape {a.shape}")
        rows, cols = np.indices(a.shape[-2:])
        keep = cols - rows >= diagonal if upper else cols - rows <= diagonal
        ctx.keep = keep
        return np.where(keep, a, np.zeros((), dtype=a.dtype))

    @staticmethod
    def backward(ctx, grad):
        return np.where(ctx.keep, grad, np.zeros((), dtype=grad.dtype))


class DiagonalFn(Function):
    """``out[..., i] = a[..., i, i + offset, ...]``: the ``offset``-th diagonal of the plane of
    dims ``dim1`` and ``dim2``, which are removed, the diagonal becoming the last dim (a view
    of ``a``);  ``da`` = zeros with ``g`` put on that diagonal."""

    is_view = True

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.shape, ctx.plane = a.shape, (offset, dim1, dim2)
        out = np.diagonal(a, offset, dim1, dim2)
        # NOTE: NumPy returns the view read-only; PyTorch's can be written, changing ``a``
        out.flags.writeable = a.flags.writeable
        return out

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        diagonal = np.diagonal(out, *ctx.plane)
        diagonal.flags.writeable = True
        diagonal[...] = grad
        return out


class DiagEmbedFn(Function):
    """The inverse of ``DiagonalFn``: ``out`` is zeros with ``a``'s last dim put on the
    ``offset``-th diagonal of the plane of the new dims ``dim1`` and ``dim2`` (each of size
    ``n + |offset|``);  ``da`` = that diagonal of ``g``."""

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        n = a.shape[-1] + abs(offset)
        out = np.zeros(a.shape[:-1] + (n, n), dtype=a.dtype)
        diagonal = np.diagonal(out, offset, -2, -1)
        diagonal.flags.writeable = True
        diagonal[...] = a
        ctx.plane = (offset, dim1, dim2)
        return np.moveaxis(out, (-2, -1), (dim1, dim2))

    @staticmethod
    def backward(ctx, grad):
        return np.diagonal(grad, *ctx.plane)


class PadFn(Function):
    """``out = a`` with ``value`` added around it: ``pad = (before, after)`` pairs for the last
    dims, last dim first (PyTorch's order); negative amounts crop;  ``da = g`` cut back."""

    @staticmethod
    def forward(ctx, a, pad, value=0.0):
        if len(pad) % 2 or len(pad) // 2 > a.ndim:
            raise ValueError(f"pad: expected an even number of amounts, at most 2 per dim of the "
                             f"input (shape {a.shape}), got {pad}")
        widths = [(0, 0)] * a.ndim
        for i in range(len(pad) // 2):
            widths[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(widths, a.shape))
        kept = a[crop]
        if 0 in kept.shape and a.size:
            raise ValueError(f"pad: amounts {pad} crop away the whole input of shape {a.shape}")
        ctx.crop, ctx.shape = crop, a.shape
        ctx.inner = tuple(slice(max(lo, 0), max(lo, 0) + n) for (lo, _), n in zip(widths, kept.shape))
        return np.pad(kept, [(max(lo, 0), max(hi, 0)) for lo, hi in widths], constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        out[ctx.crop] = grad[ctx.inner]
        return out
