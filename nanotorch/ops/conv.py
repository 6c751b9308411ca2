"""Convolution (on the backend's im2col kernels; the C backend's 3x3 ones with >= 8 channels
on Winograd's F(2x2, 3x3), kernels/winograd.c) and pooling (on its pooling kernels).

Every op here takes ``x[N, C, H, W]`` and pairs ``(kh, kw)``, ``(sh, sw)``, ``(ph, pw)``;
an output side is ``Ho = (H + 2*ph - kh) // sh + 1``.
"""

from __future__ import annotations

import numpy as np

from nanotorch import backend
from nanotorch.autograd.function import Function
from nanotorch.ops.checks import check_float, check_vector, contiguous


def pooled_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                ceil_mode: bool = False) -> int:
    """How many windows fit along a side: ``(size + 2*padding - dilation*(kernel - 1) - 1) / stride + 1``
    rounded down, or up with ``ceil_mode`` unless that last window would start past the input and
    its left padding (PyTorch's rule)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    return out - 1 if ceil_mode and (out - 1) * stride >= size + padding else out


def _check_window(op: str, x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
                  dilation: tuple = (1, 1), ceil_mode: bool = False) -> tuple[int, int]:
    """Raise unless the window sizes are valid and fit the padded input at least once; return the
    output's ``(Ho, Wo)`` (``pooled_size``)."""
    if len(x_shape) != 4:
        raise ValueError(f"{op}: expected input of shape [N, C, H, W], got {x_shape}")
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel_size {kernel}, stride {stride} and dilation {dilation} must be >= 1, "
                         f"padding {padding} >= 0")
    sizes = (pooled_size(x_shape[2], kernel[0], stride[0], padding[0], dilation[0], ceil_mode),
             pooled_size(x_shape[3], kernel[1], stride[1], padding[1], dilation[1], ceil_mode))
    if min(sizes) < 1:
        h, w = x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1]
        spaced = "" if dilation == (1, 1) else f" with dilation {dilation}"
        raise ValueError(f"{op}: kernel {kernel}{spaced} is larger than the padded input ({h}, {w})")
    return sizes


def conv_out_channels(op: str, x_shape: tuple, w_shape: tuple, groups: int = 1,
                      transposed: bool = False) -> int:
    """A convolution's output channels; raises unless ``x[N, C, ...]`` fits the weight in ``groups``
    groups: ``w[O, C/groups, *kernel]`` (``O`` out), or transposed ``w[C, O/groups, *kernel]``;
    either way ``groups`` must divide ``w``'s first dim."""
    if w_shape[0] % groups:
        raise ValueError(f"{op}: groups={groups} must divide the weight's first dim, got weight of shape "
                         f"{w_shape}")
    expected = w_shape[0] if transposed else w_shape[1] * groups
    if x_shape[1] != expected:
        in_groups = "" if groups == 1 else f" in {groups} groups"
        raise ValueError(f"{op}: input has {x_shape[1]} channels (shape {x_shape}) but the weight "
                         f"{w_shape}{in_groups} expects {expected}")
    return w_shape[1] * groups if transposed else w_shape[0]


class Conv2dFn(Function):
    """2-D cross-correlation, ``x[N, C, H, W], w[O, C, kh, kw], b[O] | None -> y[N, O, Ho, Wo]``.

    ``y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * xpad[n, c, i*sh + u, j*sw + v]``.
    As a GEMM over the patches ``cols[N*Ho*Wo, C*kh*kw]``: ``y = cols @ W.T + b``, so
    ``dW = dy.T @ cols``, ``db = sum(dy)``, and ``dx`` adds the rows of ``dy @ W`` back
    to the input positions each patch was read from.
    """

    uses_backend = True

    @staticmethod
    def forward(ctx, x, w, b, stride=(1, 1), padding=(0, 0)):
        check_float("conv2d", "input", x)
        check_float("conv2d", "weight", w, x.dtype)
        if w.ndim != 4:
            raise ValueError(f"conv2d: weight must be 4-D [out_channels, in_channels, kh, kw], got {w.shape}")
        _check_window("conv2d", x.shape, w.shape[2:], stride, padding)
        check_vector("conv2d", "bias", b, conv_out_channels("conv2d", x.shape, w.shape), x.dtype)
        w = contiguous(w)
        y, cols = ctx.backend.conv2d_forward(contiguous(x), w, None if b is None else contiguous(b),
                                             stride, padding)
        ctx.save_for_backward(cols, w)  # cols: what the backend's backward reads (its layout)
        ctx.x_shape, ctx.stride, ctx.padding = x.shape, stride, padding
        return y

    @staticmethod
    def backward(ctx, grad):
        cols, w = ctx.saved_tensors
        return ctx.backend.conv2d_backward(contiguous(grad), cols, ctx.x_shape, w, ctx.stride,
                                           ctx.padding, *ctx.needs_input_grad)


