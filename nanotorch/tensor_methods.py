"""The ``Tensor`` methods that are ops, added to ``Tensor``: ``x + y``, ``x.exp()``, ``x.sum()``,
``x.reshape(...)`` ... Each is one line that calls an op class in ``nanotorch.ops`` (where
forward and backward are written out); and ``backward()``, which runs the engine.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

import numpy as np

from nanotorch import _device, _dtype
from nanotorch.autograd.engine import run_backward
from nanotorch.autograd.hooks import RemovableHandle, register_post_accumulate_grad_hook
from nanotorch.ops.arithmetic import (
    AddFn,
    DivFn,
    FloorDivideFn,
    MatMulFn,
    MulFn,
    NegFn,
    PowFn,
    PowScalarFn,
    RemainderFn,
    RSubFn,
    SubFn,
)
from nanotorch.ops.indexing import GatherFn, MaskedFillFn, ScatterFn, TakeFn
from nanotorch.ops.pointwise import (
    AbsFn,
    CastFn,
    ClampFn,
    CloneFn,
    ExpFn,
    LogFn,
    MaximumFn,
    MinimumFn,
    ReLUFn,
    SigmoidFn,
    SqrtFn,
    TanhFn,
    sign,
)
from nanotorch.ops.reduction import (
    AMaxFn,
    CumSumFn,
    LogSoftmaxFn,
    LogSumExpFn,
    MaxFn,
    MeanFn,
    MinFn,
    NormFn,
    ProdFn,
    SoftmaxFn,
    StdFn,
    SumFn,
    VarFn,
)
from nanotorch.ops.reorder import FlipFn, RepeatFn, RollFn, TriangleFn
from nanotorch.ops.shape import (
    ExpandFn,
    GetItemFn,
    PermuteFn,
    ReshapeFn,
    SqueezeFn,
    TakeAlongDimFn,
    UnsqueezeFn,
)
from nanotorch.ops.unary import CosFn, ErfFn, Expm1Fn, Log1pFn, SinFn, StepFn
from nanotorch.tensor import Tensor, _index_arrays, _shape_arg, add_methods
from nanotorch.tensor_promotion import SCALARS, result_type


class _OpMethods:
    """Added to ``Tensor`` at the end of this module (``add_methods``)."""

    # ------------------------------------------------------------ autograd glue
    def backward(self, gradient=None, retain_graph: builtins.bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, into ``leaf.grad``.

        Unlike PyTorch, a non-scalar output without ``gradient`` is seeded with ones (the
        seed README calls ``z.backward()`` on a vector), i.e. it backpropagates ``z.sum()``.
        """
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            data = self.data  # NOTE: a 0-d loss's seed by np.array: np.ones costs 3x more
            seed = np.array(1, data.dtype) if data.ndim == 0 else np.ones(data.shape, data.dtype)
        else:
            seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient,
                              dtype=self.data.dtype)
            if seed.shape != self.data.shape:
                raise RuntimeError(f"gradient has shape {seed.shape}, the tensor has shape {self.shape}")
        run_backward(self, seed, retain_graph)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(self)`` in each backward once this leaf's ``.grad`` has received all
        of that backward's gradient (``hook`` returns None); ``.remove()`` the returned handle
        to stop. Used by ``DistributedDataParallel`` to start all-reduces during backward."""
        return register_post_accumulate_grad_hook(self, hook)

    # -------------------------------------------------------------- conversion
    def to(self, *args, dtype=None, device=None, non_blocking: builtins.bool = False,
           copy: builtins.bool = False) -> Tensor:
        """``to(dtype)``, ``to("cpu")``, ``to(nt.device("cpu"), dtype)``: the CPU is the only
        device (``non_blocking`` is accepted: there is no copy between devices).

        A cast to a float dtype is differentiable; to an integer or bool dtype it is not.
        """
        for a in (*args, device):
            if _device.is_device(a):
                _device.check(a, f".to({str(a)!r})")
            elif a is not None:
                dtype = a
        dtype = _dtype.to_dtype(dtype)
        if dtype is None or dtype == self.data.dtype:
            return self.clone() if copy else self
        if not _dtype.is_floating(dtype):
            return Tensor._make(self.data.astype(dtype), False)
        return CastFn.apply(self, dtype=dtype)

    def type(self, dtype) -> Tensor:
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(_dtype.float32)

    def double(self) -> Tensor:
        return self.to(_dtype.float64)

    def long(self) -> Tensor:
        return self.to(_dtype.int64)

    def int(self) -> Tensor:
        return self.to(_dtype.int32)

    def bool(self) -> Tensor:
        return self.to(_dtype.bool)

    def clone(self) -> Tensor:
        return CloneFn.apply(self)

    def contiguous(self) -> Tensor:
        return self if self.data.flags.c_contiguous else CloneFn.apply(self)


    def __add__(self, other) -> Tensor:
        return AddFn.apply(*self._operands(other))

    def __radd__(self, other) -> Tensor:
        a, b = self._operands(other)
        return AddFn.apply(b, a)

    def __sub__(self, other) -> Tensor:
        return SubFn.apply(*self._operands(other))

    def __rsub__(self, other) -> Tensor:
        a, b = self._operands(other)
        return RSubFn.apply(a, b) if isinstance(b, SCALARS) else SubFn.apply(b, a)

    def __mul__(self, other) -> Tensor:
        return MulFn.apply(*self._operands(other))

    def __rmul__(self, other) -> Tensor:
        a, b = self._operands(other)
        return MulFn.apply(b, a)

    def __truediv__(self, other) -> Tensor:
        return DivFn.apply(*self._operands(other, divide=True))

    def __rtruediv__(self, other) -> Tensor:
        a, b = self._operands(other, divide=True)
        return DivFn.apply(b, a)

    def __pow__(self, exponent) -> Tensor:
        a, p = self._operands(exponent)
        return PowScalarFn.apply(a, exponent=p) if isinstance(p, SCALARS) else PowFn.apply(a, p)

    def __rpow__(self, base) -> Tensor:
        a, b = self._operands(base)
        return PowFn.apply(b, a)

    def __matmul__(self, other) -> Tensor:
        return MatMulFn.apply(*self._operands(other))

    def __rmatmul__(self, other) -> Tensor:
        a, b = self._operands(other)
        return MatMulFn.apply(b, a)

    def __neg__(self) -> Tensor:
        return NegFn.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return AbsFn.apply(self)

    # ------------------------------------------------------------ comparisons
    def _compare(self, ufunc, other) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._make(ufunc(self.data, other), False)

    def __eq__(self, other) -> Tensor:
        return self._compare(np.equal, other)

    def __ne__(self, other) -> Tensor:
        return self._compare(np.not_equal, other)

    def __lt__(self, other) -> Tensor:
        return self._compare(np.less, other)

    def __le__(self, other) -> Tensor:
        return self._compare(np.less_equal, other)

    def __gt__(self, other) -> Tensor:
        return self._compare(np.greater, other)

    def __ge__(self, other) -> Tensor:
        return self._compare(np.greater_equal, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def _bitwise(self, ufunc, other, reflected: builtins.bool = False) -> Tensor:
        """``& | ^`` of integer or bool tensors (bitwise; on bools, logical), as PyTorch."""
        other = other.data if isinstance(other, Tensor) else np.asarray(other)
        if self.data.dtype.kind not in "biu" or other.dtype.kind not in "biu":
            raise TypeError(f"{ufunc.__name__} needs integer or bool tensors, got {self.dtype} "
                            f"and {other.dtype}")
        if other.ndim == 0 and self.data.dtype.kind != "b":
            other = other.astype(self.data.dtype)  # a number keeps the tensor's integer dtype
        return Tensor._make(np.asarray(ufunc(other, self.data) if reflected else ufunc(self.data, other)),
                            False)

    def __and__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_and, other)

    def __or__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_or, other)

    def __xor__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_xor, other)

    def __rand__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_and, other, reflected=True)

    def __ror__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_or, other, reflected=True)

    def __rxor__(self, other) -> Tensor:
        return self._bitwise(np.bitwise_xor, other, reflected=True)

    def __invert__(self) -> Tensor:
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"~ (bitwise not) needs an integer or bool tensor, got {self.dtype}")
        return Tensor._make(np.asarray(~self.data), False)

    def logical_not(self) -> Tensor:
        return Tensor._make(np.asarray(np.logical_not(self.data)), False)

    def isnan(self) -> Tensor:
        return Tensor._make(np.asarray(np.isnan(self.data)), False)

    def isinf(self) -> Tensor:
        return Tensor._make(np.asarray(np.isinf(self.data)), False)

    def isfinite(self) -> Tensor:
        return Tensor._make(np.asarray(np.isfinite(self.data)), False)

    def any(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return Tensor._make(np.asarray(self.data.any(axis=_dims(dim, self.ndim), keepdims=keepdim)), False)

    def all(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return Tensor._make(np.asarray(self.data.all(axis=_dims(dim, self.ndim), keepdims=keepdim)), False)

    def __mod__(self, other) -> Tensor:
        return RemainderFn.apply(*self._operands(other))

    def __rmod__(self, other) -> Tensor:
        a, b = self._operands(other)
        return RemainderFn.apply(b, a)

    def __floordiv__(self, other) -> Tensor:
        return FloorDivideFn.apply(*self._operands(other))

    def __rfloordiv__(self, other) -> Tensor:
        a, b = self._operands(other)
        return FloorDivideFn.apply(b, a)

    remainder, floor_divide = __mod__, __floordiv__

    # ------------------------------------------------------------- pointwise
    def _floating(self) -> Tensor:
        """``self``, or a float32 copy of integer or bool data: math functions give floats."""
        return self if self.data.dtype.kind == "f" else self.to(_dtype.DEFAULT_FLOAT)

    def exp(self) -> Tensor:
        return ExpFn.apply(self._floating())

    def log(self) -> Tensor:
        return LogFn.apply(self._floating())

    def sqrt(self) -> Tensor:
        return SqrtFn.apply(self._floating())

    def abs(self) -> Tensor:
        return AbsFn.apply(self)

    def relu(self) -> Tensor:
        return ReLUFn.apply(self)

    def sigmoid(self) -> Tensor:
        return SigmoidFn.apply(self._floating())

    def tanh(self) -> Tensor:
        return TanhFn.apply(self._floating())

    def sin(self) -> Tensor:
        return SinFn.apply(self._floating())

    def cos(self) -> Tensor:
        return CosFn.apply(self._floating())

    def log1p(self) -> Tensor:
        return Log1pFn.apply(self._floating())

    def expm1(self) -> Tensor:
        return Expm1Fn.apply(self._floating())

    def log2(self) -> Tensor:
        return self.log() * (1 / np.log(2))

    def erf(self) -> Tensor:
        return ErfFn.apply(self._floating())

    def rsqrt(self) -> Tensor:
        """``1 / sqrt(x)`` (so -0 gives -inf and -inf NaN, as PyTorch's, not ``x ** -0.5``)."""
        return 1 / self._floating().sqrt()

    def reciprocal(self) -> Tensor:
        return 1 / self._floating()

    def square(self) -> Tensor:
        """``x * x``; a bool tensor squares as int64, as PyTorch's."""
        if self.data.dtype == np.bool_:
            return self.long() * self.long()
        return self * self if self.data.dtype.kind != "f" else self ** 2

    def floor(self) -> Tensor:
        return StepFn.apply(self, fn=np.floor)

    def ceil(self) -> Tensor:
        return StepFn.apply(self, fn=np.ceil)

    def round(self) -> Tensor:
        """Round half to even, as PyTorch."""
        return StepFn.apply(self, fn=np.round)

    def trunc(self) -> Tensor:
        return StepFn.apply(self, fn=np.trunc)

    def sign(self) -> Tensor:
        return StepFn.apply(self, fn=sign)

    def lerp(self, end, weight) -> Tensor:
        """``self + weight * (end - self)``; ``weight`` a number or a tensor."""
        return self + weight * (end - self)

    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        """Each element limited to ``[min, max]`` (numbers or tensors; ``max`` wins where
        ``min > max``), in the dtype PyTorch gives: an integer tensor clamped by floats
        becomes float32."""
        if min is None and max is None:
            raise ValueError("clamp needs at least one of min and max")
        target = result_type(self, *(b for b in (min, max) if b is not None))
        lo, hi = (b.to(target) if isinstance(b, Tensor) else b for b in (min, max))
        return ClampFn.apply(self.to(target), lo, hi)

    clip = clamp

    def maximum(self, other) -> Tensor:
        return MaximumFn.apply(*self._operands(other))

    def minimum(self, other) -> Tensor:
        return MinimumFn.apply(*self._operands(other))

    def pow(self, exponent) -> Tensor:
        return self ** exponent

    def add(self, other) -> Tensor:
        return self + other

    def sub(self, other) -> Tensor:
        return self - other

    def mul(self, other) -> Tensor:
        return self * other

    def div(self, other) -> Tensor:
        return self / other

    def matmul(self, other) -> Tensor:
        return self @ other

    def neg(self) -> Tensor:
        return -self

    def softmax(self, dim: int = -1) -> Tensor:
        return SoftmaxFn.apply(self._floating(), dim=dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return LogSoftmaxFn.apply(self._floating(), dim=dim)

    # -------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor:
        return SumFn.apply(self, dim=_dims(dim, self.ndim), keepdim=_keep(keepdim, keepdims))

    def mean(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor:
        return MeanFn.apply(self._floating(), dim=_dims(dim, self.ndim), keepdim=_keep(keepdim, keepdims))

    def var(self, dim=None, unbiased: builtins.bool = True, keepdim: builtins.bool = False, *,
            correction=None, keepdims=None):
        """Variance; unbiased (``correction=1``, divides by ``n - 1``) by default, as PyTorch."""
        return _spread(self, VarFn, dim, unbiased, keepdim, correction, keepdims)

    def std(self, dim=None, unbiased: builtins.bool = True, keepdim: builtins.bool = False, *,
            correction=None, keepdims=None):
        """Standard deviation, ``sqrt(var)``: unbiased by default, as PyTorch."""
        return _spread(self, StdFn, dim, unbiased, keepdim, correction, keepdims)

    def max(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor | _MaxMin:
        """Whole tensor: the largest value. With ``dim``: ``(values, indices)``."""
        return _extreme(self, MaxFn, np.argmax, dim, _keep(keepdim, keepdims))

    def min(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor | _MaxMin:
        """Whole tensor: the smallest value. With ``dim``: ``(values, indices)``."""
        return _extreme(self, MinFn, np.argmin, dim, _keep(keepdim, keepdims))

    def argmax(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return _arg_extreme(self.data, np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return _arg_extreme(self.data, np.argmin, dim, keepdim)

    def prod(self, dim=None, keepdim: builtins.bool = False) -> Tensor:
        return ProdFn.apply(self, dim=_dims(dim, self.ndim), keepdim=keepdim)

    def cumsum(self, dim: builtins.int) -> Tensor:
        return CumSumFn.apply(self, dim=dim) if self.ndim else self.clone()

    def amax(self, dim=(), keepdim: builtins.bool = False) -> Tensor:
        """Largest value over ``dim`` (all dims when empty); ties share the gradient."""
        return AMaxFn.apply(self, dim=_dims(dim, self.ndim), keepdim=keepdim, reduce=np.max)

    def amin(self, dim=(), keepdim: builtins.bool = False) -> Tensor:
        """Smallest value over ``dim`` (all dims when empty); ties share the gradient."""
        return AMaxFn.apply(self, dim=_dims(dim, self.ndim), keepdim=keepdim, reduce=np.min)

    def norm(self, p="fro", dim=None, keepdim: builtins.bool = False) -> Tensor:
        """The vector ``p``-norm over ``dim`` (all dims when None): ``p`` a number, ``inf``,
        ``-inf`` or ``"fro"`` (the 2-norm of all the elements, PyTorch's default)."""
        if p == "fro":
            p = 2.0
        elif isinstance(p, str):
            raise NotImplementedError(f"norm: p={p!r} (matrix norms) is not implemented; "
                                      "p may be a number, inf, -inf or 'fro'")
        return NormFn.apply(self._floating(), p=float(p), dim=_dims(dim, self.ndim), keepdim=keepdim)

    def logsumexp(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor:
        return LogSumExpFn.apply(self._floating(), dim=_dims(dim, self.ndim),
                                 keepdim=_keep(keepdim, keepdims))

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape) -> Tensor:
        return ReshapeFn.apply(self, shape=_shape_arg(shape))

    def view(self, *shape) -> Tensor:
        if not self.data.flags.c_contiguous:
            raise RuntimeError("view() needs a contiguous tensor; use reshape() instead")
        return ReshapeFn.apply(self, shape=_shape_arg(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self.data.shape
        if not shape:
            return self.reshape(1)
        start, end = start_dim % len(shape), end_dim % len(shape)
        return self.reshape(*shape[:start], -1, *shape[end + 1:])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return PermuteFn.apply(self, axes=tuple(axes))

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    def permute(self, *dims) -> Tensor:
        return PermuteFn.apply(self, axes=tuple(d % self.ndim for d in _shape_arg(dims)))

    def squeeze(self, dim=None) -> Tensor:
        return SqueezeFn.apply(self, dim=dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return UnsqueezeFn.apply(self, dim=dim)

    def expand(self, *shape) -> Tensor:
        return ExpandFn.apply(self, shape=_shape_arg(shape))

    def expand_as(self, other) -> Tensor:
        return self.expand(*other.shape)

    def view_as(self, other) -> Tensor:
        return self.view(*other.shape)

    def reshape_as(self, other) -> Tensor:
        return self.reshape(*other.shape)

    def split(self, split_size, dim: int = 0) -> list[Tensor]:
        return split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> list[Tensor]:
        return chunk(self, chunks, dim)

    def flip(self, *dims) -> Tensor:
        dims = _shape_arg(dims)
        if self.ndim == 0:
            _dims(dims, 0)  # only checks them: a 0-d tensor flipped is itself, as PyTorch
            return self.clone()
        return FlipFn.apply(self, dims=dims)

    def roll(self, shifts, dims=None) -> Tensor:
        """Shift by ``shifts`` along ``dims``, wrapping around (``dims=None``: the flat tensor)."""
        if dims is None:
            return RollFn.apply(self.flatten(), shifts=shifts, dims=0).view(self.shape)
        return RollFn.apply(self, shifts=shifts, dims=dims)

    def repeat(self, *repeats) -> Tensor:
        return RepeatFn.apply(self, repeats=_shape_arg(repeats))

    def tril(self, diagonal: builtins.int = 0) -> Tensor:
        return TriangleFn.apply(self, diagonal=diagonal, upper=False)

    def triu(self, diagonal: builtins.int = 0) -> Tensor:
        return TriangleFn.apply(self, diagonal=diagonal, upper=True)

    def gather(self, dim: builtins.int, index: Tensor) -> Tensor:
        """``out[i][j] = self[index[i][j]][j]`` for ``dim=0`` (and so on for other dims)."""
        return GatherFn.apply(self, dim=dim, index=_array(index))

    def scatter(self, dim: builtins.int, index: Tensor, src) -> Tensor:
        """A copy with ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``; ``src`` may be a number."""
        return ScatterFn.apply(self, self._same_kind(src), dim=dim, index=_array(index))

    def scatter_add(self, dim: builtins.int, index: Tensor, src: Tensor) -> Tensor:
        """A copy with ``out[index[i][j]][j] += src[i][j]`` for ``dim=0``."""
        return ScatterFn.apply(self, self._same_kind(src), dim=dim, index=_array(index), add=True)

    def index_select(self, dim: builtins.int, index: Tensor) -> Tensor:
        index = _array(index)
        if index.ndim > 1:
            raise ValueError(f"index_select: index must be 0-d or 1-D, got shape {index.shape}")
        return TakeFn.apply(self, index.reshape(-1), dim=dim)

    def masked_fill(self, mask: Tensor, value) -> Tensor:
        """``value`` where ``mask`` is True, else ``self`` (``value``: a number or a 0-d tensor)."""
        if isinstance(value, Tensor):
            if value.requires_grad:
                raise NotImplementedError("masked_fill: a value that requires grad is not supported; "
                                          "use nanotorch.where(mask, value, x)")
            value = value.item()
        return MaskedFillFn.apply(self, _array(mask), value=value)

    def _same_kind(self, src):
        """``src`` (a number or tensor) as a tensor of ``self``'s dtype when it is data."""
        if isinstance(src, SCALARS) or isinstance(src, Tensor) and src.dtype == self.dtype:
            return src
        return Tensor(src).to(self.dtype)

    def __getitem__(self, index) -> Tensor:
        return GetItemFn.apply(self, index=_index_arrays(index))



def _array(x) -> np.ndarray:
    """A tensor's array; other data (lists, arrays) as an array."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _keep(keepdim, keepdims) -> builtins.bool:
    return builtins.bool(keepdim if keepdims is None else keepdims)


def _dims(dim, ndim: builtins.int = -1):
    """``dim`` as NumPy's ``axis``: None, an int, or a tuple of ints. No dims (``()``,
    ``[]``) means every dim, as in PyTorch (NumPy's ``axis=()`` reduces none). On a 0-d
    tensor (``ndim == 0``) dims 0 and -1 mean the whole tensor, as in PyTorch."""
    if dim is None or not isinstance(dim, builtins.int) and len(dim) == 0:
        return None
    if ndim == 0:
        dims = (dim,) if isinstance(dim, builtins.int) else tuple(dim)
        if any(d not in (0, -1) for d in dims):
            raise IndexError(f"dimension out of range (expected to be in range of [-1, 0], but got {dim})")
        return None
    return dim if isinstance(dim, builtins.int) else tuple(dim)



def _spread(t: Tensor, op, dim, unbiased, keepdim, correction, keepdims) -> Tensor:
    """``var``/``std`` with ``ddof = correction``, or ``1`` if ``unbiased`` (else ``0``)."""
    ddof = int(unbiased) if correction is None else int(correction)
    return op.apply(t._floating(), dim=_dims(dim, t.ndim), ddof=ddof, keepdim=_keep(keepdim, keepdims))


def _arg_extreme(data: np.ndarray, argfn, dim, keepdim) -> Tensor:
    """``argmax``/``argmin`` as an int64 tensor (of the flattened data when ``dim`` is None;
    with ``keepdim`` then shaped ``[1] * ndim``, as PyTorch's)."""
    if dim is None:
        index = np.asarray(argfn(data), dtype=np.int64)
        return Tensor._make(index.reshape((1,) * data.ndim) if keepdim else index, False)
    return Tensor._make(argfn(data, axis=dim, keepdims=keepdim).astype(np.int64, copy=False), False)


def _extreme(t: Tensor, op, argfn, dim, keepdim):
    """``max``/``min``: over everything (``op``), or along ``dim`` as ``(values, indices)``,
    the values gathered at the indices so the gradient goes to the element picked."""
    if dim is None:
        return op.apply(t)
    index = _arg_extreme(t.data, argfn, dim, keepdim=True)
    values = TakeAlongDimFn.apply(t, index=index.data, dim=dim, keepdim=keepdim)
    return _MaxMin(values, index if keepdim else index.squeeze(dim))


class _MaxMin(tuple):
    """``(values, indices)`` with names, as ``torch.max(x, dim)`` returns."""

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))


def split(t: Tensor, split_size, dim: int = 0) -> list[Tensor]:
    """Cut along ``dim`` into pieces of ``split_size`` (the last may be smaller) or of the
    listed sizes; each piece is a slice, so gradients flow back into place."""
    length = t.shape[dim]
    sizes = [split_size] * (-(-length // split_size)) if isinstance(split_size, builtins.int) \
        else list(split_size)
    if isinstance(split_size, builtins.int):
        sizes[-1] = length - split_size * (len(sizes) - 1)
    elif sum(sizes) != length:
        raise ValueError(f"split sizes {sizes} do not add up to {length} (dim {dim})")
    pieces, start = [], 0
    lead = (slice(None),) * (dim % t.ndim)
    for s in sizes:
        pieces.append(t[lead + (slice(start, start + s),)])
        start += s
    return pieces


def chunk(t: Tensor, chunks: int, dim: int = 0) -> list[Tensor]:
    """Split into ``chunks`` pieces of equal size (the last may be smaller)."""
    return split(t, -(-t.shape[dim] // chunks), dim)


add_methods(_OpMethods)
