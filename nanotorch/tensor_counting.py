"""Tensor's counting methods, added to ``Tensor`` by ``tensor_methods.py``: ``count_nonzero``,
``unique``, ``unique_consecutive``, ``bincount``, ``histc`` and ``histogram`` (the arrays come
from ``nanotorch.ops.counting``; none has a gradient).
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch.ops import counting
from nanotorch.tensor import Tensor
from nanotorch.tensor_args import _array, _dim, _dims


class _CountingMethods:
    """Added to ``Tensor`` by ``tensor_methods.py`` (``add_methods``)."""

    def count_nonzero(self, dim=None) -> Tensor:
        """The number of non-zero elements over ``dim`` (an int, a tuple, or None for all), as int64."""
        count = np.count_nonzero(self.data, axis=_dims(dim, self.ndim))
        return Tensor._make(np.asarray(count, dtype=np.int64), False)

    def unique(self, sorted: builtins.bool = True, return_inverse: builtins.bool = False,  # noqa: A002
               return_counts: builtins.bool = False, dim: builtins.int | None = None):
        """The distinct elements (or slices along ``dim``), ascending (always: ``sorted=False`` allows
        any order); with ``return_inverse`` also where each element of ``self`` is among them, with
        ``return_counts`` how often each occurs (a tuple then). No gradient."""
        dim = None if dim is None else _dim(dim, self.ndim)
        return _wrapped(counting.unique(self.data, return_inverse, return_counts, dim))

    def unique_consecutive(self, return_inverse: builtins.bool = False, return_counts: builtins.bool = False,
                           dim: builtins.int | None = None):
        """``unique`` of runs: each run of equal neighbours (elements, or slices along ``dim``) kept
        once, in order."""
        dim = None if dim is None else _dim(dim, self.ndim)
        return _wrapped(counting.unique_consecutive(self.data, return_inverse, return_counts, dim))

    def bincount(self, weights: Tensor | None = None, minlength: builtins.int = 0) -> Tensor:
        """``out[v]`` = the number of times ``v`` occurs in this 1-D non-negative integer tensor (or
        the sum of ``weights`` there), with ``max(self) + 1`` bins, at least ``minlength``."""
        weights = None if weights is None else _array(weights)
        return Tensor._make(counting.bincount(self.data, weights, minlength), False)

    def histc(self, bins: builtins.int = 100, min=0, max=0) -> Tensor:  # noqa: A002
        """The counts of a histogram with ``bins`` equal bins over ``[min, max]`` (the data's range
        when ``min == max``); elements outside are left out. Float tensors only; no gradient."""
        edges = counting.histogram_edges(self.data, bins, builtins.float(min), builtins.float(max))
        return Tensor._make(counting.histogram(self.data.reshape(-1), edges, None, False), False)

    def histogram(self, bins, *, range=None, weight: Tensor | None = None,  # noqa: A002
                  density: builtins.bool = False) -> _HistogramResult:
        """``(hist, bin_edges)``: ``bins`` equal bins over ``range`` (the data's range when None), or
        the given increasing edges (a 1-D tensor); ``weight`` sums weights instead of counting,
        ``density`` divides by the total and the bin widths."""
        low, high = (None, None) if range is None else (builtins.float(range[0]), builtins.float(range[1]))
        edges = counting.histogram_edges(self.data, _array(bins) if isinstance(bins, Tensor) else bins,
                                         low, high)
        weights = None if weight is None else _array(weight).reshape(-1)
        hist = counting.histogram(self.data.reshape(-1), edges, weights, density)
        return _HistogramResult(Tensor._make(hist, False), Tensor._make(edges, False))


class _HistogramResult(tuple):
    """``(hist, bin_edges)`` with names, as ``histogram`` returns."""

    hist = property(lambda self: self[0])
    bin_edges = property(lambda self: self[1])

    def __new__(cls, hist, bin_edges):
        return super().__new__(cls, (hist, bin_edges))


def _wrapped(arrays: list) -> Tensor | tuple:
    """``unique``'s results as tensors: one alone, several as a tuple."""
    tensors = tuple(Tensor._make(a, False) for a in arrays)
    return tensors[0] if len(tensors) == 1 else tensors