def check_pool(op: str, x, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple = (1, 1),
               ceil_mode: bool = False) -> tuple[int, int]:
    """Raise unless ``x`` is a non-empty float ``[N, C, H, W]`` and the window valid, with padding at
    most half the kernel; return the output's ``(Ho, Wo)`` (``pooled_size``)."""
    check_float(op, "input", x)
    sizes = _check_window(op, x.shape, kernel, stride, padding, dilation, ceil_mode)
    if min(x.shape[1:]) < 1:
        raise ValueError(f"{op}: expected non-empty C, H and W, got input of shape {x.shape}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} should be at most half of kernel_size {kernel}")
    return sizes


def window_padding(size: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                   out_size: tuple) -> tuple[tuple, tuple]:
    """``(before, after)`` per side: the padding that makes an unpadded pooling give ``out_size``
    windows: ``padding`` before, and after as much as the last window needs (with ``ceil_mode``
    it may reach past ``padding``; never less than 0)."""
    after = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - n - p)
                  for n, k, s, p, d, o in zip(size, kernel, stride, padding, dilation, out_size))
    return tuple(padding), after


def window_positions(size: tuple, kernel: tuple, stride: tuple, dilation: tuple,
                     padding: tuple) -> np.ndarray:
    """``[kh*kw, L]``: where in the ``H*W`` plane each tap of each window reads, ``r*W + c``, or -1 in
    the padding (``padding``: ``(before, after)``, as ``window_padding`` gives)."""
    (before, after), (h, w) = padding, size
    plane = np.pad(np.arange(h * w).reshape(1, 1, h, w), ((0, 0), (0, 0), (before[0], after[0]),
                                                          (before[1], after[1])), constant_values=-1)
    padded = plane.shape[2:]
    blocks = sliding_blocks("max_pool2d", padded, kernel, dilation, (0, 0), stride)
    return _im2col(plane, kernel, dilation, (0, 0), stride, blocks)[0]


class MaxPool2dFn(Function):
    """``y[n, c, i, j] = max_{u<kh, v<kw} xpad[n, c, i*sh + u, j*sw + v]``, ``x`` padded with -inf.

    Forward also gives each window's arg-max (its position in the ``H*W`` plane; NOTE: the
    first one on ties, as PyTorch); ``dx`` gets ``dy`` there (overlapping windows add up).
    """

    uses_backend = True

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0)):
        check_pool("max_pool2d", x, kernel_size, stride, padding)
        y, indices = ctx.backend.max_pool2d_forward(contiguous(x), kernel_size, stride, padding)
        ctx.save_for_backward(indices)
        ctx.x_shape = x.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return ctx.backend.max_pool2d_backward(contiguous(grad), indices, ctx.x_shape)


