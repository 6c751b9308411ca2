"""``nanotorch.nn.functional``: the layers and losses as functions (PyTorch's ``torch.nn.functional``).

Each function checks its arguments, then calls one op (``nanotorch.ops``) or a few Tensor
methods. Usually imported as ``import nanotorch.nn.functional as F``.
"""

from __future__ import annotations

import warnings
from numbers import Integral

from nanotorch.ops.conv import AvgPool2d, Conv2d, MaxPool2d
from nanotorch.ops.loss import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    NLLLoss,
    check_reduction,
)
from nanotorch.ops.nn import BatchNorm, Dropout, LeakyReLU, Linear
from nanotorch.tensor import Tensor

__all__ = [
    "avg_pool2d", "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d",
    "cross_entropy", "dropout", "l1_loss", "leaky_relu", "linear", "log_softmax", "max_pool2d",
    "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]


def _pair(value, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair of ints stays a pair."""
    if isinstance(value, Integral):
        return int(value), int(value)
    if not isinstance(value, (tuple, list)) or len(value) != 2 or \
            not all(isinstance(v, Integral) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(value[0]), int(value[1])


# ------------------------------------------------------------------------- layers
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = input @ weight.T + bias``: ``input[..., in], weight[out, in], bias[out] -> y[..., out]``."""
    return Linear.apply(input, weight, bias)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0) -> Tensor:
    """2-D cross-correlation ``input[N, C, H, W], weight[O, C, kh, kw], bias[O] -> [N, O, Ho, Wo]``,
    ``Ho = (H + 2*padding - kh) // stride + 1``. ``stride`` and ``padding``: an int or a pair.
    An unbatched ``input[C, H, W]`` gives ``[O, Ho, Wo]``, as PyTorch."""
    return _unbatched(input, lambda x: Conv2d.apply(x, weight, bias, stride=_pair(stride, "stride"),
                                                    padding=_pair(padding, "padding")))


def _unbatched(input: Tensor, fn):
    """``fn(input)`` for ``[N, C, H, W]``; a 3-D ``[C, H, W]`` goes through as a batch of one."""
    if isinstance(input, Tensor) and input.ndim == 3:
        return fn(input.unsqueeze(0)).squeeze(0)
    return fn(input)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Max over ``kernel_size`` windows of ``input[N, C, H, W]`` or ``[C, H, W]`` (``stride``
    defaults to the kernel size; the padding is -inf)."""
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    return _unbatched(input, lambda x: MaxPool2d.apply(x, kernel, stride, _pair(padding, "padding")))


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over ``kernel_size`` windows of ``input[N, C, H, W]`` or ``[C, H, W]`` (``stride``
    defaults to the kernel size; zero padding counts in the mean)."""
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    return _unbatched(input, lambda x: AvgPool2d.apply(x, kernel, stride, _pair(padding, "padding")))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize ``input[N, C, *]`` per channel: ``(x - mean) / sqrt(var + eps) * weight + bias``.

    ``training=True`` uses the batch statistics and updates ``running_mean``/``running_var``
    in place (when given); ``training=False`` uses them.
    """
    return BatchNorm.apply(input, weight, bias, running_mean, running_var,
                           training=training, momentum=momentum, eps=eps)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``; the
    identity when not ``training``. NOTE: ``inplace`` is accepted for PyTorch code; the
    result is always a new tensor."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return Dropout.apply(input, p) if training else input


# -------------------------------------------------------------------- activations
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``. NOTE: ``inplace`` is accepted for PyTorch code; the result is a new tensor."""
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input`` (``inplace``: see ``relu``)."""
    return LeakyReLU.apply(input, negative_slope=negative_slope)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))``."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """``tanh(input)``."""
    return input.tanh()


def _softmax_dim(input: Tensor, dim: int | None, name: str) -> int:
    """PyTorch's legacy rule when ``dim`` is not given: 0 for 0-, 1- and 3-D input, else 1."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    return input.softmax(_softmax_dim(input, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``."""
    return input.log_softmax(_softmax_dim(input, dim, "log_softmax"))


# -------------------------------------------------------------------------- losses
def _reduce(loss: Tensor, reduction: str) -> Tensor:
    check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _class_rows(input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Scores ``[N, C]`` and labels ``[N]`` from ``input[N, C, d1, ...]`` with
    ``target[N, d1, ...]``, or from an unbatched ``input[C]`` with a 0-d ``target``."""
    if input.ndim == 2:
        return input, target
    if input.ndim == 1:
        return input.reshape(1, -1), target.reshape(1)
    if input.ndim == 0 or target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError(f"target of shape {target.shape} does not match input of shape {input.shape}; "
                         f"expected {input.shape[:1] + input.shape[2:]}")
    moved = input.permute(0, *range(2, input.ndim), 1)
    return moved.reshape(-1, input.shape[1]), target.reshape(-1)


def _class_loss(op, input: Tensor, target: Tensor, *args, reduction: str, **options) -> Tensor:
    """Run a class-index loss op on the rows of ``input``; ``"none"`` keeps ``target``'s shape."""
    scores, labels = _class_rows(input, target)
    loss = op.apply(scores, labels, *args, reduction=reduction, **options)
    return loss if reduction != "none" or input.ndim == 2 else loss.reshape(target.shape)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of ``input[N, C]`` logits and class indices ``target[N]`` (also
    ``input[N, C, d...]`` with ``target[N, d...]``, or ``input[C]`` with a 0-d target).

    ``loss_i = -(1 - e) * log softmax(x_i)[t_i] - e / C * sum_c log softmax(x_i)[c]`` with
    ``e = label_smoothing``; rows with ``t_i == ignore_index`` are left out (also from the
    mean's count). Without class ``weight`` this is one fused op; with it, it is
    ``nll_loss(log_softmax(input), target, weight)``.
    """
    if weight is None:
        return _class_loss(CrossEntropy, input, target, reduction=reduction,
                           label_smoothing=label_smoothing, ignore_index=ignore_index)
    if label_smoothing:
        raise NotImplementedError("cross_entropy: class weights together with label_smoothing")
    return nll_loss(log_softmax(input, 1 if input.ndim > 1 else 0), target, weight,
                    ignore_index=ignore_index, reduction=reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input[N, C]`` at ``target[N]``:
    ``loss_i = -weight[t_i] * input[i, t_i]``; the mean divides by ``sum_i weight[t_i]``
    over the rows not ignored. Shapes as ``cross_entropy``."""
    return _class_loss(NLLLoss, input, target, weight, reduction=reduction, ignore_index=ignore_index)


def _elementwise_target(input: Tensor, target, name: str) -> Tensor:
    """``target`` as a Tensor of the input's float dtype; warn when its shape differs (it is
    broadcast, as PyTorch does, which is rarely what was meant)."""
    if not isinstance(target, Tensor) or target.dtype != input.dtype:
        target = Tensor(target, dtype=input.dtype)
    if target.shape != input.shape:
        warnings.warn(f"{name}: using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}); it will be broadcast", stacklevel=3)
    return target


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target)^2``, reduced by mean, sum or none."""
    return _reduce((input - _elementwise_target(input, target, "mse_loss")) ** 2, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Absolute error ``|input - target|``, reduced by mean, sum or none."""
    return _reduce((input - _elementwise_target(input, target, "l1_loss")).abs(), reduction)


def _weighted(loss: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """``-weight * (y * log p + (1 - y) * log(1 - p))`` for probabilities ``input`` and
    targets ``y`` of the same shape; each log is clamped at -100, as PyTorch."""
    return _weighted(BinaryCrossEntropy.apply(input, target), weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean") -> Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably from the logits:
    ``max(x, 0) - x * y + log(1 + exp(-|x|))``."""
    return _weighted(BinaryCrossEntropyWithLogits.apply(input, target), weight, reduction)
