"""Resampling one axis as a matrix: ``y = A @ x`` along that axis, with ``A[out_size, in_size]``.

Nearest and linear interpolation (``F.interpolate``) and adaptive average pooling are such
linear maps, so they are a matmul per spatial axis and their gradient is the matmul with
``A.T`` (the matmul's own backward). Adaptive max pooling picks an element per window instead:
``adaptive_max_indices`` finds it, and the caller gathers it (gather's backward adds the
gradient back there). The matrices are NumPy float64; the caller casts them to the input's dtype.
"""

from __future__ import annotations

import numpy as np


def _source_scale(in_size: int, out_size: int, scale_factor: float | None) -> float:
    """How far apart output samples are, in input pixels: ``1 / scale_factor`` when the
    caller gave one (PyTorch keeps the user's factor, not the rounded sizes' ratio), else
    ``in_size / out_size``."""
    return 1.0 / scale_factor if scale_factor else in_size / out_size


def nearest_matrix(in_size: int, out_size: int, scale_factor: float | None = None, exact: bool = False,
                   shortcuts: bool = False) -> np.ndarray:
    """One 1 per row: output ``i`` copies input ``min(floor(i * s), in_size - 1)``, ``s`` the
    source scale (``mode="nearest"``); ``exact`` (``"nearest-exact"``) samples at the pixel
    centres: ``floor((i + 0.5) * s)``.

    NOTE: as PyTorch's kernels, ``s`` and the product are float32 (so the indices match
    PyTorch's where ``i * s`` lands near an integer); ``shortcuts`` (PyTorch's 2-D
    ``"nearest"`` kernel) copies input ``i`` when the sizes are equal and input ``i // 2``
    when the output is twice as long, whatever ``scale_factor`` was.
    """
    out = np.arange(out_size)
    scale = np.float32(_source_scale(in_size, out_size, scale_factor))
    position = out.astype(np.float32) + np.float32(0.5 if exact else 0.0)
    source = np.floor(position * scale).astype(np.int64)
    if shortcuts and not exact and out_size in (in_size, 2 * in_size):
        source = out * in_size // out_size
    matrix = np.zeros((out_size, in_size))
    matrix[out, np.minimum(source, in_size - 1)] = 1.0
    return matrix


def linear_matrix(in_size: int, out_size: int, scale_factor: float | None,
                  align_corners: bool) -> np.ndarray:
    """Two weights per row: output ``i`` sits at input coordinate ``c`` and is
    ``(1 - t) * x[floor(c)] + t * x[floor(c) + 1]``, ``t = c - floor(c)`` (the last input
    repeats past the end).

    ``align_corners=True``: the first and last samples of both sides coincide,
    ``c = i * (in_size - 1) / (out_size - 1)``. ``False``: samples are pixel centres,
    ``c = (i + 0.5) * s - 0.5`` (at least 0), ``s`` the source scale.
    """
    out = np.arange(out_size)
    if align_corners:
        coord = out * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    else:
        coord = np.maximum((out + 0.5) * _source_scale(in_size, out_size, scale_factor) - 0.5, 0.0)
    left = np.minimum(np.floor(coord).astype(np.int64), in_size - 1)
    right = np.minimum(left + 1, in_size - 1)
    t = np.clip(coord - left, 0.0, 1.0)
    matrix = np.zeros((out_size, in_size))
    np.add.at(matrix, (out, left), 1.0 - t)
    np.add.at(matrix, (out, right), t)  # adds to the same entry where left == right
    return matrix


def adaptive_windows(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive pooling's windows: output ``i`` covers inputs ``[floor(i * in / out),
    ceil((i + 1) * in / out))`` (they overlap when ``out`` does not divide ``in``)."""
    rows = np.arange(out_size)
    return rows * in_size // out_size, -(-(rows + 1) * in_size // out_size)


def average_matrix(in_size: int, out_size: int) -> np.ndarray:
    """Row ``i`` averages adaptive window ``i`` (``adaptive_windows``): ``1 / len`` inside it."""
    start, end = adaptive_windows(in_size, out_size)
    cols = np.arange(in_size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return inside / (end - start)[:, None]


def adaptive_max_indices(x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """``int64[..., out_h, out_w]``: where each adaptive window of ``x[..., H, W]`` has its max,
    as a position ``row * W + col`` in the ``H*W`` plane (the first max on ties; a NaN counts
    as the max, as PyTorch's)."""
    h, w = x.shape[-2:]
    (top, bottom), (left, right) = adaptive_windows(h, out_h), adaptive_windows(w, out_w)
    indices = np.empty((*x.shape[:-2], out_h, out_w), dtype=np.int64)
    for i in range(out_h):
        for j in range(out_w):
            window = x[..., top[i]:bottom[i], left[j]:right[j]]
            width = right[j] - left[j]
            flat = window.reshape(*window.shape[:-2], -1).argmax(-1)  # NumPy's argmax: first max, NaN wins
            indices[..., i, j] = (top[i] + flat // width) * w + left[j] + flat % width
    return indices
