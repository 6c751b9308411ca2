"""``Conv2d`` and ``Conv1d``."""

from __future__ import annotations

from nanotorch.nn import functional as F
from nanotorch.nn.functional import _pair
from nanotorch.nn.linear import add_weight_and_bias, reset_weight_and_bias
from nanotorch.nn.module import Module
from nanotorch.tensor import Tensor


class Conv2d(Module):
    """2-D convolution (cross-correlation, as PyTorch): ``[N, in, H, W] -> [N, out, Ho, Wo]``,
    ``Ho = (H + 2*padding - kh) // stride + 1``; ``padding="same"`` keeps ``H`` and ``W`` (stride
    1 only), ``"valid"`` is 0.

    ``weight[out_channels, in_channels, kh, kw]`` and ``bias[out_channels]``, both
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` at first with ``fan_in = in_channels*kh*kw``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, *,
                 bias: bool = True, dtype=None) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        if isinstance(padding, str):  # "valid" or "same": checked here, resolved by F.conv2d
            F.conv_padding(padding, self.kernel_size, self.stride)
            self.padding = padding
        else:
            self.padding = _pair(padding, "padding")
        add_weight_and_bias(self, (out_channels, in_channels, *self.kernel_size), bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        return text + (", bias=False" if self.bias is None else "")


class Conv1d(Module):
    """1-D convolution (cross-correlation): ``[N, in, L] -> [N, out, Lo]``,
    ``Lo = (L + 2*padding - k) // stride + 1`` (``padding``: also ``"same"`` or ``"valid"``).
    ``weight[out_channels, in_channels, k]`` and ``bias[out_channels]``, initialised as
    ``Conv2d``'s with ``fan_in = in_channels*k``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int | str = 0, *, bias: bool = True, dtype=None) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (F._single(kernel_size, "kernel_size"),)
        self.stride = (F._single(stride, "stride"),)
        if isinstance(padding, str):  # "valid" or "same": checked here, resolved by F.conv1d
            F.conv_padding(padding, self.kernel_size, self.stride)
            self.padding = padding
        else:
            self.padding = (F._single(padding, "padding"),)
        add_weight_and_bias(self, (out_channels, in_channels, *self.kernel_size), bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], padding)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,):
            text += f", padding={self.padding}"
        return text + (", bias=False" if self.bias is None else "")
