"""The top-level tensor functions (``nt.exp(x)``, ``nt.cat([a, b])``, ...), as in ``torch``.

Most forward to the Tensor method of the same name; ``where``, ``cat`` and ``stack`` take
several tensors and call their operation directly.
"""

from __future__ import annotations

import numpy as np

from nanotorch.ops.pointwise import Where
from nanotorch.ops.shape import Cat, Stack
from nanotorch.tensor import Tensor, chunk, split
from nanotorch.tensor import _Scalar as _ScalarTypes


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def exp(x): return _t(x).exp()                                        # noqa: E704
def log(x): return _t(x).log()                                        # noqa: E704
def sqrt(x): return _t(x).sqrt()                                      # noqa: E704
def abs(x): return _t(x).abs()                                        # noqa: A001,E704
def relu(x): return _t(x).relu()                                      # noqa: E704
def sigmoid(x): return _t(x).sigmoid()                                # noqa: E704
def tanh(x): return _t(x).tanh()                                      # noqa: E704
def clamp(x, min=None, max=None): return _t(x).clamp(min, max)        # noqa: A002,E704
def maximum(a, b): return _t(a).maximum(b)                            # noqa: E704
def minimum(a, b): return _t(a).minimum(b)                            # noqa: E704
def matmul(a, b): return _t(a) @ b                                    # noqa: E704
def softmax(x, dim=-1): return _t(x).softmax(dim)                     # noqa: E704
def log_softmax(x, dim=-1): return _t(x).log_softmax(dim)             # noqa: E704
def logsumexp(x, dim=None, keepdim=False): return _t(x).logsumexp(dim, keepdim)  # noqa: E704
def flatten(x, start_dim=0, end_dim=-1): return _t(x).flatten(start_dim, end_dim)  # noqa: E704
def reshape(x, shape): return _t(x).reshape(shape)                    # noqa: E704
def transpose(x, dim0, dim1): return _t(x).transpose(dim0, dim1)      # noqa: E704
def permute(x, dims): return _t(x).permute(dims)                      # noqa: E704
def squeeze(x, dim=None): return _t(x).squeeze(dim)                   # noqa: E704
def unsqueeze(x, dim): return _t(x).unsqueeze(dim)                    # noqa: E704
def argmax(x, dim=None, keepdim=False): return _t(x).argmax(dim, keepdim)  # noqa: E704
def argmin(x, dim=None, keepdim=False): return _t(x).argmin(dim, keepdim)  # noqa: E704


def sum(x, dim=None, keepdim=False, *, keepdims=None):  # noqa: A001
    return _t(x).sum(dim, keepdim, keepdims=keepdims)


def mean(x, dim=None, keepdim=False, *, keepdims=None):
    return _t(x).mean(dim, keepdim, keepdims=keepdims)


def var(x, dim=None, unbiased=True, keepdim=False, **kw):
    return _t(x).var(dim, unbiased, keepdim, **kw)


def std(x, dim=None, unbiased=True, keepdim=False, **kw):
    return _t(x).std(dim, unbiased, keepdim, **kw)


def max(x, dim=None, keepdim=False):  # noqa: A001
    """``max(x)``, ``max(x, dim)`` -> ``(values, indices)``, or ``max(a, b)`` elementwise."""
    if isinstance(dim, Tensor):
        return _t(x).maximum(dim)
    return _t(x).max(dim, keepdim)


def min(x, dim=None, keepdim=False):  # noqa: A001
    if isinstance(dim, Tensor):
        return _t(x).minimum(dim)
    return _t(x).min(dim, keepdim)


def where(condition, x, y) -> Tensor:
    """``x`` where ``condition`` holds, else ``y``; gradients flow to ``x`` and ``y``."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    x = x if isinstance(x, (Tensor,) + _ScalarTypes) else Tensor(x)
    y = y if isinstance(y, (Tensor,) + _ScalarTypes) else Tensor(y)
    return Where.apply(cond.astype(bool, copy=False), x, y)


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim."""
    if not tensors:
        raise ValueError("cat() needs at least one tensor")
    return Cat.apply(*[_t(t) for t in tensors], dim=dim)


concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new dim."""
    if not tensors:
        raise ValueError("stack() needs at least one tensor")
    return Stack.apply(*[_t(t) for t in tensors], dim=dim)


__all__ = ["exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh", "clamp", "maximum",
           "minimum", "matmul", "softmax", "log_softmax", "logsumexp", "flatten", "reshape",
           "transpose", "permute", "squeeze", "unsqueeze", "argmax", "argmin", "sum", "mean",
           "var", "std", "max", "min", "where", "cat", "concatenate", "stack", "split", "chunk"]
