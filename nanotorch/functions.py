"""The top-level tensor functions (``nt.exp(x)``, ``nt.cat([a, b])``, ...), as in ``torch``.

Most forward to the Tensor method of the same name; ``cat`` and ``stack`` take several
tensors and call their operation directly.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch import linalg
from nanotorch.creation import arange
from nanotorch.ops import counting
from nanotorch.ops.einsum import EinsumFn
from nanotorch.ops.linalg import CdistFn
from nanotorch.ops.shape import CatFn, StackFn
from nanotorch.tensor import Tensor
from nanotorch.tensor_methods import broadcast_shapes, chunk, split, tensordot, where
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


def scatter(x: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce: str | None = None) -> Tensor:
    return _t(x).scatter(dim, index, src, value=value, reduce=reduce)


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


# ------------------------------------------------------------ linear algebra (see nanotorch.linalg)
def kron(a: Tensor, b: Tensor) -> Tensor: return _t(a).kron(b)                         # noqa: E704
def inner(a: Tensor, b: Tensor) -> Tensor: return _t(a).inner(b)                       # noqa: E704
def mv(mat: Tensor, vec: Tensor) -> Tensor: return _t(mat).mv(vec)                     # noqa: E704
def vdot(a: Tensor, b: Tensor) -> Tensor: return _t(a).vdot(b)                         # noqa: E704
def dist(a: Tensor, b: Tensor, p: float = 2) -> Tensor: return _t(a).dist(b, p)        # noqa: E704
def det(A: Tensor) -> Tensor: return linalg.det(A)                                     # noqa: E704,N803
def logdet(A: Tensor) -> Tensor: return _t(A).logdet()                                 # noqa: E704,N803
def slogdet(A: Tensor) -> tuple: return linalg.slogdet(A)                              # noqa: E704,N803
def inverse(A: Tensor) -> Tensor: return linalg.inv(A)                                 # noqa: E704,N803
def pinverse(A: Tensor, rcond: float = 1e-15) -> Tensor: return _t(A).pinverse(rcond)  # noqa: E704,N803
def matrix_power(A: Tensor, n: int) -> Tensor: return linalg.matrix_power(A, n)        # noqa: E704,N803


def addmm(x: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    return _t(x).addmm(mat1, mat2, beta=beta, alpha=alpha)


def addmv(x: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    return _t(x).addmv(mat, vec, beta=beta, alpha=alpha)


def addbmm(x: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    return _t(x).addbmm(batch1, batch2, beta=beta, alpha=alpha)


def baddbmm(x: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    return _t(x).baddbmm(batch1, batch2, beta=beta, alpha=alpha)


def cross(a: Tensor, b: Tensor, dim: int | None = None) -> Tensor:
    return _t(a).cross(b, dim)


def chain_matmul(*matrices: Tensor) -> Tensor:
    """``matrices[0] @ matrices[1] @ ...`` of 2-D tensors (``linalg.multi_dot``; one is returned)."""
    if builtins.any(m.ndim != 2 for m in matrices):
        shapes = [tuple(m.shape) for m in matrices]
        raise RuntimeError(f"chain_matmul(): expected 2-D tensors, got shapes {shapes}")
    return matrices[0] if len(matrices) == 1 else linalg.multi_dot(matrices)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` ``[*, P, M]`` and each row of ``x2``
    ``[*, R, M]``: ``[*, P, R]`` (batch dims broadcast). ``compute_mode`` picks PyTorch's
    algorithm; here every mode computes the differences directly. Gradient: ``CdistFn``'s."""
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
        if x.data.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {x.dtype}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"cdist: X1 and X2 must have the same dtype, got {x1.dtype} and {x2.dtype}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    return CdistFn.apply(x1, x2, float(p))


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
__all__ += ["kron", "tensordot", "inner", "mv", "addmm", "addmv", "addbmm", "baddbmm", "cross", "cdist",
            "chain_matmul", "matrix_power", "vdot", "dist", "det", "logdet", "slogdet", "inverse", "pinverse"]


