"""Counting and searching, on NumPy arrays and without gradient (their results are integers,
or counts of where values fall): ``unique``, ``unique_consecutive``, ``bincount``,
``searchsorted`` (and ``bucketize``), ``histc`` and ``histogram``. Each checks its input as
PyTorch does and returns arrays of PyTorch's dtypes; ``tensor_counting.py`` wraps them."""

from __future__ import annotations

import numpy as np


def unique(a: np.ndarray, return_inverse: bool, return_counts: bool, dim: int | None) -> list:
    """``[values, inverse?, counts?]``: the distinct elements of ``a`` (or its distinct slices
    along ``dim``) in ascending order, where each element (slice) of ``a`` is among them, and
    how often each occurs. NaNs are all distinct, as PyTorch's."""
    if dim is None:
        flat = a.reshape(-1)
        values, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True, equal_nan=False)
        inverse = inverse.reshape(a.shape)
    else:
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=dim)
        inverse = inverse.reshape(-1)
    return _picked(values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(a: np.ndarray, return_inverse: bool, return_counts: bool, dim: int | None) -> list:
    """``unique``, but only runs of equal neighbours collapse (``[1, 1, 2, 1]`` gives ``[1, 2, 1]``);
    the order is kept."""
    rows = a.reshape(-1, 1) if dim is None else np.moveaxis(a, dim, 0).reshape(a.shape[dim], -1)
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    inverse = np.cumsum(starts) - 1
    counts = np.diff(np.append(np.flatnonzero(starts), len(rows)))
    if dim is None:
        values, inverse = a.reshape(-1)[starts], inverse.reshape(a.shape)
    else:
        values = np.compress(starts, a, axis=dim)
    return _picked(values, inverse, counts, return_inverse, return_counts)


def _picked(values, inverse, counts, return_inverse: bool, return_counts: bool) -> list:
    """The results ``unique`` was asked for, the indices as int64."""
    out = [values]
    if return_inverse:
        out.append(inverse.astype(np.int64))
    if return_counts:
        out.append(counts.astype(np.int64))
    return out


def bincount(a: np.ndarray, weights: np.ndarray | None, minlength: int) -> np.ndarray:
    """``out[v]`` = how many times ``v`` occurs in the 1-D non-negative integer ``a`` (or the sum
    of the ``weights`` at those places), for ``v`` up to ``max(a)`` and at least ``minlength``
    bins. int64 counts; the weights' sums are float32 for float32 weights, else float64."""
    if a.dtype.kind not in "biu":
        raise NotImplementedError(f"bincount: not implemented for {a.dtype} tensors, only integers")
    if a.ndim != 1 or (a.size and a.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs")
    if minlength < 0:
        raise RuntimeError(f"bincount: minlength should be >= 0, got {minlength}")
    if weights is None:
        return np.bincount(a, minlength=minlength).astype(np.int64)
    if weights.shape != a.shape:
        raise RuntimeError(f"bincount: weights of shape {weights.shape} should have the input's "
                           f"shape {a.shape}")
    dtype = np.float32 if weights.dtype == np.float32 else np.float64
    return np.bincount(a, weights, minlength=minlength).astype(dtype)


def searchsorted(boundaries: np.ndarray, values: np.ndarray, right: bool, sorter: np.ndarray | None,
                 out_int32: bool) -> np.ndarray:
    """For each value, the index into its (ascending) row of ``boundaries`` at which it would be
    inserted to keep the row sorted: before equal elements, or after them when ``right``.
    ``boundaries`` is 1-D, or has ``values``'s leading dims (one row per slice of ``values``);
    ``sorter`` the indices that sort unsorted ``boundaries``."""
    side = "right" if right else "left"
    dtype = np.int32 if out_int32 else np.int64
    if sorter is not None:
        if sorter.shape != boundaries.shape or sorter.dtype.kind not in "iu":
            raise RuntimeError(f"searchsorted: sorter must be an integer tensor of the boundaries' shape "
                               f"{boundaries.shape}, got {sorter.dtype} {sorter.shape}")
        boundaries = np.take_along_axis(boundaries, sorter, axis=-1)
    if boundaries.ndim <= 1:
        return np.searchsorted(boundaries.reshape(-1), values, side=side).astype(dtype)
    if values.ndim == 0 or boundaries.shape[:-1] != values.shape[:-1]:
        raise RuntimeError(f"searchsorted: boundaries should be 1-D, or their leading dims should match "
                           f"the values' ({boundaries.shape} and {values.shape})")
    rows, points = boundaries.reshape(-1, boundaries.shape[-1]), values.reshape(-1, values.shape[-1])
    found = [np.searchsorted(row, v, side=side) for row, v in zip(rows, points)]
    return np.array(found, dtype=dtype).reshape(values.shape)


def histogram_edges(a: np.ndarray, bins, low: float | None, high: float | None) -> np.ndarray:
    """The bin edges of ``histc``/``histogram``: ``bins`` (a count) equal bins over ``[low, high]``,
    or over the data's range when those are not given or equal (widened by 1 each way when that
    range is one value); or ``bins`` itself, an array of increasing edges."""
    if a.dtype.kind != "f":
        raise NotImplementedError(f"histogram: not implemented for {a.dtype} tensors, only float tensors")
    if isinstance(bins, np.ndarray):
        return bins.astype(a.dtype)
    if bins <= 0:
        raise RuntimeError(f"histogram: bins must be > 0, got {bins}")
    if low is None or low == high:
        low, high = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if low > high:
        raise RuntimeError(f"histogram: max ({high}) must be larger than min ({low})")
    if not np.isfinite([low, high]).all():
        raise RuntimeError(f"histogram: range of [{low}, {high}] is not finite")
    if low == high:
        low, high = low - 1, high + 1
    return np.linspace(low, high, bins + 1).astype(a.dtype)


def histogram(a: np.ndarray, edges: np.ndarray, weights: np.ndarray | None, density: bool) -> np.ndarray:
    """How many elements of ``a`` (or the sum of their ``weights``) fall in each bin: ``[edges[i],
    edges[i + 1])``, the last bin closed; elements outside are left out. With ``density``, divided
    by the total and the bin width (the histogram then integrates to 1)."""
    hist, _ = np.histogram(a, edges, weights=weights, density=density)
    return hist.astype(a.dtype)
