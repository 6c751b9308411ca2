"""Guards both backends share: the pooling geometry and the max-pool indices a backward reads.

The op layer (``ops/pooling.py``) checks the user's arguments; these re-check what a backend is
handed, so neither the NumPy indexing nor a C kernel can be given an index outside its array.
"""

from __future__ import annotations

import numpy as np


def pool_output_size(x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple) -> tuple[int, int]:
    """``(Ho, Wo)`` of a pooling over ``x_shape = (N, C, H, W)``: ``Ho = (H + 2*ph - kh) // sh + 1``.

    Raises ``ValueError`` unless ``C, H, W, kh, kw, sh, sw >= 1``, ``0 <= ph <= kh // 2`` and
    ``0 <= pw <= kw // 2`` (PyTorch's rule: then every window holds at least one input value).
    """
    (n, c, h, w), (kh, kw), (sh, sw), (ph, pw) = x_shape, kernel, stride, padding
    if (min(c, h, w, kh, kw, sh, sw) < 1 or n < 0 or not 0 <= ph <= kh // 2
            or not 0 <= pw <= kw // 2 or kh > h + 2 * ph or kw > w + 2 * pw):
        raise ValueError(f"pool2d: kernel {kernel}, stride {stride}, padding {padding} do not fit "
                         f"x {list(x_shape)} (padding at most half the kernel)")
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def check_pool_indices(indices: np.ndarray, dy_shape: tuple, x_shape: tuple) -> None:
    """Raise unless ``indices`` are integers of shape ``dy_shape = (N, C, Ho, Wo)`` pointing into
    the ``H*W`` plane of ``x_shape = (N, C, H, W)``: ``0 <= indices < H*W``."""
    if not (isinstance(indices, np.ndarray) and indices.dtype.kind in "iu"):
        raise TypeError(f"max_pool2d_backward: indices must be an integer array, got "
                        f"{getattr(indices, 'dtype', type(indices).__name__)}")
    if (len(x_shape) != 4 or len(dy_shape) != 4 or tuple(dy_shape[:2]) != tuple(x_shape[:2])
            or indices.shape != tuple(dy_shape)):
        raise ValueError(f"max_pool2d_backward: dy {list(dy_shape)} and indices "
                         f"{list(indices.shape)} do not match x {list(x_shape)}")
    plane = x_shape[2] * x_shape[3]
    # NOTE: seen as unsigned, a negative index is huge: one max() checks both ends of the range
    unsigned = indices.astype(np.int64, copy=False).view(np.uint64)
    if indices.size and unsigned.max() >= plane:
        bad = indices[(indices < 0) | (indices >= plane)].flat[0]
        raise IndexError(f"max_pool2d_backward: index {bad} is out of range for an H*W plane "
                         f"of {plane}")
