"""``linear`` and ``bilinear``: the fully connected layers as functions."""

from __future__ import annotations

from nanotorch.functions import einsum
from nanotorch.ops.linear import LinearFn
from nanotorch.tensor import Tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = input @ weight.T + bias``: ``input[..., in], weight[out, in], bias[out] -> y[..., out]``."""
    return LinearFn.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_o = x1 . W_o x2 + b_o = sum_ij x1_i W[o, i, j] x2_j + b_o``: ``input1[..., in1],
    input2[..., in2], weight[out, in1, in2], bias[out] -> [..., out]`` (one ``einsum``)."""
    if weight.ndim != 3 or input1.shape[-1:] != weight.shape[1:2] or input2.shape[-1:] != weight.shape[2:]:
        raise ValueError(f"bilinear: expected input1 [..., in1], input2 [..., in2] and weight [out, in1, "
                         f"in2], got {tuple(input1.shape)}, {tuple(input2.shape)} and {tuple(weight.shape)}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(f"bilinear: input1 and input2 must have the same leading dims, got "
                         f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    y = einsum("...i,oij,...j->...o", input1, weight, input2)
    return y if bias is None else y + bias
