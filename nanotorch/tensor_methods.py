"""The ``Tensor`` methods that are ops, added to ``Tensor``: ``x + y``, ``x.exp()``, ``x.sum()``,
``x.reshape(...)`` ... Each is one line that calls an op class in ``nanotorch.ops`` (where
forward and backward are written out); and ``backward()``, which runs the engine.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable

import numpy as np

from nanotorch import _device, _dtype, creation, linalg
from nanotorch.autograd.engine import run_backward
from nanotorch.autograd.gradients import as_tensors, check_create_graph, check_inputs, seed_gradient
from nanotorch.autograd.hooks import RemovableHandle, register_hook, register_post_accumulate_grad_hook
from nanotorch.ops import counting
from nanotorch.ops.arithmetic import (
    AddFn,
    DivFn,
    FloorDivideFn,
    FmodFn,
    MatMulFn,
    MulFn,
    NegFn,
    PowFn,
    PowScalarFn,
    RemainderFn,
    RSubFn,
    SubFn,
)
from nanotorch.ops.binary import CopySignFn, FmaxFn, FminFn, HypotFn, LerpFn, LogAddExpFn, XLogYFn
from nanotorch.ops.indexing import (
    GatherFn,
    IndexCopyFn,
    MaskedFillFn,
    ScatterFn,
    ScatterReduceFn,
    TakeFn,
    check_index,
    check_mask,
)
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
    WhereFn,
    sign,
)
from nanotorch.ops.reduction import (
    AMaxFn,
    CumSumFn,
    LogCumSumExpFn,
    LogSoftmaxFn,
    LogSumExpFn,
    MaxFn,
    MeanFn,
    MedianFn,
    MinFn,
    NormFn,
    ProdFn,
    SoftmaxFn,
    StdFn,
    SumFn,
    VarFn,
)
from nanotorch.ops.reorder import DiagEmbedFn, DiagonalFn, FlipFn, RepeatFn, RollFn, TriangleFn
from nanotorch.ops.shape import (
    ExpandFn,
    GetItemFn,
    PermuteFn,
    ReshapeFn,
    SetItemFn,
    SqueezeFn,
    TakeAlongDimFn,
    UnsqueezeFn,
)
from nanotorch.ops.sorting import CumProdFn, median_index, running_extreme_index, sort_order
from nanotorch.ops.unary import (
    AcosFn,
    AcoshFn,
    AsinFn,
    AsinhFn,
    Atan2Fn,
    AtanFn,
    AtanhFn,
    CosFn,
    CoshFn,
    ErfcFn,
    ErfFn,
    Exp2Fn,
    Expm1Fn,
    Log1pFn,
    LogitFn,
    NanToNumFn,
    SincFn,
    SinFn,
    SinhFn,
    StepFn,
    TanFn,
)
from nanotorch.tensor import Tensor, _index_arrays, _shape_arg, add_methods
from nanotorch.tensor_promotion import SCALARS, result_type


class _OpMethods:
    """Added to ``Tensor`` at the end of this module (``add_methods``)."""

    # ------------------------------------------------------------ autograd glue
    def backward(self, gradient=None, retain_graph: builtins.bool | None = None,
                 create_graph: builtins.bool = False, inputs=None) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, into ``leaf.grad``;
        given ``inputs`` (a tensor or a sequence), into those tensors' ``.grad`` only (a
        non-leaf's too), and the rest of the graph does not run.

        Unlike PyTorch, a non-scalar output without ``gradient`` is seeded with ones (the
        seed README calls ``z.backward()`` on a vector), i.e. it backpropagates ``z.sum()``.
        ``retain_graph`` defaults to ``create_graph``, which must be False (see
        ``nanotorch.autograd.gradients``).
        """
        check_create_graph(create_graph, "backward")
        if inputs is not None:
            inputs = as_tensors(inputs, "inputs")
            check_inputs(inputs, "backward")
        seed = seed_gradient(self, gradient, implicit_any_shape=True)
        run_backward(self, seed, builtins.bool(retain_graph), inputs)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` each time the gradient w.r.t. this tensor is computed (by
        ``backward()`` or ``autograd.grad``), with all of its paths summed; a tensor it returns
        (same shape and dtype) replaces the gradient: for a leaf, before it is accumulated
        into ``.grad``; for a non-leaf, before it flows on. ``.remove()`` the returned handle
        to stop. The tensor must require grad."""
        return register_hook(self, hook)

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

    def half(self) -> Tensor:
        return self.to(_dtype.float16)

    def byte(self) -> Tensor:
        return self.to(_dtype.uint8)

    def char(self) -> Tensor:
        return self.to(_dtype.int8)

    def short(self) -> Tensor:
        return self.to(_dtype.int16)

    def is_floating_point(self) -> builtins.bool:
        return _dtype.is_floating(self.data.dtype)

    # ------------------------------------------------------------ new tensors
    def new_tensor(self, data, *, dtype=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
        """A new tensor holding a copy of ``data``, of ``self``'s dtype unless ``dtype`` is given
        (so does every ``new_*``: ``x.new_tensor([1, 2])`` of a float32 ``x`` is float32)."""
        return creation.tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None,
                 requires_grad: builtins.bool = False) -> Tensor:
        return creation.full(size, fill_value, dtype=dtype or self.dtype, device=device,
                             requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
        return creation.zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
        return creation.ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
        return creation.empty(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

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
            raise TypeError(f"{ufunc.__name__.lstrip('_')} needs integer or bool tensors, got {self.dtype} "
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

    def __lshift__(self, other) -> Tensor:
        return self._bitwise(_left_shift, other)

    def __rshift__(self, other) -> Tensor:
        return self._bitwise(_right_shift, other)

    def __rlshift__(self, other) -> Tensor:
        return self._bitwise(_left_shift, other, reflected=True)

    def __rrshift__(self, other) -> Tensor:
        return self._bitwise(_right_shift, other, reflected=True)

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__
    bitwise_left_shift, bitwise_right_shift = __lshift__, __rshift__

    def logical_not(self) -> Tensor:
        return Tensor._make(np.asarray(np.logical_not(self.data)), False)

    def logical_and(self, other: Tensor) -> Tensor:
        """True where both are non-zero (any dtypes, broadcast together)."""
        return _logical(np.logical_and, self, other)

    def logical_or(self, other: Tensor) -> Tensor:
        """True where either is non-zero."""
        return _logical(np.logical_or, self, other)

    def logical_xor(self, other: Tensor) -> Tensor:
        """True where exactly one is non-zero."""
        return _logical(np.logical_xor, self, other)

    def isnan(self) -> Tensor:
        return Tensor._make(np.asarray(np.isnan(self.data)), False)

    def isinf(self) -> Tensor:
        return Tensor._make(np.asarray(np.isinf(self.data)), False)

    def isfinite(self) -> Tensor:
        return Tensor._make(np.asarray(np.isfinite(self.data)), False)

    def isclose(self, other: Tensor, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                equal_nan: builtins.bool = False) -> Tensor:
        """Elementwise ``|self - other| <= atol + rtol * |other|`` (or exactly equal, so inf matches
        inf), as a bool tensor; NaN matches NaN only with ``equal_nan``. One dtype for both."""
        other = _tensor_arg("isclose", other)
        if other.dtype != self.dtype:
            raise RuntimeError(f"isclose: {self.dtype} did not match {other.dtype}")
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if tol < 0:
                raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tol}")
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.isclose(self.data, other.data, rtol=rtol, atol=atol, equal_nan=equal_nan)
        return Tensor._make(np.asarray(close), False)

    def allclose(self, other: Tensor, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                 equal_nan: builtins.bool = False) -> builtins.bool:
        """Whether ``isclose`` holds everywhere (the two broadcast together)."""
        return builtins.bool(self.isclose(other, rtol, atol, equal_nan).data.all())

    def equal(self, other: Tensor) -> builtins.bool:
        """Whether ``self`` and ``other`` have the same shape and the same elements (NaN is never equal)."""
        other = _tensor_arg("equal", other)
        return self.shape == other.shape and builtins.bool((self.data == other.data).all())

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

    def log10(self) -> Tensor:
        """``ln(x) / ln(10)``; gradient ``1 / (x ln(10))``."""
        return self.log() * (1 / np.log(10))

    def tan(self) -> Tensor:
        return TanFn.apply(self._floating())

    def asin(self) -> Tensor:
        return AsinFn.apply(self._floating())

    def acos(self) -> Tensor:
        return AcosFn.apply(self._floating())

    def atan(self) -> Tensor:
        return AtanFn.apply(self._floating())

    def atan2(self, other) -> Tensor:
        """The angle of the point ``(x=other, y=self)``, in ``(-pi, pi]``; integers give float32."""
        return Atan2Fn.apply(*self._operands(other, divide=True))

    def sinh(self) -> Tensor:
        return SinhFn.apply(self._floating())

    def cosh(self) -> Tensor:
        return CoshFn.apply(self._floating())

    def asinh(self) -> Tensor:
        return AsinhFn.apply(self._floating())

    def acosh(self) -> Tensor:
        return AcoshFn.apply(self._floating())

    def atanh(self) -> Tensor:
        return AtanhFn.apply(self._floating())

    arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def fmod(self, other) -> Tensor:
        """The remainder of ``self / other`` with ``self``'s sign (``remainder``/``%`` takes ``other``'s)."""
        return FmodFn.apply(*self._operands(other))

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

    def lerp(self, end: Tensor, weight) -> Tensor:
        """``self + weight * (end - self)`` for float tensors ``self`` and ``end`` of one dtype;
        ``weight`` a number or a tensor (of that dtype unless 0-d); see ``LerpFn``."""
        _check_lerp(self, end, weight)
        if isinstance(weight, Tensor):
            return LerpFn.apply(self, end, weight.to(self.dtype))
        return LerpFn.apply(self, end, self.dtype.type(weight))

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

    def clamp_min(self, min) -> Tensor:  # noqa: A002 - PyTorch's name
        """``clamp(min=min)``: each element at least ``min``."""
        return self.clamp(min=min)

    def clamp_max(self, max) -> Tensor:  # noqa: A002 - PyTorch's name
        """``clamp(max=max)``: each element at most ``max``."""
        return self.clamp(max=max)

    # ---------------------------------------------------------- more math
    def exp2(self) -> Tensor:
        return Exp2Fn.apply(self._floating())

    def erfc(self) -> Tensor:
        return ErfcFn.apply(self._floating())

    def sinc(self) -> Tensor:
        return SincFn.apply(self._floating())

    def logit(self, eps: builtins.float | None = None) -> Tensor:
        """``ln(p / (1 - p))``, the inverse of sigmoid, with ``p`` clamped to ``[eps, 1 - eps]``
        when ``eps`` is given (see ``LogitFn``)."""
        return LogitFn.apply(self._floating(), eps=eps)

    def nan_to_num(self, nan: builtins.float = 0.0, posinf: builtins.float | None = None,
                   neginf: builtins.float | None = None) -> Tensor:
        """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the
        dtype's largest and smallest finite values); integer and bool tensors come back copied."""
        return NanToNumFn.apply(self, nan=nan, posinf=posinf, neginf=neginf)

    def frac(self) -> Tensor:
        """``self - trunc(self)``, the fractional part with ``self``'s sign; gradient ``g``."""
        _check_floating("frac", self)
        return self - self.trunc()

    def deg2rad(self) -> Tensor:
        return self._floating() * (np.pi / 180)

    def rad2deg(self) -> Tensor:
        return self._floating() * (180 / np.pi)

    sgn = sign  # for real numbers, sgn is sign

    def true_divide(self, other) -> Tensor:
        return self / other

    def float_power(self, exponent) -> Tensor:
        """``self ** exponent`` computed in float64 (the result is float64)."""
        power = exponent.double() if isinstance(exponent, Tensor) else builtins.float(exponent)
        return self.double() ** power

    def logaddexp(self, other: Tensor) -> Tensor:
        """``ln(e^self + e^other)``, without overflow (``LogAddExpFn``); at least one float tensor."""
        return LogAddExpFn.apply(*_float_pair("logaddexp", self, other))

    def hypot(self, other: Tensor) -> Tensor:
        """``sqrt(self^2 + other^2)``, the length of the vector ``(self, other)``."""
        return HypotFn.apply(*_float_pair("hypot", self, other))

    def xlogy(self, other) -> Tensor:
        """``self * ln(other)``, 0 where ``self`` is 0 (an entropy term ``p ln p`` with ``p = 0``
        is 0); ``other`` a tensor or a number, integers give float32."""
        return XLogYFn.apply(*_float_operands(self, other))

    def copysign(self, other) -> Tensor:
        """``|self|`` with the sign of ``other`` (a tensor or a number); integers give float32."""
        return CopySignFn.apply(*_float_operands(self, other))

    def fmax(self, other: Tensor) -> Tensor:
        """The larger of the two elementwise, where a NaN loses to a number (``maximum`` gives NaN)."""
        return FmaxFn.apply(*self._operands(_tensor_arg("fmax", other)))

    def fmin(self, other: Tensor) -> Tensor:
        """The smaller of the two elementwise, where a NaN loses to a number (``minimum`` gives NaN)."""
        return FminFn.apply(*self._operands(_tensor_arg("fmin", other)))

    def addcmul(self, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
        """``self + value * tensor1 * tensor2``, the three promoted to one dtype; for an integer
        result ``value`` is truncated to an integer, as PyTorch does."""
        if result_type(self, tensor1, tensor2) == np.bool_:
            raise NotImplementedError("addcmul: not implemented for bool tensors")
        return self + _value_for(value, self, tensor1, tensor2) * (tensor1 * tensor2)

    def addcdiv(self, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
        """``self + value * tensor1 / tensor2``; ``tensor1`` and ``tensor2`` may not both be integer
        tensors (PyTorch removed that integer division)."""
        if _dtype_of(tensor1).kind in "biu" and _dtype_of(tensor2).kind in "biu":
            raise RuntimeError("addcdiv: integer division of tensor1 by tensor2 is not supported; "
                               "make one of them a float tensor (e.g. tensor1.float())")
        return self + _value_for(value, self, tensor1, tensor2) * (tensor1 / tensor2)

    def maximum(self, other) -> Tensor:
        return MaximumFn.apply(*self._operands(other))

    def minimum(self, other) -> Tensor:
        return MinimumFn.apply(*self._operands(other))

    def pow(self, exponent) -> Tensor:
        return self ** exponent

    def add(self, other, *, alpha=1) -> Tensor:
        """``self + alpha * other``."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1) -> Tensor:
        """``self - alpha * other``."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other) -> Tensor:
        return self * other

    def div(self, other) -> Tensor:
        return self / other

    def matmul(self, other) -> Tensor:
        return self @ other

    def mm(self, mat2: Tensor) -> Tensor:
        """``out[i, j] = sum_k self[i, k] mat2[k, j]`` for two 2-D tensors of one dtype; unlike
        ``matmul`` it does not broadcast. Gradients: ``g @ mat2^T`` and ``self^T @ g``."""
        _check_product("mm", self, mat2, 2)
        return MatMulFn.apply(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        """``out[b] = self[b] @ mat2[b]`` for two 3-D tensors with the same batch size ``b``."""
        _check_product("bmm", self, mat2, 3)
        return MatMulFn.apply(self, mat2)

    def dot(self, other: Tensor) -> Tensor:
        """``sum_i self[i] other[i]`` of two 1-D tensors of one size and dtype, as a 0-d tensor."""
        _check_product("dot", self, other, 1)
        return MatMulFn.apply(self, other)

    def outer(self, vec2: Tensor) -> Tensor:
        """``out[i, j] = self[i] * vec2[j]`` for two 1-D tensors (promoted as ``*``)."""
        if self.ndim != 1 or not isinstance(vec2, Tensor) or vec2.ndim != 1:
            raise RuntimeError(f"outer: expected two 1-D tensors, got shapes {tuple(self.shape)} and "
                               f"{tuple(getattr(vec2, 'shape', ()))}")
        return self.unsqueeze(1) * vec2

    # -------------------------------------------------------- linear algebra (see nanotorch.linalg)
    def kron(self, other: Tensor) -> Tensor:
        """The Kronecker product: every element of ``self`` times a whole copy of ``other``
        (shapes padded with leading 1s to one length, then multiplied dim by dim); a broadcast
        ``*`` of the interleaved shapes, so its gradients are ``*``'s."""
        n = builtins.max(self.ndim, other.ndim)
        a_shape = (1,) * (n - self.ndim) + tuple(self.shape)
        b_shape = (1,) * (n - other.ndim) + tuple(other.shape)
        a = self.reshape(tuple(d for s in a_shape for d in (s, 1)))
        b = other.reshape(tuple(d for s in b_shape for d in (1, s)))
        return (a * b).reshape(tuple(s * t for s, t in zip(a_shape, b_shape)))

    def inner(self, other: Tensor) -> Tensor:
        """The sum of products over the last dim of each: ``out[i.., j..] = sum_k self[i.., k]
        other[j.., k]`` (a 0-d operand scales the other)."""
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        if self.dtype != other.dtype:
            raise RuntimeError(f"inner: both inputs should have same dtype, got {self.dtype} and "
                               f"{other.dtype}")
        if self.shape[-1] != other.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                               f"shapes {list(self.shape)} and {list(other.shape)}")
        return tensordot(self, other, ([-1], [-1]))

    def mv(self, vec: Tensor) -> Tensor:
        """``out[i] = sum_k self[i, k] vec[k]``: a 2-D matrix times a 1-D vector, of one dtype.
        Gradients: ``g vec^T`` and ``self^T g``."""
        if not isinstance(vec, Tensor) or self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"mv: expected a 2-D matrix and a 1-D vector, got shapes "
                               f"{tuple(self.shape)} and {tuple(getattr(vec, 'shape', ()))}")
        if self.dtype != vec.dtype:
            raise RuntimeError(f"mv: expected both tensors to have the same dtype, got {self.dtype} and "
                               f"{vec.dtype}")
        if self.shape[1] != vec.shape[0]:
            raise RuntimeError(f"mv: size mismatch, got mat ({self.shape[0]}x{self.shape[1]}), "
                               f"vec ({vec.shape[0]})")
        return MatMulFn.apply(self, vec)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
        """``beta * self + alpha * (mat1 @ mat2)``, ``self`` broadcast to the product's shape."""
        return _add_scaled("addmm", self, mat1.mm(mat2), beta, alpha)

    def addmv(self, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
        """``beta * self + alpha * (mat @ vec)``, ``self`` broadcast to the product's shape."""
        return _add_scaled("addmv", self, mat.mv(vec), beta, alpha)

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
        """``beta * self + alpha * sum_b batch1[b] @ batch2[b]``: the batch of products summed."""
        return _add_scaled("addbmm", self, batch1.bmm(batch2).sum(0), beta, alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
        """``beta * self + alpha * (batch1 @ batch2)`` for each batch element."""
        return _add_scaled("baddbmm", self, batch1.bmm(batch2), beta, alpha)

    def cross(self, other: Tensor, dim: builtins.int | None = None) -> Tensor:
        """``linalg.cross`` along ``dim``; None means the first dim of size 3 (PyTorch's old default)."""
        if dim is None:
            dim = next((d for d, n in enumerate(self.shape) if n == 3), -1)
        return linalg.cross(self, other, dim=dim)

    def matrix_power(self, n: builtins.int) -> Tensor:
        return linalg.matrix_power(self, n)

    def vdot(self, other: Tensor) -> Tensor:
        """``sum_i self[i] other[i]`` (``dot``; the same for real tensors)."""
        _check_product("vdot", self, other, 1)
        return MatMulFn.apply(self, other)

    def dist(self, other: Tensor, p: builtins.float = 2) -> Tensor:
        """The ``p``-norm of ``self - other`` (broadcast), as a 0-d tensor; float tensors only."""
        if self.data.dtype.kind != "f":
            raise RuntimeError(f"dist: expected a floating point tensor, got {self.dtype}")
        return (self - other).norm(p)

    def det(self) -> Tensor:
        return linalg.det(self)

    def slogdet(self) -> tuple:
        return linalg.slogdet(self)

    def logdet(self) -> Tensor:
        """``log(det(self))``: NaN where the determinant is negative, -inf where it is 0."""
        sign, logabsdet = linalg.slogdet(self)
        return where(sign < 0, builtins.float("nan"), logabsdet)

    def inverse(self) -> Tensor:
        return linalg.inv(self)

    def pinverse(self, rcond: builtins.float = 1e-15) -> Tensor:
        """``linalg.pinv`` with the relative cutoff ``rcond``."""
        return linalg.pinv(self, rtol=rcond)

    def neg(self) -> Tensor:
        return -self

    def softmax(self, dim: int = -1) -> Tensor:
        return SoftmaxFn.apply(self._floating(), dim=dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return LogSoftmaxFn.apply(self._floating(), dim=dim)

    # -------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim: builtins.bool = False, *, dtype=None, keepdims=None) -> Tensor:
        """The sum over ``dim`` (every dim when None); integers and bools sum as int64, or as
        ``dtype`` when given (the input is cast first)."""
        t = self._accumulated(dtype)
        return SumFn.apply(t, dim=_dims(dim, t.ndim), keepdim=_keep(keepdim, keepdims))

    def _accumulated(self, dtype) -> Tensor:
        """``self`` as ``dtype``, or (``dtype`` None) integers and bools as int64: the dtype
        PyTorch's ``sum`` and ``cumprod`` give."""
        if dtype is None:
            return self.to(_dtype.int64) if self.data.dtype.kind in "biu" else self
        return self.to(dtype)

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

    def max(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor | _ValuesIndices:
        """Whole tensor: the largest value. With ``dim``: ``(values, indices)``."""
        return _extreme(self, MaxFn, np.argmax, dim, _keep(keepdim, keepdims))

    def min(self, dim=None, keepdim: builtins.bool = False, *, keepdims=None) -> Tensor | _ValuesIndices:
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

    def cumprod(self, dim: builtins.int, *, dtype=None) -> Tensor:
        """``out[i] = self[0] * ... * self[i]`` along ``dim``; integers and bools give int64, or
        ``dtype`` when given. Its gradient is exact at zeros too (see ``CumProdFn``)."""
        t = self._accumulated(dtype)
        dim = _dim(dim, t.ndim)
        return CumProdFn.apply(t, dim=dim) if t.ndim else t.clone()

    def sort(self, dim: builtins.int = -1, descending: builtins.bool = False, *,
             stable: builtins.bool = False) -> _ValuesIndices:
        """``(values, indices)``: ``self`` sorted along ``dim`` (ascending unless ``descending``),
        and where each value came from. NaN counts as the largest value. The sort is always
        stable: equal values keep their order (``stable=False`` allows any order of ties).
        The values are gathered at the indices, so their gradient goes back to the elements."""
        return _sorted(self, dim, descending)

    def argsort(self, dim: builtins.int = -1, descending: builtins.bool = False, *,
                stable: builtins.bool = False) -> Tensor:
        """The ``indices`` of ``sort``."""
        return _sorted(self, dim, descending).indices

    def topk(self, k: builtins.int, dim: builtins.int = -1, largest: builtins.bool = True,
             sorted: builtins.bool = True) -> _ValuesIndices:
        """``(values, indices)`` of the ``k`` largest elements along ``dim`` (the ``k`` smallest
        when not ``largest``), largest first; ties keep their order. They are always sorted
        (``sorted=False`` allows any order). The gradient goes back to the elements picked."""
        size = self.shape[_dim(dim, self.ndim)] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError(f"topk: k={k} is out of range for a dim of size {size}")
        return _sorted(self, dim, largest, k if self.ndim else None)

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

    def median(self, dim=None, keepdim: builtins.bool = False) -> Tensor | _ValuesIndices:
        """Whole tensor: the lower median (element ``(n - 1) // 2`` of the sorted values; NaN if
        there is a NaN; NaN for an empty tensor), its gradient shared by the elements equal to it.
        With ``dim``: ``(values, indices)`` of each slice's median, the gradient to the one picked."""
        if dim is None:
            if self.numel() == 0:
                _check_floating("median of an empty tensor", self)
                return Tensor._make(np.array(np.nan, dtype=self.dtype), False)
            return MedianFn.apply(self)
        dim = _dim(dim, self.ndim)
        if self.ndim and self.shape[dim] == 0:
            raise IndexError(f"median(): expected reduction dim {dim} to have non-zero size")
        data = self.data if self.ndim else self.data.reshape(1)
        index = Tensor._make(median_index(data, dim), False)
        values = TakeAlongDimFn.apply(self.reshape(data.shape), index=index.data, dim=dim, keepdim=keepdim)
        index = index if keepdim else index.squeeze(dim)
        return _ValuesIndices(values, index.reshape(()) if not self.ndim else index)

    def nansum(self, dim=None, keepdim: builtins.bool = False, *, dtype=None) -> Tensor:
        """``sum`` with NaN counted as 0 (whose gradient is 0)."""
        t = where(self.isnan(), 0, self) if self.data.dtype.kind == "f" else self
        return t.sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim: builtins.bool = False, *, dtype=None) -> Tensor:
        """The mean of the elements that are not NaN (NaN where all are); float tensors only."""
        if self.data.dtype.kind != "f":
            raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got {self.dtype}")
        count = self.isnan().logical_not().sum(dim, keepdim)
        return self.nansum(dim, keepdim, dtype=dtype) / count

    def count_nonzero(self, dim=None) -> Tensor:
        """The number of non-zero elements over ``dim`` (an int, a tuple, or None for all), as int64."""
        count = np.count_nonzero(self.data, axis=_dims(dim, self.ndim))
        return Tensor._make(np.asarray(count, dtype=np.int64), False)

    def unique(self, sorted: builtins.bool = True, return_inverse: builtins.bool = False,  # noqa: A002
               return_counts: builtins.bool = False, dim: builtins.int | None = None):
        """The distinct elements (or slices along ``dim``), ascending (always: ``sorted=False`` allows
        any order); with ``return_inverse`` also where each element of ``self`` is among them, with
        ``return_counts`` how often each occurs (a tuple then). No gradient."""
        dim = None if dim is None else _dim(dim, self.ndim)
        return _wrapped(counting.unique(self.data, return_inverse, return_counts, dim))

    def unique_consecutive(self, return_inverse: builtins.bool = False, return_counts: builtins.bool = False,
                           dim: builtins.int | None = None):
        """``unique`` of runs: each run of equal neighbours (elements, or slices along ``dim``) kept
        once, in order."""
        dim = None if dim is None else _dim(dim, self.ndim)
        return _wrapped(counting.unique_consecutive(self.data, return_inverse, return_counts, dim))

    def bincount(self, weights: Tensor | None = None, minlength: builtins.int = 0) -> Tensor:
        """``out[v]`` = the number of times ``v`` occurs in this 1-D non-negative integer tensor (or
        the sum of ``weights`` there), with ``max(self) + 1`` bins, at least ``minlength``."""
        weights = None if weights is None else _array(weights)
        return Tensor._make(counting.bincount(self.data, weights, minlength), False)

    def histc(self, bins: builtins.int = 100, min=0, max=0) -> Tensor:  # noqa: A002
        """The counts of a histogram with ``bins`` equal bins over ``[min, max]`` (the data's range
        when ``min == max``); elements outside are left out. Float tensors only; no gradient."""
        edges = counting.histogram_edges(self.data, bins, builtins.float(min), builtins.float(max))
        return Tensor._make(counting.histogram(self.data.reshape(-1), edges, None, False), False)

    def histogram(self, bins, *, range=None, weight: Tensor | None = None,  # noqa: A002
                  density: builtins.bool = False) -> _HistogramResult:
        """``(hist, bin_edges)``: ``bins`` equal bins over ``range`` (the data's range when None), or
        the given increasing edges (a 1-D tensor); ``weight`` sums weights instead of counting,
        ``density`` divides by the total and the bin widths."""
        low, high = (None, None) if range is None else (builtins.float(range[0]), builtins.float(range[1]))
        edges = counting.histogram_edges(self.data, _array(bins) if isinstance(bins, Tensor) else bins,
                                         low, high)
        weights = None if weight is None else _array(weight).reshape(-1)
        hist = counting.histogram(self.data.reshape(-1), edges, weights, density)
        return _HistogramResult(Tensor._make(hist, False), Tensor._make(edges, False))

    def aminmax(self, *, dim=None, keepdim: builtins.bool = False) -> _MinMax:
        """``(min, max)`` over ``dim`` (one int, or None for all), as ``amin`` and ``amax``."""
        if dim is not None and not isinstance(dim, builtins.int):
            raise TypeError(f"aminmax(): argument 'dim' must be int, not {type(dim).__name__}")
        if self.numel() == 0 or dim is not None and self.ndim and self.shape[_dim(dim, self.ndim)] == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension")
        dims = () if dim is None else dim
        return _MinMax(self.amin(dims, keepdim), self.amax(dims, keepdim))

    def cummax(self, dim: builtins.int) -> _ValuesIndices:
        """``(values, indices)``: the largest value so far along ``dim`` and where it is (the latest
        of equal values; a NaN, once met, stays); the gradient goes to the elements picked."""
        return _running_extreme(self, dim, np.fmax)

    def cummin(self, dim: builtins.int) -> _ValuesIndices:
        """``(values, indices)``: the smallest value so far along ``dim`` and where it is (see ``cummax``)."""
        return _running_extreme(self, dim, np.fmin)

    def logcumsumexp(self, dim: builtins.int) -> Tensor:
        """``out[i] = ln(sum_{j<=i} e^self[j])`` along ``dim`` (``LogCumSumExpFn``); float tensors only."""
        _check_floating("logcumsumexp", self)
        dim = _dim(dim, self.ndim)
        return LogCumSumExpFn.apply(self, dim=dim) if self.ndim else self.clone()

    def quantile(self, q, dim=None, keepdim: builtins.bool = False, *,
                 interpolation: str = "linear") -> Tensor:
        """The ``q``-th quantiles (``q`` a number or a 1-D tensor, in ``[0, 1]``) over ``dim`` (the
        flattened tensor when None). The sorted values are indexed at rank ``q (n - 1)``: between
        two positions ``linear`` interpolates, ``lower``/``higher``/``nearest`` take one, ``midpoint``
        averages both. A slice with a NaN gives NaN. A tensor ``q`` adds a first dim to the result.
        The gradient goes back to the values picked, weighted as they were."""
        q_array = _check_quantile(self, q, interpolation)
        t = self.reshape(-1) if dim is None or self.ndim == 0 else self
        d = 0 if dim is None else _dim(dim, t.ndim)
        ordered = t.movedim(d, -1).sort(-1).values                      # [*batch, n]
        ranks = _quantile_ranks(q_array, ordered.data, interpolation)    # [*q, *batch]
        ordered = ordered.expand(*q_array.shape, *ordered.shape)
        below, above = (TakeAlongDimFn.apply(ordered, index=r.astype(np.int64)[..., None], dim=-1)
                        for r in (np.floor(ranks), np.ceil(ranks)))
        weight = np.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - np.floor(ranks)
        out = LerpFn.apply(below, above, weight)
        if keepdim and self.ndim:
            kept = (1,) * self.ndim if dim is None else self.shape[:d] + (1,) + self.shape[d + 1:]
            out = out.reshape(*q_array.shape, *kept)
        return out

    # ------------------------------------------------------------------ shape
    def reshape(self, *args, shape=None) -> Tensor:
        """``reshape(2, 3)``, ``reshape((2, 3))`` or ``reshape(shape=(2, 3))``; -1 is inferred."""
        return ReshapeFn.apply(self, shape=_keyword_or_args("reshape", "shape", args, shape))

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

    def permute(self, *args, dims=None) -> Tensor:
        """``permute(2, 0, 1)``, ``permute((2, 0, 1))`` or ``permute(dims=(2, 0, 1))``: dim ``i`` of
        the result is dim ``dims[i]`` of ``self`` (a view)."""
        dims = _keyword_or_args("permute", "dims", args, dims)
        return PermuteFn.apply(self, axes=tuple(d % self.ndim for d in dims))

    swapaxes = swapdims = transpose

    def movedim(self, source, destination) -> Tensor:
        """The dims ``source`` (an int or a sequence) moved to the positions ``destination``, the
        other dims keeping their order (a view)."""
        src, dst = (_dim_list(d, self.ndim) for d in (source, destination))
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: source {source} and destination {destination} must name "
                               "the same number of dims")
        for name, dims in (("source", src), ("destination", dst)):
            if len(set(dims)) != len(dims):
                raise RuntimeError(f"movedim: repeated dim in {name} ({dims})")
        order = [d for d in range(self.ndim) if d not in src]
        for d, s in sorted(zip(dst, src)):
            order.insert(d, s)
        return self.permute(order)

    moveaxis = movedim

    def narrow(self, dim: builtins.int, start, length: builtins.int) -> Tensor:
        """``length`` elements along ``dim`` from ``start`` (negative counts from the end): a view."""
        if self.ndim == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor")
        dim = _dim(dim, self.ndim)
        size, start = self.shape[dim], builtins.int(start)
        if not -size <= start <= size:
            raise IndexError(f"narrow: start {start} is out of range for a dim of size {size}")
        start += size if start < 0 else 0
        if length < 0 or start + length > size:
            raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                               f"({size}), or length is negative")
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    def select(self, dim: builtins.int, index: builtins.int) -> Tensor:
        """Element ``index`` along ``dim``, that dim removed (``x.select(1, 2)`` is ``x[:, 2]``)."""
        if self.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor")
        dim = _dim(dim, self.ndim)
        if not -self.shape[dim] <= index < self.shape[dim]:
            raise IndexError(f"select(): index {index} is out of range for a dim of size {self.shape[dim]}")
        return self[(slice(None),) * dim + (index,)]

    def unbind(self, dim: builtins.int = 0) -> tuple:
        """The slices along ``dim``, as a tuple of tensors with that dim removed."""
        if self.ndim == 0:
            raise IndexError("unbind() cannot be applied to a 0-dim tensor")
        dim = _dim(dim, self.ndim)
        return tuple(self.select(dim, i) for i in range(self.shape[dim]))

    def diagonal(self, offset: builtins.int = 0, dim1: builtins.int = 0, dim2: builtins.int = 1) -> Tensor:
        """``out[..., i] = self[i, i + offset]`` in the plane of ``dim1`` and ``dim2`` (the
        diagonal above the main one for ``offset > 0``, below for ``< 0``), as the last dim (a view)."""
        d1, d2 = _dim(dim1, self.ndim), _dim(dim2, self.ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return DiagonalFn.apply(self, offset=offset, dim1=d1, dim2=d2)

    def diag_embed(self, offset: builtins.int = 0, dim1: builtins.int = -2,
                   dim2: builtins.int = -1) -> Tensor:
        """A tensor with one more dim, zero but for ``self``'s last dim on the ``offset``-th
        diagonal of the plane of ``dim1`` and ``dim2``: ``out.diagonal(offset, dim1, dim2)`` is ``self``."""
        d1, d2 = _dim(dim1, self.ndim + 1), _dim(dim2, self.ndim + 1)
        if d1 == d2:
            raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
        if self.ndim == 0:
            raise RuntimeError("diag_embed: expected a tensor with at least 1 dim, got a 0-d tensor")
        return DiagEmbedFn.apply(self, offset=offset, dim1=d1, dim2=d2)

    def diag(self, diagonal: builtins.int = 0) -> Tensor:
        """1-D ``self``: the square matrix with ``self`` on its ``diagonal``-th diagonal; 2-D: that
        diagonal of ``self`` (a copy)."""
        if self.ndim not in (1, 2):
            raise RuntimeError(f"diag(): supports 1-D or 2-D tensors, got {self.ndim}-D")
        if self.ndim == 1:
            return self.diag_embed(diagonal, 0, 1)
        return self.diagonal(diagonal).clone()

    def diagflat(self, offset: builtins.int = 0) -> Tensor:
        """``diag`` of ``self`` flattened: the square matrix with its elements on the ``offset``-th
        diagonal."""
        return self.reshape(-1).diag_embed(offset, 0, 1)

    def trace(self) -> Tensor:
        """The sum of the main diagonal of a 2-D tensor (integers sum as int64)."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got a tensor with {self.ndim} dims")
        return self.diagonal().sum()

    def rot90(self, k: builtins.int = 1, dims=(0, 1)) -> Tensor:
        """Rotated by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards the
        second: ``k=1`` is ``flip(dims[1])`` then ``transpose(*dims)`` (``k`` negative turns back)."""
        if len(dims) != 2:
            raise RuntimeError(f"rot90: expected 2 rotation dims, got {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"rot90: expected a tensor with at least 2 dims, got {self.ndim}")
        d0, d1 = _dim(dims[0], self.ndim), _dim(dims[1], self.ndim)
        if d0 == d1:
            raise RuntimeError(f"rot90: expected rotation dims to be different, got {dims[0]} and {dims[1]}")
        k %= 4
        if k == 0:
            return self.clone()
        if k == 2:
            return self.flip(d0, d1)
        return self.flip(d1 if k == 1 else d0).transpose(d0, d1)

    def unflatten(self, dim: builtins.int, sizes) -> Tensor:
        """Dim ``dim`` split into dims of ``sizes`` (their product its size; one may be -1)."""
        dim = _dim(dim, self.ndim)
        sizes = tuple(sizes)
        known = builtins.int(np.prod([s for s in sizes if s != -1]))
        if not sizes or sizes.count(-1) > 1 or (known != self.shape[dim] if -1 not in sizes
                                                else known == 0 or self.shape[dim] % known):
            raise RuntimeError(f"unflatten: sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                               f"({self.shape[dim]})")
        return self.reshape(*self.shape[:dim], *sizes, *self.shape[dim + 1:])

    def tensor_split(self, indices_or_sections, dim: builtins.int = 0) -> tuple:
        """Views of ``self`` cut along ``dim``: into ``n`` nearly equal pieces when given an int ``n``
        (the first ``size % n`` one longer), or before each of the listed indices (clamped to the
        size, negative ones from the end)."""
        dim = _dim(dim, self.ndim)
        size = self.shape[dim]
        cuts = _array(indices_or_sections)
        if cuts.dtype.kind not in "iu" or cuts.ndim > 1:
            raise TypeError("tensor_split: expected an int, a list of ints or a 0-d or 1-D integer tensor")
        if cuts.ndim == 0:
            sections = builtins.int(cuts)
            if sections <= 0:
                raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {sections}")
            base, extra = divmod(size, sections)
            cuts = np.cumsum([base + 1] * extra + [base] * (sections - extra))[:-1]
        ends = [builtins.min(builtins.max(c + size if c < 0 else c, 0), size) for c in cuts.tolist()]
        lead = (slice(None),) * dim
        return tuple(self[lead + (slice(start, end),)] for start, end in zip([0, *ends], [*ends, size]))

    def broadcast_to(self, size) -> Tensor:
        """``expand(size)``: a view of ``self`` broadcast to ``size`` (-1 keeps a dim)."""
        return self.expand(*size)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dims swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices, "
                               f"got {self.ndim}-D")
        return self.transpose(-2, -1)

    mH = mT  # for real tensors, the conjugate transpose is the transpose

    @property
    def H(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The transpose of a matrix (2-D; a 0-d tensor is itself)."""
        if self.ndim not in (0, 2):
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors), got {self.ndim}-D; "
                               "for batches of matrices use tensor.mH")
        return self.t()

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

    def tile(self, *dims) -> Tensor:
        """``repeat``, but fewer ``dims`` than the tensor has are padded with 1s in front."""
        dims = _shape_arg(dims)
        return self.repeat(*(1,) * (self.ndim - len(dims)), *dims)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None) -> Tensor:
        """Each element repeated along ``dim`` (the flattened tensor when None): ``[a, b]`` with
        ``repeats=2`` is ``[a, a, b, b]``; ``repeats`` is an int or an integer tensor of one
        count per element (or of one count). It is ``index_select`` at the repeated indices, so
        each element's gradient is the sum over its copies."""
        t = self.flatten() if dim is None else self
        dim = 0 if dim is None else _dim(dim, t.ndim)
        counts = _repeat_counts(repeats, t.shape[dim] if t.ndim else 1)
        index = np.repeat(np.arange(len(counts)), counts)
        if output_size is not None and output_size != len(index):
            raise RuntimeError(f"repeat_interleave: output_size={output_size}, but the repeats "
                               f"add up to {len(index)}")
        return TakeFn.apply(t, index, dim=dim)

    def tril(self, diagonal: builtins.int = 0) -> Tensor:
        return TriangleFn.apply(self, diagonal=diagonal, upper=False)

    def triu(self, diagonal: builtins.int = 0) -> Tensor:
        return TriangleFn.apply(self, diagonal=diagonal, upper=True)

    def gather(self, dim: builtins.int, index: Tensor) -> Tensor:
        """``out[i][j] = self[index[i][j]][j]`` for ``dim=0`` (and so on for other dims)."""
        return GatherFn.apply(self, dim=dim, index=_array(index))

    def scatter(self, dim: builtins.int, index: Tensor, src=None, *, value=None,
                reduce: str | None = None) -> Tensor:
        """A copy with ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``; ``src`` (or ``value``) may be a
        number. ``reduce="add"`` or ``"multiply"`` adds or multiplies instead (``scatter_reduce``'s
        sum and prod, PyTorch's older form)."""
        src = value if src is None else src
        if reduce is None:
            return ScatterFn.apply(self, self._same_kind(src), dim=dim, index=_array(index))
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"scatter: reduce must be either 'add' or 'multiply', got {reduce!r}")
        return ScatterReduceFn.apply(self, self._same_kind(src), dim=dim, index=_array(index),
                                     reduce="sum" if reduce == "add" else "prod")

    def scatter_add(self, dim: builtins.int, index: Tensor, src: Tensor) -> Tensor:
        """A copy with ``out[index[i][j]][j] += src[i][j]`` for ``dim=0``."""
        return ScatterReduceFn.apply(self, self._same_kind(src), dim=dim, index=_array(index), reduce="sum")

    def scatter_reduce(self, dim: builtins.int, index: Tensor, src: Tensor, reduce: str, *,
                       include_self: builtins.bool = True) -> Tensor:
        """A copy where each place ``p`` that ``index`` sends elements of ``src`` to (along ``dim``, as
        ``scatter``) holds their ``reduce`` (``"sum"``, ``"prod"``, ``"mean"``, ``"amax"``, ``"amin"``),
        with ``self[p]`` among them when ``include_self``; see ``ScatterReduceFn`` for the gradient."""
        _same_dtype("scatter_reduce", self, src)
        return ScatterReduceFn.apply(self, src, dim=dim, index=_array(index), reduce=reduce,
                                     include_self=include_self)

    def index_add(self, dim: builtins.int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
        """A copy with ``alpha * source[i]`` added to the slice ``index[i]`` along ``dim`` (a repeated
        index adds up); ``source`` has ``self``'s shape but ``len(index)`` along ``dim``."""
        _same_dtype("index_add", self, source)
        alpha = _value_for(alpha, self)
        return IndexCopyFn.apply(self, source if alpha == 1 else (source * alpha).to(self.dtype),
                                 dim=dim, index=_array(index), add=True)

    def index_copy(self, dim: builtins.int, index: Tensor, source: Tensor) -> Tensor:
        """A copy with the slice ``index[i]`` along ``dim`` replaced by ``source[i]``."""
        _same_dtype("index_copy", self, source)
        return IndexCopyFn.apply(self, source, dim=dim, index=_long_index("index_copy", index))

    def index_fill(self, dim: builtins.int, index: Tensor, value) -> Tensor:
        """A copy with the slices ``index`` (negative ones count from the end) along ``dim`` set to
        ``value``, a number or a 0-d tensor; a tensor ``value`` gets the sum of their gradient."""
        if isinstance(value, Tensor) and value.ndim:
            raise RuntimeError(f"index_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        dim = _dim(dim, self.ndim)
        shape = list(self.shape or (1,))
        index = _long_index("index_fill", index).reshape(-1)
        rows = np.unique(check_index("index_fill", index, shape[dim], wrap=True))  # each slice once
        value = value.to(self.dtype) if isinstance(value, Tensor) else Tensor(value, dtype=self.dtype)
        shape[dim] = len(rows)
        return IndexCopyFn.apply(self, value.expand(*shape), dim=dim, index=rows)

    def index_put(self, indices, values: Tensor, accumulate: builtins.bool = False) -> Tensor:
        """A copy with ``out[indices] = values`` (``indices``: a tuple of index tensors, one per dim
        from the first); with ``accumulate``, ``out[indices] += values``, a place indexed twice
        getting both."""
        if not isinstance(indices, (tuple, list)):
            raise TypeError(f"index_put(): indices must be a tuple of tensors, not {type(indices).__name__}")
        _same_dtype("index_put", self, values)
        return SetItemFn.apply(self, values, index=_index_arrays(tuple(indices)), accumulate=accumulate)

    def put(self, index: Tensor, source: Tensor, accumulate: builtins.bool = False) -> Tensor:
        """A copy with ``source``'s elements written (or with ``accumulate`` added) at the flat
        positions ``index`` (as if ``self`` were 1-D; negative ones count from the end)."""
        index = _long_index("put", index)
        _same_dtype("put", self, source)
        if source.numel() != index.size:
            raise IndexError(f"put: source has {source.numel()} elements and index {index.size}; "
                             "they must be equal")
        flat = check_index("put", index.reshape(-1), self.numel(), wrap=True)
        return self.reshape(-1).index_put((flat,), source.reshape(-1), accumulate).reshape(self.shape)

    def take(self, index: Tensor) -> Tensor:
        """The elements at the flat positions ``index`` (as if ``self`` were 1-D; negative ones count
        from the end), in ``index``'s shape."""
        index = _long_index("take", index)
        flat = check_index("take", index.reshape(-1), self.numel(), wrap=True)
        return TakeFn.apply(self.reshape(-1), flat).reshape(index.shape)

    def take_along_dim(self, indices: Tensor, dim: builtins.int | None = None) -> Tensor:
        """``gather`` along ``dim`` after broadcasting ``self`` and ``indices`` (same number of dims)
        in the other dims; ``dim=None``: both flattened. Negative indices count from the end."""
        indices = _long_index("take_along_dim", indices)
        if dim is None:
            return self.reshape(-1).take_along_dim(indices.reshape(-1), 0)
        dim = _dim(dim, self.ndim)
        if indices.ndim != self.ndim:
            raise RuntimeError(f"take_along_dim: input and indices should have the same number of dims, "
                               f"got {self.ndim} and {indices.ndim}")
        shape = broadcast_shapes("take_along_dim", self.shape[:dim] + (1,) + self.shape[dim + 1:],
                                  indices.shape[:dim] + (1,) + indices.shape[dim + 1:])
        source = self.expand(*shape[:dim], self.shape[dim], *shape[dim + 1:])
        indices = np.broadcast_to(indices, shape[:dim] + (indices.shape[dim],) + shape[dim + 1:])
        return GatherFn.apply(source, dim=dim, index=check_index("take_along_dim", indices, self.shape[dim],
                                                                 wrap=True))

    def argwhere(self) -> Tensor:
        """``nonzero()``: the indices of the non-zero elements, one row each."""
        return self.nonzero()

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

    def masked_fill_(self, mask: Tensor, value) -> Tensor:
        """In place: ``value`` (a number or a 0-d tensor) where ``mask`` is True (``mask`` broadcasts
        to ``self``). It is ``self[mask] = value``, so it follows the rules of every in-place
        change (``tensor_inplace.py``); a ``value`` that requires grad gets the gradient of the
        places it filled."""
        mask = _array(mask)
        check_mask("masked_fill_", mask, self.shape)
        if isinstance(value, Tensor) and value.ndim:
            raise ValueError(f"masked_fill_: value must be a number or a 0-d tensor, got shape {value.shape}")
        self[np.broadcast_to(mask, self.shape)] = value
        return self

    def masked_select(self, mask: Tensor) -> Tensor:
        """The elements where ``mask`` (a bool tensor) is True, as a 1-D tensor in row-major
        order; ``self`` and ``mask`` broadcast together. The gradient goes back to them."""
        mask = _array(mask)
        check_mask("masked_select", mask)
        shape = broadcast_shapes("masked_select", self.shape, mask.shape)
        return self.expand(*shape)[np.broadcast_to(mask, shape)]

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        """A copy with the places where ``mask`` is True (``self`` and ``mask`` broadcast together)
        filled, in row-major order, with ``source``'s first elements; the gradient goes to them."""
        mask = _array(mask)
        check_mask("masked_scatter", mask)
        _same_dtype("masked_scatter", self, source)
        shape = broadcast_shapes("masked_scatter", self.shape, mask.shape)
        mask = np.broadcast_to(mask, shape)
        count = builtins.int(np.count_nonzero(mask))
        if source.numel() < count:
            raise RuntimeError(f"masked_scatter: source has {source.numel()} elements, fewer than the "
                               f"{count} places the mask selects")
        return SetItemFn.apply(self.expand(*shape), source.reshape(-1)[:count], index=mask)

    def nonzero(self, *, as_tuple: builtins.bool = False) -> Tensor | tuple:
        """The indices of the non-zero elements, in row-major order: an int64 tensor of shape
        ``[count, ndim]``, one row per element; ``as_tuple=True``: one 1-D tensor per dim (a 0-d
        tensor counts as 1-D), ready to index with (``x[x.nonzero(as_tuple=True)]``)."""
        if as_tuple:
            return tuple(Tensor._make(i.astype(np.int64, copy=False), False)
                         for i in np.nonzero(np.atleast_1d(self.data)))
        return Tensor._make(np.argwhere(self.data).astype(np.int64, copy=False), False)

    def where(self, condition, other) -> Tensor:
        """``self`` where ``condition`` holds, else ``other``: ``nanotorch.where(condition, self, other)``."""
        return where(condition, self, other)

    def _same_kind(self, src):
        """``src`` (a number or tensor) as a tensor of ``self``'s dtype when it is data."""
        if isinstance(src, SCALARS) or isinstance(src, Tensor) and src.dtype == self.dtype:
            return src
        return Tensor(src).to(self.dtype)

    def __getitem__(self, index) -> Tensor:
        return GetItemFn.apply(self, index=_index_arrays(index))

    # ------------------------------------------------------------ in place
    def _apply_(self, method: Callable, *args) -> Tensor:
        """``self = method(self, *args)`` in the same memory, by the rules of ``tensor_inplace.py``:
        recorded in the graph when ``self`` or a tensor in ``args`` requires grad, else written
        straight in (a result that ``self``'s dtype can't hold raises, as in PyTorch)."""
        if builtins.any(self._records(a) for a in (None, *args)):
            return self._record_inplace(lambda old, _: method(old, *args), None)
        result = method(self, *args).data
        if not np.can_cast(result.dtype, self.data.dtype, "same_kind"):  # PyTorch: a RuntimeError
            raise TypeError(f"result type {result.dtype} can't be cast to the desired output type "
                            f"{self.dtype} of an in-place operation")
        np.copyto(self.data, result, casting="same_kind")
        self._version[0] += 1
        return self

    def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
        return self._apply_(_OpMethods.clamp, min, max)

    clip_ = clamp_

    def relu_(self) -> Tensor:
        return self._apply_(_OpMethods.relu)

    def exp_(self) -> Tensor:
        return self._apply_(_OpMethods.exp)

    def sqrt_(self) -> Tensor:
        return self._apply_(_OpMethods.sqrt)

    def abs_(self) -> Tensor:
        return self._apply_(_OpMethods.abs)

    def neg_(self) -> Tensor:
        return self._apply_(_OpMethods.__neg__)

    def pow_(self, exponent) -> Tensor:
        return self._apply_(_OpMethods.__pow__, exponent)

    def sigmoid_(self) -> Tensor:
        return self._apply_(_OpMethods.sigmoid)

    def tanh_(self) -> Tensor:
        return self._apply_(_OpMethods.tanh)

    def floor_(self) -> Tensor:
        return self._apply_(_OpMethods.floor)

    def lerp_(self, end: Tensor, weight) -> Tensor:
        return self._apply_(_OpMethods.lerp, end, weight)

    def addcmul_(self, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
        return self._apply_(lambda t, a, b: t.addcmul(a, b, value=value), tensor1, tensor2)

    def addcdiv_(self, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
        return self._apply_(lambda t, a, b: t.addcdiv(a, b, value=value), tensor1, tensor2)

    def scatter_(self, dim: builtins.int, index: Tensor, src=None, *, value=None,
                 reduce: str | None = None) -> Tensor:
        src = value if src is None else src
        return self._apply_(lambda t, s: t.scatter(dim, index, s, reduce=reduce), src)

    def scatter_add_(self, dim: builtins.int, index: Tensor, src: Tensor) -> Tensor:
        return self._apply_(lambda t, s: t.scatter_add(dim, index, s), src)

    def scatter_reduce_(self, dim: builtins.int, index: Tensor, src: Tensor, reduce: str, *,
                        include_self: builtins.bool = True) -> Tensor:
        return self._apply_(lambda t, s: t.scatter_reduce(dim, index, s, reduce, include_self=include_self),
                            src)

    def index_add_(self, dim: builtins.int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
        return self._apply_(lambda t, s: t.index_add(dim, index, s, alpha=alpha), source)

    def index_copy_(self, dim: builtins.int, index: Tensor, source: Tensor) -> Tensor:
        return self._apply_(lambda t, s: t.index_copy(dim, index, s), source)

    def index_fill_(self, dim: builtins.int, index: Tensor, value) -> Tensor:
        return self._apply_(lambda t, v: t.index_fill(dim, index, v), value)

    def index_put_(self, indices, values: Tensor, accumulate: builtins.bool = False) -> Tensor:
        return self._apply_(lambda t, v: t.index_put(indices, v, accumulate), values)

    def put_(self, index: Tensor, source: Tensor, accumulate: builtins.bool = False) -> Tensor:
        return self._apply_(lambda t, s: t.put(index, s, accumulate), source)

    def masked_scatter_(self, mask: Tensor, source: Tensor) -> Tensor:
        """In place: ``masked_scatter``, with ``mask`` broadcast to ``self``'s shape."""
        check_mask("masked_scatter_", _array(mask), self.shape)
        return self._apply_(lambda t, s: t.masked_scatter(mask, s), source)



def _array(x) -> np.ndarray:
    """A tensor's array; other data (lists, arrays) as an array."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _dtype_of(x) -> np.dtype:
    """The dtype of a tensor, or PyTorch's for a number (``result_type`` of it alone)."""
    return x.dtype if isinstance(x, Tensor) else result_type(x)


def _check_floating(op: str, t: Tensor) -> None:
    """Raise (PyTorch's NotImplementedError) unless ``t`` is a float tensor."""
    if t.data.dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for {t.dtype} tensors, only for float "
                                  f"tensors; convert with .float()")


def _tensor_arg(op: str, other) -> Tensor:
    """``other``, which must be a Tensor (PyTorch's ``op(tensor, number)`` is a TypeError)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"{op}(): argument 'other' must be Tensor, not {type(other).__name__}")
    return other


def _shift_out_of_range(a: np.ndarray, b: np.ndarray):
    """Where the shift ``b`` is negative or at least the bit width of ``a``'s and ``b``'s result
    dtype (NumPy's shift is undefined there; PyTorch shifts every bit out). A bool result, as of
    ``bool << bool``, raises."""
    dtype = np.result_type(a, b)
    if dtype == np.bool_:
        raise TypeError("shifts need an integer tensor (or a bool tensor and an integer), got two bools")
    return (b < 0) | (b >= dtype.itemsize * 8)


def _left_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a << b``, 0 where ``b`` is out of range (``_shift_out_of_range``)."""
    out = _shift_out_of_range(a, b)
    return np.where(out, 0, np.left_shift(a, np.where(out, 0, b)))


def _right_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a >> b`` (the sign bit fills in), -1 or 0 (the sign) where ``b`` is out of range."""
    out = _shift_out_of_range(a, b)
    return np.where(out, np.where(a < 0, -1, 0), np.right_shift(a, np.where(out, 0, b)))


def _logical(ufunc, t: Tensor, other) -> Tensor:
    """``logical_and``/``or``/``xor``: ``ufunc`` of the two tensors' truth values (non-zero), as bools."""
    return Tensor._make(np.asarray(ufunc(t.data, _tensor_arg(ufunc.__name__, other).data)), False)


def _same_dtype(op: str, t: Tensor, source) -> None:
    """Raise unless ``source`` is a tensor of ``t``'s dtype (what ``index_add``, ``put`` ... write in)."""
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}(): source must be a Tensor, not {type(source).__name__}")
    if source.dtype != t.dtype:
        raise RuntimeError(f"{op}(): self ({t.dtype}) and source ({source.dtype}) must have the same dtype")


def _long_index(op: str, index) -> np.ndarray:
    """``index``'s array, which must be int64 (PyTorch's ``take``, ``put``, ``index_copy`` ... rule)."""
    index = _array(index)
    if index.dtype != np.int64:
        raise RuntimeError(f"{op}(): expected an int64 (long) index tensor, got {index.dtype}")
    return index


def broadcast_shapes(op: str, *shapes: tuple) -> tuple:
    """The shape ``shapes`` broadcast to, or a ValueError naming them (PyTorch: a RuntimeError)."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{op}: shapes {', '.join(map(str, shapes))} do not broadcast together") from None


def _float_pair(op: str, a: Tensor, b) -> tuple:
    """``a`` and the tensor ``b`` promoted to one dtype, which must be a float dtype."""
    a, b = a._operands(_tensor_arg(op, b))
    _check_floating(op, a)
    return a, b


def _float_operands(a: Tensor, b) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` (a tensor or a number) as two tensors of their float result dtype."""
    a, b = a._operands(b, divide=True)
    return a, b if isinstance(b, Tensor) else Tensor(b, dtype=a.dtype)


def _value_for(value, *operands) -> builtins.int | builtins.float:
    """``addcmul``'s ``value``: truncated to an int when the operands' result is an integer tensor."""
    return builtins.int(value) if result_type(*operands).kind in "biu" else value


def _check_lerp(start: Tensor, end, weight) -> None:
    """``lerp``'s rules: float tensors ``start`` and ``end`` of one dtype, and a ``weight`` of it
    unless it is a number or 0-d."""
    _check_floating("lerp", start)
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t.dtype != start.dtype and (name == "end" or t.ndim):
            raise RuntimeError(f"lerp: expected dtype {start.dtype} for `{name}` but got dtype {t.dtype}")
    if not isinstance(end, Tensor):
        raise TypeError(f"lerp(): argument 'end' must be Tensor, not {type(end).__name__}")


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _check_quantile(t: Tensor, q, interpolation: str) -> np.ndarray:
    """``quantile``'s rules (a non-empty float input; ``q`` a number or a 0-d or 1-D tensor of the
    input's dtype, in ``[0, 1]``; a known ``interpolation``); ``q`` as an array of the input's dtype."""
    if t.data.dtype.kind != "f":
        raise RuntimeError(f"quantile() input tensor must be either float or double dtype, got {t.dtype}")
    if t.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"quantile() interpolation must be one of {', '.join(_INTERPOLATIONS)}, "
                           f"but got {interpolation!r}")
    if isinstance(q, Tensor):
        if q.dtype != t.dtype:
            raise RuntimeError(f"quantile() q tensor must be same dtype as the input tensor ({t.dtype}), "
                               f"got {q.dtype}")
        if q.ndim > 1:
            raise RuntimeError(f"quantile() q must be a scalar or 1D tensor, got shape {tuple(q.shape)}")
    q = np.asarray(_array(q), dtype=t.dtype)
    if ((q < 0) | (q > 1)).any():
        raise RuntimeError(f"quantile() q values must be in the range [0, 1], got {q.tolist()}")
    return q


def _quantile_ranks(q: np.ndarray, ordered: np.ndarray, interpolation: str) -> np.ndarray:
    """The rank ``q (n - 1)`` into each sorted slice of ``ordered`` (``[*batch, n]``), for each
    ``q``: shape ``[*q, *batch]``; ``n - 1`` (the NaN, sorted last) for a slice with a NaN;
    rounded down, up or to even for ``lower``, ``higher`` and ``nearest``."""
    n = ordered.shape[-1]
    ranks = q.reshape(q.shape + (1,) * (ordered.ndim - 1)) * (n - 1)
    ranks = np.where(np.isnan(ordered[..., -1]), q.dtype.type(n - 1), ranks)
    rounding = {"lower": np.floor, "higher": np.ceil, "nearest": np.round}.get(interpolation)
    return rounding(ranks) if rounding else ranks


def _running_extreme(t: Tensor, dim: builtins.int, better) -> _ValuesIndices:
    """``cummax``/``cummin``: the values gathered at ``running_extreme_index`` (see there)."""
    dim = _dim(dim, t.ndim)
    if t.ndim == 0:
        return _ValuesIndices(t.clone(), Tensor._make(np.zeros((), np.int64), False))
    index = running_extreme_index(t.data, dim, better)
    return _ValuesIndices(GatherFn.apply(t, dim=dim, index=index), Tensor._make(index, False))


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



def _dim(dim: builtins.int, ndim: builtins.int) -> builtins.int:
    """``dim`` counted from 0 (negative counts from the end), or IndexError when out of range;
    a 0-d tensor takes 0 and -1, as in PyTorch."""
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _dim_list(dims, ndim: builtins.int) -> list:
    """One int or a sequence of them as a list of dims counted from 0 (``_dim``)."""
    return [_dim(d, ndim) for d in ((dims,) if isinstance(dims, builtins.int) else dims)]


def _keyword_or_args(op: str, name: str, args: tuple, keyword) -> tuple:
    """A shape-like argument given as ``f(2, 3)``, ``f((2, 3))`` or ``f(name=(2, 3))``."""
    if keyword is None:
        return _shape_arg(args)
    if args:
        raise TypeError(f"{op}() got {name} both as arguments and as {name}=")
    return tuple(keyword)


def _check_product(op: str, a: Tensor, b, ndim: builtins.int) -> None:
    """The checks of ``mm`` (``ndim=2``), ``bmm`` (3) and ``dot`` (1): two tensors of exactly
    ``ndim`` dims and one dtype, with equal batch sizes and ``a``'s last size ``b``'s inner size."""
    if not isinstance(b, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(b).__name__}")
    if a.ndim != ndim or b.ndim != ndim:
        raise RuntimeError(f"{op}: expected {ndim}-D tensors, got {a.ndim}-D and {b.ndim}-D")
    if a.dtype != b.dtype:
        raise RuntimeError(f"{op}: expected both tensors to have the same dtype, got {a.dtype} and {b.dtype}")
    inner = b.shape[-2] if ndim > 1 else b.shape[0]
    if a.shape[:-2] != b.shape[:-2] or a.shape[-1] != inner:
        raise RuntimeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied")


def _add_scaled(op: str, t: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """``beta * t + alpha * product``, ``t`` broadcast to ``product``'s shape (``addmm`` and
    family); ``t`` is not read when ``beta`` is 0 (its NaNs do not spread)."""
    try:
        fits = np.broadcast_shapes(t.shape, product.shape) == product.shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"{op}: the input of shape {tuple(t.shape)} cannot be broadcast to the "
                           f"product's shape {tuple(product.shape)}")
    out = product if alpha == 1 else product * _value_for(alpha, product)
    return out if beta == 0 else out + (t if beta == 1 else t * _value_for(beta, t))


def _sorted(t: Tensor, dim: builtins.int, descending: builtins.bool, count=None) -> _ValuesIndices:
    """``(values, indices)`` of ``t`` sorted along ``dim`` (``sort_order``), the first ``count``
    of each slice when given; the values gathered at the indices (``GatherFn``)."""
    dim = _dim(dim, t.ndim)
    if t.ndim == 0:
        return _ValuesIndices(t.clone(), Tensor._make(np.zeros((), np.int64), False))
    order = sort_order(t.data, dim, descending)
    if count is not None:
        order = order[(slice(None),) * dim + (slice(0, count),)]
    return _ValuesIndices(GatherFn.apply(t, dim=dim, index=order), Tensor._make(order, False))


def _repeat_counts(repeats, size: builtins.int) -> np.ndarray:
    """``repeat_interleave``'s ``repeats`` (an int, or an integer tensor of 1 or ``size``
    counts, none negative) as ``size`` counts."""
    counts = np.asarray(repeats.data if isinstance(repeats, Tensor) else repeats)
    if counts.dtype.kind not in "iu":
        raise TypeError(f"repeat_interleave: repeats must be an int or an integer tensor, got {counts.dtype}")
    if counts.ndim > 1:
        raise RuntimeError(f"repeat_interleave: repeats must be 0-dim or 1-dim, got shape {counts.shape}")
    if counts.size not in (1, size):
        raise RuntimeError(f"repeat_interleave: {counts.size} repeats for a dim of size {size}; "
                           f"give one count or {size}")
    if (counts < 0).any():
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    return np.broadcast_to(counts.reshape(-1), (size,))


def where(condition, input=None, other=None) -> Tensor | tuple:  # noqa: A002 - PyTorch's names
    """``input`` where ``condition`` holds, else ``other``; gradients flow to both. They
    (tensors or numbers) are promoted to one dtype as in ``input + other``. With only
    ``condition``: ``condition.nonzero(as_tuple=True)``."""
    cond = condition if isinstance(condition, Tensor) else Tensor(condition)
    if input is None and other is None:
        return cond.nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() takes a condition alone, or a condition, input and other")
    if isinstance(other, Tensor) and not isinstance(input, Tensor):
        other, input = other._operands(input)
    else:
        input = input if isinstance(input, Tensor) else Tensor(input)
        input, other = input._operands(other)
    return WhereFn.apply(cond.data.astype(builtins.bool, copy=False), input, other)


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
    if t.ndim == 0:  # dims 0 and -1 of a 0-d tensor: the value itself, at index 0
        _dim(dim, 0)
        return _ValuesIndices(t.clone(), Tensor._make(np.zeros((), np.int64), False))
    index = _arg_extreme(t.data, argfn, dim, keepdim=True)
    values = TakeAlongDimFn.apply(t, index=index.data, dim=dim, keepdim=keepdim)
    return _ValuesIndices(values, index if keepdim else index.squeeze(dim))


class _MinMax(tuple):
    """``(min, max)`` with names, as ``aminmax`` returns."""

    min = property(lambda self: self[0])  # noqa: A003
    max = property(lambda self: self[1])  # noqa: A003

    def __new__(cls, min, max):  # noqa: A002
        return super().__new__(cls, (min, max))


class _HistogramResult(tuple):
    """``(hist, bin_edges)`` with names, as ``histogram`` returns."""

    hist = property(lambda self: self[0])
    bin_edges = property(lambda self: self[1])

    def __new__(cls, hist, bin_edges):
        return super().__new__(cls, (hist, bin_edges))


def _wrapped(arrays: list) -> Tensor | tuple:
    """``unique``'s results as tensors: one alone, several as a tuple."""
    tensors = tuple(Tensor._make(a, False) for a in arrays)
    return tensors[0] if len(tensors) == 1 else tensors


