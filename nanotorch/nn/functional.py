"""``nanotorch.nn.functional``: the layers and losses as functions (PyTorch's ``torch.nn.functional``).

Each function checks its arguments, then calls one op (``nanotorch.ops``) or a few Tensor
methods. Usually imported as ``import nanotorch.nn.functional as F``.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np

from nanotorch import _dtype
from nanotorch.functions import where
from nanotorch.ops.activation import (
    ELUFn,
    GELUFn,
    HardsigmoidFn,
    HardswishFn,
    HardtanhFn,
    LeakyReLUFn,
    LogSigmoidFn,
    PReLUFn,
    SiLUFn,
    SoftplusFn,
)
from nanotorch.ops.checks import check_float
from nanotorch.ops.conv import AvgPool2dFn, Conv2dFn, MaxPool2dFn, max_pool2d_indices
from nanotorch.ops.indexing import TakeFn
from nanotorch.ops.linear import LinearFn
from nanotorch.ops.losses import (
    BinaryCrossEntropyFn,
    BinaryCrossEntropyWithLogitsFn,
    CrossEntropyFn,
    NLLLossFn,
    check_class_indices,
    check_reduction,
)
from nanotorch.ops.normalization import BatchNormFn, LayerNormFn
from nanotorch.ops.pointwise import DropoutFn, ReLUFn
from nanotorch.ops.reorder import PadFn
from nanotorch.tensor import Tensor

__all__ = [
    "avg_pool2d", "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d",
    "cross_entropy", "dropout", "l1_loss", "leaky_relu", "linear", "log_softmax", "max_pool2d",
    "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
    "adaptive_avg_pool2d", "conv1d", "elu", "embedding", "gelu", "hardtanh", "huber_loss", "kl_div",
    "layer_norm", "logsigmoid", "normalize", "one_hot", "pad", "relu6", "silu", "smooth_l1_loss", "softplus",
    "celu", "glu", "hardsigmoid", "hardswish", "mish", "prelu", "selu", "softmin", "softsign", "threshold",
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
    return LinearFn.apply(input, weight, bias)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0) -> Tensor:
    """2-D cross-correlation ``input[N, C, H, W], weight[O, C, kh, kw], bias[O] -> [N, O, Ho, Wo]``,
    ``Ho = (H + 2*padding - kh) // stride + 1``. ``stride`` and ``padding``: an int or a pair.
    An unbatched ``input[C, H, W]`` gives ``[O, Ho, Wo]``, as PyTorch."""
    return _unbatched(input, lambda x: Conv2dFn.apply(x, weight, bias, stride=_pair(stride, "stride"),
                                                    padding=_pair(padding, "padding")))


def _unbatched(input: Tensor, fn):
    """``fn(input)`` for ``[N, C, H, W]``; a 3-D ``[C, H, W]`` goes through as a batch of one."""
    if isinstance(input, Tensor) and input.ndim == 3:
        return fn(input.unsqueeze(0)).squeeze(0)
    return fn(input)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, *, return_indices: bool = False):
    """Max over ``kernel_size`` windows of ``input[N, C, H, W]`` or ``[C, H, W]`` (``stride``
    defaults to the kernel size; the padding is -inf). ``return_indices=True`` also gives each
    max's position in its ``H*W`` plane (int64, as PyTorch); the values are then gathered at
    those positions."""
    if isinstance(input, Tensor) and input.ndim == 3:
        out = max_pool2d(input.unsqueeze(0), kernel_size, stride, padding, return_indices=return_indices)
        return tuple(t.squeeze(0) for t in out) if return_indices else out.squeeze(0)
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    if not return_indices:
        return MaxPool2dFn.apply(input, kernel, stride, _pair(padding, "padding"))
    indices = Tensor._make(max_pool2d_indices(input.data, kernel, stride, _pair(padding, "padding")), False)
    n, c = input.shape[:2]
    values = input.reshape(n, c, -1).gather(2, indices.reshape(n, c, -1))
    return values.reshape(indices.shape), indices


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, *,
               count_include_pad: bool = True) -> Tensor:
    """Mean over ``kernel_size`` windows of ``input[N, C, H, W]`` or ``[C, H, W]`` (``stride``
    defaults to the kernel size). The zero padding counts in the mean unless
    ``count_include_pad=False``: then each window's sum is divided by the number of input
    elements it covers."""
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    padding = _pair(padding, "padding")

    def pool(x: Tensor) -> Tensor:
        out = AvgPool2dFn.apply(x, kernel, stride, padding)
        if count_include_pad or padding == (0, 0):
            return out
        ones = Tensor._make(np.ones((1, 1, *x.shape[2:]), dtype=x.dtype), False)
        return out / AvgPool2dFn.apply(ones, kernel, stride, padding)  # the share of each window inside

    return _unbatched(input, pool)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize ``input[N, C, *]`` per channel: ``(x - mean) / sqrt(var + eps) * weight + bias``.

    ``training=True`` uses the batch statistics and updates ``running_mean``/``running_var``
    in place (when given); ``training=False`` uses them.
    """
    return BatchNormFn.apply(input, weight, bias, running_mean, running_var,
                           training=training, momentum=momentum, eps=eps)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``; the
    identity when not ``training``. NOTE: ``inplace`` is accepted for PyTorch code; the
    result is always a new tensor."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return DropoutFn.apply(input, p) if training else input


