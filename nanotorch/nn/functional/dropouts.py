"""Dropouts: of elements (``dropout``), of whole channels (``dropout1d``, ``dropout2d``), and
``alpha_dropout`` for SELU networks."""

from __future__ import annotations

import warnings

import numpy as np

from nanotorch.nn.functional.activations import SELU_ALPHA, SELU_SCALE
from nanotorch.ops.pointwise import DropoutFn
from nanotorch.random import numpy_generator
from nanotorch.tensor import Tensor


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``; the
    identity when not ``training``. NOTE: ``inplace`` is accepted for PyTorch code; the
    result is always a new tensor."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return DropoutFn.apply(input, p) if training else input


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each whole channel of ``input[N, C, L]`` (or ``[C, L]``) with probability ``p`` and
    scale the kept ones by ``1 / (1 - p)``: the mask is ``dropout`` of ones ``[N, C, 1]``. The
    identity when not ``training`` (``inplace``: see ``dropout``)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (2, 3):
        raise ValueError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note "
                         "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
                         "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
                         "inputs).")
    if not training or p == 0:
        return input
    ones = Tensor._make(np.ones((*input.shape[:-1], 1), dtype=input.dtype), False)
    return input * DropoutFn.apply(ones, p)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each whole channel of ``input[N, C, H, W]`` with probability ``p`` and scale the kept ones
    by ``1 / (1 - p)``: the mask is ``dropout`` of ones ``[N, C, 1, 1]``. The identity when not
    ``training``. NOTE: as PyTorch, a 3-D input is taken as ``[N, C, L]`` (with a warning), and
    other dims warn and drop along dim 1; ``inplace``: see ``dropout``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
                      "will result in an error in a future release. To retain the behavior and silence this "
                      "warning, please use dropout instead.", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
                      "dim. To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    if not training or p == 0:
        return input
    if input.ndim < 2:
        raise ValueError(f"dropout2d: expected input [N, C, *] with at least 2 dims, got "
                         f"{tuple(input.shape)}")
    ones = Tensor._make(np.ones((*input.shape[:2], *[1] * (input.ndim - 2)), dtype=input.dtype), False)
    return input * DropoutFn.apply(ones, p)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: keeps mean 0 and variance 1. Each element is dropped with
    probability ``p`` to SELU's negative limit ``a' = -SELU_SCALE * SELU_ALPHA`` (not to 0), then
    ``y = a * x_dropped + b`` with ``a = ((1 - p) * (1 + p a'^2))^(-1/2)`` and ``b = -a a' p``, so
    ``y = a * m * x + a a' (m - 1 + p)`` for the keep mask ``m``; gradient ``a * m``. The identity
    when not ``training`` (the default here, as PyTorch); ``p = 1`` gives zeros."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    keep = numpy_generator().random(input.shape, dtype=np.float32) >= p  # as DropoutFn's mask
    mask = Tensor._make(keep.astype(input.dtype), False)
    drop_to = -SELU_SCALE * SELU_ALPHA
    a = ((1 - p) * (1 + p * drop_to ** 2)) ** -0.5
    return input * (mask * a) + (mask - 1 + p) * (a * drop_to)
