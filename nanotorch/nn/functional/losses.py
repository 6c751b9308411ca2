"""The losses' reduction (``_reduce``) and target helpers, and the elementwise losses: regression
(``mse_loss``, ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``), binary cross-entropies, ``kl_div``
and the Poisson and Gaussian likelihoods. Cross-entropy is in ``cross_entropy_losses``, the margin and
embedding losses in ``margin_losses``."""

from __future__ import annotations

import math
import warnings

import numpy as np

from nanotorch.functions import where
from nanotorch.nn.functional._common import _check_float_input
from nanotorch.nn.functional.activations import logsigmoid
from nanotorch.ops.losses import BinaryCrossEntropyFn, BinaryCrossEntropyWithLogitsFn, check_reduction
from nanotorch.tensor import Tensor


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _like(input: Tensor, value, name: str) -> Tensor:
    """``value`` (a Tensor, array or number) as a Tensor of ``input``'s float dtype (a Tensor keeps
    its graph through the cast)."""
    _check_float_input(name, input)
    if isinstance(value, Tensor):
        return value if value.dtype == input.dtype else value.to(input.dtype)
    return Tensor(value, dtype=input.dtype)


def _elementwise_target(input: Tensor, target, name: str) -> Tensor:
    """``target`` as a Tensor of the input's float dtype; warn when its shape differs (it is
    broadcast, as PyTorch does, which is rarely what was meant)."""
    if not isinstance(target, Tensor) or target.dtype != input.dtype:
        target = Tensor(target, dtype=input.dtype)
    if target.shape != input.shape:
        warnings.warn(f"{name}: using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}); it will be broadcast", stacklevel=3)
    return target


def mse_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target)^2``, reduced by mean, sum or none."""
    return _reduce((input - _elementwise_target(input, target, "mse_loss")) ** 2, reduction)


def l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Absolute error ``|input - target|``, reduced by mean, sum or none."""
    return _reduce((input - _elementwise_target(input, target, "l1_loss")).abs(), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, ``d = input - target``
    (``beta = 0``: the L1 loss)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    d = (input - _elementwise_target(input, target, "smooth_l1_loss")).abs()
    if beta == 0:
        return _reduce(d, reduction)

    return _reduce(where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 delta)``: ``delta *
    smooth_l1_loss`` with ``beta = delta``."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    d = (input - _elementwise_target(input, target, "huber_loss")).abs()

    return _reduce(where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


def _weighted(loss: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, *,
                         reduction: str = "mean") -> Tensor:
    """``-weight * (y * log p + (1 - y) * log(1 - p))`` for probabilities ``input`` and
    targets ``y`` of the same shape; each log is clamped at -100, as PyTorch."""
    return _weighted(BinaryCrossEntropyFn.apply(input, target), weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None, *,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably from the logits:
    ``max(x, 0) - x * y + log(1 + exp(-|x|))``. With ``pos_weight`` ``p`` (per class, broadcast
    over the last dim) the positive term is weighted: ``-p * y * log s(x) - (1 - y) * log(1 - s(x))``
    ``= (1 - y) * x - (1 + (p - 1) * y) * logsigmoid(x)``."""
    if pos_weight is None:
        return _weighted(BinaryCrossEntropyWithLogitsFn.apply(input, target), weight, reduction)
    y = _elementwise_target(input, target, "binary_cross_entropy_with_logits")
    loss = (1 - y) * input - (1 + (pos_weight - 1) * y) * logsigmoid(input)
    return _weighted(loss, weight, reduction)


def kl_div(input: Tensor, target: Tensor, *, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """``target * (log target - input)`` elementwise, for log-probabilities ``input`` (0 where
    ``target == 0``); ``log_target=True``: ``exp(t) * (t - input)``. ``reduction="batchmean"``
    divides the sum by the batch size (the true KL divergence; ``"mean"`` divides by every
    element, and warns, as PyTorch does)."""
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support "
                      "size. 'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition.", UserWarning, stacklevel=2)
    t = target if isinstance(target, Tensor) and target.dtype == input.dtype \
        else Tensor(target, dtype=input.dtype)
    if log_target:
        loss = t.exp() * (t - input)
    else:
        safe = where(t > 0, t, 1.0)
        loss = where(t > 0, t * (safe.log() - input), 0.0)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, *,
                     eps: float = 1e-8, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of counts ``target`` under a Poisson of rate ``r``, without the
    constant ``log(target!)``: ``exp(x) - target * x`` for ``log_input`` (``x = log r``), else
    ``x - target * log(x + eps)``. ``full=True`` adds Stirling's ``log(target!)``,
    ``t log t - t + 0.5 log(2 pi t)``, where ``target > 1``."""
    t = _like(input, target, "poisson_nll_loss")
    loss = input.exp() - t * input if log_input else input - t * (input + eps).log()
    if full:
        big = where(t > 1, t, 1.0)  # the log's argument kept > 0 where the term is dropped
        stirling = big * big.log() - big + 0.5 * (2 * math.pi * big).log()
        loss = loss + where(t > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def _variance_like(input: Tensor, var) -> Tensor:
    """``gaussian_nll_loss``'s ``var`` shaped to broadcast with ``input``: the same shape, one dim
    less (the last), or 1 in a single dim; a number is the same variance everywhere."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        return Tensor._make(np.full(input.shape, var, dtype=input.dtype), False)
    var = _like(input, var, "gaussian_nll_loss")
    if (var.data < 0).any():
        raise ValueError("var has negative entry/entries")
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:
        return var.unsqueeze(-1)
    mismatched = [v for i, v in zip(input.shape, var.shape) if i != v]
    if var.ndim == input.ndim and mismatched == [1]:
        return var
    raise ValueError(f"var is of incorrect size: {tuple(var.shape)} for input {tuple(input.shape)}")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under a normal of mean ``input`` and variance ``var``:
    ``0.5 * (log v + (input - target)^2 / v)`` (``+ 0.5 log(2 pi)`` with ``full``), ``v =
    max(var, eps)``. NOTE: as PyTorch, the clamp changes only the value: the gradient to ``var``
    is the one at ``v``, even where ``var < eps``."""
    t = _like(input, target, "gaussian_nll_loss")
    var = _variance_like(input, var)
    check_reduction(reduction)
    v = var + (var.clamp(min=eps) - var).detach()
    loss = 0.5 * (v.log() + (input - t) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
