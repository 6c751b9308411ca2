"""Convolution (on the backend's im2col kernels; the C backend's 3x3 ones with >= 8 channels
on Winograd's F(2x2, 3x3), kernels/winograd.c) and pooling (on its pooling kernels).

Every op here takes ``x[N, C, H, W]`` and pairs ``(kh, kw)``, ``(sh, sw)``, ``(ph, pw)``;
an output side is ``Ho = (H + 2*ph - kh) // sh + 1``.
"""

from __future__ import annotations

from nanotorch import backend
from nanotorch.autograd.function import Function
from nanotorch.ops.checks import check_float, check_vector, contiguous


def _check_window(op: str, x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple) -> None:
    """Raise unless the window sizes are valid and fit the padded input at least once."""
    if len(x_shape) != 4:
        raise ValueError(f"{op}: expected input of shape [N, C, H, W], got {x_shape}")
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel_size {kernel} and stride {stride} must be >= 1, "
                         f"padding {padding} >= 0")
    h, w = x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1]
    if kernel[0] > h or kernel[1] > w:
        raise ValueError(f"{op}: kernel {kernel} is larger than the padded input ({h}, {w})")


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
        if x.shape[1] != w.shape[1]:
            raise ValueError(f"conv2d: input has {x.shape[1]} channels (shape {x.shape}) but the weight "
                             f"{w.shape} expects {w.shape[1]}")
        check_vector("conv2d", "bias", b, w.shape[0], x.dtype)
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


def _check_pool(op: str, x, kernel: tuple, stride: tuple, padding: tuple) -> None:
    check_float(op, "input", x)
    _check_window(op, x.shape, kernel, stride, padding)
    if min(x.shape[1:]) < 1:
        raise ValueError(f"{op}: expected non-empty C, H and W, got input of shape {x.shape}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} should be at most half of kernel_size {kernel}")


class MaxPool2dFn(Function):
    """``y[n, c, i, j] = max_{u<kh, v<kw} xpad[n, c, i*sh + u, j*sw + v]``, ``x`` padded with -inf.

    Forward also gives each window's arg-max (its position in the ``H*W`` plane; NOTE: the
    first one on ties, as PyTorch); ``dx`` gets ``dy`` there (overlapping windows add up).
    """

    uses_backend = True

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0)):
        _check_pool("max_pool2d", x, kernel_size, stride, padding)
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
        _check_pool("avg_pool2d", x, kernel_size, stride, padding)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel_size, stride, padding
        return ctx.backend.avg_pool2d_forward(contiguous(x), kernel_size, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        return ctx.backend.avg_pool2d_backward(contiguous(grad), ctx.x_shape, ctx.kernel,
                                               ctx.stride, ctx.padding)


def max_pool2d_indices(x, kernel_size: tuple, stride: tuple, padding: tuple):
    """Where each window's max is in its ``H*W`` plane (``return_indices=True``): the same
    checks and kernel as ``MaxPool2dFn``, outside the graph (indices have no gradient)."""
    _check_pool("max_pool2d", x, kernel_size, stride, padding)
    return backend.state.current.max_pool2d_forward(contiguous(x), kernel_size, stride, padding)[1]
