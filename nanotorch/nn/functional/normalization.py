"""Normalizations: batch, layer, group, instance, RMS and local response norms, and ``normalize``
(vectors to unit ``p``-norm)."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from nanotorch.autograd import no_grad
from nanotorch.nn.functional._common import _check_float_input
from nanotorch.nn.functional.padding import pad
from nanotorch.ops.checks import check_vector
from nanotorch.ops.normalization import BatchNormFn, LayerNormFn
from nanotorch.tensor import Tensor


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize ``input[N, C, *]`` per channel: ``(x - mean) / sqrt(var + eps) * weight + bias``.

    ``training=True`` uses the batch statistics and updates ``running_mean``/``running_var``
    in place (when given); ``training=False`` uses them.
    """
    return BatchNormFn.apply(input, weight, bias, running_mean, running_var,
                           training=training, momentum=momentum, eps=eps)


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


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim`` (a zero vector's gradient is ``g / eps``, as
    PyTorch's: the norm's gradient at 0 is 0)."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)
