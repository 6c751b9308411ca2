"""Ops that pick or place elements by an index tensor: gather, scatter, scatter_reduce (and
scatter_add), index_select (and embedding), index_add/index_copy, masked_fill (and the mask
check that masked_fill_ and masked_select share). Every index is checked against the sizes
before NumPy sees it, so a bad index is an ``IndexError`` naming the op, never a wrong answer.
Scatter-style gradients add up repeated positions with ``np.add.at``."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function


def check_index(op: str, index, size: int, wrap: bool = False) -> np.ndarray:
    """``index`` as an int64 array with every value in ``[0, size)``; with ``wrap``, values in
    ``[-size, 0)`` count from the end (``take``, ``put``, ``index_fill`` ...)."""
    if not isinstance(index, np.ndarray) or index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got "
                        f"{getattr(index, 'dtype', type(index).__name__)}")
    index = index.astype(np.int64, copy=False)
    low = -size if wrap else 0
    if index.size and (index.min() < low or index.max() >= size):
        bad = index[(index < low) | (index >= size)][0]
        raise IndexError(f"{op}: index {bad} is out of bounds for size {size}")
    return index % max(size, 1) if wrap else index


def _positions(op: str, shape: tuple, dim: int, index) -> tuple:
    """The full index tuple of ``gather``/``scatter``: ``pos[d] = i_d`` for ``d != dim`` and
    ``index[i]`` at ``dim``, for every position ``i`` of ``index`` (PyTorch's rule; ``index``
    has ``shape``'s number of dims and no larger sizes outside ``dim``)."""
    if not -len(shape) <= dim < max(len(shape), 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape {shape}")
    dim %= max(len(shape), 1)
    if np.ndim(index) != len(shape) or any(i > s for d, (i, s) in enumerate(zip(np.shape(index), shape))
                                            if d != dim):
        raise ValueError(f"{op}: index of shape {np.shape(index)} does not fit a tensor of shape {shape}: "
                         f"it needs {len(shape)} dims, each no larger than the tensor's outside dim {dim}")
    index = check_index(op, index, shape[dim] if shape else 1)
    pos = list(np.indices(index.shape, sparse=True))
    pos[dim] = index
    return tuple(pos)


class GatherFn(Function):
    """``out[i] = a[i with i_dim replaced by index[i]]``;  ``da`` = ``g`` added back at those places."""

    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.pos, ctx.shape = _positions("gather", a.shape, dim, index), a.shape
        return a[ctx.pos]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        np.add.at(out, ctx.pos, grad)
        return out


def _source(src, index_shape: tuple, dtype) -> np.ndarray:
    """The part of ``src`` (a tensor at least ``index``'s size, or a number) that is placed."""
    if not isinstance(src, np.ndarray):
        return np.full(index_shape, src, dtype=dtype)
    if src.ndim != len(index_shape) or any(i > s for i, s in zip(index_shape, src.shape)):
        raise ValueError(f"scatter: src of shape {src.shape} is smaller than index {index_shape}")
    return src[tuple(slice(0, n) for n in index_shape)]


class ScatterFn(Function):
    """``out = a`` with ``out[pos(i)] = src[i]`` (``pos``: ``index`` at ``dim``, see ``gather``);
    ``da = g`` zeroed at the overwritten places, ``dsrc[i] = g[pos(i)]``."""

    @staticmethod
    def forward(ctx, a, src, dim, index):
        ctx.pos, ctx.src_shape = _positions("scatter", a.shape, dim, index), np.shape(src)
        out = a.copy()
        out[ctx.pos] = _source(src, index.shape, a.dtype)
        return out

    @staticmethod
    def backward(ctx, grad):
        na, nsrc = ctx.needs_input_grad[:2]
        da = dsrc = None
        if na:
            da = grad.copy()
            da[ctx.pos] = 0
        if nsrc:
            dsrc = _placed_back(grad[ctx.pos], ctx.src_shape)
        return da, dsrc


def _placed_back(part: np.ndarray, shape: tuple) -> np.ndarray:
    """``part`` at the start of zeros of ``shape``: the gradient of ``src``, of which the
    scatters use only the corner of ``index``'s size."""
    out = np.zeros(shape, dtype=part.dtype)
    out[tuple(slice(0, n) for n in part.shape)] = part
    return out


_REDUCE_UFUNCS = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


class ScatterReduceFn(Function):
    """``out[p] = reduce`` of the group of ``p``: ``src[i]`` for every ``i`` with ``pos(i) = p`` (see
    ``gather``), and ``a[p]`` when ``include_self`` or when no ``src`` element goes to ``p``.
    ``reduce``: ``sum``, ``prod``, ``mean`` (floor-divided for integers), ``amax``, ``amin``.

    Each member ``m`` of a group gets ``g[p]`` times ``d out[p] / d m``: 1 for sum; ``1 / count`` for
    mean; for prod the product of the other members (exact at zeros: no division by ``m``); for
    amax/amin ``1 / (number of members equal to out[p])`` if ``m`` is one of them, else 0.
    """

    @staticmethod
    def forward(ctx, a, src, dim, index, reduce, include_self=True):
        if reduce not in _REDUCE_UFUNCS:
            raise RuntimeError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCE_UFUNCS)}, "
                               f"got {reduce!r}")
        pos = _positions("scatter_reduce", a.shape, dim, index)
        values = _source(src, index.shape, a.dtype)
        ufunc = _REDUCE_UFUNCS[reduce]
        kept = np.ones(a.shape, dtype=bool)  # where a's own value is in the group
        if not include_self:
            kept[pos] = False
        out = a.copy()
        if not include_self:
            # sum and prod start from 0 and 1; amax and amin from a member (max(v, v, ...) = max)
            out[pos] = values if ufunc.identity is None else ufunc.identity
        ufunc.at(out, pos, values)
        count = kept.astype(np.int64)
        np.add.at(count, pos, 1)
        if reduce == "mean":
            out = (out / count).astype(out.dtype) if out.dtype.kind == "f" else out // count
        ctx.save_for_backward(a, values, out)
        ctx.pos, ctx.kept, ctx.count, ctx.reduce, ctx.src_shape = pos, kept, count, reduce, np.shape(src)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, values, out = ctx.saved_tensors
        if ctx.reduce in ("sum", "mean"):
            share = grad / ctx.count if ctx.reduce == "mean" else grad
            da, dsrc = share * ctx.kept, share[ctx.pos]
        elif ctx.reduce == "prod":
            da, dsrc = _product_of_others(a, values, out, ctx.pos, ctx.kept)
            da, dsrc = grad * da, grad[ctx.pos] * dsrc
        else:
            wins_a, wins_src = ctx.kept & (a == out), values == out[ctx.pos]
            winners = wins_a.astype(grad.dtype)
            np.add.at(winners, ctx.pos, wins_src)
            share = grad / np.maximum(winners, 1)
            da, dsrc = share * wins_a, share[ctx.pos] * wins_src
        return da, _placed_back(dsrc, ctx.src_shape)


