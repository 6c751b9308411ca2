"""``MaxPool2d``, ``AvgPool2d`` and ``AdaptiveAvgPool2d``."""

from __future__ import annotations

from nanotorch.nn import functional as F
from nanotorch.nn.module import Module
from nanotorch.tensor import Tensor


class _Pool2d(Module):
    """Pooling over ``kernel_size`` windows of ``[N, C, H, W]``; ``stride`` defaults to the kernel size."""

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The max of each window (padding is -inf); ``return_indices=True`` also returns where
    each max is in its ``H*W`` plane."""

    def __init__(self, kernel_size, stride=None, padding=0, *, return_indices: bool = False) -> None:
        super().__init__(kernel_size, stride, padding)
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding,
                            return_indices=self.return_indices)


class AvgPool2d(_Pool2d):
    """The mean of each window (zero padding counts in the mean unless ``count_include_pad=False``)."""

    def __init__(self, kernel_size, stride=None, padding=0, *, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                            count_include_pad=self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    """Average ``[N, C, H, W]`` into ``output_size`` windows (``functional.adaptive_avg_pool2d``)."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
