"""``BatchNorm1d``, ``BatchNorm2d``, ``InstanceNorm1d``, ``InstanceNorm2d``, ``LayerNorm``,
``GroupNorm``, ``RMSNorm`` and ``LocalResponseNorm`` (the seed's spellings ``BatchNorm1D`` and
``BatchNorm2D`` are shims in ``nanotorch._seed``)."""

from __future__ import annotations

import warnings
from numbers import Integral

from nanotorch import _dtype
from nanotorch.creation import ones, tensor, zeros
from nanotorch.nn import functional as F
from nanotorch.nn import init
from nanotorch.nn.module import Module
from nanotorch.nn.parameter import Parameter
from nanotorch.tensor import Tensor


class _NormBase(Module):
    """The per-channel parameters and running statistics batch and instance norm share:
    ``weight`` (ones) and ``bias`` (zeros) of ``[num_features]`` when ``affine``, and the buffers
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` when
    ``track_running_stats``."""

    expected_dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = _dtype.to_dtype(dtype) or _dtype.DEFAULT_FLOAT
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype))
            self.bias = Parameter(zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=_dtype.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_dims(self, input: Tensor) -> None:
        if input.ndim not in self.expected_dims:
            dims = " or ".join(f"{d}D" for d in self.expected_dims)
            raise ValueError(f"{type(self).__name__}: expected {dims} input (got {input.ndim}D input)")

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """Normalize each channel (dim 1) with the batch's statistics in training and the
    running ones in eval: ``y = (x - mean) / sqrt(var + eps) * weight + bias``.

    Training updates ``running_mean`` and ``running_var`` (unbiased) as
    ``r = (1 - momentum) * r + momentum * batch_stat``; ``momentum=None`` makes it the
    cumulative average over the ``num_batches_tracked`` batches seen. Without
    ``track_running_stats`` the batch statistics are used in eval too.
    """

    def forward(self, input: Tensor) -> Tensor:
        self._check_dims(input)
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if momentum is None:
                momentum = 1.0 / int(self.num_batches_tracked)
        # Batch statistics in training, and in eval when there are no running ones.
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, momentum or 0.0, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm of ``[N, C]`` or ``[N, C, L]`` input (statistics over N, and L)."""

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm of ``[N, C, H, W]`` input (statistics over N, H and W)."""

    expected_dims = (4,)


class _InstanceNorm(_NormBase):
    """Normalize each channel of each sample over its positions (``F.instance_norm``):
    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. Unlike batch norm, ``affine`` and
    ``track_running_stats`` default to False; with ``track_running_stats`` training updates
    the running statistics (``momentum=None`` counts as 0) and eval uses them.
    ``num_batches_tracked`` is kept but not counted, as PyTorch.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)

    def forward(self, input: Tensor) -> Tensor:
        self._check_dims(input)
        unbatched = input.ndim == self.expected_dims[0]
        dim = 0 if unbatched else 1
        if input.shape[dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[dim]}.")
            warnings.warn(f"input's size at dim={dim} does not match num_features. You can "
                          "silence this warning by not passing in num_features, which is not used because "
                          "affine=False", stacklevel=2)
        x = input.unsqueeze(0) if unbatched else input
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats, self.momentum or 0.0, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of ``[N, C, L]`` or unbatched ``[C, L]`` input (statistics over L)."""

    expected_dims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of ``[N, C, H, W]`` or unbatched ``[C, H, W]`` input (statistics over H and W)."""

    expected_dims = (3, 4)


class GroupNorm(Module):
    """Normalize each sample over groups of channels (``F.group_norm``): the ``num_channels``
    channels of ``[N, C, *]`` split into ``num_groups`` groups, each normalized over its channels
    and positions, then ``* weight + bias`` per channel (ones and zeros when ``affine``; no
    ``bias`` when ``bias=False``). The same in training and eval (no running statistics)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"num_channels must be divisible by num_groups (got num_channels="
                             f"{num_channels}, num_groups={num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dtype = _dtype.to_dtype(dtype) or _dtype.DEFAULT_FLOAT
        weight, bias = affine, affine and bias
        self.register_parameter("weight", Parameter(ones(num_channels, dtype=dtype)) if weight else None)
        self.register_parameter("bias", Parameter(zeros(num_channels, dtype=dtype)) if bias else None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class LayerNorm(Module):
    """Normalize each sample over its last dims ``normalized_shape``:
    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` (biased variance), with
    ``weight`` (ones) and ``bias`` (zeros) of shape ``normalized_shape`` when
    ``elementwise_affine``. The same in training and eval (no running statistics)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, *,
                 bias: bool = True, dtype=None) -> None:
        super().__init__()
        shape = ((int(normalized_shape),) if isinstance(normalized_shape, Integral)
                 else tuple(int(d) for d in normalized_shape))
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        dtype = _dtype.to_dtype(dtype) or _dtype.DEFAULT_FLOAT
        affine = elementwise_affine
        self.register_parameter("weight", Parameter(ones(*shape, dtype=dtype)) if affine else None)
        self.register_parameter("bias", Parameter(zeros(*shape, dtype=dtype)) if affine and bias else None)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class RMSNorm(Module):
    """``y = x / sqrt(mean(x^2) + eps) * weight`` over the last dims ``normalized_shape``, with
    ``weight`` (ones) when ``elementwise_affine`` (``functional.rms_norm``; ``eps=None``: the
    input dtype's machine epsilon)."""

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, *,
                 dtype=None) -> None:
        super().__init__()
        shape = ((int(normalized_shape),) if isinstance(normalized_shape, Integral)
                 else tuple(int(d) for d in normalized_shape))
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        dtype = _dtype.to_dtype(dtype) or _dtype.DEFAULT_FLOAT
        weight = Parameter(ones(*shape, dtype=dtype)) if elementwise_affine else None
        self.register_parameter("weight", weight)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """``y_c = x_c / (k + alpha / size * sum of x^2 over the size channels around c)^beta``
    (``functional.local_response_norm``)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
