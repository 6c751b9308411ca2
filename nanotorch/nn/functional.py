"""``nanotorch.nn.functional``: the layers and losses as functions (PyTorch's ``torch.nn.functional``).

Each function checks its arguments, then calls one op (``nanotorch.ops``) or a few Tensor
methods. Usually imported as ``import nanotorch.nn.functional as F``.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np

from nanotorch import _dtype
from nanotorch.autograd import no_grad
from nanotorch.functions import einsum, where
from nanotorch.nn.attention import scaled_dot_product_attention
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
from nanotorch.ops.checks import check_float, check_vector
from nanotorch.ops.conv import (
    AvgPool2dFn,
    Conv2dFn,
    ConvTranspose2dFn,
    FoldFn,
    MaxPool2dFn,
    UnfoldFn,
    max_pool2d_indices,
)
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
from nanotorch.ops.resample import adaptive_max_indices, average_matrix, linear_matrix, nearest_matrix
from nanotorch.random import numpy_generator
from nanotorch.tensor import Tensor

__all__ = [
    "avg_pool2d", "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d",
    "cross_entropy", "dropout", "l1_loss", "leaky_relu", "linear", "log_softmax", "max_pool2d",
    "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
    "adaptive_avg_pool2d", "conv1d", "elu", "embedding", "gelu", "hardtanh", "huber_loss", "kl_div",
    "layer_norm", "logsigmoid", "normalize", "one_hot", "pad", "relu6", "silu", "smooth_l1_loss", "softplus",
    "celu", "glu", "hardsigmoid", "hardswish", "mish", "prelu", "selu", "softmin", "softsign", "threshold",
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d", "cosine_similarity",
    "dropout2d", "group_norm", "instance_norm", "interpolate", "max_pool1d", "pairwise_distance",
    "cosine_embedding_loss", "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "multi_margin_loss", "multilabel_soft_margin_loss", "poisson_nll_loss", "soft_margin_loss",
    "triplet_margin_loss", "conv_transpose1d", "conv_transpose2d", "fold", "unfold",
    "alpha_dropout", "bilinear", "dropout1d", "local_response_norm", "pixel_shuffle", "pixel_unshuffle",
    "rms_norm", "scaled_dot_product_attention",
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
    ``Ho = (H + 2*padding - kh) // stride + 1``. ``stride``: an int or a pair; ``padding``: an int,
    a pair, ``"valid"`` (no padding) or ``"same"`` (``Ho = H``; see ``conv_padding``).
    An unbatched ``input[C, H, W]`` gives ``[O, Ho, Wo]``, as PyTorch."""
    stride = _pair(stride, "stride")

    def conv(x: Tensor) -> Tensor:
        before, after = conv_padding(padding, tuple(weight.shape[2:]), stride)
        if before != after:  # "same" with an even kernel: the extra row or column goes after
            x = pad(x, (0, after[1] - before[1], 0, after[0] - before[0]))
        return Conv2dFn.apply(x, weight, bias, stride=stride, padding=before)

    return _unbatched(input, conv)


CONV_PADDING_STRINGS = ("valid", "same")


