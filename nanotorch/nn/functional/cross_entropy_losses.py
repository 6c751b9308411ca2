"""The class-index losses: ``cross_entropy`` (of logits, with class indices or probabilities,
class weights and label smoothing) and ``nll_loss`` (of log-probabilities)."""

from __future__ import annotations

import numpy as np

from nanotorch import _dtype
from nanotorch.functions import where
from nanotorch.nn.functional.activations import log_softmax
from nanotorch.nn.functional.losses import _like, _reduce
from nanotorch.ops.checks import check_vector
from nanotorch.ops.losses import CrossEntropyFn, NLLLossFn, check_class_indices, check_reduction
from nanotorch.tensor import Tensor


def _class_rows(input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Scores ``[N, C]`` and labels ``[N]`` from ``input[N, C, d1, ...]`` with
    ``target[N, d1, ...]``, or from an unbatched ``input[C]`` with a 0-d ``target``."""
    if input.ndim == 1:
        return input.reshape(1, -1), target.reshape(1)
    if input.ndim == 0 or target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError(f"target of shape {target.shape} does not match input of shape {input.shape}; "
                         f"expected {input.shape[:1] + input.shape[2:]}")
    moved = input.permute(0, *range(2, input.ndim), 1)
    return moved.reshape(-1, input.shape[1]), target.reshape(-1)


def _class_loss(op, input: Tensor, target: Tensor, *args, reduction: str, **options) -> Tensor:
    """Run a class-index loss op on the rows of ``input``; ``"none"`` keeps ``target``'s shape."""
    name = "cross_entropy" if op is CrossEntropyFn else "nll_loss"
    if isinstance(input, Tensor) and not _dtype.is_floating(input.dtype):
        swapped = isinstance(target, Tensor) and _dtype.is_floating(target.dtype)
        raise TypeError(
            f"{name}: input must be floating point scores [N, C] (the model's output), got {input.dtype} of "
            f"shape {tuple(input.shape)}" + (
                f", and target is float of shape {tuple(target.shape)}: the arguments look swapped. "
                "Call it as criterion(model(x), labels)." if swapped else ""))
    if input.ndim == 2:  # already rows: the op checks the target itself
        return op.apply(input, target, *args, reduction=reduction, **options)
    check_class_indices(name, target.data if isinstance(target, Tensor) else target)
    scores, labels = _class_rows(input, target)
    loss = op.apply(scores, labels, *args, reduction=reduction, **options)
    return loss if reduction != "none" else loss.reshape(target.shape)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of ``input[N, C]`` logits and class indices ``target[N]`` (also
    ``input[N, C, d...]`` with ``target[N, d...]``, or ``input[C]`` with a 0-d target).

    ``loss_i = -(1 - e) * log softmax(x_i)[t_i] - e / C * sum_c log softmax(x_i)[c]`` with
    ``e = label_smoothing``; rows with ``t_i == ignore_index`` are left out (also from the
    mean's count). Without class ``weight`` this is one fused op; with it, it is
    ``nll_loss(log_softmax(input), target, weight)`` (and its smoothing term, weighted).
    A float ``target`` of the input's shape holds class probabilities instead: see
    ``_cross_entropy_probabilities``.
    """
    if weight is None:
        if type(input) is Tensor and input.data.ndim == 2 and input.data.dtype.kind == "f" and \
                (type(target) is not Tensor or target.data.ndim == 1):
            # NOTE: rows of float scores with class indices, the common case, straight to the op
            # (which checks the target): ``_class_loss``'s layers were ~2 µs of a [64, 10] loss.
            # A 2-D target (class probabilities, or a mistake) takes the checked way below.
            return CrossEntropyFn.apply(input, target, reduction=reduction,
                                        label_smoothing=label_smoothing, ignore_index=ignore_index)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if isinstance(target, Tensor) and isinstance(input, Tensor) and target.shape == input.shape and \
            _dtype.is_floating(input.dtype):  # (integer scores get _class_loss's message)
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    if weight is None:
        return _class_loss(CrossEntropyFn, input, target, reduction=reduction,
                           label_smoothing=label_smoothing, ignore_index=ignore_index)
    class_dim = 1 if input.ndim > 1 else 0
    logp = log_softmax(input, class_dim)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    smoothing = _weighted_smoothing(logp, target, weight, ignore_index, reduction)
    return (1 - label_smoothing) * loss + label_smoothing / input.shape[class_dim] * smoothing


def _weighted_smoothing(logp: Tensor, target: Tensor, weight: Tensor, ignore_index: int,
                        reduction: str) -> Tensor:
    """Label smoothing's term with class weights: ``s_i = -sum_c w_c log p_ic`` (0 for ignored
    rows), reduced as ``nll_loss`` reduces: the mean divides by ``sum_i w[t_i]`` over the rows kept."""
    class_dim = 1 if logp.ndim > 1 else 0
    shape = [1] * logp.ndim
    shape[class_dim] = -1
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    kept = labels != ignore_index
    smooth = where(Tensor._make(kept, False), -(logp * weight.detach().reshape(shape)).sum(class_dim), 0.0)
    if reduction != "mean":
        return _reduce(smooth, reduction)
    return smooth.sum() / weight.data[labels[kept]].sum()


def _cross_entropy_probabilities(input: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                                 label_smoothing: float) -> Tensor:
    """Cross-entropy against class probabilities ``target`` (the input's shape, classes on dim 1,
    or dim 0 for ``[C]``): ``loss_i = -sum_c w_c q_ic log softmax(x_i)_c`` with ``q = (1 - e) *
    target + e / C``; the mean divides by the number of rows (not by the weights).
    Gradient: ``dx_i = sum_c w_c q_ic * softmax(x_i) - w * q_i`` (autograd's, through ``log_softmax``)."""
    if not _dtype.is_floating(target.dtype):
        raise TypeError(f"cross_entropy: expected floating point type for target with class probabilities, "
                        f"got {target.dtype}")
    check_reduction(reduction)
    class_dim = 1 if input.ndim > 1 else 0
    classes = input.shape[class_dim]
    q = _like(input, target, "cross_entropy")
    if label_smoothing:
        q = q * (1 - label_smoothing) + label_smoothing / classes
    if weight is not None:
        check_vector("cross_entropy", "weight", weight.data, classes, input.dtype)
        shape = [1] * input.ndim
        shape[class_dim] = classes
        q = q * weight.reshape(shape)
    loss = -(log_softmax(input, class_dim) * q)
    if reduction == "none":
        return loss.sum(class_dim)
    total = loss.sum()
    return total if reduction == "sum" else total / (input.numel() // max(classes, 1))


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input[N, C]`` at ``target[N]``:
    ``loss_i = -weight[t_i] * input[i, t_i]``; the mean divides by ``sum_i weight[t_i]``
    over the rows not ignored. Shapes as ``cross_entropy``."""
    return _class_loss(NLLLossFn, input, target, weight, reduction=reduction, ignore_index=ignore_index)