# -------------------------------------------------------------------- activations
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``. NOTE: ``inplace`` is accepted for PyTorch code; the result is a new tensor."""
    return ReLUFn.apply(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input`` (``inplace``: see ``relu``)."""
    return LeakyReLUFn.apply(input, negative_slope=negative_slope)


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
    ``nll_loss(log_softmax(input), target, weight)``.
    """
    if weight is None:
        if type(input) is Tensor and input.data.ndim == 2 and input.data.dtype.kind == "f":
            # NOTE: rows of float scores, the common case, straight to the op (which checks
            # the target): ``_class_loss``'s layers were ~2 µs of a [64, 10] loss
            return CrossEntropyFn.apply(input, target, reduction=reduction,
                                        label_smoothing=label_smoothing, ignore_index=ignore_index)
        return _class_loss(CrossEntropyFn, input, target, reduction=reduction,
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
    return _class_loss(NLLLossFn, input, target, weight, reduction=reduction, ignore_index=ignore_index)


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


# --------------------------------------------------------- more layers and activations
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
           padding: int = 0) -> Tensor:
    """1-D cross-correlation ``input[N, C, L], weight[O, C, k], bias[O] -> [N, O, Lo]``,
    ``Lo = (L + 2*padding - k) // stride + 1``: ``conv2d`` on a height-1 image. An unbatched
    ``input[C, L]`` gives ``[O, Lo]``, as PyTorch."""
    if isinstance(input, Tensor) and input.ndim == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding).squeeze(0)
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input [N, C, L] or [C, L] and weight [O, C, k], got "
                         f"{input.shape} and {weight.shape}")
    stride, padding = _single(stride, "stride"), _single(padding, "padding")
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), (0, padding))
    return out.squeeze(2)


def _single(value, name: str) -> int:
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    return int(value)


def _pool_matrix(size: int, out: int, dtype) -> Tensor:
    """``P[out, size]``: row ``i`` averages ``[floor(i*size/out), ceil((i+1)*size/out))``."""
    rows = np.arange(out)
    start, end = rows * size // out, -(-(rows + 1) * size // out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return Tensor._make((inside / (end - start)[:, None]).astype(dtype), False)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average ``input[..., H, W]`` into ``output_size = (Ho, Wo)`` windows (an int for both; None
    keeps a side): output ``i`` covers rows ``floor(i*H/Ho)`` to ``ceil((i+1)*H/Ho)``. Computed as
    ``P_h @ x @ P_w.T`` with the averaging matrices, so the gradient is two matmuls."""
    if input.ndim not in (3, 4) or 0 in input.shape[-2:]:
        raise ValueError(f"adaptive_avg_pool2d: expected [N, C, H, W] or [C, H, W] with H, W > 0, "
                         f"got {input.shape}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    h, w = input.shape[-2:]
    ho, wo = (h if sizes[0] is None else sizes[0]), (w if sizes[1] is None else sizes[1])
    if len(sizes) != 2 or not all(isinstance(v, Integral) and v > 0 for v in (ho, wo)):
        raise ValueError("adaptive_avg_pool2d: output_size must be a positive int or pair, "
                         f"got {output_size!r}")
    x = input if input.dtype.kind == "f" else input.float()
    return _pool_matrix(h, ho, x.dtype) @ x @ _pool_matrix(w, wo, x.dtype).T


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the last dims ``normalized_shape``: ``(x - mean) / sqrt(var + eps) * weight + bias``
    (biased variance, per sample)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, Integral) else tuple(normalized_shape)
    return LayerNormFn.apply(input, weight, bias, normalized_shape=shape, eps=eps)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight[num_embeddings, dim]`` at the integer indices ``input[*]`` -> ``[*, dim]``;
    row ``padding_idx`` gets no gradient."""
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D [num_embeddings, embedding_dim], got {weight.shape}")
    if padding_idx is not None:
        if not -weight.shape[0] <= padding_idx < weight.shape[0]:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for "
                             f"{weight.shape[0]} rows")
        padding_idx %= weight.shape[0]
    index = input.data if isinstance(input, Tensor) else np.asarray(input)
    return TakeFn.apply(weight, index, dim=0, padding_idx=padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``[*]`` class indices -> ``[*, num_classes]`` int64 of 0s and a 1 at each index
    (``num_classes=-1``: the largest index + 1)."""
    labels = tensor.data
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got {labels.dtype}")
    if num_classes == -1:
        if labels.size == 0:
            raise ValueError("one_hot: can not infer the number of classes from an empty tensor")
        num_classes = int(labels.max()) + 1
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got "
                         f"{labels.min()} to {labels.max()}")
    return Tensor._make((labels[..., None] == np.arange(num_classes)).astype(np.int64), False)