def _product_of_others(a, values, out, pos, kept) -> tuple:
    """For each member of each group of ``ScatterReduceFn``'s prod: the product of the other
    members. With ``P`` the product of a group's non-zero members and ``z`` its number of zeros:
    ``P / m`` if ``z = 0``; ``P`` for the zero if ``z = 1``; else 0."""
    zeros = (kept & (a == 0)).astype(np.int64)
    np.add.at(zeros, pos, values == 0)
    nonzero_product = np.where(kept & (a != 0), a, 1).astype(out.dtype)
    np.multiply.at(nonzero_product, pos, np.where(values == 0, 1, values))

    def others(m, z, p):
        return np.where(m == 0, np.where(z == 1, p, 0), np.where(z == 0, p / np.where(m == 0, 1, m), 0))

    return others(a, zeros, nonzero_product) * kept, others(values, zeros[pos], nonzero_product[pos])


class TakeFn(Function):
    """``out = a`` indexed by the integer array ``index`` along ``dim`` (``index_select``;
    ``embedding`` is ``dim=0``);  ``da`` = ``g`` added back at the rows picked (``np.add.at``;
    none to row ``padding_idx``)."""

    @staticmethod
    def forward(ctx, a, index, dim=0, padding_idx=None):
        if a.ndim == 0:
            raise ValueError("index_select: the input must have at least one dim")
        dim %= a.ndim
        index = check_index("index_select" if padding_idx is None else "embedding", index, a.shape[dim])
        ctx.where = (slice(None),) * dim + (index,)
        ctx.shape, ctx.padding_idx = a.shape, padding_idx
        return a[ctx.where]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        np.add.at(out, ctx.where, grad)
        if ctx.padding_idx is not None:
            out[ctx.padding_idx] = 0
        return out


