"""Private helpers that several families of ``nanotorch.nn.functional`` share: ints and pairs of
ints from arguments (``_pair``, ``_single``), unbatched input (``_unbatched``), the float-input
check (``_check_float_input``) and a matrix per spatial dim (``_resample``)."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from nanotorch.ops.checks import check_float
from nanotorch.tensor import Tensor


def _pair(value, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair of ints stays a pair."""
    if isinstance(value, Integral):
        return int(value), int(value)
    if not isinstance(value, (tuple, list)) or len(value) != 2 or \
            not all(isinstance(v, Integral) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(value[0]), int(value[1])


def _single(value, name: str) -> int:
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    return int(value)


def _unbatched(input: Tensor, fn):
    """``fn(input)`` for ``[N, C, H, W]``; a 3-D ``[C, H, W]`` goes through as a batch of one."""
    if isinstance(input, Tensor) and input.ndim == 3:
        return fn(input.unsqueeze(0)).squeeze(0)
    return fn(input)


def _check_float_input(name: str, input: Tensor) -> None:
    """Raise ``TypeError`` unless ``input`` is a floating point Tensor (the error names ``name``)."""
    check_float(name, "input", input.data if isinstance(input, Tensor) else input)


def _resample(x: Tensor, matrices: list[np.ndarray]) -> Tensor:
    """Apply ``A[out, in]`` to each spatial dim of ``x[..., *spatial]`` (``matrices`` in that dim
    order): ``x @ A_w.T`` for the last dim, then ``A_h @ x`` for the one before (so the gradient
    is the same matmuls with the transposes)."""
    x = x @ Tensor._make(matrices[-1].T.astype(x.dtype), False)
    if len(matrices) == 2:
        x = Tensor._make(matrices[0].astype(x.dtype), False) @ x
    return x
