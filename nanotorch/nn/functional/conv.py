"""Convolutions: ``conv1d``, ``conv2d``, their transposes, ``unfold`` / ``fold`` (im2col and col2im),
and the padding rules (``conv_padding``: an int, a pair, ``"valid"`` or ``"same"``)."""

from __future__ import annotations

from nanotorch.nn.functional._common import _pair, _single, _unbatched
from nanotorch.nn.functional.padding import pad
from nanotorch.ops.conv import Conv2dFn, ConvTranspose2dFn, FoldFn, UnfoldFn
from nanotorch.tensor import Tensor


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
