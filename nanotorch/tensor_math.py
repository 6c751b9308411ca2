"""Tensor's arithmetic and elementwise math, added to ``Tensor`` by ``tensor_methods.py``: the
operators (``x + y``, ``x ** 2``, ``-x``, ``x % y`` ...) and ``add``/``sub``/``mul``/``div``,
the math functions (``exp``, ``log``, ``sin``, ``clamp``, ``lerp``, ``addcmul`` ...) and their
in-place forms (``clamp_``, ``exp_`` ...). Each calls an op class of ``nanotorch.ops``
(``arithmetic``, ``pointwise``, ``unary``, ``binary``), where forward and backward are written out.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch import _dtype
from nanotorch.ops.arithmetic import (
    AddFn,
    DivFn,
    FloorDivideFn,
    FmodFn,
    MulFn,
    NegFn,
    PowFn,
    PowScalarFn,
    RemainderFn,
    RSubFn,
    SubFn,
)
from nanotorch.ops.binary import CopySignFn, FmaxFn, FminFn, HypotFn, LerpFn, LogAddExpFn, XLogYFn
from nanotorch.ops.pointwise import (
    AbsFn,
    ClampFn,
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
from nanotorch.tensor import Tensor
from nanotorch.tensor_args import _check_floating, _tensor_arg, _value_for
from nanotorch.tensor_promotion import SCALARS, result_type


class _MathMethods:
    """Added to ``Tensor`` by ``tensor_methods.py`` (``add_methods``)."""

    # ------------------------------------------------------------ operators
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

    def __neg__(self) -> Tensor:
        return NegFn.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return AbsFn.apply(self)

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

    def neg(self) -> Tensor:
        return -self

    # ------------------------------------------------------------ in place (``_apply_``: tensor_methods.py)
    def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
        return self._apply_(_MathMethods.clamp, min, max)

    clip_ = clamp_

    def relu_(self) -> Tensor:
        return self._apply_(_MathMethods.relu)

    def exp_(self) -> Tensor:
        return self._apply_(_MathMethods.exp)

    def sqrt_(self) -> Tensor:
        return self._apply_(_MathMethods.sqrt)

    def abs_(self) -> Tensor:
        return self._apply_(_MathMethods.abs)

    def neg_(self) -> Tensor:
        return self._apply_(_MathMethods.__neg__)

    def pow_(self, exponent) -> Tensor:
        return self._apply_(_MathMethods.__pow__, exponent)

    def sigmoid_(self) -> Tensor:
        return self._apply_(_MathMethods.sigmoid)

    def tanh_(self) -> Tensor:
        return self._apply_(_MathMethods.tanh)

    def floor_(self) -> Tensor:
        return self._apply_(_MathMethods.floor)

    def lerp_(self, end: Tensor, weight) -> Tensor:
        return self._apply_(_MathMethods.lerp, end, weight)

    def addcmul_(self, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
        return self._apply_(lambda t, a, b: t.addcmul(a, b, value=value), tensor1, tensor2)

    def addcdiv_(self, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
        return self._apply_(lambda t, a, b: t.addcdiv(a, b, value=value), tensor1, tensor2)


def _dtype_of(x) -> np.dtype:
    """The dtype of a tensor, or PyTorch's for a number (``result_type`` of it alone)."""
    return x.dtype if isinstance(x, Tensor) else result_type(x)


def _float_pair(op: str, a: Tensor, b) -> tuple:
    """``a`` and the tensor ``b`` promoted to one dtype, which must be a float dtype."""
    a, b = a._operands(_tensor_arg(op, b))
    _check_floating(op, a)
    return a, b


def _float_operands(a: Tensor, b) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` (a tensor or a number) as two tensors of their float result dtype."""
    a, b = a._operands(b, divide=True)
    return a, b if isinstance(b, Tensor) else Tensor(b, dtype=a.dtype)


def _check_lerp(start: Tensor, end, weight) -> None:
    """``lerp``'s rules: float tensors ``start`` and ``end`` of one dtype, and a ``weight`` of it
    unless it is a number or 0-d."""
    _check_floating("lerp", start)
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t.dtype != start.dtype and (name == "end" or t.ndim):
            raise RuntimeError(f"lerp: expected dtype {start.dtype} for `{name}` but got dtype {t.dtype}")
    if not isinstance(end, Tensor):
        raise TypeError(f"lerp(): argument 'end' must be Tensor, not {type(end).__name__}")
