"""Pooling: max and average pools over windows (1-D and 2-D), and the adaptive ones that fit
the windows to an output size."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from nanotorch.nn.functional._common import _pair, _resample, _single, _unbatched
from nanotorch.nn.functional.padding import pad
from nanotorch.ops.checks import check_float
from nanotorch.ops.conv import (
    AvgPool2dFn,
    MaxPool2dFn,
    UnfoldFn,
    check_pool,
    conv_transpose_size,
    max_pool2d_indices,
    pooled_size,
    window_padding,
    window_positions,
)
from nanotorch.ops.resample import adaptive_max_indices, average_matrix
from nanotorch.tensor import Tensor


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over ``kernel_size`` windows of ``input[N, C, H, W]`` or ``[C, H, W]`` (``stride``
    defaults to the kernel size; the padding is -inf, at most half the kernel; the window's taps
    are ``dilation`` apart). ``Ho = (H + 2*padding - dilation*(kh - 1) - 1) / stride + 1`` rounded
    down, or up with ``ceil_mode`` (a last, partial window, if it starts inside the input or its
    left padding). ``return_indices=True`` also gives each max's position in its ``H*W`` plane
    (int64, as PyTorch); the values are then gathered at those positions."""
    if isinstance(input, Tensor) and input.ndim == 3:
        out = max_pool2d(input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode,
                         return_indices)
        return tuple(t.squeeze(0) for t in out) if return_indices else out.squeeze(0)
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    padding, dilation = _pair(padding, "padding"), _pair(dilation, "dilation")
    if dilation != (1, 1) or _ceil_adds_a_window(input, kernel, stride, padding, ceil_mode):
        return _unfolded_max_pool2d(input, kernel, stride, padding, dilation, ceil_mode, return_indices)
    if not return_indices:
        return MaxPool2dFn.apply(input, kernel, stride, padding)
    indices = Tensor._make(max_pool2d_indices(input.data, kernel, stride, padding), False)
    n, c = input.shape[:2]
    values = input.reshape(n, c, -1).gather(2, indices.reshape(n, c, -1))
    return values.reshape(indices.shape), indices


def _ceil_adds_a_window(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, ceil_mode: bool) -> bool:
    """Whether ``ceil_mode`` gives ``x[N, C, H, W]`` one more window along a side than rounding down
    (else the pooling is the same without it)."""
    return ceil_mode and isinstance(x, Tensor) and x.ndim == 4 and min(stride) >= 1 and any(
        pooled_size(*side, 1, True) != pooled_size(*side)
        for side in zip(x.shape[2:], kernel, stride, padding))


