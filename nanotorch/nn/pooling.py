"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``,
``AdaptiveMaxPool1d/2d`` and ``MaxUnpool1d/2d`` (the 1-D functions are the 2-D ones on
``[N, C, 1, L]``)."""

from __future__ import annotations

from nanotorch.nn import functional as F
from nanotorch.nn.functional._common import _pair, _single
from nanotorch.nn.module import Module
from nanotorch.tensor import Tensor


class _Pool(Module):
    """Pooling over ``kernel_size`` windows of ``[N, C, H, W]`` (or ``[N, C, L]``); ``stride``
    defaults to the kernel size; ``ceil_mode`` rounds the output size up (see
    ``functional.max_pool2d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        if getattr(self, "dilation", 1) != 1:
            text += f", dilation={self.dilation}"
        return text + (", ceil_mode=True" if self.ceil_mode else "")


class _MaxPool(_Pool):
    """The max of each window (padding is -inf; the taps ``dilation`` apart);
    ``return_indices=True`` also returns where each max is in its plane (``H*W``, or ``L``)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation, self.return_indices = dilation, return_indices


class MaxPool2d(_MaxPool):
    """Max pooling of ``[N, C, H, W]`` (``functional.max_pool2d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class MaxPool1d(_MaxPool):
    """Max pooling of ``[N, C, L]`` (``functional.max_pool1d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class _AvgPool(_Pool):
    """The mean of each window (zero padding counts in the mean unless ``count_include_pad=False``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad


class AvgPool2d(_AvgPool):
    """Average pooling of ``[N, C, H, W]`` (``functional.avg_pool2d``); ``divisor_override``, if
    given, divides every window's sum instead of its size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AvgPool1d(_AvgPool):
    """Average pooling of ``[N, C, L]`` (``functional.avg_pool1d``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class _MaxUnpool(Module):
    """Puts each value back where ``MaxPool``'s ``indices`` say, zeros elsewhere;
    ``forward(input, indices, output_size=None)`` (``functional.max_unpool2d``)."""

    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        sides = _pair if self.dims == 2 else (lambda v, name: (_single(v, name),))
        self.kernel_size = sides(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else sides(stride, "stride")
        self.padding = sides(padding, "padding")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(_MaxUnpool):
    """The partial inverse of ``MaxPool2d``: ``[N, C, H, W]`` and its indices -> ``[N, C, Ho, Wo]``."""

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool1d(_MaxUnpool):
    """The partial inverse of ``MaxPool1d``: ``[N, C, L]`` and its indices -> ``[N, C, Lo]``."""

    dims = 1

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return F.max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


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
