"""Ops that pick or place elements by an index tensor: gather, scatter, scatter_add,
index_select (and embedding), masked_fill (and the mask check that masked_fill_ and
masked_select share). Every index is checked against the sizes before NumPy sees it, so a
bad index is an ``IndexError`` naming the op, never a wrong answer.
Scatter-style gradients add up repeated positions with ``np.add.at``."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function


def check_index(op: str, index, size: int) -> np.ndarray:
    """``index`` as an int64 array with every value in ``[0, size)``."""
    if not isinstance(index, np.ndarray) or index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got "
                        f"{getattr(index, 'dtype', type(index).__name__)}")
    index = index.astype(np.int64, copy=False)
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index[(index < 0) | (index >= size)][0]
        raise IndexError(f"{op}: index {bad} is out of bounds for size {size}")
    return index


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
    ``add=True``: ``out[pos(i)] += src[i]`` (``scatter_add``).
    ``da = g`` (zeroed at the overwritten places unless ``add``), ``dsrc[i] = g[pos(i)]``."""

    @staticmethod
    def forward(ctx, a, src, dim, index, add=False):
        name = "scatter_add" if add else "scatter"
        pos = _positions(name, a.shape, dim, index)
        ctx.pos, ctx.add, ctx.src_shape = pos, add, np.shape(src)
        out = a.copy()
        values = _source(src, index.shape, a.dtype)
        if add:
            np.add.at(out, pos, values)
        else:
            out[pos] = values
        return out

    @staticmethod
    def backward(ctx, grad):
        na, nsrc = ctx.needs_input_grad[:2]
        da = dsrc = None
        if na:
            da = grad if ctx.add else grad.copy()
            if not ctx.add:
                da[ctx.pos] = 0
        if nsrc:
            dsrc = np.zeros(ctx.src_shape, dtype=grad.dtype)
            picked = grad[ctx.pos]
            dsrc[tuple(slice(0, n) for n in picked.shape)] = picked
        return da, dsrc


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
