"""``Conv2d`` and ``Conv1d``, their transposes ``ConvTranspose2d`` and ``ConvTranspose1d``, and
``Unfold`` / ``Fold`` (im2col and col2im)."""

from __future__ import annotations

from numbers import Integral

from nanotorch.creation import empty
from nanotorch.nn import functional as F
from nanotorch.nn.functional._common import _pair, _single
from nanotorch.nn.linear import add_weight_and_bias, reset_weight_and_bias
from nanotorch.nn.module import Module
from nanotorch.nn.parameter import Parameter
from nanotorch.tensor import Tensor


class _ConvNd(Module):
    """What the convolution layers share: ``dims`` spatial dims (options kept as ``dims``-tuples),
    channels split in ``groups`` (both counts must divide by it), PyTorch's init
    (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weight and bias, ``fan_in = weight[0].numel()``)
    and repr."""

    dims = 2

    def _set_options(self, in_channels: int, out_channels: int, groups: int, **options) -> None:
        """Check ``groups`` against the channels; keep them and each option as a ``dims``-tuple."""
        if not isinstance(groups, Integral) or isinstance(groups, bool) or groups < 1:
            raise ValueError(f"{type(self).__name__}: groups must be a positive integer, got {groups!r}")
        for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % groups:
                raise ValueError(f"{type(self).__name__}: {name} must be divisible by groups, got "
                                 f"{name}={channels} and groups={groups}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        for name, value in options.items():
            setattr(self, name, self._tuple(value, name))

    def _tuple(self, value, name: str) -> tuple[int, ...]:
        return _pair(value, name) if self.dims == 2 else (_single(value, name),)

    def reset_parameters(self) -> None:
        reset_weight_and_bias(self.weight, self.bias)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if isinstance(self.padding, str) or any(self.padding):
            text += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if any(getattr(self, "output_padding", ())):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + (", bias=False" if self.bias is None else "")


class _Conv(_ConvNd):
    """A convolution: ``weight[out_channels, in_channels/groups, *kernel]``, ``bias[out_channels]``;
    ``padding`` may also be ``"same"`` or ``"valid"`` (checked here, resolved by the function)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, *, dtype=None) -> None:
        super().__init__()
        self._set_options(in_channels, out_channels, groups, kernel_size=kernel_size, stride=stride,
                          dilation=dilation)
        if isinstance(padding, str):
            F.conv_padding(padding, self.kernel_size, self.stride, self.dilation)
            self.padding = padding
        else:
            self.padding = self._tuple(padding, "padding")
        add_weight_and_bias(self, (out_channels, in_channels // groups, *self.kernel_size), bias, dtype)
        self.reset_parameters()


class Conv2d(_Conv):
    """2-D convolution (cross-correlation, as PyTorch): ``[N, in, H, W] -> [N, out, Ho, Wo]``,
    ``Ho = (H + 2*padding - dilation*(kh - 1) - 1) // stride + 1``; ``padding="same"`` keeps ``H``
    and ``W`` (stride 1 only), ``"valid"`` is 0; ``groups`` splits the channels into that many
    independent convolutions (``functional.conv2d``).

    ``weight[out_channels, in_channels/groups, kh, kw]`` and ``bias[out_channels]``, both
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` at first with ``fan_in = in_channels/groups*kh*kw``.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution (cross-correlation): ``[N, in, L] -> [N, out, Lo]``,
    ``Lo = (L + 2*padding - dilation*(k - 1) - 1) // stride + 1`` (``padding``: also ``"same"`` or
    ``"valid"``). ``weight[out_channels, in_channels/groups, k]`` and ``bias[out_channels]``,
    initialised as ``Conv2d``'s with ``fan_in = in_channels/groups*k``."""

    dims = 1

    def forward(self, input: Tensor) -> Tensor:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution with ``dims`` spatial dims: ``weight[in_channels, out_channels/groups,
    *kernel]`` and ``bias[out_channels]``, initialised as ``Conv2d``'s (``fan_in = out_channels/groups
    * prod(kernel)``, PyTorch's rule for this layout). ``forward(input, output_size)`` may ask for
    one of the ``stride`` output sizes the layer can make, instead of ``output_padding``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", *, dtype=None) -> None:
        super().__init__()
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self._set_options(in_channels, out_channels, groups, kernel_size=kernel_size, stride=stride,
                          padding=padding, output_padding=output_padding, dilation=dilation)
        add_weight_and_bias(self, (in_channels, out_channels // groups, *self.kernel_size), False, dtype)
        if bias:  # [out_channels]: no dim of the weight has that size when groups > 1
            self.bias = Parameter(empty(out_channels, dtype=self.weight.dtype))
        self.reset_parameters()

    def _output_padding(self, input: Tensor, output_size) -> tuple[int, ...]:
        """``output_padding``, or what gives ``output_size`` (its last ``dims`` sides)."""
        if output_size is None:
            return self.output_padding
        sizes = list(output_size)
        if len(sizes) == input.ndim:
            sizes = sizes[-self.dims:]
        if len(sizes) != self.dims:
            raise ValueError(f"{type(self).__name__}: for {input.ndim}D input, output_size must have "
                             f"{self.dims} or {input.ndim} elements (got {len(output_size)})")
        padding = []
        for size, n, k, s, p, d in zip(sizes, input.shape[-self.dims:], self.kernel_size, self.stride,
                                       self.padding, self.dilation):
            smallest = (n - 1) * s - 2 * p + d * (k - 1) + 1
            if not smallest <= size < smallest + s:
                raise ValueError(f"requested an output size of {sizes}, but valid sizes range from "
                                 f"{smallest} to {smallest + s - 1} (for an input of "
                                 f"{tuple(input.shape[-self.dims:])})")
            padding.append(size - smallest)
        return tuple(padding)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution ``[N, in, H, W] -> [N, out, Ho, Wo]``, ``Ho = (H - 1)*stride -
    2*padding + dilation*(kh - 1) + 1 + output_padding``: the gradient of ``Conv2d`` (same
    ``groups`` and ``dilation``) w.r.t. its input, so it upsamples by ``stride``
    (``functional.conv_transpose2d``)."""

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution ``[N, in, L] -> [N, out, Lo]``, ``Lo = (L - 1)*stride - 2*padding
    + dilation*(k - 1) + 1 + output_padding`` (``functional.conv_transpose1d``)."""

    dims = 1

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride[0], self.padding[0],
                                  self._output_padding(input, output_size)[0], self.groups, self.dilation[0])


class Unfold(Module):
    """Sliding blocks of ``[N, C, H, W]`` as columns ``[N, C*kh*kw, L]`` (``functional.unfold``)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """Columns ``[N, C*kh*kw, L]`` summed back into an ``output_size`` image ``[N, C, H, W]``
    (``functional.fold``, the adjoint of ``Unfold``)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