def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last dims: ``pad = (left, right)`` for the last dim, then ``(top, bottom)`` for the
    one before, and so on; negative amounts crop. Only ``mode="constant"`` (``value``)."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r}; only 'constant' is implemented")
    return PadFn.apply(input, pad=tuple(int(p) for p in pad), value=value)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with ``Phi`` the normal CDF; ``approximate="tanh"`` uses the tanh formula."""
    return GELUFn.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (``inplace``: see ``relu``)."""
    return SiLUFn.apply(input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)`` (``inplace``: see ``relu``)."""
    return ELUFn.apply(input, alpha=alpha)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``; ``x`` itself where ``beta * x > threshold``."""
    return SoftplusFn.apply(input, beta=beta, threshold=threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``clamp(x, min_val, max_val)`` with zero gradient at and outside the limits."""
    return HardtanhFn.apply(input, lo=min_val, hi=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return HardtanhFn.apply(input, lo=0.0, hi=6.0)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, stable for large ``|x|``."""
    return LogSigmoidFn.apply(input)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim`` (a zero vector's gradient is ``g / eps``, as
    PyTorch's: the norm's gradient at 0 is 0)."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


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


# ------------------------------------------------------------- activations, part 2
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _check_float_input(name: str, input: Tensor) -> None:
    """Raise ``TypeError`` unless ``input`` is a floating point Tensor (the error names ``name``)."""
    check_float(name, "input", input.data if isinstance(input, Tensor) else input)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with ``alpha ~ 1.6733`` and ``scale ~ 1.0507`` (``SELU_ALPHA``,
    ``SELU_SCALE``: chosen so activations keep mean 0 and variance 1 layer after layer).
    ``inplace``: see ``relu``."""
    _check_float_input("selu", input)
    return ELUFn.apply(input, alpha=SELU_ALPHA, scale=SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``; gradient ``exp(x / alpha)`` below 0
    (``inplace``: see ``relu``)."""
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 (it divides x)")
    _check_float_input("celu", input)
    return ELUFn.apply(input, alpha=alpha, input_scale=1 / alpha)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))`` (``inplace``: see ``relu``)."""
    _check_float_input("mish", input)
    return input * softplus(input).tanh()


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, linear between (``inplace``: see ``relu``)."""
    return HardsigmoidFn.apply(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * hardsigmoid(x)`` (``inplace``: see ``relu``)."""
    return HardswishFn.apply(input)


def softmin(input: Tensor, dim: int | None = None) -> Tensor:
    """``softmax(-x)`` along ``dim``: the smallest entries get the largest weights."""
    _check_float_input("softmin", input)
    return (-input).softmax(_softmax_dim(input, dim, "softmin"))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, else ``weight * x``, with learned slopes ``weight``: one (a scalar or
    ``[1]``) for every element, or one per channel (``[C]``, the channels on dim 1)."""
    _check_float_input("prelu", input)
    check_float("prelu", "weight", weight.data if isinstance(weight, Tensor) else weight, input.dtype)
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight must be a scalar or 1-D tensor, got shape {tuple(weight.shape)}")
    if weight.numel() == 1:
        slope = weight.reshape(())
    else:
        channels = input.shape[1] if input.ndim > 1 else 1
        if input.ndim == 0 or weight.numel() != channels:
            raise ValueError(f"prelu: weight has {weight.numel()} slopes but the input of shape "
                             f"{tuple(input.shape)} has {channels} channel(s) (dim 1)")
        slope = weight.reshape(-1, *[1] * (input.ndim - 2))
    return PReLUFn.apply(input, slope)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value`` (a NaN stays NaN); the gradient is 0 where
    replaced (``inplace``: see ``relu``)."""
    return where(input <= threshold, value, input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)``, ``a`` and ``b`` the first and second halves of
    ``input`` along ``dim`` (whose size must be even)."""
    _check_float_input("glu", input)
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for a {input.ndim}-D input")
    size = input.shape[dim]
    if size % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {dim} is size {size}")
    a, b = input.split([size // 2, size // 2], dim)
    return a * b.sigmoid()
