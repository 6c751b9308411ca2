"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d`` and
``AdaptiveMaxPool1d/2d`` (the 1-D functions are the 2-D ones on ``[N, C, 1, L]``)."""

from __future__ import annotations

from nanotorch.nn import functional as F
from nanotorch.nn.module import Module
from nanotorch.tensor import Tensor


class _Pool(Module):
    """Pooling over ``kernel_size`` windows of ``[N, C, H, W]`` (or ``[N, C, L]``); ``stride``
    defaults to the kernel size."""

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _MaxPool(_Pool):
    """The max of each window (padding is -inf); ``return_indices=True`` also returns where
    each max is in its plane (``H*W``, or ``L``)."""

    def __init__(self, kernel_size, stride=None, padding=0, *, return_indices: bool = False) -> None:
        super().__init__(kernel_size, stride, padding)
        self.return_indices = return_indices


class MaxPool2d(_MaxPool):
    """Max pooling of ``[N, C, H, W]`` (``functional.max_pool2d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding,
                            return_indices=self.return_indices)


class MaxPool1d(_MaxPool):
    """Max pooling of ``[N, C, L]`` (``functional.max_pool1d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding,
                            return_indices=self.return_indices)


class _AvgPool(_Pool):
    """The mean of each window (zero padding counts in the mean unless ``count_include_pad=False``)."""

    def __init__(self, kernel_size, stride=None, padding=0, *, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad


class AvgPool2d(_AvgPool):
    """Average pooling of ``[N, C, H, W]`` (``functional.avg_pool2d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                            count_include_pad=self.count_include_pad)


class AvgPool1d(_AvgPool):
    """Average pooling of ``[N, C, L]`` (``functional.avg_pool1d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding,
                            count_include_pad=self.count_include_pad)


class _AdaptivePool(Module):
    """Pooling into ``output_size`` windows, whatever the input's size (an int for every side;
    ``None`` keeps a side)."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average ``[N, C, H, W]`` into ``output_size`` windows (``functional.adaptive_avg_pool2d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average ``[N, C, L]`` into ``output_size`` windows (``functional.adaptive_avg_pool1d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class _AdaptiveMaxPool(_AdaptivePool):
    """The max of each adaptive window; ``return_indices=True`` also returns where it is."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max of ``[N, C, H, W]`` in ``output_size`` windows (``functional.adaptive_max_pool2d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max of ``[N, C, L]`` in ``output_size`` windows (``functional.adaptive_max_pool1d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)