class AvgPool2dFn(Function):
    """``y[n, c, i, j] = sum_{u<kh, v<kw} xpad[n, c, i*sh + u, j*sw + v] / (kh*kw)``, ``x`` padded
    with 0 (the padding counts in the mean, PyTorch's ``count_include_pad=True``);
    ``dx`` gets ``dy / (kh*kw)`` at every input of the window (overlapping windows add up)."""

    uses_backend = True

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0)):
        check_pool("avg_pool2d", x, kernel_size, stride, padding)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel_size, stride, padding
        return ctx.backend.avg_pool2d_forward(contiguous(x), kernel_size, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        return ctx.backend.avg_pool2d_backward(contiguous(grad), ctx.x_shape, ctx.kernel,
                                               ctx.stride, ctx.padding)


def max_pool2d_indices(x, kernel_size: tuple, stride: tuple, padding: tuple):
    """Where each window's max is in its ``H*W`` plane (``return_indices=True``): the same
    checks and kernel as ``MaxPool2dFn``, outside the graph (indices have no gradient)."""
    check_pool("max_pool2d", x, kernel_size, stride, padding)
    return backend.state.current.max_pool2d_forward(contiguous(x), kernel_size, stride, padding)[1]


def conv_transpose_size(op: str, size: int, kernel: int, stride: int, padding: int,
                        output_padding: int, dilation: int = 1) -> int:
    """One side of a transposed convolution's output: ``(size - 1) * stride - 2 * padding +
    dilation * (kernel - 1) + 1 + output_padding``, the input size of the ``conv2d`` it is the
    gradient of (``output_padding``, smaller than ``stride`` or ``dilation``, picks one of the
    sizes that convolution maps to ``size``)."""
    if not 0 <= output_padding < max(stride, dilation):
        raise ValueError(f"{op}: output padding must be smaller than stride (or dilation), but got "
                         f"output_padding: {output_padding}, stride: {stride}, dilation: {dilation}")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1 + output_padding
    if out < 1:
        raise ValueError(f"{op}: the output size {out} from input size {size}, kernel {kernel}, stride "
                         f"{stride}, padding {padding}, dilation {dilation} is too small (expected >= 1)")
    return out


class ConvTranspose2dFn(Function):
    """Transposed convolution, ``x[N, I, H, W], w[I, O, kh, kw], b[O] | None -> y[N, O, Ho, Wo]``
    with ``Ho = (H - 1)*sh - 2*ph + kh + oph``: the gradient of ``conv2d`` (weight ``w``, read as
    ``[out=I, in=O, kh, kw]``) w.r.t. its input, applied to ``x``. Each input element adds
    ``x[n, i, h, w] * w[i, :, :, :]`` to the output window at ``(h*sh - ph, w*sw - pw)``.

    So its own gradient runs ``conv2d`` forward: ``dx = conv2d(dy, w)``, and ``dw`` is that
    convolution's weight gradient with ``x`` as its output gradient; ``db = sum(dy)`` over
    ``N, Ho, Wo``. Both use the backend's convolution kernels.
    """

    uses_backend = True

    @staticmethod
    def forward(ctx, x, w, b, stride=(1, 1), padding=(0, 0), output_padding=(0, 0)):
        check_float("conv_transpose2d", "input", x)
        check_float("conv_transpose2d", "weight", w, x.dtype)
        if x.ndim != 4 or w.ndim != 4:
            raise ValueError(f"conv_transpose2d: expected input [N, C, H, W] and weight [in_channels, "
                             f"out_channels, kh, kw], got {x.shape} and {w.shape}")
        out_channels = conv_out_channels("conv_transpose2d", x.shape, w.shape, transposed=True)
        check_vector("conv_transpose2d", "bias", b, out_channels, x.dtype)
        if min(stride) < 1 or min(padding) < 0:
            raise ValueError(f"conv_transpose2d: stride {stride} must be >= 1, padding {padding} >= 0")
        out_hw = tuple(conv_transpose_size("conv_transpose2d", *sides)
                       for sides in zip(x.shape[2:], w.shape[2:], stride, padding, output_padding))
        y_shape = (x.shape[0], w.shape[1], *out_hw)
        x, w = contiguous(x), contiguous(w)
        # (no cols: the backward reads the forward's patches only for the weight's gradient)
        y = ctx.backend.conv2d_backward(x, None, y_shape, w, stride, padding, True, False, False)[0]
        if b is not None:
            y += b.reshape(-1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.padding = stride, padding
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_dx, need_dw, need_db = ctx.needs_input_grad
        grad = contiguous(grad)
        dx = dw = None
        if need_dx or need_dw:
            dx, cols = ctx.backend.conv2d_forward(grad, w, None, ctx.stride, ctx.padding)
        if need_dw:
            dw = ctx.backend.conv2d_backward(x, cols, grad.shape, w, ctx.stride, ctx.padding,
                                             False, True, False)[1]
        db = grad.sum(axis=(0, 2, 3)) if need_db else None
        return (dx if need_dx else None), dw, db


def sliding_blocks(op: str, size: tuple, kernel: tuple, dilation: tuple, padding: tuple,
                   stride: tuple) -> tuple[int, int]:
    """How many ``kernel`` windows (taps ``dilation`` apart) fit along each side of a ``size``
    image padded by ``padding``, every ``stride``: ``(H + 2p - d*(k - 1) - 1) // s + 1``."""
    if min(kernel) < 1 or min(dilation) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel_size {kernel}, dilation {dilation} and stride {stride} must be "
                         f">= 1, padding {padding} >= 0")
    blocks = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                   for n, k, d, p, s in zip(size, kernel, dilation, padding, stride))
    if min(blocks) < 1:
        raise ValueError(f"{op}: given input with spatial size {size}, kernel_size={kernel}, dilation="
                         f"{dilation}, padding={padding}, calculated shape of the array of sliding blocks "
                         f"as {blocks}, but its components must be at least one.")
    return blocks