def conv_padding(padding, kernel: tuple[int, ...], stride: tuple[int, ...]) -> tuple[tuple, tuple]:
    """``(before, after)``: the zeros a convolution adds at the start and end of each spatial dim.

    An int or a pair pads both ends alike; ``"valid"`` pads nothing; ``"same"`` (only with
    stride 1) pads ``k - 1`` in all, ``(k - 1) // 2`` before and the rest after, so the output
    keeps the input's size (an even ``k`` puts one more after, as PyTorch).
    """
    if not isinstance(padding, str):
        both = _pair(padding, "padding")
        return both, both
    if padding not in CONV_PADDING_STRINGS:
        raise ValueError(f"Invalid padding string {padding!r}, should be one of {CONV_PADDING_STRINGS}")
    if padding == "valid":
        return (0,) * len(kernel), (0,) * len(kernel)
    if any(s != 1 for s in stride):
        raise ValueError(f"padding='same' is not supported for strided convolutions (stride={stride})")
    before = tuple((k - 1) // 2 for k in kernel)
    return before, tuple(k - 1 - b for k, b in zip(kernel, before))


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
           padding: int | str = 0) -> Tensor:
    """1-D cross-correlation ``input[N, C, L], weight[O, C, k], bias[O] -> [N, O, Lo]``,
    ``Lo = (L + 2*padding - k) // stride + 1``: ``conv2d`` on a height-1 image (``padding`` may
    also be ``"valid"`` or ``"same"``, as there). An unbatched ``input[C, L]`` gives ``[O, Lo]``,
    as PyTorch."""
    if isinstance(input, Tensor) and input.ndim == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding).squeeze(0)
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input [N, C, L] or [C, L] and weight [O, C, k], got "
                         f"{input.shape} and {weight.shape}")
    stride = _single(stride, "stride")
    padding = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), padding)
    return out.squeeze(2)


def _single(value, name: str) -> int:
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    return int(value)


def _adaptive_sizes(op: str, input: Tensor, output_size, dims: int) -> tuple[int, ...]:
    """Check ``input[N, C, *spatial]`` or ``[C, *spatial]`` (``dims`` spatial dims, none empty) and
    return ``output_size`` as ``dims`` ints (an int stands for all; ``None`` keeps that side)."""
    if input.ndim not in (dims + 1, dims + 2) or 0 in input.shape[-dims:]:
        names = "[N, C, L] or [C, L]" if dims == 1 else "[N, C, H, W] or [C, H, W]"
        raise ValueError(f"{op}: expected {names} with non-empty spatial dims, got {tuple(input.shape)}")
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * dims
    if len(sizes) == dims:
        sizes = tuple(n if s is None else s for s, n in zip(sizes, input.shape[-dims:]))
    if len(sizes) != dims or not all(isinstance(s, Integral) and s > 0 for s in sizes):
        raise ValueError(f"{op}: output_size must be a positive int or {dims} of them, got {output_size!r}")
    return tuple(int(s) for s in sizes)


def _resample(x: Tensor, matrices: list[np.ndarray]) -> Tensor:
    """Apply ``A[out, in]`` to each spatial dim of ``x[..., *spatial]`` (``matrices`` in that dim
    order): ``x @ A_w.T`` for the last dim, then ``A_h @ x`` for the one before (so the gradient
    is the same matmuls with the transposes)."""
    x = x @ Tensor._make(matrices[-1].T.astype(x.dtype), False)
    if len(matrices) == 2:
        x = Tensor._make(matrices[0].astype(x.dtype), False) @ x
    return x


