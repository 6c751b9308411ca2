"""The checks ops share, worded once: float dtype, per-feature vectors, C-contiguity.

Every user-facing rule is checked here or in the op itself, before any backend runs, so the
message a user reads is the same on the NumPy and the C backend.
"""

from __future__ import annotations

import numpy as np


def contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous array: the same object when it already is one (0-d stays 0-d)."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def check_float(op: str, name: str, a, dtype: np.dtype | None = None) -> None:
    """Raise ``TypeError`` unless ``a`` is a float array (of exactly ``dtype`` when given)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(a).__name__}")
    if a.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating point tensor, got dtype {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{op}: {name} has dtype {a.dtype} but the input has dtype {dtype}; "
                        "convert one of them (e.g. model.double() or x.float())")


def check_vector(op: str, name: str, a, size: int, dtype: np.dtype) -> None:
    """Raise unless ``a`` is ``None`` or a ``[size]`` array of ``dtype`` (a per-feature vector)."""
    if a is None:
        return
    check_float(op, name, a, dtype)
    if a.shape != (size,):
        raise ValueError(f"{op}: {name} must have shape ({size},), got {a.shape}")
