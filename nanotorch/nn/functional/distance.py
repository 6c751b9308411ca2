"""Distances between vectors: ``cosine_similarity`` and ``pairwise_distance``."""

from __future__ import annotations

from nanotorch.nn.functional._common import _check_float_input
from nanotorch.tensor import Tensor


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim`` (``x1`` and ``x2``
    broadcast; ``dim`` is then removed).

    NOTE: as PyTorch, each vector is divided by its clamped norm, and the clamp changes only the
    value: the gradient flows through the norm itself even where it is below ``eps``.
    """
    _check_float_input("cosine_similarity", x1)
    _check_float_input("cosine_similarity", x2)

    def unit(x: Tensor) -> Tensor:
        norm = x.norm(2, dim, keepdim=True)
        return x / (norm + (norm.clamp(min=eps) - norm).detach())

    return (unit(x1) * unit(x2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last dim (``x1`` and ``x2`` broadcast); ``eps`` keeps
    the gradient finite where they are equal."""
    _check_float_input("pairwise_distance", x1)
    _check_float_input("pairwise_distance", x2)
    diff = x1 - x2 + eps
    return diff.norm(p, diff.ndim - 1 if diff.ndim else None, keepdim=keepdim)
