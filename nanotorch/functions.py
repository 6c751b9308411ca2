"""The top-level tensor functions (``nt.exp(x)``, ``nt.cat([a, b])``, ...), as in ``torch``.

Most forward to the Tensor method of the same name; ``cat`` and ``stack`` take several
tensors and call their operation directly.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch.creation import arange
from nanotorch.ops.einsum import EinsumFn
from nanotorch.ops.shape import CatFn, StackFn
from nanotorch.tensor import Tensor
from nanotorch.tensor_methods import chunk, split, where
from nanotorch.tensor_promotion import result_type

_Dim = int | tuple | None


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def exp(x: Tensor) -> Tensor: return _t(x).exp()                                       # noqa: E704
def log(x: Tensor) -> Tensor: return _t(x).log()                                       # noqa: E704
def sqrt(x: Tensor) -> Tensor: return _t(x).sqrt()                                     # noqa: E704
def abs(x: Tensor) -> Tensor: return _t(x).abs()                                       # noqa: A001,E704
def relu(x: Tensor) -> Tensor: return _t(x).relu()                                     # noqa: E704
def sigmoid(x: Tensor) -> Tensor: return _t(x).sigmoid()                               # noqa: E704
def tanh(x: Tensor) -> Tensor: return _t(x).tanh()                                     # noqa: E704
def clamp(x: Tensor, min=None, max=None) -> Tensor: return _t(x).clamp(min, max)       # noqa: A002,E704
def maximum(a: Tensor, b) -> Tensor: return _t(a).maximum(b)                           # noqa: E704
def minimum(a: Tensor, b) -> Tensor: return _t(a).minimum(b)                           # noqa: E704
def matmul(a: Tensor, b) -> Tensor: return _t(a) @ b                                   # noqa: E704
def softmax(x: Tensor, dim: int = -1) -> Tensor: return _t(x).softmax(dim)             # noqa: E704
def log_softmax(x: Tensor, dim: int = -1) -> Tensor: return _t(x).log_softmax(dim)     # noqa: E704
def reshape(x: Tensor, shape: tuple) -> Tensor: return _t(x).reshape(shape)            # noqa: E704
def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor: return _t(x).transpose(dim0, dim1)  # noqa: E704
def permute(x: Tensor, dims: tuple) -> Tensor: return _t(x).permute(dims)              # noqa: E704
def squeeze(x: Tensor, dim: _Dim = None) -> Tensor: return _t(x).squeeze(dim)          # noqa: E704
def unsqueeze(x: Tensor, dim: int) -> Tensor: return _t(x).unsqueeze(dim)              # noqa: E704


def add(a: Tensor, b, *, alpha: float = 1) -> Tensor: return _t(a).add(b, alpha=alpha)  # noqa: E704
def sub(a: Tensor, b, *, alpha: float = 1) -> Tensor: return _t(a).sub(b, alpha=alpha)  # noqa: E704
def mul(a: Tensor, b) -> Tensor: return _t(a) * b                                      # noqa: E704
def div(a: Tensor, b) -> Tensor: return _t(a) / b                                      # noqa: E704
def remainder(a: Tensor, b) -> Tensor: return _t(a) % b                                # noqa: E704
def floor_divide(a: Tensor, b) -> Tensor: return _t(a) // b                            # noqa: E704
def sin(x: Tensor) -> Tensor: return _t(x).sin()                                       # noqa: E704
def cos(x: Tensor) -> Tensor: return _t(x).cos()                                       # noqa: E704
def log1p(x: Tensor) -> Tensor: return _t(x).log1p()                                   # noqa: E704
def expm1(x: Tensor) -> Tensor: return _t(x).expm1()                                   # noqa: E704
def log2(x: Tensor) -> Tensor: return _t(x).log2()                                     # noqa: E704
def erf(x: Tensor) -> Tensor: return _t(x).erf()                                       # noqa: E704
def rsqrt(x: Tensor) -> Tensor: return _t(x).rsqrt()                                   # noqa: E704
def reciprocal(x: Tensor) -> Tensor: return _t(x).reciprocal()                         # noqa: E704
def square(x: Tensor) -> Tensor: return _t(x).square()                                 # noqa: E704
def floor(x: Tensor) -> Tensor: return _t(x).floor()                                   # noqa: E704
def ceil(x: Tensor) -> Tensor: return _t(x).ceil()                                     # noqa: E704
def round(x: Tensor) -> Tensor: return _t(x).round()                                   # noqa: A001,E704
def trunc(x: Tensor) -> Tensor: return _t(x).trunc()                                   # noqa: E704
def sign(x: Tensor) -> Tensor: return _t(x).sign()                                     # noqa: E704
def lerp(x: Tensor, end, weight) -> Tensor: return _t(x).lerp(end, weight)             # noqa: E704
def isnan(x: Tensor) -> Tensor: return _t(x).isnan()                                   # noqa: E704
def isinf(x: Tensor) -> Tensor: return _t(x).isinf()                                   # noqa: E704
def isfinite(x: Tensor) -> Tensor: return _t(x).isfinite()                             # noqa: E704
def logical_not(x: Tensor) -> Tensor: return _t(x).logical_not()                       # noqa: E704
def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor: return _t(x).any(dim, keepdim)  # noqa: A001,E704
def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor: return _t(x).all(dim, keepdim)  # noqa: A001,E704
def prod(x: Tensor, dim=None, keepdim: bool = False) -> Tensor: return _t(x).prod(dim, keepdim)  # noqa: E704
def cumsum(x: Tensor, dim: int) -> Tensor: return _t(x).cumsum(dim)                    # noqa: E704
def amax(x: Tensor, dim=(), keepdim: bool = False) -> Tensor: return _t(x).amax(dim, keepdim)  # noqa: E704
def amin(x: Tensor, dim=(), keepdim: bool = False) -> Tensor: return _t(x).amin(dim, keepdim)  # noqa: E704
def flip(x: Tensor, dims) -> Tensor: return _t(x).flip(dims)                           # noqa: E704
def roll(x: Tensor, shifts, dims=None) -> Tensor: return _t(x).roll(shifts, dims)      # noqa: E704
def tril(x: Tensor, diagonal: int = 0) -> Tensor: return _t(x).tril(diagonal)          # noqa: E704
def triu(x: Tensor, diagonal: int = 0) -> Tensor: return _t(x).triu(diagonal)          # noqa: E704
def gather(x: Tensor, dim: int, index: Tensor) -> Tensor: return _t(x).gather(dim, index)  # noqa: E704
def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor: return _t(x).index_select(dim, index)  # noqa: E704
def masked_fill(x: Tensor, mask: Tensor, value) -> Tensor: return _t(x).masked_fill(mask, value)  # noqa: E704
def masked_select(x: Tensor, mask: Tensor) -> Tensor: return _t(x).masked_select(mask)  # noqa: E704
def mm(a: Tensor, b: Tensor) -> Tensor: return _t(a).mm(b)                             # noqa: E704
def bmm(a: Tensor, b: Tensor) -> Tensor: return _t(a).bmm(b)                           # noqa: E704
def dot(a: Tensor, b: Tensor) -> Tensor: return _t(a).dot(b)                           # noqa: E704
def outer(a: Tensor, b: Tensor) -> Tensor: return _t(a).outer(b)                       # noqa: E704
def t(x: Tensor) -> Tensor: return _t(x).t()                                           # noqa: E704
def clone(x: Tensor) -> Tensor: return _t(x).clone()                                   # noqa: E704
def cumprod(x: Tensor, dim: int, *, dtype=None) -> Tensor: return _t(x).cumprod(dim, dtype=dtype)  # noqa: E704
def movedim(x: Tensor, source, destination) -> Tensor: return _t(x).movedim(source, destination)  # noqa: E704
def narrow(x: Tensor, dim: int, start, length: int) -> Tensor: return _t(x).narrow(dim, start, length)  # noqa: E704
def select(x: Tensor, dim: int, index: int) -> Tensor: return _t(x).select(dim, index)  # noqa: E704
def unbind(x: Tensor, dim: int = 0) -> tuple: return _t(x).unbind(dim)                 # noqa: E704
def tile(x: Tensor, dims) -> Tensor: return _t(x).tile(dims)                           # noqa: E704
def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor: return _t(x).diagonal(offset, dim1, dim2)  # noqa: E501,E704
def swapaxes(x: Tensor, axis0: int, axis1: int) -> Tensor: return _t(x).transpose(axis0, axis1)  # noqa: E704
def swapdims(x: Tensor, dim0: int, dim1: int) -> Tensor: return _t(x).transpose(dim0, dim1)  # noqa: E704
def log10(x: Tensor) -> Tensor: return _t(x).log10()                                   # noqa: E704
def tan(x: Tensor) -> Tensor: return _t(x).tan()                                       # noqa: E704
def asin(x: Tensor) -> Tensor: return _t(x).asin()                                     # noqa: E704
def acos(x: Tensor) -> Tensor: return _t(x).acos()                                     # noqa: E704
def atan(x: Tensor) -> Tensor: return _t(x).atan()                                     # noqa: E704
def atan2(a: Tensor, b) -> Tensor: return _t(a).atan2(b)                               # noqa: E704
def sinh(x: Tensor) -> Tensor: return _t(x).sinh()                                     # noqa: E704
def cosh(x: Tensor) -> Tensor: return _t(x).cosh()                                     # noqa: E704
def asinh(x: Tensor) -> Tensor: return _t(x).asinh()                                   # noqa: E704
def acosh(x: Tensor) -> Tensor: return _t(x).acosh()                                   # noqa: E704
def atanh(x: Tensor) -> Tensor: return _t(x).atanh()                                   # noqa: E704
def fmod(a: Tensor, b) -> Tensor: return _t(a).fmod(b)                                 # noqa: E704
def is_tensor(obj) -> bool: return isinstance(obj, Tensor)                             # noqa: E704
def numel(x: Tensor) -> int: return x.numel()                                          # noqa: E704
def is_floating_point(x: Tensor) -> bool: return x.is_floating_point()                 # noqa: E704
def exp2(x: Tensor) -> Tensor: return _t(x).exp2()                                     # noqa: E704
def erfc(x: Tensor) -> Tensor: return _t(x).erfc()                                     # noqa: E704
def sinc(x: Tensor) -> Tensor: return _t(x).sinc()                                     # noqa: E704
def frac(x: Tensor) -> Tensor: return _t(x).frac()                                     # noqa: E704
def sgn(x: Tensor) -> Tensor: return _t(x).sgn()                                       # noqa: E704
def deg2rad(x: Tensor) -> Tensor: return _t(x).deg2rad()                               # noqa: E704
def rad2deg(x: Tensor) -> Tensor: return _t(x).rad2deg()                               # noqa: E704
def logit(x: Tensor, eps: float | None = None) -> Tensor: return _t(x).logit(eps)      # noqa: E704
def clamp_min(x: Tensor, min) -> Tensor: return _t(x).clamp_min(min)                   # noqa: A002,E704
def clamp_max(x: Tensor, max) -> Tensor: return _t(x).clamp_max(max)                   # noqa: A002,E704
def true_divide(a: Tensor, b) -> Tensor: return _t(a) / b                              # noqa: E704
def logaddexp(a: Tensor, b: Tensor) -> Tensor: return _t(a).logaddexp(b)               # noqa: E704
def hypot(a: Tensor, b: Tensor) -> Tensor: return _t(a).hypot(b)                       # noqa: E704
def copysign(a: Tensor, b) -> Tensor: return _t(a).copysign(b)                         # noqa: E704
def fmax(a: Tensor, b: Tensor) -> Tensor: return _t(a).fmax(b)                         # noqa: E704
def fmin(a: Tensor, b: Tensor) -> Tensor: return _t(a).fmin(b)                         # noqa: E704


moveaxis = movedim
arcsin, arccos, arctan, arctan2, arcsinh, arccosh, arctanh = asin, acos, atan, atan2, asinh, acosh, atanh


def pow(base, exponent) -> Tensor:  # noqa: A001
    """``base ** exponent``, elementwise: a tensor to a number or tensor power, or a number to
    a tensor power."""
    return base ** exponent if isinstance(base, Tensor) else _t(exponent).__rpow__(base)


def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    return _t(x).nan_to_num(nan, posinf, neginf)


def xlogy(x, y) -> Tensor:
    """``x * ln(y)``, 0 where ``x`` is 0; either may be a number (a number ``x`` counts as a
    0-d tensor, which promotes as the number would)."""
    return _t(x).xlogy(y)


def float_power(base, exponent) -> Tensor:
    """``base ** exponent`` in float64; ``base`` a tensor, or a number with a tensor ``exponent``."""
    if isinstance(base, Tensor):
        return base.float_power(exponent)
    return pow(builtins.float(base), _t(exponent).double())


def addcmul(x: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return _t(x).addcmul(tensor1, tensor2, value=value)


def addcdiv(x: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return _t(x).addcdiv(tensor1, tensor2, value=value)


def median(x: Tensor, dim: int | None = None, keepdim: bool = False):
    return _t(x).median(dim, keepdim)


def nansum(x: Tensor, dim: _Dim = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    return _t(x).nansum(dim, keepdim, dtype=dtype)


def nanmean(x: Tensor, dim: _Dim = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    return _t(x).nanmean(dim, keepdim, dtype=dtype)


def count_nonzero(x: Tensor, dim: _Dim = None) -> Tensor:
    return _t(x).count_nonzero(dim)


def var_mean(x: Tensor, dim: _Dim = None, unbiased: bool = True, keepdim: bool = False, *,
             correction=None) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim``, with ``var``'s options; ``var_mean(x, False)`` is biased."""
    return _spread_and_mean("var", x, dim, unbiased, keepdim, correction)