def _unfolded_max_pool2d(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                         ceil_mode: bool, return_indices: bool):
    """``max_pool2d`` with ``dilation`` or a ``ceil_mode`` window, from existing ops (so is its
    gradient): ``x`` padded with -inf (``window_padding``), its windows as columns ``unfold(x)``
    ``[N, C*kh*kw, L]``, read as ``[N, C, kh*kw, L]``, and their max over the taps (``max``'s
    gradient goes to the first max). The indices are the winning taps' positions
    (``window_positions``)."""
    out_size = check_pool("max_pool2d", x.data, kernel, stride, padding, dilation, ceil_mode)
    before, after = window_padding(tuple(x.shape[2:]), kernel, stride, padding, dilation, out_size)
    padded = pad(x, (before[1], after[1], before[0], after[0]), value=-float("inf"))
    n, c = x.shape[:2]
    cols = UnfoldFn.apply(padded, kernel, dilation, (0, 0), stride).reshape(n, c, kernel[0] * kernel[1], -1)
    values, taps = cols.max(2)
    values = values.reshape(n, c, *out_size)
    if not return_indices:
        return values
    positions = window_positions(tuple(x.shape[2:]), kernel, stride, dilation, (before, after))
    indices = np.take_along_axis(positions, taps.data.reshape(n * c, -1), axis=0)
    return values, Tensor._make(indices.reshape(n, c, *out_size), False)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over ``kernel_size`` windows of ``input[N, C, H, W]`` or ``[C, H, W]`` (``stride``
    defaults to the kernel size; ``ceil_mode``: as ``max_pool2d``). Each window's sum is divided
    by the number of its elements inside the zero-padded input, or, with
    ``count_include_pad=False``, inside the input alone; or by ``divisor_override`` (an int, not 0)."""
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    padding = _pair(padding, "padding")
    if divisor_override is not None and not isinstance(divisor_override, Integral):
        raise TypeError(f"avg_pool2d: divisor_override must be an int, got "
                        f"{type(divisor_override).__name__}")
    if divisor_override == 0:
        raise ValueError("avg_pool2d: divisor_override must not be zero")

    def pool(x: Tensor) -> Tensor:
        size = tuple(x.shape[2:])
        if _ceil_adds_a_window(x, kernel, stride, padding, ceil_mode):
            out_size = check_pool("avg_pool2d", x.data, kernel, stride, padding, (1, 1), True)
            before, after = window_padding(size, kernel, stride, padding, (1, 1), out_size)
            x = pad(x, (before[1], after[1], before[0], after[0]))  # zeros, as far as the windows reach
            out = AvgPool2dFn.apply(x, kernel, stride, (0, 0))
        elif divisor_override is None and (count_include_pad or padding == (0, 0)):
            return AvgPool2dFn.apply(x, kernel, stride, padding)  # every window divides by kh*kw
        else:
            out = AvgPool2dFn.apply(x, kernel, stride, padding)
        divisors = _window_divisors(size, kernel, stride, padding, tuple(out.shape[2:]), count_include_pad)
        scale = kernel[0] * kernel[1] / (divisors if divisor_override is None else divisor_override)
        return out * Tensor._make(np.asarray(scale, dtype=out.dtype), False)

    return _unbatched(input, pool)


def _window_divisors(size: tuple, kernel: tuple, stride: tuple, padding: tuple, out_size: tuple,
                     count_include_pad: bool) -> np.ndarray:
    """``[Ho, Wo]``: how many elements of each window lie inside the padded input (``count_include_pad``)
    or the input alone: along a side, window ``i`` spans ``[i*s - p, min(i*s - p + k, n + p))``."""
    counts = []
    for n, k, s, p, o in zip(size, kernel, stride, padding, out_size):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        counts.append(end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0))
    return np.outer(*counts)


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


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over ``kernel_size`` windows of ``input[N, C, L]`` or ``[C, L]`` (``stride`` defaults to
    the kernel size; the padding is -inf; taps ``dilation`` apart; ``ceil_mode``: as
    ``max_pool2d``): ``max_pool2d`` of ``[..., 1, L]``, whose messages name the window as
    ``(1, k)``. ``return_indices=True`` also gives each max's position in ``L``."""
    kernel, stride, padding = _window_1d("max_pool1d", input, kernel_size, stride, padding)
    out = max_pool2d(input.unsqueeze(-2), kernel, stride, padding, (1, _single(dilation, "dilation")),
                     ceil_mode, return_indices)
    return tuple(t.squeeze(-2) for t in out) if return_indices else out.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over ``kernel_size`` windows of ``input[N, C, L]`` or ``[C, L]``: ``avg_pool2d`` of
    ``[..., 1, L]`` (``ceil_mode``, ``count_include_pad``: as there)."""
    kernel, stride, padding = _window_1d("avg_pool1d", input, kernel_size, stride, padding)
    out = avg_pool2d(input.unsqueeze(-2), kernel, stride, padding, ceil_mode, count_include_pad)
    return out.squeeze(-2)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """A partial inverse of ``max_pool2d``: ``input[N, C, H, W]`` (or ``[C, H, W]``) put back where
    ``indices`` (``max_pool2d``'s, int64, shaped as ``input``) say, in each ``Ho*Wo`` plane of a zero
    output; ``Ho = (H - 1)*stride - 2*padding + kh`` (``stride`` defaults to the kernel size), or
    ``output_size`` (its last two sides, each less than ``stride`` away from that)."""
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    return _max_unpool("max_unpool2d", input, indices, kernel, stride, _pair(padding, "padding"), output_size)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """``max_unpool2d`` along one side: ``input[N, C, L]`` (or ``[C, L]``) put back at ``indices`` in
    each plane of length ``Lo = (L - 1)*stride - 2*padding + k``, or ``output_size``."""
    kernel = (_single(kernel_size, "kernel_size"),)
    stride = kernel if stride is None else (_single(stride, "stride"),)
    return _max_unpool("max_unpool1d", input, indices, kernel, stride, (_single(padding, "padding"),),
                       output_size)


def _max_unpool(op: str, input: Tensor, indices: Tensor, kernel: tuple, stride: tuple, padding: tuple,
                output_size) -> Tensor:
    """``out.flatten(-dims)[..., indices[..., i]] = input[..., i]`` in a zero output of the spatial
    size ``_unpool_size`` gives (``dims = len(kernel)``): a ``scatter``, so the gradient is
    ``dy`` gathered at ``indices``."""
    dims = len(kernel)
    if not isinstance(input, Tensor) or input.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{op}: expected a {dims + 1}-D or {dims + 2}-D input, got "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    check_float(op, "input", input.data)
    if not isinstance(indices, Tensor) or indices.dtype != np.int64:
        raise TypeError(f"{op}: indices must be an int64 Tensor, got "
                        f"{indices.dtype if isinstance(indices, Tensor) else type(indices).__name__}")
    if indices.shape != input.shape:
        raise ValueError(f"{op}: indices must have the input's shape {tuple(input.shape)}, got "
                         f"{tuple(indices.shape)}")
    sizes = _unpool_size(op, tuple(input.shape[-dims:]), kernel, stride, padding, output_size)
    lead, plane = tuple(input.shape[:-dims]), int(np.prod(sizes))
    outside = (indices.data < 0) | (indices.data >= plane)
    if outside.any():
        raise ValueError(f"{op}: found an invalid max index {indices.data[outside].flat[0]} (the output "
                         f"planes are {sizes}, {plane} elements)")
    zeros = Tensor._make(np.zeros((*lead, plane), dtype=input.dtype), False)
    out = zeros.scatter(-1, indices.reshape(*lead, -1), input.reshape(*lead, -1))
    return out.reshape(*lead, *sizes)


def _unpool_size(op: str, size: tuple, kernel: tuple, stride: tuple, padding: tuple, output_size) -> tuple:
    """The unpooled spatial size: ``(n - 1)*s - 2*p + k`` per side (the size ``max_pool`` maps to
    ``n``), or ``output_size`` (its last ``len(size)`` entries), each strictly within ``s`` of that."""
    default = tuple(conv_transpose_size(op, *side, 0) for side in zip(size, kernel, stride, padding))
    if output_size is None:
        return default
    sizes = tuple(output_size)[-len(size):] if len(output_size) == len(size) + 2 else tuple(output_size)
    if len(sizes) != len(size):
        raise ValueError(f"{op}: output_size should be a sequence of {len(size)} or {len(size) + 2} ints, "
                         f"got {output_size!r}")
    for d, (want, n, s) in enumerate(zip(sizes, default, stride)):
        if not n - s < want < n + s:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be between {n - s} '
                             f"and {n + s})")
    return tuple(int(v) for v in sizes)
