"""Convolutions: ``conv1d``, ``conv2d``, their transposes, ``unfold`` / ``fold`` (im2col and col2im),
and the padding rules (``conv_padding``: an int, a pair, ``"valid"`` or ``"same"``).

With ``groups=1`` and ``dilation=1`` a convolution is one op on the backend's kernels
(``Conv2dFn``, ``ConvTranspose2dFn``); with other ``groups`` or ``dilation`` it is built from
``unfold`` / ``fold`` and a batched matmul, which also give its gradients."""

from __future__ import annotations

from numbers import Integral

from nanotorch.nn.functional._common import _pair, _single, _unbatched
from nanotorch.nn.functional.padding import pad
from nanotorch.ops.checks import check_float, check_vector
from nanotorch.ops.conv import (
    Conv2dFn,
    ConvTranspose2dFn,
    FoldFn,
    UnfoldFn,
    conv_out_channels,
    conv_transpose_size,
    sliding_blocks,
)
from nanotorch.tensor import Tensor


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation ``input[N, C, H, W], weight[O, C/groups, kh, kw], bias[O] -> [N, O, Ho,
    Wo]``, ``Ho = (H + 2*padding - dilation*(kh - 1) - 1) // stride + 1``. ``stride``, ``dilation``
    (the spacing of the kernel's taps): an int or a pair; ``padding``: an int, a pair, ``"valid"``
    (no padding) or ``"same"`` (``Ho = H``; see ``conv_padding``). ``groups`` splits the channels:
    output channels ``g*O/groups ...`` see only input channels ``g*C/groups ...``
    (``groups = C``: a depthwise convolution). An unbatched ``input[C, H, W]`` gives ``[O, Ho, Wo]``,
    as PyTorch."""
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")

    def conv(x: Tensor) -> Tensor:
        before, after = conv_padding(padding, tuple(weight.shape[2:]), stride, dilation)
        if before != after:  # "same" with an even kernel: the extra row or column goes after
            x = pad(x, (0, after[1] - before[1], 0, after[0] - before[0]))
        if groups == 1 and dilation == (1, 1):
            return Conv2dFn.apply(x, weight, bias, stride=stride, padding=before)
        return _unfolded_conv2d(x, weight, bias, stride, before, dilation, groups)

    return _unbatched(input, conv)


def _check_groups_and_dilation(op: str, groups: int, dilation: tuple) -> None:
    """Raise ``ValueError`` unless ``groups`` is a positive int and every ``dilation`` >= 1."""
    if not isinstance(groups, Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be >= 1, got {dilation}")


def _check_conv_arrays(op: str, x: Tensor, weight: Tensor, transposed: bool = False) -> None:
    """Raise unless ``x`` and ``weight`` are 4-D float tensors of one dtype."""
    check_float(op, "input", x.data)
    check_float(op, "weight", weight.data, x.dtype)
    if x.ndim != 4 or weight.ndim != 4:
        layout = "[in_channels, out_channels/groups" if transposed else "[out_channels, in_channels/groups"
        raise ValueError(f"{op}: expected input [N, C, H, W] and weight {layout}, kh, kw], got "
                         f"{tuple(x.shape)} and {tuple(weight.shape)}")


def _unfolded_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple, padding: tuple,
                     dilation: tuple, groups: int) -> Tensor:
    """``conv2d`` with ``dilation`` or ``groups``, from ``unfold`` and a matmul (so are its gradients):
    the patches ``cols = unfold(x)`` ``[N, C*kh*kw, L]`` (taps ``dilation`` apart), read as the
    groups' ``[N, G, C/G*kh*kw, L]``, times each group's weight ``W[g]`` ``[O/G, C/G*kh*kw]`` in one
    batched matmul, ``y[n, g] = W[g] @ cols[n, g]``: ``[N, G, O/G, L]``, that is ``[N, O, Ho, Wo]``."""
    _check_groups_and_dilation("conv2d", groups, dilation)
    _check_conv_arrays("conv2d", x, weight)
    out_channels = conv_out_channels("conv2d", tuple(x.shape), tuple(weight.shape), groups)
    check_vector("conv2d", "bias", None if bias is None else bias.data, out_channels, x.dtype)
    kernel = tuple(weight.shape[2:])
    blocks = sliding_blocks("conv2d", tuple(x.shape[2:]), kernel, dilation, padding, stride)
    cols = UnfoldFn.apply(x, kernel, dilation, padding, stride)
    n = x.shape[0]
    y = weight.reshape(groups, out_channels // groups, -1) @ cols.reshape(n, groups, -1, cols.shape[2])
    y = y.reshape(n, out_channels, *blocks)
    return y if bias is None else y + bias.reshape(-1, 1, 1)


CONV_PADDING_STRINGS = ("valid", "same")


def conv_padding(padding, kernel: tuple[int, ...], stride: tuple[int, ...],
                 dilation: tuple[int, ...] | None = None) -> tuple[tuple, tuple]:
    """``(before, after)``: the zeros a convolution adds at the start and end of each spatial dim.

    An int or a pair pads both ends alike; ``"valid"`` pads nothing; ``"same"`` (only with
    stride 1) pads ``dilation * (k - 1)`` in all (the kernel's reach), half of it before and the
    rest after, so the output keeps the input's size (an odd total puts one more after, as PyTorch).
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
    reach = tuple(d * (k - 1) for k, d in zip(kernel, dilation or (1,) * len(kernel)))
    before = tuple(r // 2 for r in reach)
    return before, tuple(r - b for r, b in zip(reach, before))


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
           padding: int | str = 0, dilation: int = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation ``input[N, C, L], weight[O, C/groups, k], bias[O] -> [N, O, Lo]``,
    ``Lo = (L + 2*padding - dilation*(k - 1) - 1) // stride + 1``: ``conv2d`` on a height-1 image
    (``padding`` may also be ``"valid"`` or ``"same"``, and ``groups`` splits the channels, as
    there). An unbatched ``input[C, L]`` gives ``[O, Lo]``, as PyTorch."""
    if isinstance(input, Tensor) and input.ndim == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input [N, C, L] or [C, L] and weight [O, C/groups, k], got "
                         f"{input.shape} and {weight.shape}")
    stride = _single(stride, "stride")
    padding = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), padding,
                 (1, _single(dilation, "dilation")), groups)
    return out.squeeze(2)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution ``input[N, I, H, W], weight[I, O/groups, kh, kw], bias[O] -> [N, O,
    Ho, Wo]``, ``Ho = (H - 1)*stride - 2*padding + dilation*(kh - 1) + 1 + output_padding``: the
    gradient of ``conv2d`` (same ``groups`` and ``dilation``) w.r.t. its input (so it upsamples by
    ``stride``; see ``ConvTranspose2dFn``). ``output_padding`` (smaller than ``stride`` or
    ``dilation``) adds rows and columns at the end. An unbatched ``[I, H, W]`` gives ``[O, Ho, Wo]``."""
    options = {"stride": _pair(stride, "stride"), "padding": _pair(padding, "padding"),
               "output_padding": _pair(output_padding, "output_padding")}
    dilation = _pair(dilation, "dilation")
    if groups == 1 and dilation == (1, 1):
        return _unbatched(input, lambda x: ConvTranspose2dFn.apply(x, weight, bias, **options))
    return _unbatched(input, lambda x: _folded_conv_transpose2d(x, weight, bias, dilation=dilation,
                                                                groups=groups, **options))


def _folded_conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple, padding: tuple,
                             output_padding: tuple, dilation: tuple, groups: int) -> Tensor:
    """``conv_transpose2d`` with ``dilation`` or ``groups``, from a matmul and ``fold`` (so are its
    gradients): each input pixel's share of the output, ``cols[n, g] = W[g].T @ x[n, g]``
    (``W[g]`` the group's weight ``[I/G, O/G*kh*kw]``, ``x[n, g]`` its ``[I/G, H*W]``), summed into
    its window by ``fold`` (col2im, taps ``dilation`` apart) on the whole unpadded output; then
    ``padding`` is cut off each side and ``output_padding`` added at the end (zeros past the
    unpadded output)."""
    _check_groups_and_dilation("conv_transpose2d", groups, dilation)
    _check_conv_arrays("conv_transpose2d", x, weight, transposed=True)
    out_channels = conv_out_channels("conv_transpose2d", tuple(x.shape), tuple(weight.shape), groups,
                                     transposed=True)
    check_vector("conv_transpose2d", "bias", None if bias is None else bias.data, out_channels, x.dtype)
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"conv_transpose2d: stride {stride} must be >= 1, padding {padding} >= 0")
    n, c, h, w = x.shape
    kernel = tuple(weight.shape[2:])
    sides = list(zip((h, w), kernel, stride, padding, output_padding, dilation))
    out = [conv_transpose_size("conv_transpose2d", *side) for side in sides]
    full = [conv_transpose_size("conv_transpose2d", size, k, s, 0, 0, d) for size, k, s, _, _, d in sides]
    weight = weight.reshape(groups, c // groups, -1).transpose(1, 2)
    cols = (weight @ x.reshape(n, groups, c // groups, h * w)).reshape(n, -1, h * w)
    y = FoldFn.apply(cols, tuple(full), kernel, dilation, (0, 0), stride)
    y = pad(y, (-padding[1], out[1] + padding[1] - full[1], -padding[0], out[0] + padding[0] - full[0]))
    return y if bias is None else y + bias.reshape(-1, 1, 1)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
                     padding: int = 0, output_padding: int = 0, groups: int = 1, dilation: int = 1) -> Tensor:
    """Transposed 1-D convolution ``input[N, I, L], weight[I, O/groups, k], bias[O] -> [N, O, Lo]``,
    ``Lo = (L - 1)*stride - 2*padding + dilation*(k - 1) + 1 + output_padding``:
    ``conv_transpose2d`` of a height-1 image (an unbatched ``[I, L]`` gives ``[O, Lo]``)."""
    if isinstance(input, Tensor) and input.ndim == 2:
        return conv_transpose1d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv_transpose1d: expected input [N, C, L] or [C, L] and weight [I, O/groups, k], "
                         f"got {tuple(input.shape)} and {tuple(weight.shape)}")
    out = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _single(stride, "stride")),
                           (0, _single(padding, "padding")), (0, _single(output_padding, "output_padding")),
                           groups, (1, _single(dilation, "dilation")))
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