# ------------------------------------------------------- indexing, shape, logic and counting
def scatter_reduce(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    return _t(x).scatter_reduce(dim, index, src, reduce, include_self=include_self)


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    return _t(x).index_add(dim, index, source, alpha=alpha)


def index_copy(x: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    return _t(x).index_copy(dim, index, source)


def index_fill(x: Tensor, dim: int, index: Tensor, value) -> Tensor:
    return _t(x).index_fill(dim, index, value)


def index_put(x: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    return _t(x).index_put(indices, values, accumulate)


def put(x: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    return _t(x).put(index, source, accumulate)


def take(x: Tensor, index: Tensor) -> Tensor: return _t(x).take(index)                  # noqa: E704
def argwhere(x: Tensor) -> Tensor: return _t(x).argwhere()                             # noqa: E704
def masked_scatter(x: Tensor, mask: Tensor, source: Tensor) -> Tensor: return _t(x).masked_scatter(mask, source)  # noqa: E501,E704
def broadcast_to(x: Tensor, size) -> Tensor: return _t(x).broadcast_to(size)           # noqa: E704
def diag(x: Tensor, diagonal: int = 0) -> Tensor: return _t(x).diag(diagonal)          # noqa: E704
def diagflat(x: Tensor, offset: int = 0) -> Tensor: return _t(x).diagflat(offset)      # noqa: E704
def trace(x: Tensor) -> Tensor: return _t(x).trace()                                   # noqa: E704
def rot90(x: Tensor, k: int = 1, dims=(0, 1)) -> Tensor: return _t(x).rot90(k, dims)   # noqa: E704
def unflatten(x: Tensor, dim: int, sizes) -> Tensor: return _t(x).unflatten(dim, sizes)  # noqa: E704
def logical_and(a: Tensor, b: Tensor) -> Tensor: return _t(a).logical_and(b)           # noqa: E704
def logical_or(a: Tensor, b: Tensor) -> Tensor: return _t(a).logical_or(b)             # noqa: E704
def logical_xor(a: Tensor, b: Tensor) -> Tensor: return _t(a).logical_xor(b)           # noqa: E704
def bitwise_not(x: Tensor) -> Tensor: return ~_t(x)                                    # noqa: E704
def bitwise_and(a, b) -> Tensor: return _t(a) & b                                      # noqa: E704
def bitwise_or(a, b) -> Tensor: return _t(a) | b                                       # noqa: E704
def bitwise_xor(a, b) -> Tensor: return _t(a) ^ b                                      # noqa: E704
def bitwise_left_shift(a, b) -> Tensor: return b.__rlshift__(a) if not isinstance(a, Tensor) else a << b  # noqa: E501,E704
def bitwise_right_shift(a, b) -> Tensor: return b.__rrshift__(a) if not isinstance(a, Tensor) else a >> b  # noqa: E501,E704


def take_along_dim(x: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    return _t(x).take_along_dim(indices, dim)


def diag_embed(x: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    return _t(x).diag_embed(offset, dim1, dim2)


def tensor_split(x: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    return _t(x).tensor_split(indices_or_sections, dim)


def unique(x: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None):
    return _t(x).unique(sorted, return_inverse, return_counts, dim)


def unique_consecutive(x: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None):
    return _t(x).unique_consecutive(return_inverse, return_counts, dim)


def bincount(x: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    return _t(x).bincount(weights, minlength)


def histc(x: Tensor, bins: int = 100, min=0, max=0) -> Tensor:  # noqa: A002
    return _t(x).histc(bins, min, max)


def histogram(x: Tensor, bins, *, range=None, weight: Tensor | None = None, density: bool = False):  # noqa: A002
    return _t(x).histogram(bins, range=range, weight=weight, density=density)


def searchsorted(sorted_sequence: Tensor, values, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """For each of ``values`` (a tensor or a number), the index into ``sorted_sequence`` (1-D, or one
    ascending row per slice of ``values``) where it would be inserted to keep it sorted: before the
    equal elements, or after them when ``right`` (or ``side="right"``); ``sorter`` sorts an unsorted
    sequence. int64, or int32 with ``out_int32``."""
    if side not in (None, "left", "right"):
        raise RuntimeError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if side is not None and right != (side == "right") and right:
        raise RuntimeError(f"searchsorted: side and right can't be set to opposites, got side={side!r} "
                           f"and right={right}")
    right = right or side == "right"
    sorter = None if sorter is None else _t(sorter).data
    boundaries, values = _t(sorted_sequence).data, _t(values).data
    found = counting.searchsorted(boundaries, values, right, sorter, out_int32)
    return Tensor._make(np.asarray(found), False)


def bucketize(x, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each element of ``x``: the ``i`` with ``boundaries[i - 1] < x <= boundaries[i]``
    (``<= x <`` when ``right``) for 1-D ascending ``boundaries``:
    ``searchsorted(boundaries, x, right=right)``."""
    if _t(boundaries).ndim != 1:
        raise RuntimeError(f"bucketize: boundaries must be 1-D, got {_t(boundaries).ndim}-D")
    return searchsorted(boundaries, x, out_int32=out_int32, right=right)


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids of the 1-D (or 0-d) ``tensors``: output ``i`` repeats ``tensors[i]`` along dim
    ``i`` of the shape ``(len(t0), len(t1), ...)`` (``"ij"``, matrix indexing); ``"xy"`` swaps the
    first two dims (Cartesian, as NumPy's default). The outputs are broadcast views."""
    tensors = [_t(t) for t in (tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
                               else tensors)]
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'meshgrid: indexing must be one of "xy" or "ij", got {indexing!r}')
    if builtins.any(t.ndim > 1 for t in tensors):
        raise RuntimeError("meshgrid: expected 0-d or 1-D tensors, got shapes "
                           f"{[tuple(t.shape) for t in tensors]}")
    if len({t.dtype for t in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(tensors) > 1
    if swap:
        tensors[0], tensors[1] = tensors[1], tensors[0]
    shape = [t.numel() for t in tensors]
    grids = [t.reshape([-1 if d == i else 1 for d in range(len(shape))]).expand(*shape)
             for i, t in enumerate(tensors)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded (as views) to the shape they broadcast to together."""
    tensors = [_t(t) for t in tensors]
    shape = broadcast_shapes("broadcast_tensors", *(t.shape for t in tensors))
    return tuple(t.expand(*shape) for t in tensors)


def _at_least(ndim: int, tensors) -> Tensor | tuple:
    """``atleast_{ndim}d``: each tensor with size-1 dims added where PyTorch (and NumPy) puts them
    (a 0-d tensor is ``[1]*ndim``, a 1-D one ``[1, n]`` or ``[1, n, 1]``, a 2-D one ``[m, n, 1]``)."""
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    shapes = {0: lambda s: (1,) * ndim, 1: lambda s: (1, *s, 1)[:ndim], 2: lambda s: (*s, 1)}
    out = tuple(t if t.ndim >= ndim else t.reshape(shapes[t.ndim](t.shape)) for t in map(_t, tensors))
    return out[0] if single else out


def atleast_1d(*tensors) -> Tensor | tuple: return _at_least(1, tensors)               # noqa: E704
def atleast_2d(*tensors) -> Tensor | tuple: return _at_least(2, tensors)               # noqa: E704
def atleast_3d(*tensors) -> Tensor | tuple: return _at_least(3, tensors)               # noqa: E704


def hstack(tensors) -> Tensor:
    """Join along the columns: ``cat`` along dim 1, or dim 0 when the tensors are 1-D (0-d count as 1-D)."""
    tensors = atleast_1d(tuple(tensors))
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along the rows: ``cat`` along dim 0 of the tensors made at least 2-D (a vector is one row)."""
    return cat(atleast_2d(tuple(tensors)), 0)


def dstack(tensors) -> Tensor:
    """Join along the depth: ``cat`` along dim 2 of the tensors made at least 3-D."""
    return cat(atleast_3d(tuple(tensors)), 2)


def column_stack(tensors) -> Tensor:
    """Join as columns: 0-d and 1-D tensors become columns ``[n, 1]``, then ``cat`` along dim 1."""
    return cat([t.reshape(-1, 1) if t.ndim <= 1 else t for t in map(_t, tensors)], 1)


concat = cat


def _triangle_indices(row: int, col: int, offset: int, dtype, upper: bool) -> Tensor:
    """``tril_indices``/``triu_indices``: the ``[2, N]`` coordinates of the lower (upper) triangle of a
    ``row x col`` matrix, row by row."""
    if row < 0 or col < 0:
        raise RuntimeError(f"{'triu' if upper else 'tril'}_indices: row and col must be >= 0, "
                           f"got {row} and {col}")
    rows, cols = np.indices((row, col)).reshape(2, -1)
    keep = cols - rows >= offset if upper else cols - rows <= offset
    return Tensor(np.stack([rows[keep], cols[keep]]), dtype=dtype or np.int64)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    return _triangle_indices(row, col, offset, dtype, upper=False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    return _triangle_indices(row, col, offset, dtype, upper=True)


__all__ += ["scatter_reduce", "index_add", "index_copy", "index_fill", "index_put", "put", "take",
            "take_along_dim", "argwhere", "masked_scatter", "meshgrid", "broadcast_tensors", "broadcast_to",
            "tensor_split", "hstack", "vstack", "dstack", "column_stack", "concat", "diag", "diag_embed",
            "diagflat", "trace", "tril_indices", "triu_indices", "rot90", "atleast_1d", "atleast_2d",
            "atleast_3d", "unflatten", "logical_and", "logical_or", "logical_xor", "bitwise_and",
            "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
            "unique", "unique_consecutive", "bincount", "searchsorted", "bucketize", "histc", "histogram"]
