"""Tensor's products and linear algebra, added to ``Tensor`` by ``tensor_methods.py``: ``@``
(``matmul``), ``mm``, ``bmm``, ``dot``, ``mv``, ``outer``, ``inner``, ``kron``, the
``addmm`` family, ``vdot``, ``dist``, and ``det``/``inverse``/``pinverse`` ... (which call
``nanotorch.linalg``); and the function ``tensordot``.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from nanotorch import linalg
from nanotorch.ops.arithmetic import MatMulFn
from nanotorch.tensor import Tensor
from nanotorch.tensor_args import _dim_list, _value_for
from nanotorch.tensor_indexing import where


class _LinalgMethods:
    """Added to ``Tensor`` by ``tensor_methods.py`` (``add_methods``)."""

    # -------------------------------------------------------- products
    def __matmul__(self, other) -> Tensor:
        return MatMulFn.apply(*self._operands(other))

    def __rmatmul__(self, other) -> Tensor:
        a, b = self._operands(other)
        return MatMulFn.apply(b, a)

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
