"""The activations: ``relu`` and its relatives, ``sigmoid``, ``tanh``, ``softmax`` and ``log_softmax``,
``gelu``, ``silu``, ``selu`` ... (elementwise, except the softmaxes and ``glu``)."""

from __future__ import annotations

import warnings

from nanotorch.functions import where
from nanotorch.nn.functional._common import _check_float_input
from nanotorch.ops.activation import (
    ELUFn,
    GELUFn,
    HardsigmoidFn,
    HardswishFn,
    HardtanhFn,
    LeakyReLUFn,
    LogSigmoidFn,
    PReLUFn,
    SiLUFn,
    SoftplusFn,
)
from nanotorch.ops.checks import check_float
from nanotorch.ops.pointwise import ReLUFn
from nanotorch.tensor import Tensor


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``. NOTE: ``inplace`` is accepted for PyTorch code; the result is a new tensor."""
    return ReLUFn.apply(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input`` (``inplace``: see ``relu``)."""
    return LeakyReLUFn.apply(input, negative_slope=negative_slope)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))``."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """``tanh(input)``."""
    return input.tanh()


def _softmax_dim(input: Tensor, dim: int | None, name: str) -> int:
    """PyTorch's legacy rule when ``dim`` is not given: 0 for 0-, 1- and 3-D input, else 1."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    return input.softmax(_softmax_dim(input, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``."""
    return input.log_softmax(_softmax_dim(input, dim, "log_softmax"))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with ``Phi`` the normal CDF; ``approximate="tanh"`` uses the tanh formula."""
    return GELUFn.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (``inplace``: see ``relu``)."""
    return SiLUFn.apply(input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)`` (``inplace``: see ``relu``)."""
    return ELUFn.apply(input, alpha=alpha)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``; ``x`` itself where ``beta * x > threshold``."""
    return SoftplusFn.apply(input, beta=beta, threshold=threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``clamp(x, min_val, max_val)`` with zero gradient at and outside the limits."""
    return HardtanhFn.apply(input, lo=min_val, hi=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return HardtanhFn.apply(input, lo=0.0, hi=6.0)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, stable for large ``|x|``."""
    return LogSigmoidFn.apply(input)


SELU_ALPHA = 1.6732632423543772848170429916717


SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with ``alpha ~ 1.6733`` and ``scale ~ 1.0507`` (``SELU_ALPHA``,
    ``SELU_SCALE``: chosen so activations keep mean 0 and variance 1 layer after layer).
    ``inplace``: see ``relu``."""
    _check_float_input("selu", input)
    return ELUFn.apply(input, alpha=SELU_ALPHA, scale=SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``; gradient ``exp(x / alpha)`` below 0
    (``inplace``: see ``relu``)."""
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 (it divides x)")
    _check_float_input("celu", input)
    return ELUFn.apply(input, alpha=alpha, input_scale=1 / alpha)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))`` (``inplace``: see ``relu``)."""
    _check_float_input("mish", input)
    return input * softplus(input).tanh()


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, linear between (``inplace``: see ``relu``)."""
    return HardsigmoidFn.apply(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * hardsigmoid(x)`` (``inplace``: see ``relu``)."""
    return HardswishFn.apply(input)


def softmin(input: Tensor, dim: int | None = None) -> Tensor:
    """``softmax(-x)`` along ``dim``: the smallest entries get the largest weights."""
    _check_float_input("softmin", input)
    return (-input).softmax(_softmax_dim(input, dim, "softmin"))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, else ``weight * x``, with learned slopes ``weight``: one (a scalar or
    ``[1]``) for every element, or one per channel (``[C]``, the channels on dim 1)."""
    _check_float_input("prelu", input)
    check_float("prelu", "weight", weight.data if isinstance(weight, Tensor) else weight, input.dtype)
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight must be a scalar or 1-D tensor, got shape {tuple(weight.shape)}")
    if weight.numel() == 1:
        slope = weight.reshape(())
    else:
        channels = input.shape[1] if input.ndim > 1 else 1
        if input.ndim == 0 or weight.numel() != channels:
            raise ValueError(f"prelu: weight has {weight.numel()} slopes but the input of shape "
                             f"{tuple(input.shape)} has {channels} channel(s) (dim 1)")
        slope = weight.reshape(-1, *[1] * (input.ndim - 2))
    return PReLUFn.apply(input, slope)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value`` (a NaN stays NaN); the gradient is 0 where
    replaced (``inplace``: see ``relu``)."""
    return where(input <= threshold, value, input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)``, ``a`` and ``b`` the first and second halves of
    ``input`` along ``dim`` (whose size must be even)."""
    _check_float_input("glu", input)
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for a {input.ndim}-D input")
    size = input.shape[dim]
    if size % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {dim} is size {size}")
    a, b = input.split([size // 2, size // 2], dim)
    return a * b.sigmoid()