def slices_at(op: str, shape: tuple, dim: int, index, source_shape: tuple) -> tuple:
    """The NumPy index of the slices ``index`` (a 0-d or 1-D integer array) along ``dim`` of a
    tensor of ``shape``, checked to fit a ``source`` of ``source_shape``: ``index``'s length
    along ``dim``, ``shape`` elsewhere (``index_add``, ``index_copy``, ``index_fill``)."""
    if not -len(shape) <= dim < max(len(shape), 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape {shape}")
    if np.ndim(index) > 1:
        raise IndexError(f"{op}: index must be 0-d or 1-D, got shape {np.shape(index)}")
    dim %= max(len(shape), 1)
    shape = shape or (1,)
    index = check_index(op, np.reshape(index, -1) if isinstance(index, np.ndarray) else index, shape[dim])
    expected = shape[:dim] + (len(index),) + shape[dim + 1:]
    if source_shape != expected and (source_shape, len(index)) != ((), 1):
        raise RuntimeError(f"{op}: source of shape {source_shape} does not fit {len(index)} indices "
                           f"into dim {dim} of a tensor of shape {shape}: expected shape {expected}")
    return (slice(None),) * dim + (index,)


class IndexCopyFn(Function):
    """``out = a`` with its slice ``index[i]`` along ``dim`` set to ``source``'s slice ``i``
    (``index_copy``), or with ``add`` increased by it (``index_add``; a repeated index adds up).
    ``da = g``, zeroed at the copied slices unless ``add``;  ``dsource`` = ``g``'s slices at ``index``."""

    @staticmethod
    def forward(ctx, a, source, dim, index, add=False):
        op = "index_add" if add else "index_copy"
        ctx.where = slices_at(op, a.shape, dim, index, source.shape)
        ctx.add, ctx.shape, ctx.source_shape = add, a.shape, source.shape
        out = a.reshape(a.shape or (1,)).copy()  # a 0-d tensor as one slice
        values = source.reshape(out[ctx.where].shape)
        if add:
            np.add.at(out, ctx.where, values)
        else:
            out[ctx.where] = values
        return out.reshape(a.shape)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.reshape(ctx.shape or (1,))
        da = grad if ctx.add else grad.copy()
        if not ctx.add:
            da[ctx.where] = 0
        return da.reshape(ctx.shape), grad[ctx.where].reshape(ctx.source_shape)


def check_mask(op: str, mask, shape: tuple | None = None) -> None:
    """Raise unless ``mask`` is a bool array that broadcasts to ``shape`` (any shape when None)."""
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be a bool tensor, got "
                        f"{getattr(mask, 'dtype', type(mask).__name__)}")
    if shape is not None and (mask.ndim > len(shape) or any(
            m not in (1, n) for m, n in zip(mask.shape[::-1], shape[::-1]))):
        raise ValueError(f"{op}: mask of shape {mask.shape} does not broadcast to {shape}")


class MaskedFillFn(Function):
    """``out = value where mask else a`` (``mask`` broadcasts to ``a``);  ``da = g where not mask``."""

    @staticmethod
    def forward(ctx, a, mask, value):
        check_mask("masked_fill", mask, a.shape)
        ctx.mask = mask
        return np.where(mask, np.asarray(value, dtype=a.dtype), a)

    @staticmethod
    def backward(ctx, grad):
        return np.where(ctx.mask, np.zeros((), dtype=grad.dtype), grad)