def _taps(kernel: tuple, dilation: tuple, stride: tuple, blocks: tuple):
    """For each kernel tap ``(u, v)``: the slice of the padded image it reads in every block."""
    for u in range(kernel[0]):
        for v in range(kernel[1]):
            top, left = u * dilation[0], v * dilation[1]
            yield u, v, (slice(None), slice(None),
                         slice(top, top + stride[0] * (blocks[0] - 1) + 1, stride[0]),
                         slice(left, left + stride[1] * (blocks[1] - 1) + 1, stride[1]))


def _im2col(x, kernel, dilation, padding, stride, blocks):
    """``x[N, C, H, W] -> cols[N, C*kh*kw, L]``: each block's padded window as a column."""
    n, c = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    cols = np.empty((n, c, *kernel, *blocks), dtype=x.dtype)
    for u, v, window in _taps(kernel, dilation, stride, blocks):
        cols[:, :, u, v] = xp[window]
    return cols.reshape(n, c * kernel[0] * kernel[1], -1)


def _col2im(cols, size, kernel, dilation, padding, stride, blocks):
    """``cols[N, C*kh*kw, L] -> x[N, C, H, W]``: ``_im2col``'s adjoint, each column added back
    to the window it came from (overlaps add up; the padding is cut off)."""
    n = cols.shape[0]
    cols = cols.reshape(n, -1, *kernel, *blocks)
    xp = np.zeros((n, cols.shape[1], size[0] + 2 * padding[0], size[1] + 2 * padding[1]), dtype=cols.dtype)
    for u, v, window in _taps(kernel, dilation, stride, blocks):
        xp[window] += cols[:, :, u, v]
    return xp[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]].copy()


class UnfoldFn(Function):
    """im2col, ``x[N, C, H, W] -> cols[N, C*kh*kw, L]``, ``L`` = the number of blocks:
    ``cols[n, (c, u, v), (i, j)] = xpad[n, c, i*sh + u*dh, j*sw + v*dw]``.
    Gradient: ``dx = col2im(dcols)`` (what ``FoldFn`` computes)."""

    @staticmethod
    def forward(ctx, x, kernel, dilation, padding, stride):
        check_float("unfold", "input", x)
        if x.ndim != 4:
            raise ValueError(f"unfold: expected input [N, C, H, W], got shape {x.shape}")
        blocks = sliding_blocks("unfold", x.shape[2:], kernel, dilation, padding, stride)
        ctx.options = (x.shape[2:], kernel, dilation, padding, stride, blocks)
        return _im2col(x, kernel, dilation, padding, stride, blocks)

    @staticmethod
    def backward(ctx, grad):
        return _col2im(grad, *ctx.options)


class FoldFn(Function):
    """col2im, ``cols[N, C*kh*kw, L] -> x[N, C, H, W]`` (``(H, W) = output_size``): each column
    added into its block's window, overlaps summed: ``UnfoldFn``'s adjoint.
    Gradient: ``dcols = im2col(dx)`` (what ``UnfoldFn`` computes)."""

    @staticmethod
    def forward(ctx, cols, output_size, kernel, dilation, padding, stride):
        check_float("fold", "input", cols)
        if cols.ndim != 3:
            raise ValueError(f"fold: expected input [N, C*kh*kw, L], got shape {cols.shape}")
        taps = kernel[0] * kernel[1]
        if cols.shape[1] % taps:
            raise ValueError(f"fold: expected size of input's dimension 1 to be divisible by the product of "
                             f"kernel_size, but got input.size(1)={cols.shape[1]} and kernel_size={kernel}")
        blocks = sliding_blocks("fold", output_size, kernel, dilation, padding, stride)
        if cols.shape[2] != blocks[0] * blocks[1]:
            raise ValueError(f"fold: given output_size={output_size}, kernel_size={kernel}, dilation="
                             f"{dilation}, padding={padding}, stride={stride}, expected size of input's "
                             f"dimension 2 to match the calculated number of sliding blocks {blocks[0]} * "
                             f"{blocks[1]} = {blocks[0] * blocks[1]}, but got input.size(2)={cols.shape[2]}")
        ctx.options = (kernel, dilation, padding, stride, blocks)
        return _col2im(cols, output_size, *ctx.options)

    @staticmethod
    def backward(ctx, grad):
        return _im2col(grad, *ctx.options)