def _float_input(op: str, input: Tensor) -> Tensor:
    """``input`` as a float tensor (integers become float32, as PyTorch's averaging does)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    return input if input.dtype.kind == "f" else input.float()


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average ``input[..., H, W]`` into ``output_size = (Ho, Wo)`` windows (an int for both; None
    keeps a side): output ``i`` covers rows ``floor(i*H/Ho)`` to ``ceil((i+1)*H/Ho)``. Computed as
    ``P_h @ x @ P_w.T`` with the averaging matrices, so the gradient is two matmuls."""
    sizes = _adaptive_sizes("adaptive_avg_pool2d", input, output_size, 2)
    return _resample(_float_input("adaptive_avg_pool2d", input),
                     [average_matrix(n, s) for n, s in zip(input.shape[-2:], sizes)])


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average ``input[N, C, L]`` or ``[C, L]`` into ``output_size`` windows, output ``i`` covering
    ``floor(i*L/Lo)`` to ``ceil((i+1)*L/Lo)``: ``x @ P.T`` (gradient ``dy @ P``)."""
    (size,) = _adaptive_sizes("adaptive_avg_pool1d", input, output_size, 1)
    return _resample(_float_input("adaptive_avg_pool1d", input), [average_matrix(input.shape[-1], size)])


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max of each adaptive window of ``input[N, C, H, W]`` or ``[C, H, W]`` (the windows of
    ``adaptive_avg_pool2d``). The max is gathered at its position in the ``H*W`` plane, so the
    gradient goes back there (adding up where windows overlap); ``return_indices=True`` also
    returns those positions (int64)."""
    sizes = _adaptive_sizes("adaptive_max_pool2d", input, output_size, 2)
    check_float("adaptive_max_pool2d", "input", input.data)
    indices = Tensor._make(adaptive_max_indices(input.data, *sizes), False)
    plane = input.reshape(*input.shape[:-2], -1)
    values = plane.gather(plane.ndim - 1, indices.reshape(*indices.shape[:-2], -1)).reshape(indices.shape)
    return (values, indices) if return_indices else values


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max of each adaptive window of ``input[N, C, L]`` or ``[C, L]``: ``adaptive_max_pool2d`` of
    ``[..., 1, L]`` (indices: positions along ``L``)."""
    (size,) = _adaptive_sizes("adaptive_max_pool1d", input, output_size, 1)
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, size), return_indices)
    return tuple(t.squeeze(-2) for t in out) if return_indices else out.squeeze(-2)


def _window_1d(op: str, input: Tensor, kernel_size, stride, padding) -> tuple[tuple, tuple, tuple]:
    """Check ``input[N, C, L]`` or ``[C, L]``; the 1-D window as the 2-D one of a height-1 image:
    kernel ``(1, k)``, stride ``(1, s)`` (``s`` defaults to ``k``) and padding ``(0, p)``."""
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise ValueError(f"{op}: expected input [N, C, L] or [C, L], got "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None else _single(stride, "stride")
    return (1, k), (1, s), (0, _single(padding, "padding"))


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, *, return_indices: bool = False):
    """Max over ``kernel_size`` windows of ``input[N, C, L]`` or ``[C, L]`` (``stride`` defaults to
    the kernel size; the padding is -inf): ``max_pool2d`` of ``[..., 1, L]``, whose messages
    name the window as ``(1, k)``. ``return_indices=True`` also gives each max's position in ``L``."""
    kernel, stride, padding = _window_1d("max_pool1d", input, kernel_size, stride, padding)
    out = max_pool2d(input.unsqueeze(-2), kernel, stride, padding, return_indices=return_indices)
    return tuple(t.squeeze(-2) for t in out) if return_indices else out.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, *,
               count_include_pad: bool = True) -> Tensor:
    """Mean over ``kernel_size`` windows of ``input[N, C, L]`` or ``[C, L]``: ``avg_pool2d`` of
    ``[..., 1, L]`` (``count_include_pad``: whether the zero padding counts in the mean)."""
    kernel, stride, padding = _window_1d("avg_pool1d", input, kernel_size, stride, padding)
    out = avg_pool2d(input.unsqueeze(-2), kernel, stride, padding, count_include_pad=count_include_pad)
    return out.squeeze(-2)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the last dims ``normalized_shape``: ``(x - mean) / sqrt(var + eps) * weight + bias``
    (biased variance, per sample)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, Integral) else tuple(normalized_shape)
    return LayerNormFn.apply(input, weight, bias, normalized_shape=shape, eps=eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Split the ``C`` channels of ``input[N, C, *]`` into ``num_groups`` groups and normalize each
    sample's group (its channels and positions together): ``(x - mean) / sqrt(var + eps)``
    (biased variance), then ``* weight[c] + bias[c]`` per channel.

    Each group is one row of ``x.reshape(N, G, -1)``, so this is ``layer_norm`` of those rows
    (its gradient included) and a per-channel scale and shift.
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError("group_norm: expected input [N, C, *] with at least 2 dims, got "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    n, c = input.shape[:2]
    if not isinstance(num_groups, Integral) or num_groups < 1 or c % num_groups:
        raise ValueError(f"group_norm: expected number of channels in input to be divisible by num_groups, "
                         f"but got input of shape {tuple(input.shape)} and num_groups={num_groups}")
    group_size = input.numel() // max(n * num_groups, 1)
    if n * group_size == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{list(input.shape)}")
    for name, v in (("weight", weight), ("bias", bias)):
        check_vector("group_norm", name, None if v is None else v.data, c, input.dtype)
    rows = input.reshape(n, num_groups, group_size)
    y = layer_norm(rows, group_size, eps=eps).reshape(input.shape)
    per_channel = (c, *[1] * (input.ndim - 2))
    y = y if weight is None else y * weight.reshape(per_channel)
    return y if bias is None else y + bias.reshape(per_channel)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample of ``input[N, C, *]`` over its positions:
    ``(x - mean) / sqrt(var + eps) * weight[c] + bias[c]`` (biased variance).

    ``use_input_stats=False`` uses ``running_mean``/``running_var`` instead; with
    ``use_input_stats=True`` they, when given, move toward the batch's statistics averaged over
    the samples (``r = (1 - momentum) * r + momentum * mean_n(stat)``, unbiased variance).
    Computed as ``batch_norm`` of ``x.reshape(1, N*C, -1)``: each (sample, channel) pair is a
    channel there, with the parameters and running statistics repeated ``N`` times.
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError("instance_norm: expected input [N, C, *], got "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    n, c = input.shape[:2]
    positions = int(np.prod(input.shape[2:]))
    if use_input_stats and positions == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{list(input.shape)}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise ValueError("instance_norm: running_mean and running_var are needed when use_input_stats=False")
    for name, v in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        check_vector("instance_norm", name, None if v is None else v.data, c, input.dtype)
    stats = [None if r is None else np.tile(r.data, n) for r in (running_mean, running_var)]
    y = BatchNormFn.apply(input.reshape(1, n * c, positions), None if weight is None else weight.repeat(n),
                          None if bias is None else bias.repeat(n), *stats, training=use_input_stats,
                          momentum=momentum, eps=eps)
    if use_input_stats:
        with no_grad():
            for running, repeated in zip((running_mean, running_var), stats):
                if running is not None:
                    running.copy_(repeated.reshape(n, c).mean(0))
    return y.reshape(input.shape)


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


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last dims: ``pad = (left, right)`` for the last dim, then ``(top, bottom)`` for the
    one before, and so on; negative amounts crop. ``mode``: ``"constant"`` fills with ``value``
    (0 by default); ``"reflect"`` mirrors the input about its edge (``[a b c]`` -> ``c b [a b c] b a``),
    ``"replicate"`` repeats the edge (``a a [a b c] c c``), ``"circular"`` wraps around
    (``b c [a b c] a b``). The last three pick input elements by index (``_pad_index``), so the
    gradient adds up where an element is copied."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not one of {PAD_MODES}")
    pad = tuple(int(p) for p in pad)
    if mode == "constant":
        return PadFn.apply(input, pad=pad, value=0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument.')
    dims = len(pad) // 2
    if len(pad) % 2 or dims not in (1, 2, 3) or input.ndim not in (dims + 1, dims + 2):
        raise NotImplementedError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of an input with one or "
                                  f"two more (batch, channels), got pad {pad} for input of shape "
                                  f"{tuple(input.shape)}")
    for i in range(dims):
        dim = input.ndim - 1 - i
        index = _pad_index(mode, input.shape[dim], pad[2 * i], pad[2 * i + 1], dim)
        input = input.index_select(dim, Tensor._make(index, False))
    return input


def _pad_index(mode: str, size: int, before: int, after: int, dim: int) -> np.ndarray:
    """The input position each output position of a dim of ``size`` copies, padded by ``before``
    and ``after`` (negative: cropped) with ``mode``'s rule."""
    limit = size - 1 if mode == "reflect" else size
    if mode != "replicate" and max(before, after) > limit:
        raise ValueError(f"pad: {mode} padding ({before}, {after}) at dimension {dim} must be at most "
                         f"{limit} for a dim of size {size}")
    if size == 0 or size + before + after < 1:
        raise ValueError(f"pad: padding ({before}, {after}) leaves nothing of dimension {dim} (size {size})")
    i = np.arange(-before, size + after)
    if mode == "reflect":
        i = np.abs(i)
        return np.where(i > size - 1, 2 * (size - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    start, stop = max(-before, 0), size - max(-after, 0)  # circular wraps within what a crop keeps
    return start + (i - start) % (stop - start)


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


# -------------------------------------------------- resampling, distances, channel dropout
INTERPOLATE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of ``input[N, C, L]`` or ``input[N, C, H, W]`` to ``size`` (an int
    for every dim, or one per dim) or to ``floor(side * scale_factor)``.

    ``mode``: ``"nearest"`` copies input ``floor(i * s)`` (``s = in / out``, or ``1 / scale_factor``
    when given, unless ``recompute_scale_factor``), ``"nearest-exact"`` input ``floor((i + 0.5) * s)``;
    ``"linear"`` (3-D) and ``"bilinear"`` (4-D) blend the two (four) nearest inputs, the sample
    points set by ``align_corners`` (see ``nanotorch.ops.resample.linear_matrix``); ``"area"`` is
    ``adaptive_avg_pool``. Each is a matrix per spatial dim, so the gradient is its transpose.
    """
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    _check_float_input("interpolate", input)
    if mode not in INTERPOLATE_MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented; the modes are "
                                  f"{INTERPOLATE_MODES}")
    dims = input.ndim - 2
    if dims not in (1, 2):
        raise NotImplementedError(f"interpolate: expected 3-D [N, C, L] or 4-D [N, C, H, W] input, got "
                                  f"{tuple(input.shape)}")
    needs = {"linear": 3, "bilinear": 4}.get(mode, input.ndim)
    if needs != input.ndim:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {needs}D input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    sizes, scales = _interpolate_sizes(input, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d)[dims - 1](input, sizes)
    if mode in ("linear", "bilinear"):
        matrices = [linear_matrix(n, o, s, bool(align_corners))
                    for n, o, s in zip(input.shape[2:], sizes, scales)]
    else:
        matrices = [nearest_matrix(n, o, s, exact=mode == "nearest-exact", shortcuts=dims == 2)
                    for n, o, s in zip(input.shape[2:], sizes, scales)]
    return _resample(input, matrices)


def _interpolate_sizes(input: Tensor, size, scale_factor, recompute: bool | None) -> tuple[list, list]:
    """``interpolate``'s output sizes, and the scale factors its kernels sample with (``None``:
    use ``in / out``; so for ``size``, and for ``scale_factor`` when ``recompute``)."""
    spatial = list(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None
                         else "either size or scale_factor should be defined")
    if size is not None:
        if recompute:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * len(spatial)
        if len(sizes) != len(spatial):
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got "
                             f"input with spatial dimensions of {spatial} and output size of {size}.")
        if not all(isinstance(s, Integral) for s in sizes):
            raise TypeError(f"interpolate: size must be an int or a tuple of ints, got {size!r}")
        scales = [None] * len(spatial)
    else:
        scales = (list(scale_factor) if isinstance(scale_factor, (tuple, list))
                  else [scale_factor] * len(spatial))
        if len(scales) != len(spatial):
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but "
                             f"got input with spatial dimensions of {spatial} and scale_factor of shape "
                             f"{scale_factor}.")
        sizes = [int(n * float(s)) for n, s in zip(spatial, scales)]
        scales = [None] * len(spatial) if recompute else [float(s) for s in scales]
    if min(sizes) <= 0 or min(spatial) <= 0:
        raise ValueError(f"interpolate: input and output sizes should be greater than 0, but got input "
                         f"{spatial} and output {sizes}")
    return sizes, scales


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


# --------------------------------------------------------- margin, embedding and likelihood losses
def _like(input: Tensor, value, name: str) -> Tensor:
    """``value`` (a Tensor, array or number) as a Tensor of ``input``'s float dtype (a Tensor keeps
    its graph through the cast)."""
    _check_float_input(name, input)
    if isinstance(value, Tensor):
        return value if value.dtype == input.dtype else value.to(input.dtype)
    return Tensor(value, dtype=input.dtype)


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


# --------------------------------------------------------- transposed convolution, fold and unfold
def _no_groups_or_dilation(op: str, groups: int, dilation) -> None:
    """Raise ``NotImplementedError`` for ``groups`` or ``dilation`` other than 1 (as ``conv2d``:
    the kernels have neither)."""
    if groups != 1 or any(d != 1 for d in (dilation if isinstance(dilation, (tuple, list)) else (dilation,))):
        raise NotImplementedError(f"{op}: groups={groups} and dilation={dilation} are not implemented "
                                  "(only 1)")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution ``input[N, I, H, W], weight[I, O, kh, kw], bias[O] -> [N, O, Ho,
    Wo]``, ``Ho = (H - 1)*stride - 2*padding + kh + output_padding``: the gradient of ``conv2d``
    w.r.t. its input (so it upsamples by ``stride``; see ``ConvTranspose2dFn``). ``output_padding``
    (< stride) adds rows and columns at the end. An unbatched ``[I, H, W]`` gives ``[O, Ho, Wo]``."""
    _no_groups_or_dilation("conv_transpose2d", groups, dilation)
    options = {"stride": _pair(stride, "stride"), "padding": _pair(padding, "padding"),
               "output_padding": _pair(output_padding, "output_padding")}
    return _unbatched(input, lambda x: ConvTranspose2dFn.apply(x, weight, bias, **options))


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
                     padding: int = 0, output_padding: int = 0, groups: int = 1, dilation: int = 1) -> Tensor:
    """Transposed 1-D convolution ``input[N, I, L], weight[I, O, k], bias[O] -> [N, O, Lo]``, ``Lo =
    (L - 1)*stride - 2*padding + k + output_padding``: ``conv_transpose2d`` of a height-1 image
    (an unbatched ``[I, L]`` gives ``[O, Lo]``)."""
    if isinstance(input, Tensor) and input.ndim == 2:
        return conv_transpose1d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv_transpose1d: expected input [N, C, L] or [C, L] and weight [I, O, k], got "
                         f"{tuple(input.shape)} and {tuple(weight.shape)}")
    out = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _single(stride, "stride")),
                           (0, _single(padding, "padding")), (0, _single(output_padding, "output_padding")),
                           groups, _single(dilation, "dilation"))
    return out.squeeze(2)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Every sliding ``kernel_size`` block of ``input[N, C, H, W]`` (or ``[C, H, W]``) as a column:
    ``[N, C*kh*kw, L]``, ``L`` the number of blocks, ``(H + 2*padding - dilation*(kh - 1) - 1) //
    stride + 1`` per side, multiplied. (im2col: a convolution is ``weight.view(O, -1) @ unfold(x)``.)"""
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ValueError("unfold: expected 3-D [C, H, W] or 4-D [N, C, H, W] input, got "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    options = [_pair(v, name) for v, name in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                               (padding, "padding"), (stride, "stride"))]
    return _unbatched(input, lambda x: UnfoldFn.apply(x, *options))


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The inverse layout of ``unfold``: columns ``input[N, C*kh*kw, L]`` (or ``[C*kh*kw, L]``) put
    back as blocks of an ``output_size`` image ``[N, C, H, W]``, overlapping values summed (so
    ``fold(unfold(x))`` is ``x`` times how many blocks cover each pixel)."""
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise ValueError("fold: expected 2-D [C*kh*kw, L] or 3-D [N, C*kh*kw, L] input, got "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    options = [_pair(v, name) for v, name in ((output_size, "output_size"), (kernel_size, "kernel_size"),
                                               (dilation, "dilation"), (padding, "padding"),
                                               (stride, "stride"))]
    if input.ndim == 2:
        return FoldFn.apply(input.unsqueeze(0), *options).squeeze(0)
    return FoldFn.apply(input, *options)



# ------------------------------------------------- pixel shuffle, bilinear, norms, dropouts
def _check_shuffle(op: str, input: Tensor, factor: int, factor_name: str) -> None:
    if not isinstance(factor, Integral) or factor < 1:
        raise ValueError(f"{op}: {factor_name} must be a positive int, got {factor!r}")
    if input.ndim < 3:
        raise ValueError(f"{op} expects input to have at least 3 dimensions, but got input with "
                         f"{input.ndim} dimension(s)")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``[*, C*r*r, H, W] -> [*, C, H*r, W*r]`` (``r = upscale_factor``): each group of ``r*r``
    channels becomes an ``r x r`` block of pixels, ``out[c, h*r + i, w*r + j] = in[c*r*r + i*r + j,
    h, w]``. A reshape and a permute, so the gradient moves back the same way."""
    _check_shuffle("pixel_shuffle", input, upscale_factor, "upscale_factor")
    r = int(upscale_factor)
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
                         f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(batch)
    blocks = input.reshape(*batch, c // (r * r), r, r, h, w)
    order = (*range(n), n, n + 3, n + 1, n + 4, n + 2)  # [*, C, H, r, W, r]
    return blocks.permute(*order).reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``[*, C, H*r, W*r] -> [*, C*r*r, H, W]``: the inverse of ``pixel_shuffle``, each ``r x r``
    block of pixels becoming ``r*r`` channels."""
    _check_shuffle("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    r = int(downscale_factor)
    *batch, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, "
                         f"but input of shape {tuple(input.shape)} is not divisible by {r}")
    n = len(batch)
    blocks = input.reshape(*batch, c, h // r, r, w // r, r)
    order = (*range(n), n, n + 2, n + 4, n + 1, n + 3)  # [*, C, r, r, H, W]
    return blocks.permute(*order).reshape(*batch, c * r * r, h // r, w // r)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_o = x1 . W_o x2 + b_o = sum_ij x1_i W[o, i, j] x2_j + b_o``: ``input1[..., in1],
    input2[..., in2], weight[out, in1, in2], bias[out] -> [..., out]`` (one ``einsum``)."""
    if weight.ndim != 3 or input1.shape[-1:] != weight.shape[1:2] or input2.shape[-1:] != weight.shape[2:]:
        raise ValueError(f"bilinear: expected input1 [..., in1], input2 [..., in2] and weight [out, in1, "
                         f"in2], got {tuple(input1.shape)}, {tuple(input2.shape)} and {tuple(weight.shape)}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(f"bilinear: input1 and input2 must have the same leading dims, got "
                         f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    y = einsum("...i,oij,...j->...o", input1, weight, input2)
    return y if bias is None else y + bias


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last dims ``normalized_shape`` (no mean is
    subtracted, unlike ``layer_norm``); ``eps=None``: the machine epsilon of the input's dtype."""
    shape = (normalized_shape,) if isinstance(normalized_shape, Integral) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape or len(shape) > input.ndim:
        raise ValueError(f"rms_norm: expected input with shape [*, {', '.join(map(str, shape))}], but got "
                         f"input of size {tuple(input.shape)}")
    _check_float_input("rms_norm", input)
    eps = float(np.finfo(input.dtype).eps) if eps is None else eps
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


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


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Normalize each channel of ``input[N, C, *]`` by its neighbours: ``y_c = x_c / (k + alpha /
    size * sum_{c'} x_{c'}^2)^beta``, the sum over the ``size`` channels ``c - size//2`` to
    ``c + (size - 1)//2`` (missing ones count as 0)."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    squares = pad((input * input).movedim(1, -1), (size // 2, (size - 1) // 2))
    window = squares.narrow(-1, 0, channels)
    for shift in range(1, size):
        window = window + squares.narrow(-1, shift, channels)
    return input / (k + alpha / size * window.movedim(-1, 1)) ** beta
