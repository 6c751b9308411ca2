"""Pooling: max and average pools over windows (1-D and 2-D), and the adaptive ones that fit
the windows to an output size."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from nanotorch.nn.functional._common import _pair, _resample, _single, _unbatched
from nanotorch.ops.checks import check_float
from nanotorch.ops.conv import AvgPool2dFn, MaxPool2dFn, max_pool2d_indices
from nanotorch.ops.resample import adaptive_max_indices, average_matrix
from nanotorch.tensor import Tensor


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
