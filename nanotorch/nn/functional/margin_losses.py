"""Margin and embedding losses: ranking, hinge, cosine and triplet losses of embeddings, and the
multi-class and multi-label margin losses."""

from __future__ import annotations

import numpy as np

from nanotorch.functions import where
from nanotorch.nn.functional._common import _check_float_input
from nanotorch.nn.functional.activations import logsigmoid, softplus
from nanotorch.nn.functional.distance import pairwise_distance
from nanotorch.nn.functional.losses import _like, _reduce
from nanotorch.ops.losses import check_class_indices
from nanotorch.tensor import Tensor


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, *,
                        reduction: str = "mean") -> Tensor:
    """``max(0, -y * (x1 - x2) + margin)``: ``y = 1`` asks for ``x1`` above ``x2`` by ``margin``,
    ``y = -1`` the other way round (the three tensors broadcast, and must have as many dims)."""
    if not input1.ndim == input2.ndim == target.ndim:
        raise ValueError(f"margin_ranking_loss: all input tensors should have the same number of dims, but "
                         f"got input1: {tuple(input1.shape)}, input2: {tuple(input2.shape)}, "
                         f"target: {tuple(target.shape)}")
    y = _like(input1, target, "margin_ranking_loss")
    return _reduce((margin - y * (input1 - input2)).clamp(min=0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, *,
                         reduction: str = "mean") -> Tensor:
    """``x`` where ``y = 1`` and ``max(0, margin - x)`` where ``y = -1`` (``x`` is usually a
    distance: small for similar pairs, at least ``margin`` for dissimilar ones). As PyTorch,
    a target that is neither gets both terms."""
    y = _like(input, target, "hinge_embedding_loss")
    apart = where(y != 1, (margin - input).clamp(min=0), 0.0)
    return _reduce(apart + where(y != -1, input, 0.0), reduction)


COSINE_EMBEDDING_EPS = 1e-12


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, *,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``y = 1``, ``max(0, cos(x1, x2) - margin)`` where ``y = -1``, for
    rows ``x1, x2 [N, D]`` with ``y [N]`` (or vectors ``[D]`` with a 0-d ``y``);
    ``cos = x1 . x2 / sqrt((|x1|^2 + 1e-12) * (|x2|^2 + 1e-12))``."""
    if target.ndim not in (0, 1):
        raise ValueError("cosine_embedding_loss: 0D or 1D target tensor expected, multi-target not supported")
    if not input1.ndim == input2.ndim == target.ndim + 1:
        raise ValueError(f"cosine_embedding_loss: {target.ndim}D target tensor expects "
                         f"{target.ndim + 1}D input tensors, but found inputs with sizes "
                         f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    y = _like(input1, target, "cosine_embedding_loss")
    dim = target.ndim
    square1 = (input1 * input1).sum(dim) + COSINE_EMBEDDING_EPS
    square2 = (input2 * input2).sum(dim) + COSINE_EMBEDDING_EPS
    cos = (input1 * input2).sum(dim) / (square1 * square2).sqrt()
    loss = where(y == 1, 1 - cos, 0.0) + where(y == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, *,
                        reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, pos) - d(a, neg))`` with ``d = pairwise_distance(., ., p, eps)``:
    the anchor should be nearer the positive than the negative by ``margin``. ``swap=True`` uses
    ``min(d(a, neg), d(pos, neg))`` as the negative's distance (the harder of the two)."""
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(f"triplet_margin_loss: the anchor, positive, and negative tensors are expected to "
                         f"have the same number of dimensions, but got: anchor {anchor.ndim}D, positive "
                         f"{positive.ndim}D, and negative {negative.ndim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, *,
                                reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of logits ``input[N, C]`` against 0/1 labels, averaged over the ``C``
    classes: ``-mean_c w_c (y log sigmoid(x) + (1 - y) log sigmoid(-x))``, one loss per sample."""
    y = _like(input, target, "multilabel_soft_margin_loss")
    loss = -(y * logsigmoid(input) + (1 - y) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    return _reduce(loss.sum(class_dim) / input.shape[class_dim], reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, *, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss of scores ``input[N, C]`` (or ``[C]``) and class indices ``y[N]``:
    ``loss_n = sum_{c != y} w[y] * max(0, margin - x[y] + x[c])^p / C``, ``p`` 1 or 2 (the right
    class should beat every other by ``margin``)."""
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _check_float_input("multi_margin_loss", input)
    check_class_indices("multi_margin_loss", target.data if isinstance(target, Tensor) else target)
    if input.ndim > 2 or 0 in input.shape:
        raise ValueError(f"multi_margin_loss: expected non-empty vector or matrix with optional 0-dim batch "
                         f"size, but got: {tuple(input.shape)}")
    scores = input.reshape(-1, input.shape[-1] if input.ndim else 1)
    n, c = scores.shape
    if target.ndim > 1 or target.numel() != n:
        raise ValueError(f"multi_margin_loss: inconsistent target size, expected {n} but got "
                         f"{tuple(target.shape)}")
    if weight is not None and weight.numel() != c:
        raise ValueError(f"multi_margin_loss: inconsistent weight size, expected {c} but got "
                         f"{tuple(weight.shape)}")
    labels = target.data.reshape(n, 1)
    if ((labels < 0) | (labels >= c)).any():
        raise IndexError(f"multi_margin_loss: target out of range: labels must be in [0, {c})")
    index = Tensor._make(labels.astype(np.int64), False)
    hinge = (margin - scores.gather(1, index) + scores).clamp(min=0) ** p
    hinge = where(Tensor._make(labels != np.arange(c), False), hinge, 0.0)
    if weight is not None:
        hinge = hinge * weight.index_select(0, index.reshape(n)).reshape(n, 1)
    loss = hinge.sum(1) / c
    return _reduce(loss.reshape(target.shape) if reduction == "none" else loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Two-class logistic loss ``log(1 + exp(-y * x))`` for labels ``y`` of 1 or -1 (computed as
    ``softplus(-y * x)``, stable for large ``|x|``)."""
    return _reduce(softplus(-_like(input, target, "soft_margin_loss") * input), reduction)
