"""``nanotorch.nn.functional``: the layers and losses as functions (PyTorch's ``torch.nn.functional``).

Each function checks its arguments, then calls one op (``nanotorch.ops``) or a few Tensor
methods. Usually imported as ``import nanotorch.nn.functional as F``.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np

from nanotorch import _dtype
from nanotorch.autograd import no_grad
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
from nanotorch.ops.checks import check_float, check_vector
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
from nanotorch.ops.resample import adaptive_max_indices, average_matrix, linear_matrix, nearest_matrix
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