class _ValuesIndices(tuple):
    """``(values, indices)`` with names, as ``max(dim)``, ``min(dim)``, ``sort`` and ``topk`` return."""

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


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """The sum of products over the dims ``dims`` pairs up: an int ``n`` pairs ``a``'s last ``n``
    dims with ``b``'s first ``n``; ``([i, ...], [j, ...])`` pairs ``a``'s dim ``i`` with ``b``'s
    ``j``. ``a`` is permuted to ``[free, paired]`` and ``b`` to ``[paired, free]``, flattened to two
    matrices and multiplied: the gradients are ``matmul``'s, permuted back."""
    if not isinstance(b, Tensor) or a.dtype != b.dtype:
        raise RuntimeError(f"tensordot: both inputs should be tensors of the same dtype, got {a.dtype} "
                           f"and {getattr(b, 'dtype', type(b).__name__)}")
    if isinstance(dims, builtins.int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims = (list(range(a.ndim - dims, a.ndim)), list(range(dims)))
    a_dims, b_dims = (_dim_list(d, t.ndim) for d, t in zip(dims, (a, b)))
    if len(a_dims) != len(b_dims):
        raise RuntimeError(f"tensordot: both dimension lists should have the same length, got {dims}")
    for i, j in zip(a_dims, b_dims):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} in "
                               f"dim {i} and second has size {b.shape[j]} in dim {j}")
    a_free = [d for d in range(a.ndim) if d not in a_dims]
    b_free = [d for d in range(b.ndim) if d not in b_dims]
    inner = math.prod(a.shape[d] for d in a_dims)
    a2 = a.permute(a_free + a_dims).reshape(math.prod(a.shape[d] for d in a_free), inner)
    b2 = b.permute(b_dims + b_free).reshape(inner, math.prod(b.shape[d] for d in b_free))
    return (a2 @ b2).reshape(tuple(a.shape[d] for d in a_free) + tuple(b.shape[d] for d in b_free))


def chunk(t: Tensor, chunks: int, dim: int = 0) -> list[Tensor]:
    """Split into ``chunks`` pieces of equal size (the last may be smaller)."""
    return split(t, -(-t.shape[dim] // chunks), dim)


add_methods(_OpMethods)
