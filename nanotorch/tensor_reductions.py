"""Tensor's reductions, added to ``Tensor`` by ``tensor_methods.py``: ``sum``, ``mean``, ``var``,
``std``, ``max``/``min`` (and ``argmax``, ``amax``, ``aminmax`` ...), ``prod``, ``norm``,
``logsumexp``, ``median``, ``nansum``; sorting (``sort``, ``argsort``, ``topk``); cumulative ops
(``cumsum``, ``cumprod``, ``cummax``, ``logcumsumexp`` ...); ``quantile``; and ``softmax`` and
``log_softmax`` along a dim. Each calls op classes of ``nanotorch.ops`` (``reduction``,
``sorting``), where forward and backward are written out.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch import _dtype
from nanotorch.ops.binary import LerpFn
from nanotorch.ops.indexing import GatherFn
from nanotorch.ops.reduction import (
    AMaxFn,
    CumSumFn,
    LogCumSumExpFn,
    LogSoftmaxFn,
    LogSumExpFn,
    MaxFn,
    MeanFn,
    MedianFn,
    MinFn,
    NormFn,
    ProdFn,
    SoftmaxFn,
    StdFn,
    SumFn,
    VarFn,
)
from nanotorch.ops.shape import TakeAlongDimFn
from nanotorch.ops.sorting import CumProdFn, median_index, running_extreme_index, sort_order
from nanotorch.tensor import Tensor
from nanotorch.tensor_args import _array, _check_floating, _dim, _dims
from nanotorch.tensor_indexing import where


class _ReductionMethods:
    """Added to ``Tensor`` by ``tensor_methods.py`` (``add_methods``)."""

    # -------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim: builtins.bool = False, *, dtype=None, keepdims=None) -> Tensor:
        """The sum over ``dim`` (every dim when None); integers and bools sum as int64, or as
        ``dtype`` when given (the input is cast first)."""
        t = self._accumulated(dtype)
        return SumFn.apply(t, dim=_dims(dim, t.ndim), keepdim=_keep(keepdim, keepdims))

    def _accumulated(self, dtype) -> Tensor:
        """``self`` as ``dtype``, or (``dtype`` None) integers and bools as int64: the dtype
        PyTorch's ``sum`` and ``cumprod`` give."""
        if dtype is None:
            return self.to(_dtype.int64) if self.data.dtype.kind in "biu" else self
        return self.to(dtype)

    def mean(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor:
        return MeanFn.apply(self._floating(), dim=_dims(dim, self.ndim), keepdim=_keep(keepdim, keepdims))

    def var(self, dim=None, unbiased: builtins.bool = True, keepdim: builtins.bool = False, *,
            correction=None, keepdims=None):
        """Variance; unbiased (``correction=1``, divides by ``n - 1``) by default, as PyTorch."""
        return _spread(self, VarFn, dim, unbiased, keepdim, correction, keepdims)

    def std(self, dim=None, unbiased: builtins.bool = True, keepdim: builtins.bool = False, *,
            correction=None, keepdims=None):
        """Standard deviation, ``sqrt(var)``: unbiased by default, as PyTorch."""
        return _spread(self, StdFn, dim, unbiased, keepdim, correction, keepdims)

    def max(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor | _ValuesIndices:
        """Whole tensor: the largest value. With ``dim``: ``(values, indices)``."""
        return _extreme(self, MaxFn, np.argmax, dim, _keep(keepdim, keepdims))

    def min(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor | _ValuesIndices:
        """Whole tensor: the smallest value. With ``dim``: ``(values, indices)``."""
        return _extreme(self, MinFn, np.argmin, dim, _keep(keepdim, keepdims))

    def argmax(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return _arg_extreme(self.data, np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return _arg_extreme(self.data, np.argmin, dim, keepdim)

    def prod(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return ProdFn.apply(self, dim=_dims(dim, self.ndim), keepdim=keepdim)

    def cumsum(self, dim: builtins.int) -> Tensor:
        return CumSumFn.apply(self, dim=dim) if self.ndim else self.clone()

    def cumprod(self, dim: builtins.int, *, dtype=None) -> Tensor:
        """``out[i] = self[0] * ... * self[i]`` along ``dim``; integers and bools give int64, or
        ``dtype`` when given. Its gradient is exact at zeros too (see ``CumProdFn``)."""
        t = self._accumulated(dtype)
        dim = _dim(dim, t.ndim)
        return CumProdFn.apply(t, dim=dim) if t.ndim else t.clone()

    def sort(self, dim: builtins.int = -1, descending: builtins.bool = False, *,
             stable: builtins.bool = False) -> _ValuesIndices:
        """``(values, indices)``: ``self`` sorted along ``dim`` (ascending unless ``descending``),
        and where each value came from. NaN counts as the largest value. The sort is always
        stable: equal values keep their order (``stable=False`` allows any order of ties).
        The values are gathered at the indices, so their gradient goes back to the elements."""
        return _sorted(self, dim, descending)

    def argsort(self, dim: builtins.int = -1, descending: builtins.bool = False, *,
                stable: builtins.bool = False) -> Tensor:
        """The ``indices`` of ``sort``."""
        return _sorted(self, dim, descending).indices

    def topk(self, k: builtins.int, dim: builtins.int = -1, largest: builtins.bool = True,
             sorted: builtins.bool = True) -> _ValuesIndices:
        """``(values, indices)`` of the ``k`` largest elements along ``dim`` (the ``k`` smallest
        when not ``largest``), largest first; ties keep their order. They are always sorted
        (``sorted=False`` allows any order). The gradient goes back to the elements picked."""
        size = self.shape[_dim(dim, self.ndim)] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError(f"topk: k={k} is out of range for a dim of size {size}")
        return _sorted(self, dim, largest, k if self.ndim else None)

    def amax(self, dim=(), keepdim: builtins.bool = False) -> Tensor:
        """Largest value over ``dim`` (all dims when empty); ties share the gradient."""
        return AMaxFn.apply(self, dim=_dims(dim, self.ndim), keepdim=keepdim, reduce=np.max)

    def amin(self, dim=(), keepdim: builtins.bool = False) -> Tensor:
        """Smallest value over ``dim`` (all dims when empty); ties share the gradient."""
        return AMaxFn.apply(self, dim=_dims(dim, self.ndim), keepdim=keepdim, reduce=np.min)

    def norm(self, p="fro", dim=None, keepdim: builtins.bool = False) -> Tensor:
        """The vector ``p``-norm over ``dim`` (all dims when None): ``p`` a number, ``inf``,
        ``-inf`` or ``"fro"`` (the 2-norm of all the elements, PyTorch's default)."""
        if p == "fro":
            p = 2.0
        elif isinstance(p, str):
            raise NotImplementedError(f"norm: p={p!r} (matrix norms) is not implemented; "
                                      "p may be a number, inf, -inf or 'fro'")
        return NormFn.apply(self._floating(), p=float(p), dim=_dims(dim, self.ndim), keepdim=keepdim)

    def logsumexp(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor:
        return LogSumExpFn.apply(self._floating(), dim=_dims(dim, self.ndim),
                                 keepdim=_keep(keepdim, keepdims))

    def median(self, dim=None, keepdim: builtins.bool = False) -> Tensor | _ValuesIndices:
        """Whole tensor: the lower median (element ``(n - 1) // 2`` of the sorted values; NaN if
        there is a NaN; NaN for an empty tensor), its gradient shared by the elements equal to it.
        With ``dim``: ``(values, indices)`` of each slice's median, the gradient to the one picked."""
        if dim is None:
            if self.numel() == 0:
                _check_floating("median of an empty tensor", self)
                return Tensor._make(np.array(np.nan, dtype=self.dtype), False)
            return MedianFn.apply(self)
        dim = _dim(dim, self.ndim)
        if self.ndim and self.shape[dim] == 0:
            raise IndexError(f"median(): expected reduction dim {dim} to have non-zero size")
        data = self.data if self.ndim else self.data.reshape(1)
        index = Tensor._make(median_index(data, dim), False)
        values = TakeAlongDimFn.apply(self.reshape(data.shape), index=index.data, dim=dim, keepdim=keepdim)
        index = index if keepdim else index.squeeze(dim)
        return _ValuesIndices(values, index.reshape(()) if not self.ndim else index)

    def nansum(self, dim=None, keepdim: builtins.bool = False, *, dtype=None) -> Tensor:
        """``sum`` with NaN counted as 0 (whose gradient is 0)."""
        t = where(self.isnan(), 0, self) if self.data.dtype.kind == "f" else self
        return t.sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim: builtins.bool = False, *, dtype=None) -> Tensor:
        """The mean of the elements that are not NaN (NaN where all are); float tensors only."""
        if self.data.dtype.kind != "f":
            raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got {self.dtype}")
        count = self.isnan().logical_not().sum(dim, keepdim)
        return self.nansum(dim, keepdim, dtype=dtype) / count

    def aminmax(self, *, dim=None, keepdim: builtins.bool = False) -> _MinMax:
        """``(min, max)`` over ``dim`` (one int, or None for all), as ``amin`` and ``amax``."""
        if dim is not None and not isinstance(dim, builtins.int):
            raise TypeError(f"aminmax(): argument 'dim' must be int, not {type(dim).__name__}")
        if self.numel() == 0 or dim is not None and self.ndim and self.shape[_dim(dim, self.ndim)] == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension")
        dims = () if dim is None else dim
        return _MinMax(self.amin(dims, keepdim), self.amax(dims, keepdim))

    def cummax(self, dim: builtins.int) -> _ValuesIndices:
        """``(values, indices)``: the largest value so far along ``dim`` and where it is (the latest
        of equal values; a NaN, once met, stays); the gradient goes to the elements picked."""
        return _running_extreme(self, dim, np.fmax)

    def cummin(self, dim: builtins.int) -> _ValuesIndices:
        """``(values, indices)``: the smallest value so far along ``dim`` and where it is (see ``cummax``)."""
        return _running_extreme(self, dim, np.fmin)

    def logcumsumexp(self, dim: builtins.int) -> Tensor:
        """``out[i] = ln(sum_{j<=i} e^self[j])`` along ``dim`` (``LogCumSumExpFn``); float tensors only."""
        _check_floating("logcumsumexp", self)
        dim = _dim(dim, self.ndim)
        return LogCumSumExpFn.apply(self, dim=dim) if self.ndim else self.clone()

    def quantile(self, q, dim=None, keepdim: builtins.bool = False, *,
                 interpolation: str = "linear") -> Tensor:
        """The ``q``-th quantiles (``q`` a number or a 1-D tensor, in ``[0, 1]``) over ``dim`` (the
        flattened tensor when None). The sorted values are indexed at rank ``q (n - 1)``: between
        two positions ``linear`` interpolates, ``lower``/``higher``/``nearest`` take one, ``midpoint``
        averages both. A slice with a NaN gives NaN. A tensor ``q`` adds a first dim to the result.
        The gradient goes back to the values picked, weighted as they were."""
        q_array = _check_quantile(self, q, interpolation)
        t = self.reshape(-1) if dim is None or self.ndim == 0 else self
        d = 0 if dim is None else _dim(dim, t.ndim)
        ordered = t.movedim(d, -1).sort(-1).values                      # [*batch, n]
        ranks = _quantile_ranks(q_array, ordered.data, interpolation)    # [*q, *batch]
        ordered = ordered.expand(*q_array.shape, *ordered.shape)
        below, above = (TakeAlongDimFn.apply(ordered, index=r.astype(np.int64)[..., None], dim=-1)
                        for r in (np.floor(ranks), np.ceil(ranks)))
        weight = np.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - np.floor(ranks)
        out = LerpFn.apply(below, above, weight)
        if keepdim and self.ndim:
            kept = (1,) * self.ndim if dim is None else self.shape[:d] + (1,) + self.shape[d + 1:]
            out = out.reshape(*q_array.shape, *kept)
        return out

    # ----------------------------------------------------------- along a dim
    def softmax(self, dim: int = -1) -> Tensor:
        return SoftmaxFn.apply(self._floating(), dim=dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return LogSoftmaxFn.apply(self._floating(), dim=dim)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _check_quantile(t: Tensor, q, interpolation: str) -> np.ndarray:
    """``quantile``'s rules (a non-empty float input; ``q`` a number or a 0-d or 1-D tensor of the
    input's dtype, in ``[0, 1]``; a known ``interpolation``); ``q`` as an array of the input's dtype."""
    if t.data.dtype.kind != "f":
        raise RuntimeError(f"quantile() input tensor must be either float or double dtype, got {t.dtype}")
    if t.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"quantile() interpolation must be one of {', '.join(_INTERPOLATIONS)}, "
                           f"but got {interpolation!r}")
    if isinstance(q, Tensor):
        if q.dtype != t.dtype:
            raise RuntimeError(f"quantile() q tensor must be same dtype as the input tensor ({t.dtype}), "
                               f"got {q.dtype}")
        if q.ndim > 1:
            raise RuntimeError(f"quantile() q must be a scalar or 1D tensor, got shape {tuple(q.shape)}")
    q = np.asarray(_array(q), dtype=t.dtype)
    if ((q < 0) | (q > 1)).any():
        raise RuntimeError(f"quantile() q values must be in the range [0, 1], got {q.tolist()}")
    return q


def _quantile_ranks(q: np.ndarray, ordered: np.ndarray, interpolation: str) -> np.ndarray:
    """The rank ``q (n - 1)`` into each sorted slice of ``ordered`` (``[*batch, n]``), for each
    ``q``: shape ``[*q, *batch]``; ``n - 1`` (the NaN, sorted last) for a slice with a NaN;
    rounded down, up or to even for ``lower``, ``higher`` and ``nearest``."""
    n = ordered.shape[-1]
    ranks = q.reshape(q.shape + (1,) * (ordered.ndim - 1)) * (n - 1)
    ranks = np.where(np.isnan(ordered[..., -1]), q.dtype.type(n - 1), ranks)
    rounding = {"lower": np.floor, "higher": np.ceil, "nearest": np.round}.get(interpolation)
    return rounding(ranks) if rounding else ranks


def _running_extreme(t: Tensor, dim: builtins.int, better) -> _ValuesIndices:
    """``cummax``/``cummin``: the values gathered at ``running_extreme_index`` (see there)."""
    dim = _dim(dim, t.ndim)
    if t.ndim == 0:
        return _ValuesIndices(t.clone(), Tensor._make(np.zeros((), np.int64), False))
    index = running_extreme_index(t.data, dim, better)
    return _ValuesIndices(GatherFn.apply(t, dim=dim, index=index), Tensor._make(index, False))


def _keep(keepdim, keepdims) -> builtins.bool:
    return builtins.bool(keepdim if keepdims is None else keepdims)


def _sorted(t: Tensor, dim: builtins.int, descending: builtins.bool, count=None) -> _ValuesIndices:
    """``(values, indices)`` of ``t`` sorted along ``dim`` (``sort_order``), the first ``count``
    of each slice when given; the values gathered at the indices (``GatherFn``)."""
    dim = _dim(dim, t.ndim)
    if t.ndim == 0:
        return _ValuesIndices(t.clone(), Tensor._make(np.zeros((), np.int64), False))
    order = sort_order(t.data, dim, descending)
    if count is not None:
        order = order[(slice(None),) * dim + (slice(0, count),)]
    return _ValuesIndices(GatherFn.apply(t, dim=dim, index=order), Tensor._make(order, False))


def _spread(t: Tensor, op, dim, unbiased, keepdim, correction, keepdims) -> Tensor:
    """``var``/``std`` with ``ddof = correction``, or ``1`` if ``unbiased`` (else ``0``)."""
    ddof = int(unbiased) if correction is None else int(correction)
    return op.apply(t._floating(), dim=_dims(dim, t.ndim), ddof=ddof, keepdim=_keep(keepdim, keepdims))


def _arg_extreme(data: np.ndarray, argfn, dim, keepdim) -> Tensor:
    """``argmax``/``argmin`` as an int64 tensor (of the flattened data when ``dim`` is None;
    with ``keepdim`` then shaped ``[1] * ndim``, as PyTorch's)."""
    if dim is None:
        index = np.asarray(argfn(data), dtype=np.int64)
        return Tensor._make(index.reshape((1,) * data.ndim) if keepdim else index, False)
    return Tensor._make(argfn(data, axis=dim, keepdims=keepdim).astype(np.int64, copy=False), False)


def _extreme(t: Tensor, op, argfn, dim, keepdim):
    """``max``/``min``: over everything (``op``), or along ``dim`` as ``(values, indices)``,
    the values gathered at the indices so the gradient goes to the element picked."""
    if dim is None:
        return op.apply(t)
    if t.ndim == 0:  # dims 0 and -1 of a 0-d tensor: the value itself, at index 0
        _dim(dim, 0)
        return _ValuesIndices(t.clone(), Tensor._make(np.zeros((), np.int64), False))
    index = _arg_extreme(t.data, argfn, dim, keepdim=True)
    values = TakeAlongDimFn.apply(t, index=index.data, dim=dim, keepdim=keepdim)
    return _ValuesIndices(values, index if keepdim else index.squeeze(dim))


class _MinMax(tuple):
    """``(min, max)`` with names, as ``aminmax`` returns."""

    min = property(lambda self: self[0])  # noqa: A003
    max = property(lambda self: self[1])  # noqa: A003

    def __new__(cls, min, max):  # noqa: A002
        return super().__new__(cls, (min, max))


class _ValuesIndices(tuple):
    """``(values, indices)`` with names, as ``max(dim)``, ``min(dim)``, ``sort`` and ``topk`` return."""

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))
