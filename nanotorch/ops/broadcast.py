"""Undoing NumPy broadcasting in backward."""

from __future__ import annotations

import numpy as np


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the gradient of broadcasting an input of ``shape``.

    Broadcasting prepends dims and stretches size-1 dims; each copy of an input element
    contributed to the output, so its gradient is the sum over the copies.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def shape_of(x) -> tuple:
    """Shape of an array or of a Python number (``()``)."""
    return x.shape if isinstance(x, np.ndarray) else ()
