"""Shape and indexing ops. Most return views of their input; their backward only reshapes,
moves or scatters the gradient back."""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.broadcast import shape_of, unbroadcast


class ReshapeFn(Function):
    """``out = a.reshape(shape)`` (a view when possible);  ``da = g.reshape(a.shape)``."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class PermuteFn(Function):
    """``out = a.transpose(axes)``;  ``da = g.transpose(inverse axes)``."""

    is_view = True

    @staticmethod
    def forward(ctx, a, axes):
        if sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"permute dims {axes} are not a permutation of {a.ndim} dims")
        ctx.axes = axes
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(np.argsort(ctx.axes))


class SqueezeFn(Function):
    """Drop size-1 dims (all, or ``dim`` if it has size 1);  ``da = g.reshape(a.shape)``."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dim=None):
        ctx.shape = a.shape
        if dim is None or a.ndim == 0:  # NOTE: squeeze(0) of a 0-d tensor is the tensor, as PyTorch
            return a.squeeze()
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        return a.squeeze(tuple(d for d in dims if a.shape[d] == 1))

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class UnsqueezeFn(Function):
    """Insert a size-1 dim at ``dim``;  ``da = g.reshape(a.shape)``."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.shape = a.shape
        return np.expand_dims(a, dim if dim >= 0 else dim + a.ndim + 1)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class ExpandFn(Function):
    """Broadcast to ``shape`` (``-1`` keeps a dim) without copying; ``da = g`` summed over
    the broadcast dims."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        lead = len(shape) - a.ndim
        if lead < 0 or -1 in shape[:lead]:
            raise ValueError(f"can't expand a tensor of shape {a.shape} to {shape}")
        shape = tuple(a.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
        ctx.shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape)


def _is_basic(index) -> bool:
    """True for an index of ints, slices, None and Ellipsis only (each element picked once)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def _is_int(p) -> bool:
    return isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_))


def _locate(a: np.ndarray, index) -> tuple:
    """``(view, rest)`` with ``a[index]`` equal to ``view[rest]`` under PyTorch's rule.

    NOTE: PyTorch applies integer indices first, as basic indexing, and index arrays after;
    NumPy treats an int as an index array, so ``x[0, :, [0, 1]]`` would put the list's dim
    first. When an index mixes ints and arrays, the ints are applied first here (a view).
    """
    parts = index if isinstance(index, tuple) else (index,)
    arrays = [isinstance(p, (list, np.ndarray)) and np.ndim(p) > 0 for p in parts]
    if not any(arrays) or not any(_is_int(p) for p in parts):
        return a, index
    first, rest = [], []
    for p, is_array in zip(parts, arrays):
        if is_array:
            dims = np.ndim(p) if np.asarray(p).dtype == np.bool_ else 1
            first += [slice(None)] * dims
            rest.append(p)
        elif _is_int(p):
            first.append(p)
        else:
            first.append(p)
            rest.append(p if p is Ellipsis else slice(None))
    return a[tuple(first)], tuple(rest)


class GetItemFn(Function):
    """``out = a[index]``;  ``da`` = zeros with ``g`` added at the indexed places.

    Ints, slices, None and Ellipsis give a view of ``a`` (as PyTorch); integer arrays and
    boolean masks a copy. NOTE: an integer-array index may pick an element more than once;
    its gradient is then the sum (``np.add.at``), not the last write.
    """

    is_view = True

    @staticmethod
    def forward(ctx, a, index):
        if _is_basic(index):
            parts = index if isinstance(index, tuple) else (index,)
            if Ellipsis not in parts:
                index = (*parts, Ellipsis)  # a[0, ...] is a 0-d view where a[0] is a scalar
        ctx.shape, ctx.index = a.shape, index
        view, rest = _locate(a, index)
        return view[rest]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic(ctx.index) or getattr(ctx.index, "dtype", None) == np.bool_:
            out[ctx.index] = grad
        else:
            np.add.at(*_locate(out, ctx.index), grad)
        return out


class SetItemFn(Function):
    """``out = a`` with ``out[index] = v`` (``a[index] = v`` as recorded in the graph), or with
    ``accumulate`` ``out[index] += v`` (``index_put``: a place indexed twice gets both);
    ``da = g``, zeroed at ``index`` unless ``accumulate``;  ``dv = g[index]`` summed to ``v``'s shape."""

    @staticmethod
    def forward(ctx, a, v, index, accumulate=False):
        ctx.index, ctx.v_shape, ctx.accumulate = index, shape_of(v), accumulate
        out = a.copy()
        view, rest = _locate(out, index)
        if accumulate:
            np.add.at(view, rest, np.broadcast_to(v, view[rest].shape))
        else:
            view[rest] = v
        return out

    @staticmethod
    def backward(ctx, grad):
        na, nv = ctx.needs_input_grad
        da = None
        if na:
            da = grad if ctx.accumulate else grad.copy()
            if not ctx.accumulate:
                view, rest = _locate(da, ctx.index)
                view[rest] = 0
        if not nv:
            return da, None
        view, rest = _locate(grad, ctx.index)
        return da, unbroadcast(view[rest], ctx.v_shape)


class TakeAlongDimFn(Function):
    """``out = a`` picked at ``index`` along ``dim`` (one element per slice, e.g. at the
    ``argmax``; ``index`` has ``a``'s shape with size 1 at ``dim``);  ``da`` = zeros with
    ``g`` put back at ``index``."""

    @staticmethod
    def forward(ctx, a, index, dim, keepdim=False):
        ctx.shape, ctx.index, ctx.dim = a.shape, index, dim
        out = np.take_along_axis(a, index, axis=dim)
        return out if keepdim else np.squeeze(out, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        np.put_along_axis(out, ctx.index, grad.reshape(ctx.index.shape), axis=ctx.dim)
        return out


class CatFn(Function):
    """``out = concatenate(tensors, dim)``;  each input gets its slice of ``g``."""

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        ctx.bounds = np.cumsum([a.shape[dim] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.bounds, axis=ctx.dim))


class StackFn(Function):
    """``out = stack(tensors, dim)``;  input ``i`` gets ``g`` taken at index ``i`` of ``dim``."""

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.dim, 0))
