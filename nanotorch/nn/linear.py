"""``Linear``, ``Bilinear``, ``Identity`` and ``Flatten``."""

from __future__ import annotations

import math

from nanotorch import _dtype
from nanotorch.creation import empty
from nanotorch.nn import functional as F
from nanotorch.nn import init
from nanotorch.nn.module import Module
from nanotorch.nn.parameter import Parameter
from nanotorch.tensor import Tensor


def add_weight_and_bias(module: Module, weight_shape: tuple, bias: bool, dtype) -> None:
    """Register ``module.weight[weight_shape]`` and ``module.bias[weight_shape[0]]`` (or a
    ``None`` bias) as Linear and Conv2d do, uninitialised: ``reset_parameters`` fills them."""
    dtype = _dtype.to_dtype(dtype) or _dtype.DEFAULT_FLOAT
    module.weight = Parameter(empty(*weight_shape, dtype=dtype))
    if bias:
        module.bias = Parameter(empty(weight_shape[0], dtype=dtype))
    else:
        module.register_parameter("bias", None)


def reset_weight_and_bias(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default init for Linear and Conv2d: ``kaiming_uniform_(a=sqrt(5))`` for the
    weight and the bias, both ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = math.prod(weight.shape[1:])
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """Returns its input (a placeholder; arguments are ignored)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``: ``x[..., in_features] -> y[..., out_features]``.

    ``weight[out_features, in_features]`` (PyTorch's layout, so weights move between the
    two unchanged) and ``bias[out_features]``, both ``U(-1/sqrt(in), 1/sqrt(in))`` at first.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        add_weight_and_bias(self, (out_features, in_features), bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y = x1 . W x2 + b`` per output: ``x1[..., in1], x2[..., in2] -> y[..., out]`` with
    ``weight[out, in1, in2]`` and ``bias[out]``, both ``U(-1/sqrt(in1), 1/sqrt(in1))`` at first
    (``functional.bilinear``)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 dtype=None) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        add_weight_and_bias(self, (out_features, in1_features, in2_features), bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` into one: ``[N, C, H, W] -> [N, C*H*W]`` by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
