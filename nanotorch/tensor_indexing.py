"""Tensor's indexing methods, added to ``Tensor`` by ``tensor_methods.py``: ``x[i]``
(``__getitem__``; ``x[i] = v`` is in ``tensor_inplace.py``), ``gather``, ``scatter`` and
``scatter_reduce``, ``index_add``/``index_copy``/``index_fill``/``index_put``/``index_select``,
``put``/``take``/``take_along_dim``, ``masked_fill``/``masked_select``/``masked_scatter``,
``nonzero``, and their in-place forms; and the function ``where``. Each calls op classes of
``nanotorch.ops`` (``indexing``, ``shape``), where forward and backward are written out.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch.ops.indexing import (
    GatherFn,
    IndexCopyFn,
    MaskedFillFn,
    ScatterFn,
    ScatterReduceFn,
    TakeFn,
    check_index,
    check_mask,
)
from nanotorch.ops.pointwise import WhereFn
from nanotorch.ops.shape import GetItemFn, SetItemFn
from nanotorch.tensor import Tensor, _index_arrays
from nanotorch.tensor_args import _array, _dim, _value_for, broadcast_shapes
from nanotorch.tensor_promotion import SCALARS


class _IndexingMethods:
    """Added to ``Tensor`` by ``tensor_methods.py`` (``add_methods``)."""

    def gather(self, dim: builtins.int, index: Tensor) -> Tensor:
        """``out[i][j] = self[index[i][j]][j]`` for ``dim=0`` (and so on for other dims)."""
        return GatherFn.apply(self, dim=dim, index=_array(index))

    def scatter(self, dim: builtins.int, index: Tensor, src=None, *, value=None,
                reduce: str | None = None) -> Tensor:
        """A copy with ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``; ``src`` (or ``value``) may be a
        number. ``reduce="add"`` or ``"multiply"`` adds or multiplies instead (``scatter_reduce``'s
        sum and prod, PyTorch's older form)."""
        src = value if src is None else src
        if reduce is None:
            return ScatterFn.apply(self, self._same_kind(src), dim=dim, index=_array(index))
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"scatter: reduce must be either 'add' or 'multiply', got {reduce!r}")
        return ScatterReduceFn.apply(self, self._same_kind(src), dim=dim, index=_array(index),
                                     reduce="sum" if reduce == "add" else "prod")

    def scatter_add(self, dim: builtins.int, index: Tensor, src: Tensor) -> Tensor:
        """A copy with ``out[index[i][j]][j] += src[i][j]`` for ``dim=0``."""
        return ScatterReduceFn.apply(self, self._same_kind(src), dim=dim, index=_array(index), reduce="sum")

    def scatter_reduce(self, dim: builtins.int, index: Tensor, src: Tensor, reduce: str, *,
                       include_self: builtins.bool = True) -> Tensor:
        """A copy where each place ``p`` that ``index`` sends elements of ``src`` to (along ``dim``, as
        ``scatter``) holds their ``reduce`` (``"sum"``, ``"prod"``, ``"mean"``, ``"amax"``, ``"amin"``),
        with ``self[p]`` among them when ``include_self``; see ``ScatterReduceFn`` for the gradient."""
        _same_dtype("scatter_reduce", self, src)
        return ScatterReduceFn.apply(self, src, dim=dim, index=_array(index), reduce=reduce,
                                     include_self=include_self)

    def index_add(self, dim: builtins.int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
        """A copy with ``alpha * source[i]`` added to the slice ``index[i]`` along ``dim`` (a repeated
        index adds up); ``source`` has ``self``'s shape but ``len(index)`` along ``dim``."""
        _same_dtype("index_add", self, source)
        alpha = _value_for(alpha, self)
        return IndexCopyFn.apply(self, source if alpha == 1 else (source * alpha).to(self.dtype),
                                 dim=dim, index=_array(index), add=True)

    def index_copy(self, dim: builtins.int, index: Tensor, source: Tensor) -> Tensor:
        """A copy with the slice ``index[i]`` along ``dim`` replaced by ``source[i]``."""
        _same_dtype("index_copy", self, source)
        return IndexCopyFn.apply(self, source, dim=dim, index=_long_index("index_copy", index))

    def index_fill(self, dim: builtins.int, index: Tensor, value) -> Tensor:
        """A copy with the slices ``index`` (negative ones count from the end) along ``dim`` set to
        ``value``, a number or a 0-d tensor; a tensor ``value`` gets the sum of their gradient."""
        if isinstance(value, Tensor) and value.ndim:
            raise RuntimeError(f"index_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        dim = _dim(dim, self.ndim)
        shape = list(self.shape or (1,))
        index = _long_index("index_fill", index).reshape(-1)
        rows = np.unique(check_index("index_fill", index, shape[dim], wrap=True))  # each slice once
        value = value.to(self.dtype) if isinstance(value, Tensor) else Tensor(value, dtype=self.dtype)
        shape[dim] = len(rows)
        return IndexCopyFn.apply(self, value.expand(*shape), dim=dim, index=rows)

    def index_put(self, indices, values: Tensor, accumulate: builtins.bool = False) -> Tensor:
        """A copy with ``out[indices] = values`` (``indices``: a tuple of index tensors, one per dim
        from the first); with ``accumulate``, ``out[indices] += values``, a place indexed twice
        getting both."""
        if not isinstance(indices, (tuple, list)):
            raise TypeError(f"index_put(): indices must be a tuple of tensors, not {type(indices).__name__}")
        _same_dtype("index_put", self, values)
        return SetItemFn.apply(self, values, index=_index_arrays(tuple(indices)), accumulate=accumulate)

    def put(self, index: Tensor, source: Tensor, accumulate: builtins.bool = False) -> Tensor:
        """A copy with ``source``'s elements written (or with ``accumulate`` added) at the flat
        positions ``index`` (as if ``self`` were 1-D; negative ones count from the end)."""
        index = _long_index("put", index)
        _same_dtype("put", self, source)
        if source.numel() != index.size:
            raise IndexError(f"put: source has {source.numel()} elements and index {index.size}; "
                             "they must be equal")
        flat = check_index("put", index.reshape(-1), self.numel(), wrap=True)
        return self.reshape(-1).index_put((flat,), source.reshape(-1), accumulate).reshape(self.shape)

    def take(self, index: Tensor) -> Tensor:
        """The elements at the flat positions ``index`` (as if ``self`` were 1-D; negative ones count
        from the end), in ``index``'s shape."""
        index = _long_index("take", index)
        flat = check_index("take", index.reshape(-1), self.numel(), wrap=True)
        return TakeFn.apply(self.reshape(-1), flat).reshape(index.shape)

    def take_along_dim(self, indices: Tensor, dim: builtins.int | None = None) -> Tensor:
        """``gather`` along ``dim`` after broadcasting ``self`` and ``indices`` (same number of dims)
        in the other dims; ``dim=None``: both flattened. Negative indices count from the end."""
        indices = _long_index("take_along_dim", indices)
        if dim is None:
            return self.reshape(-1).take_along_dim(indices.reshape(-1), 0)
        dim = _dim(dim, self.ndim)
        if indices.ndim != self.ndim:
            raise RuntimeError(f"take_along_dim: input and indices should have the same number of dims, "
                               f"got {self.ndim} and {indices.ndim}")
        shape = broadcast_shapes("take_along_dim", self.shape[:dim] + (1,) + self.shape[dim + 1:],
                                  indices.shape[:dim] + (1,) + indices.shape[dim + 1:])
        source = self.expand(*shape[:dim], self.shape[dim], *shape[dim + 1:])
        indices = np.broadcast_to(indices, shape[:dim] + (indices.shape[dim],) + shape[dim + 1:])
        return GatherFn.apply(source, dim=dim, index=check_index("take_along_dim", indices, self.shape[dim],
                                                                 wrap=True))

    def argwhere(self) -> Tensor:
        """``nonzero()``: the indices of the non-zero elements, one row each."""
        return self.nonzero()

    def index_select(self, dim: builtins.int, index: Tensor) -> Tensor:
        index = _array(index)
        if index.ndim > 1:
            raise ValueError(f"index_select: index must be 0-d or 1-D, got shape {index.shape}")
        return TakeFn.apply(self, index.reshape(-1), dim=dim)

    def masked_fill(self, mask: Tensor, value) -> Tensor:
        """``value`` where ``mask`` is True, else ``self`` (``value``: a number or a 0-d tensor)."""
        if isinstance(value, Tensor):
            if value.requires_grad:
                raise NotImplementedError("masked_fill: a value that requires grad is not supported; "
                                          "use nanotorch.where(mask, value, x)")
            value = value.item()
        return MaskedFillFn.apply(self, _array(mask), value=value)

    def masked_fill_(self, mask: Tensor, value) -> Tensor:
        """In place: ``value`` (a number or a 0-d tensor) where ``mask`` is True (``mask`` broadcasts
        to ``self``). It is ``self[mask] = value``, so it follows the rules of every in-place
        change (``tensor_inplace.py``); a ``value`` that requires grad gets the gradient of the
        places it filled."""
        mask = _array(mask)
        check_mask("masked_fill_", mask, self.shape)
        if isinstance(value, Tensor) and value.ndim:
            raise ValueError(f"masked_fill_: value must be a number or a 0-d tensor, got shape {value.shape}")
        self[np.broadcast_to(mask, self.shape)] = value
        return self

    def masked_select(self, mask: Tensor) -> Tensor:
        """The elements where ``mask`` (a bool tensor) is True, as a 1-D tensor in row-major
        order; ``self`` and ``mask`` broadcast together. The gradient goes back to them."""
        mask = _array(mask)
        check_mask("masked_select", mask)
        shape = broadcast_shapes("masked_select", self.shape, mask.shape)
        return self.expand(*shape)[np.broadcast_to(mask, shape)]

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        """A copy with the places where ``mask`` is True (``self`` and ``mask`` broadcast together)
        filled, in row-major order, with ``source``'s first elements; the gradient goes to them."""
        mask = _array(mask)
        check_mask("masked_scatter", mask)
        _same_dtype("masked_scatter", self, source)
        shape = broadcast_shapes("masked_scatter", self.shape, mask.shape)
        mask = np.broadcast_to(mask, shape)
        count = builtins.int(np.count_nonzero(mask))
        if source.numel() < count:
            raise RuntimeError(f"masked_scatter: source has {source.numel()} elements, fewer than the "
                               f"{count} places the mask selects")
        return SetItemFn.apply(self.expand(*shape), source.reshape(-1)[:count], index=mask)

    def nonzero(self, *, as_tuple: builtins.bool = False) -> Tensor | tuple:
        """The indices of the non-zero elements, in row-major order: an int64 tensor of shape
        ``[count, ndim]``, one row per element; ``as_tuple=True``: one 1-D tensor per dim (a 0-d
        tensor counts as 1-D), ready to index with (``x[x.nonzero(as_tuple=True)]``)."""
        if as_tuple:
            return tuple(Tensor._make(i.astype(np.int64, copy=False), False)
                         for i in np.nonzero(np.atleast_1d(self.data)))
        return Tensor._make(np.argwhere(self.data).astype(np.int64, copy=False), False)

    def where(self, condition, other) -> Tensor:
        """``self`` where ``condition`` holds, else ``other``: ``nanotorch.where(condition, self, other)``."""
        return where(condition, self, other)

    def _same_kind(self, src):
        """``src`` (a number or tensor) as a tensor of ``self``'s dtype when it is data."""
        if isinstance(src, SCALARS) or isinstance(src, Tensor) and src.dtype == self.dtype:
            return src
        return Tensor(src).to(self.dtype)

    def __getitem__(self, index) -> Tensor:
        return GetItemFn.apply(self, index=_index_arrays(index))

    # ------------------------------------------------------------ in place (``_apply_``: tensor_methods.py)
    def scatter_(self, dim: builtins.int, index: Tensor, src=None, *, value=None,
                 reduce: str | None = None) -> Tensor:
        src = value if src is None else src
        return self._apply_(lambda t, s: t.scatter(dim, index, s, reduce=reduce), src)

    def scatter_add_(self, dim: builtins.int, index: Tensor, src: Tensor) -> Tensor:
        return self._apply_(lambda t, s: t.scatter_add(dim, index, s), src)

    def scatter_reduce_(self, dim: builtins.int, index: Tensor, src: Tensor, reduce: str, *,
                        include_self: builtins.bool = True) -> Tensor:
        return self._apply_(lambda t, s: t.scatter_reduce(dim, index, s, reduce, include_self=include_self),
                            src)

    def index_add_(self, dim: builtins.int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
        return self._apply_(lambda t, s: t.index_add(dim, index, s, alpha=alpha), source)

    def index_copy_(self, dim: builtins.int, index: Tensor, source: Tensor) -> Tensor:
        return self._apply_(lambda t, s: t.index_copy(dim, index, s), source)

    def index_fill_(self, dim: builtins.int, index: Tensor, value) -> Tensor:
        return self._apply_(lambda t, v: t.index_fill(dim, index, v), value)

    def index_put_(self, indices, values: Tensor, accumulate: builtins.bool = False) -> Tensor:
        return self._apply_(lambda t, v: t.index_put(indices, v, accumulate), values)

    def put_(self, index: Tensor, source: Tensor, accumulate: builtins.bool = False) -> Tensor:
        return self._apply_(lambda t, s: t.put(index, s, accumulate), source)

    def masked_scatter_(self, mask: Tensor, source: Tensor) -> Tensor:
        """In place: ``masked_scatter``, with ``mask`` broadcast to ``self``'s shape."""
        check_mask("masked_scatter_", _array(mask), self.shape)
        return self._apply_(lambda t, s: t.masked_scatter(mask, s), source)


def _same_dtype(op: str, t: Tensor, source) -> None:
    """Raise unless ``source`` is a tensor of ``t``'s dtype (what ``index_add``, ``put`` ... write in)."""
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}(): source must be a Tensor, not {type(source).__name__}")
    if source.dtype != t.dtype:
        raise RuntimeError(f"{op}(): self ({t.dtype}) and source ({source.dtype}) must have the same dtype")


def _long_index(op: str, index) -> np.ndarray:
    """``index``'s array, which must be int64 (PyTorch's ``take``, ``put``, ``index_copy`` ... rule)."""
    index = _array(index)
    if index.dtype != np.int64:
        raise RuntimeError(f"{op}(): expected an int64 (long) index tensor, got {index.dtype}")
    return index


def where(condition, input=None, other=None) -> Tensor | tuple:  # noqa: A002 - PyTorch's names
    """``input`` where ``condition`` holds, else ``other``; gradients flow to both. They
    (tensors or numbers) are promoted to one dtype as in ``input + other``. With only
    ``condition``: ``condition.nonzero(as_tuple=True)``."""
    cond = condition if isinstance(condition, Tensor) else Tensor(condition)
    if input is None and other is None:
        return cond.nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() takes a condition alone, or a condition, input and other")
    if isinstance(other, Tensor) and not isinstance(input, Tensor):
        other, input = other._operands(input)
    else:
        input = input if isinstance(input, Tensor) else Tensor(input)
        input, other = input._operands(other)
    return WhereFn.apply(cond.data.astype(builtins.bool, copy=False), input, other)