def std_mean(x: Tensor, dim: _Dim = None, unbiased: bool = True, keepdim: bool = False, *,
             correction=None) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim``, with ``std``'s options; ``std_mean(x, False)`` is biased."""
    return _spread_and_mean("std", x, dim, unbiased, keepdim, correction)


def _spread_and_mean(method: str, x, dim, unbiased, keepdim, correction) -> tuple[Tensor, Tensor]:
    """``(x.var(...) or x.std(...), x.mean(...))``; a bool second argument is ``unbiased``."""
    if isinstance(dim, builtins.bool):
        dim, unbiased = None, dim
    x = _t(x)
    return getattr(x, method)(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim)


def aminmax(x: Tensor, *, dim: int | None = None, keepdim: bool = False):
    return _t(x).aminmax(dim=dim, keepdim=keepdim)


def cummax(x: Tensor, dim: int):
    return _t(x).cummax(dim)


def cummin(x: Tensor, dim: int):
    return _t(x).cummin(dim)


def logcumsumexp(x: Tensor, dim: int) -> Tensor:
    return _t(x).logcumsumexp(dim)


def quantile(x: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    return _t(x).quantile(q, dim, keepdim, interpolation=interpolation)


def isclose(a: Tensor, b: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    return _t(a).isclose(b, rtol, atol, equal_nan)


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return _t(a).allclose(b, rtol, atol, equal_nan)


def equal(a: Tensor, b: Tensor) -> bool:
    return _t(a).equal(b)


def sort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    return _t(x).sort(dim, descending, stable=stable)


def argsort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    return _t(x).argsort(dim, descending, stable=stable)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    return _t(x).topk(k, dim, largest, sorted)


def nonzero(x: Tensor, *, as_tuple: bool = False) -> Tensor | tuple:
    return _t(x).nonzero(as_tuple=as_tuple)


def repeat_interleave(x: Tensor, repeats=None, dim: int | None = None, *, output_size: int | None = None):
    """``x.repeat_interleave(repeats, dim)``; with ``repeats`` left out, ``x`` holds the counts
    and the result repeats their indices: ``repeat_interleave(tensor([2, 1]))`` is ``[0, 0, 1]``."""
    if repeats is None:
        x, repeats = arange(len(_t(x))), x
    return _t(x).repeat_interleave(repeats, dim, output_size=output_size)


def scatter(x: Tensor, dim: int, index: Tensor, src) -> Tensor:
    return _t(x).scatter(dim, index, src)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return _t(x).scatter_add(dim, index, src)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)``, with ``...`` and the implicit
    output as ``np.einsum``; the operands may also be passed as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [_t(o) for o in operands]
    floats = [t.dtype for t in tensors if t.dtype.kind == "f"]
    if floats:
        dtype = np.result_type(*floats)
        tensors = [t.to(dtype) for t in tensors]
    return EinsumFn.apply(*tensors, equation=equation)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _t(x).flatten(start_dim, end_dim)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _t(x).argmax(dim, keepdim)


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _t(x).argmin(dim, keepdim)


def norm(x: Tensor, p="fro", dim: _Dim = None, keepdim: bool = False) -> Tensor:
    return _t(x).norm(p, dim, keepdim)


def logsumexp(x: Tensor, dim: _Dim = None, keepdim: bool = False, *, keepdims=None) -> Tensor:
    return _t(x).logsumexp(dim, keepdim, keepdims=keepdims)


def sum(x: Tensor, dim: _Dim = None, keepdim: bool = False, *, keepdims=None) -> Tensor:  # noqa: A001
    return _t(x).sum(dim, keepdim, keepdims=keepdims)


def mean(x: Tensor, dim: _Dim = None, keepdim: bool = False, *, keepdims=None) -> Tensor:
    return _t(x).mean(dim, keepdim, keepdims=keepdims)


def var(x: Tensor, dim: _Dim = None, unbiased: bool = True, keepdim: bool = False, **kw) -> Tensor:
    return _t(x).var(dim, unbiased, keepdim, **kw)


def std(x: Tensor, dim: _Dim = None, unbiased: bool = True, keepdim: bool = False, **kw) -> Tensor:
    return _t(x).std(dim, unbiased, keepdim, **kw)


def max(x: Tensor, dim=None, keepdim: bool = False, *, keepdims=None):  # noqa: A001
    """``max(x)``, ``max(x, dim)`` -> ``(values, indices)``, or ``max(a, b)`` elementwise."""
    if isinstance(dim, Tensor):
        return _t(x).maximum(dim)
    return _t(x).max(dim, keepdim, keepdims=keepdims)


def min(x: Tensor, dim=None, keepdim: bool = False, *, keepdims=None):  # noqa: A001
    """``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or ``min(a, b)`` elementwise."""
    if isinstance(dim, Tensor):
        return _t(x).minimum(dim)
    return _t(x).min(dim, keepdim, keepdims=keepdims)


def _promoted(tensors, name: str) -> list[Tensor]:
    """The tensors as tensors of PyTorch's result dtype (``cat([int64, float32])`` is float32)."""
    if not tensors:
        raise ValueError(f"{name}() needs at least one tensor")
    tensors = [_t(t) for t in tensors]
    target = result_type(*tensors)
    return [t.to(target) for t in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim."""
    return CatFn.apply(*_promoted(tensors, "cat"), dim=dim)


concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new dim."""
    return StackFn.apply(*_promoted(tensors, "stack"), dim=dim)


__all__ = ["exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh", "clamp", "maximum",
           "minimum", "matmul", "softmax", "log_softmax", "logsumexp", "norm", "flatten", "reshape",
           "transpose", "permute", "squeeze", "unsqueeze", "argmax", "argmin", "sum", "mean",
           "var", "std", "max", "min", "where", "cat", "concatenate", "stack", "split", "chunk",
           "add", "sub", "mul", "div", "remainder", "floor_divide", "sin", "cos", "log1p", "expm1",
           "log2", "erf", "rsqrt", "reciprocal", "square", "floor", "ceil", "round", "trunc", "sign",
           "lerp", "isnan", "isinf", "isfinite", "logical_not", "any", "all", "prod", "cumsum", "amax",
           "amin", "flip", "roll", "tril", "triu", "gather", "index_select", "masked_fill", "scatter",
           "scatter_add", "einsum", "masked_select", "mm", "bmm", "dot", "outer", "t", "clone", "pow",
           "cumprod", "sort", "argsort", "topk", "nonzero", "movedim", "moveaxis", "narrow", "select",
           "unbind", "tile", "repeat_interleave", "diagonal", "swapaxes", "swapdims", "log10", "tan",
           "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos",
           "arctan", "arctan2", "arcsinh", "arccosh", "arctanh", "fmod", "is_tensor", "numel",
           "is_floating_point", "exp2", "erfc", "sinc", "frac", "sgn", "deg2rad", "rad2deg", "logit",
           "clamp_min", "clamp_max", "true_divide", "logaddexp", "hypot", "copysign", "fmax", "fmin",
           "nan_to_num", "xlogy", "float_power", "addcmul", "addcdiv", "median", "nansum", "nanmean",
           "count_nonzero", "var_mean", "std_mean", "aminmax", "cummax", "cummin", "logcumsumexp",
           "quantile", "isclose", "allclose", "equal"]
