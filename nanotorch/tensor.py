"""``Tensor``: a NumPy array, plus what autograd needs to find its gradient.

``data`` is the array; ``grad`` a Tensor once backward has reached it; ``grad_fn`` the
graph node (a ``Function``) that made it, ``None`` for a leaf. Every differentiable method
below is one line that calls an operation class in ``nanotorch.ops``, where forward and
backward are written out.
"""

from __future__ import annotations

import builtins
import weakref

import numpy as np

from nanotorch import _dtype
from nanotorch.autograd import grad_mode

_Scalar = (int, float, builtins.bool)


class Tensor:
    """An n-dimensional array that can record the operations applied to it."""

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_version", "__weakref__")
    __array_ufunc__ = None  # `ndarray + Tensor` then calls Tensor.__radd__ and gives a Tensor

    def __init__(self, data, dtype=None, requires_grad: builtins.bool = False) -> None:
        self.data = _as_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self._version = [0]
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: builtins.bool) -> Tensor:
        """Wrap an array that is already the right dtype (the fast path every op uses)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.grad_fn = None
        t.requires_grad = requires_grad
        t._version = [0]
        return t

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> builtins.bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return self.data.size

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has {self.data.size}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> builtins.bool:
        return builtins.bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.data.item())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype not in (_dtype.float32, _dtype.int64, _dtype.bool):
            extras.append(f"dtype=nanotorch.{self.data.dtype.name}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ------------------------------------------------------------ autograd glue
    def backward(self, gradient=None, retain_graph: builtins.bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, into ``leaf.grad``.

        Unlike PyTorch, a non-scalar output without ``gradient`` is seeded with ones (the
        seed README calls ``z.backward()`` on a vector), i.e. it backpropagates ``z.sum()``.
        """
        from nanotorch.autograd.engine import run_backward

        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            seed = np.ones_like(self.data)
        else:
            seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient,
                              dtype=self.data.dtype)
            if seed.shape != self.data.shape:
                raise RuntimeError(f"gradient has shape {seed.shape}, the tensor has shape {self.shape}")
        run_backward(self, seed, retain_graph)

    def detach(self) -> Tensor:
        """The same data (shared memory) without a graph."""
        t = Tensor._make(self.data, False)
        t._version = self._version
        return t

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        if requires_grad and not _dtype.is_floating(self.data.dtype):
            raise RuntimeError(f"only floating point tensors can require grad, not {self.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad of leaf tensors")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is not None:
            self.grad_fn.retained_output = weakref.ref(self)

    def zero_(self) -> Tensor:
        return self._inplace(np.multiply, 0)

    # -------------------------------------------------------------- conversion
    def to(self, dtype) -> Tensor:
        dtype = _dtype.to_dtype(dtype)
        return self if dtype == self.data.dtype else Cast.apply(self, dtype=dtype)

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
        return Clone.apply(self)

    def contiguous(self) -> Tensor:
        return self if self.data.flags.c_contiguous else Clone.apply(self)

    def cpu(self) -> Tensor:
        return self

    # -------------------------------------------------------------- arithmetic
    def _other(self, other):
        """A Python number stays a number (so float32 stays float32); anything else
        becomes a Tensor of this tensor's float dtype when the two kinds differ."""
        if isinstance(other, Tensor):
            if other.data.dtype != self.data.dtype:
                if self.data.dtype.kind == "f" and other.data.dtype.kind != "f":
                    return other.data.astype(self.data.dtype)
            return other
        if isinstance(other, _Scalar):
            return other
        return Tensor(other, dtype=self.data.dtype if self.data.dtype.kind == "f" else None)

    def __add__(self, other):
        return Add.apply(self, self._other(other))

    def __radd__(self, other):
        return Add.apply(self, self._other(other))

    def __sub__(self, other):
        return Sub.apply(self, self._other(other))

    def __rsub__(self, other):
        return RSub.apply(self, other) if isinstance(other, _Scalar) else Sub.apply(self._other(other), self)

    def __mul__(self, other):
        return Mul.apply(self, self._other(other))

    def __rmul__(self, other):
        return Mul.apply(self, self._other(other))

    def __truediv__(self, other):
        return Div.apply(self, self._other(other))

    def __rtruediv__(self, other):
        return Div.apply(other if isinstance(other, _Scalar) else self._other(other), self)

    def __pow__(self, exponent):
        if isinstance(exponent, _Scalar):
            return PowScalar.apply(self, exponent=exponent)
        return Pow.apply(self, self._other(exponent))

    def __rpow__(self, base):
        return Pow.apply(base if isinstance(base, _Scalar) else self._other(base), self)

    def __matmul__(self, other):
        return MatMul.apply(self, self._other(other))

    def __rmatmul__(self, other):
        return MatMul.apply(self._other(other), self)

    def __neg__(self):
        return Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return Abs.apply(self)

    # ------------------------------------------------------------ comparisons
    def _compare(self, ufunc, other) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._make(ufunc(self.data, other), False)

    def __eq__(self, other):
        return self._compare(np.equal, other)

    def __ne__(self, other):
        return self._compare(np.not_equal, other)

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __invert__(self):
        return Tensor._make(np.logical_not(self.data) if self.data.dtype.kind == "b" else ~self.data, False)

    def __and__(self, other):
        return self._compare(np.logical_and, other)

    def __or__(self, other):
        return self._compare(np.logical_or, other)

    # ------------------------------------------------------------------ in place
    def _inplace(self, ufunc, other) -> Tensor:
        """``self = ufunc(self, other)`` in the same memory.

        A leaf that requires grad may change only under ``no_grad()`` (optimizers do);
        a non-leaf is recorded as the out-of-place op and takes its place in the graph.
        Either way the version counter moves, so a backward that saved the old values raises.
        """
        other_data = other.data if isinstance(other, Tensor) else other
        if grad_mode._enabled and (self.requires_grad or
                                   isinstance(other, Tensor) and other.requires_grad):
            if self.grad_fn is None and self.requires_grad:
                raise RuntimeError("a leaf tensor that requires grad is being used in an in-place "
                                   "operation; wrap it in `with nanotorch.no_grad():`")
            old = Tensor._make(self.data.copy(), self.requires_grad)
            old.grad_fn = self.grad_fn
            result = _INPLACE_OPS[ufunc](old, other)
            self.data[...] = result.data
            self.grad_fn = result.grad_fn
            self.requires_grad = True
        else:
            ufunc(self.data, other_data, out=self.data, casting="same_kind")
        self._version[0] += 1
        return self

    def __iadd__(self, other):
        return self._inplace(np.add, other)

    def __isub__(self, other):
        return self._inplace(np.subtract, other)

    def __imul__(self, other):
        return self._inplace(np.multiply, other)

    def __itruediv__(self, other):
        return self._inplace(np.true_divide, other)

    def add_(self, other, alpha: float = 1) -> Tensor:
        return self._inplace(np.add, other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha: float = 1) -> Tensor:
        return self._inplace(np.subtract, other if alpha == 1 else other * alpha)

    def mul_(self, other) -> Tensor:
        return self._inplace(np.multiply, other)

    def div_(self, other) -> Tensor:
        return self._inplace(np.true_divide, other)

    def copy_(self, src) -> Tensor:
        src = src.data if isinstance(src, Tensor) else np.asarray(src)
        if self.requires_grad and self.grad_fn is None and grad_mode._enabled:
            raise RuntimeError("a leaf tensor that requires grad is being used in an in-place "
                               "operation; wrap it in `with nanotorch.no_grad():`")
        self.data[...] = src
        self._version[0] += 1
        return self

    def fill_(self, value) -> Tensor:
        return self.copy_(np.full(self.data.shape, value, dtype=self.data.dtype))

    def __setitem__(self, index, value) -> None:
        if self.requires_grad and grad_mode._enabled:
            raise RuntimeError("item assignment on a tensor that requires grad is only allowed "
                               "under `with nanotorch.no_grad():`")
        index = _index_arrays(index)
        self.data[index] = value.data if isinstance(value, Tensor) else value
        self._version[0] += 1

    # ------------------------------------------------------------- pointwise
    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def sqrt(self):
        return Sqrt.apply(self)

    def abs(self):
        return Abs.apply(self)

    def relu(self):
        return ReLU.apply(self)

    def sigmoid(self):
        return Sigmoid.apply(self)

    def tanh(self):
        return Tanh.apply(self)

    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        return Clamp.apply(self, lo=min, hi=max)

    clip = clamp

    def maximum(self, other):
        return Maximum.apply(self, self._other(other))

    def minimum(self, other):
        return Minimum.apply(self, self._other(other))

    def pow(self, exponent):
        return self ** exponent

    def add(self, other):
        return self + other

    def sub(self, other):
        return self - other

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def matmul(self, other):
        return self @ other

    def neg(self):
        return -self

    def softmax(self, dim: int = -1):
        return Softmax.apply(self, dim=dim)

    def log_softmax(self, dim: int = -1):
        return LogSoftmax.apply(self, dim=dim)

    # -------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None):
        return Sum.apply(self, dim=_dims(dim), keepdim=_keep(keepdim, keepdims))

    def mean(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None):
        return Mean.apply(self, dim=_dims(dim), keepdim=_keep(keepdim, keepdims))

    def var(self, dim=None, unbiased: builtins.bool = True, keepdim: builtins.bool = False, *,
            correction=None, keepdims=None):
        ddof = int(unbiased) if correction is None else int(correction)
        return Var.apply(self, dim=_dims(dim), ddof=ddof, keepdim=_keep(keepdim, keepdims))

    def std(self, dim=None, unbiased: builtins.bool = True, keepdim: builtins.bool = False, *,
            correction=None, keepdims=None):
        return self.var(dim, unbiased, keepdim, correction=correction, keepdims=keepdims).sqrt()

    def max(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None):
        """Whole tensor: the largest value. With ``dim``: ``(values, indices)``."""
        return _extreme(self, Max, np.argmax, dim, _keep(keepdim, keepdims))

    def min(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None):
        return _extreme(self, Min, np.argmin, dim, _keep(keepdim, keepdims))

    def argmax(self, dim=None, keepdim: builtins.bool = False):
        return _arg_extreme(self.data, np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim: builtins.bool = False):
        return _arg_extreme(self.data, np.argmin, dim, keepdim)

    def logsumexp(self, dim=None, keepdim: builtins.bool = False):
        return LogSumExp.apply(self, dim=_dims(dim), keepdim=keepdim)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        return Reshape.apply(self, shape=_shape_arg(shape))

    def view(self, *shape):
        if not self.data.flags.c_contiguous:
            raise RuntimeError("view() needs a contiguous tensor; use reshape() instead")
        return Reshape.apply(self, shape=_shape_arg(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        shape = self.data.shape
        if not shape:
            return self.reshape(1)
        start, end = start_dim % len(shape), end_dim % len(shape)
        return self.reshape(*shape[:start], -1, *shape[end + 1:])

    def transpose(self, dim0: int, dim1: int):
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return Permute.apply(self, axes=tuple(axes))

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    def permute(self, *dims):
        return Permute.apply(self, axes=tuple(d % self.ndim for d in _shape_arg(dims)))

    def squeeze(self, dim=None):
        return Squeeze.apply(self, dim=dim)

    def unsqueeze(self, dim: int):
        return Unsqueeze.apply(self, dim=dim)

    def expand(self, *shape):
        return Expand.apply(self, shape=_shape_arg(shape))

    def expand_as(self, other):
        return self.expand(*other.shape)

    def view_as(self, other):
        return self.view(*other.shape)

    def reshape_as(self, other):
        return self.reshape(*other.shape)

    def split(self, split_size, dim: int = 0):
        return split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0):
        return chunk(self, chunks, dim)

    def __getitem__(self, index):
        return GetItem.apply(self, index=_index_arrays(index))


def _as_array(data, dtype) -> np.ndarray:
    """Data for a new tensor: float32 for floats (float64 only on request), int64 for ints."""
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
        data = [d.data if isinstance(d, Tensor) else d for d in data]
    dtype = _dtype.to_dtype(dtype)
    array = np.array(data, dtype=dtype, copy=True)
    if dtype is None and array.dtype != _dtype.default_dtype_for(array):
        array = array.astype(_dtype.default_dtype_for(array))
    return array


def _keep(keepdim, keepdims) -> builtins.bool:
    return builtins.bool(keepdim if keepdims is None else keepdims)


def _dims(dim):
    """``dim`` as NumPy's ``axis``: None, an int, or a tuple of ints."""
    if dim is None or isinstance(dim, builtins.int):
        return dim
    return tuple(dim)


def _shape_arg(shape) -> tuple:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _index_arrays(index):
    """Turn tensors inside an index into their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    return index


def _arg_extreme(data: np.ndarray, argfn, dim, keepdim) -> Tensor:
    if dim is None:
        return Tensor._make(np.asarray(argfn(data), dtype=np.int64), False)
    return Tensor._make(argfn(data, axis=dim, keepdims=keepdim).astype(np.int64), False)


def _extreme(t: Tensor, op, argfn, dim, keepdim):
    if dim is None:
        return op.apply(t, dim=None, keepdim=False)
    values = op.apply(t, dim=dim, keepdim=keepdim)
    return _MaxMin(values, _arg_extreme(t.data, argfn, dim, keepdim))


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


from nanotorch.ops.arithmetic import Add, Div, MatMul, Mul, Neg, Pow, PowScalar, RSub, Sub  # noqa: E402
from nanotorch.ops.pointwise import (  # noqa: E402
    Abs, Cast, Clamp, Clone, Exp, Log, Maximum, Minimum, ReLU, Sigmoid, Sqrt, Tanh)
from nanotorch.ops.reduction import LogSoftmax, LogSumExp, Max, Mean, Min, Softmax, Sum, Var  # noqa: E402
from nanotorch.ops.shape import Expand, GetItem, Permute, Reshape, Squeeze, Unsqueeze  # noqa: E402

_INPLACE_OPS = {np.add: Add.apply, np.subtract: Sub.apply,
                np.multiply: Mul.apply, np.true_divide: Div.apply}
