"""``nanotorch.linalg``: PyTorch's ``torch.linalg`` on NumPy's ``np.linalg``.

The matrices are the last two dims of a tensor; the dims before them are a batch. The
factorizations (their ops and gradients are in ``nanotorch.ops.linalg``) run in float64 inside
and return the input's dtype. Norms, ``cross``, ``multi_dot`` and ``matrix_power`` are built
from other ops, so autograd differentiates them. A singular or non-positive-definite matrix
raises ``LinAlgError``, a ``RuntimeError`` as in PyTorch.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from nanotorch import creation
from nanotorch.ops.linalg import (
    CholeskyFn,
    DetFn,
    FactorFn,
    InvFn,
    LinAlgError,
    LogAbsDetFn,
    PinvFn,
    SolveFn,
    eigh_gradient,
    qr_gradient,
    svd_gradient,
)
from nanotorch.ops.shape import StackFn
from nanotorch.tensor import Tensor

QR = namedtuple("QR", "Q R")
SVD = namedtuple("SVD", "U S Vh")
Eigh = namedtuple("Eigh", "eigenvalues eigenvectors")
Slogdet = namedtuple("Slogdet", "sign logabsdet")
Lstsq = namedtuple("Lstsq", "solution residuals rank singular_values")

_NAMES = {"b": "Bool", "i": "Long", "u": "Byte"}


def _check_float(op: str, a) -> Tensor:
    """``a``, which must be a float tensor (PyTorch's RuntimeError otherwise)."""
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if a.data.dtype.kind != "f":
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got {a.dtype}")
    return a


def _matrices(op: str, a, square: bool = True) -> Tensor:
    """``a``, which must be a float tensor of (a batch of) matrices, square when ``square``."""
    a = _check_float(op, a)
    if a.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")
    return a


def _dtype_arg(x: Tensor, dtype) -> Tensor:
    """``x`` in ``dtype`` when given (the norms' ``dtype=`` argument)."""
    return x if dtype is None else x.to(dtype)


# ------------------------------------------------------------------------------------- products

def matmul(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002 - PyTorch's names
    """``input @ other`` (``torch.matmul``)."""
    return input @ other


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: N803
    """The diagonal of each matrix (``torch.diagonal`` with the last two dims by default)."""
    return A.diagonal(offset, dim1, dim2)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (the batch dims broadcast):
    ``out = (a2 b3 - a3 b2, a3 b1 - a1 b3, a1 b2 - a2 b1)``. Built from indexing, ``*`` and ``-``,
    so the gradients are theirs: ``da = b x g``, ``db = g x a``."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.dtype != other.dtype:
        raise RuntimeError(f"linalg.cross: expected both inputs to have the same dtype, got "
                           f"{input.dtype} and {other.dtype}")
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. "
                           f"Got {input.shape[dim]} and {other.shape[dim]}")
    a, b = input.movedim(dim, -1), other.movedim(dim, -1)
    parts = [a[..., i] * b[..., j] - a[..., j] * b[..., i] for i, j in ((1, 2), (2, 0), (0, 1))]
    return StackFn.apply(*parts, dim=-1).movedim(-1, dim)


def multi_dot(tensors) -> Tensor:
    """``tensors[0] @ tensors[1] @ ...``: 2-D matrices, except that the first may be a row
    and the last a column vector (1-D; the result then drops that dim)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            where = "first" if i == 0 else "last" if i == len(tensors) - 1 else f"{i}-th"
            raise RuntimeError(f"multi_dot(): {'the ' if i in (0, len(tensors) - 1) else ''}{where} tensor "
                               f"must be {' or '.join(f'{n}D' for n in allowed)} but got {t.ndim}D")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{tensors[0].dtype} and tensor {i} is {t.dtype}")
    out = tensors[0]
    for t in tensors[1:]:
        if out.shape[-1] != t.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors cannot be multiplied: shapes {tuple(out.shape)} "
                               f"and {tuple(t.shape)}")
        out = out @ t
    return out


def matrix_power(A: Tensor, n: int) -> Tensor:  # noqa: N803
    """``A^n`` for an integer ``n``: the identity for 0, ``inv(A)^|n|`` for a negative ``n``;
    by repeated squaring (``A^13 = A^8 A^4 A``), so its gradient is that of the products."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.ndim > 1 else 1} by {A.shape[-1] if A.ndim else 1} matrices")
    if n == 0:
        return creation.eye(A.shape[-1], dtype=A.dtype).expand(A.shape).clone()
    if n < 0:
        A, n = inv(A), -n  # noqa: N806
    out, square = None, A
    while n:
        if n & 1:
            out = square if out is None else out @ square
        n >>= 1
        if n:
            square = square @ square
    return out


# ---------------------------------------------------------------------------------------- norms

def vector_norm(x: Tensor, ord: float = 2, dim=None, keepdim: bool = False, *,  # noqa: A002
                dtype=None) -> Tensor:
    """``(sum |x|^ord)^(1/ord)`` over ``dim`` (all dims when None); ``ord`` may be ``inf``
    (max ``|x|``), ``-inf`` (min) or 0 (the count of non-zeros). Gradient: ``NormFn``'s."""
    x = _dtype_arg(_check_float("linalg.vector_norm", x), dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return x.norm(ord, dim, keepdim)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,  # noqa: A002,N803
                dtype=None) -> Tensor:
    """A matrix norm over the two dims ``dim``: ``'fro'`` (the 2-norm of the elements),
    ``'nuc'`` (the sum of the singular values), 2 / -2 (the largest / smallest singular value),
    1 / -1 (the largest / smallest column sum of ``|A|``), ``inf`` / ``-inf`` (row sums).
    Built from ``svdvals``, ``abs``, ``sum`` and ``amax``/``amin``, whose gradients it has."""
    A = _dtype_arg(_matrices("linalg.matrix_norm", A, square=False), dtype)  # noqa: N806
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    rows, cols = (d % A.ndim for d in dim)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({rows}, {cols})")
    if ord == "fro":
        return A.norm(2, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((rows, cols), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        return out.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols)) if keepdim else out
    if ord in (1, -1, math.inf, -math.inf):
        summed, extreme = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = A.abs().sum(summed, keepdim=True)
        out = sums.amax(extreme, keepdim=True) if ord > 0 else sums.amin(extreme, keepdim=True)
        return out if keepdim else out.squeeze((rows, cols))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002,N803
    """``vector_norm`` or ``matrix_norm``: a matrix norm when ``dim`` has two dims (or, with
    ``dim`` None and ``ord`` given, when ``A`` is 2-D); with both None, the 2-norm of all elements."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None and ord is not None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                               f"1D or 2D. Got {A.ndim}D.")
        dim = tuple(range(A.ndim))
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def cond(A: Tensor, p=None) -> Tensor:  # noqa: N803
    """The condition number ``norm(A, p) norm(A^-1, p)``; for ``p`` None or 2, ``s_max / s_min``
    (-2: ``s_min / s_max``) from the singular values, which also takes non-square ``A``."""
    if p in (None, 2, -2):
        s = svdvals(A)
        return s.amax(-1) / s.amin(-1) if p != -2 else s.amin(-1) / s.amax(-1)
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


# ------------------------------------------------------------------------- determinants, solves

def det(A: Tensor) -> Tensor:  # noqa: N803
    """The determinant of each square matrix; ``dA = g adj(A)^T`` (``DetFn``)."""
    return DetFn.apply(_matrices("linalg.det", A))


def slogdet(A: Tensor) -> Slogdet:  # noqa: N803
    """``(sign, logabsdet)`` with ``det(A) = sign exp(logabsdet)``: no overflow for large
    matrices. ``sign`` (-1, 0 or 1) has no gradient; ``d logabsdet / dA = A^-T``."""
    A = _matrices("linalg.slogdet", A)  # noqa: N806
    sign = np.linalg.slogdet(A.data.astype(np.float64))[0].astype(A.data.dtype)
    return Slogdet(Tensor._make(sign, False), LogAbsDetFn.apply(A))


def inv(A: Tensor) -> Tensor:  # noqa: N803
    """``A^-1``; a singular matrix raises ``LinAlgError``. ``dA = -A^-T g A^-T`` (``InvFn``)."""
    return InvFn.apply(_matrices("linalg.inv", A))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:  # noqa: N803
    """``X`` with ``A X = B`` (``left=False``: ``X A = B``), over broadcast batch dims. ``B`` is a
    (batch of) vector(s) when it is 1-D or has ``A``'s shape without the last dim. Gradients:
    ``dB = A^-T g`` (a second solve), ``dA = -dB X^T`` (``SolveFn``)."""
    A = _matrices("linalg.solve", A)  # noqa: N806
    _check_float("linalg.solve", B)
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {A.dtype} and B of type {B.dtype} instead")
    vector = B.ndim == 1 or B.ndim == A.ndim - 1 and B.shape == A.shape[:-1]
    n = A.shape[-1]
    if vector and not left or B.shape[-1 if vector or not left else -2] != n:
        rows, cols = (B.shape[-1], 1) if vector else B.shape[-2:]
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX' if left else 'XA'} = B ({n}x{n} and {rows}x{cols})")
    if not left:  # X A = B is A^T X^T = B^T
        return SolveFn.apply(A.transpose(-2, -1), B.transpose(-2, -1), False).transpose(-2, -1)
    return SolveFn.apply(A, B, vector)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:  # noqa: N803
    """``L`` (lower triangular, positive diagonal) with ``A = L L^T`` for a symmetric
    positive-definite ``A`` (only its lower triangle is read); ``upper``: ``L^T``. Otherwise
    ``LinAlgError``. Gradient: ``CholeskyFn``'s."""
    return CholeskyFn.apply(_matrices("linalg.cholesky", A), upper)


# ------------------------------------------------------------------------------- factorizations

def _factors(A: Tensor, arrays: tuple, gradient, parts=None) -> list[Tensor]:  # noqa: N803
    """The outputs ``parts`` (default all) of a factorization of ``A`` computed as ``arrays``."""
    parts = range(len(arrays)) if parts is None else parts
    return [FactorFn.apply(A, factors=arrays, part=i, gradient=gradient) for i in parts]


def _qr_not_differentiable(mode: str):
    def gradient(*_):
        if mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                               "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                               "differentiate through linalg.qr.")
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")
    return gradient


def qr(A: Tensor, mode: str = "reduced") -> QR:  # noqa: N803
    """``A = Q R`` with orthonormal columns in ``Q`` and an upper triangular ``R`` (Householder,
    as LAPACK: the same signs as PyTorch). ``mode``: ``'reduced'`` (``Q`` ``m x k``, ``k = min(m,
    n)``), ``'complete'`` (``Q`` ``m x m``), ``'r'`` (``R`` only; ``Q`` empty). Gradient:
    ``qr_gradient`` (not for ``'r'``, nor ``'complete'`` with ``m > n``)."""
    A = _matrices("linalg.qr", A, square=False)  # noqa: N806
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
                           "(default), 'r', or 'complete'")
    m, n = A.shape[-2:]
    q, r = np.linalg.qr(A.data.astype(np.float64), mode="complete" if mode == "complete" else "reduced")
    plain = mode == "reduced" or mode == "complete" and m <= n
    q_out, r_out = _factors(A, (q, r), qr_gradient if plain else _qr_not_differentiable(mode))
    if mode == "r":
        q_out = Tensor._make(np.empty((0,), dtype=A.data.dtype), False)
    return QR(q_out, r_out)


def _lower(A: Tensor, UPLO: str) -> Tensor:  # noqa: N803
    """``A``'s float check and, for ``UPLO='U'``, its transpose: ``eigh`` reads the lower triangle."""
    A = _matrices("linalg.eigh", A)  # noqa: N806
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return A if UPLO == "L" else A.transpose(-2, -1)


def eigh(A: Tensor, UPLO: str = "L") -> Eigh:  # noqa: N803
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric ``A``,
    read from its lower (``UPLO='U'``: upper) triangle. The eigenvectors are unique only up to
    sign (and within repeated eigenvalues). Gradient: ``eigh_gradient``."""
    A = _lower(A, UPLO)  # noqa: N806
    return Eigh(*_factors(A, np.linalg.eigh(A.data.astype(np.float64)), eigh_gradient))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues of ``eigh``; gradient ``V diag(g) V^T``."""
    A = _lower(A, UPLO)  # noqa: N806
    return _factors(A, np.linalg.eigh(A.data.astype(np.float64)), eigh_gradient, parts=[0])[0]


def svd(A: Tensor, full_matrices: bool = True) -> SVD:  # noqa: N803
    """``A = U diag(S) Vh`` with descending singular values ``S``; ``full_matrices=False``
    keeps ``k = min(m, n)`` columns of ``U`` and rows of ``Vh``. The singular vectors are unique
    only up to sign. Gradient: ``svd_gradient`` (the first ``k`` columns of ``U``/rows of ``Vh``)."""
    A = _matrices("linalg.svd", A, square=False)  # noqa: N806
    arrays = np.linalg.svd(A.data.astype(np.float64), full_matrices=full_matrices)
    return SVD(*_factors(A, tuple(arrays), svd_gradient))


def svdvals(A: Tensor) -> Tensor:  # noqa: N803
    """The singular values, descending; gradient ``U diag(g) V^T``."""
    A = _matrices("linalg.svdvals", A, square=False)  # noqa: N806
    arrays = np.linalg.svd(A.data.astype(np.float64), full_matrices=False)
    return _factors(A, tuple(arrays), svd_gradient, parts=[1])[0]


def _cutoff(A: Tensor, s: np.ndarray, atol, rtol) -> np.ndarray:  # noqa: N803
    """The singular values at most ``max(atol, rtol * s_max)`` count as 0; ``rtol`` defaults
    to ``eps * max(m, n)`` (``eps`` of ``A``'s dtype) when ``atol`` is not given (or <= 0),
    else to 0."""
    atol_v = 0.0 if atol is None else np.asarray(atol.data if isinstance(atol, Tensor) else atol)
    if rtol is None:
        rtol = np.finfo(A.data.dtype).eps * max(A.shape[-2:]) if np.all(atol_v <= 0) else 0.0
    rtol_v = np.asarray(rtol.data if isinstance(rtol, Tensor) else rtol)
    s_max = s[..., 0] if s.shape[-1] else np.zeros(s.shape[:-1])
    return np.maximum(atol_v, rtol_v * s_max)


def _symmetric_from_lower(A: Tensor) -> Tensor:  # noqa: N803
    """The symmetric matrix of ``A``'s lower triangle (``hermitian=True`` reads only that)."""
    return A.tril() + A.tril(-1).transpose(-2, -1)


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:  # noqa: N803
    """The pseudo-inverse ``A^+`` from the SVD, the singular values under the cutoff (``_cutoff``)
    treated as 0; ``hermitian``: ``A`` is symmetric, read from its lower triangle. Gradient:
    ``PinvFn``'s (for a locally constant rank)."""
    A = _matrices("linalg.pinv", A, square=hermitian)  # noqa: N806
    s = np.linalg.svd(_symmetric_from_lower(A).data if hermitian else A.data.astype(np.float64),
                      compute_uv=False)
    return PinvFn.apply(A, _cutoff(A, s, atol, rtol), hermitian)


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:  # noqa: N803
    """The number of singular values above the cutoff (``_cutoff``), as int64."""
    A = _matrices("linalg.matrix_rank", A, square=hermitian)  # noqa: N806
    if hermitian:
        A = _symmetric_from_lower(A)  # noqa: N806
    s = np.linalg.svd(A.data.astype(np.float64), compute_uv=False)
    rank = (s > _cutoff(A, s, atol, rtol)[..., None]).sum(-1)
    return Tensor._make(np.asarray(rank, dtype=np.int64), False)


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> Lstsq:  # noqa: N803
    """The least-squares solution ``X`` minimising ``||A X - B||`` (the one of least norm when
    ``A`` is rank-deficient), ``pinv(A, rtol=rcond) @ B``, so its gradient is ``pinv``'s and
    ``matmul``'s. As PyTorch's default driver ``'gelsy'``: ``rank`` is computed, ``residuals``
    and ``singular_values`` are empty. ``B`` is a (batch of) vector(s) when it has one dim fewer."""
    if driver not in (None, "gelsy"):
        raise NotImplementedError(f"linalg.lstsq: driver={driver!r}: only the default 'gelsy' is implemented")
    A = _matrices("linalg.lstsq", A, square=False)  # noqa: N806
    _check_float("linalg.lstsq", B)
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.lstsq: Expected input and other to have the same dtype, "
                           f"but got {A.dtype} and {B.dtype}")
    vector = B.ndim == A.ndim - 1
    if B.shape[-1 if vector else -2] != A.shape[-2]:
        raise RuntimeError(f"linalg.lstsq: input.size(-2) should match other.size(-{1 if vector else 2})")
    p = pinv(A, rtol=rcond)
    solution = (p @ B.unsqueeze(-1)).squeeze(-1) if vector else p @ B
    empty = Tensor._make(np.empty((0,), dtype=A.data.dtype), False)
    return Lstsq(solution, empty, matrix_rank(A, rtol=rcond), empty)


__all__ = ["LinAlgError", "matmul", "diagonal", "cross", "multi_dot", "matrix_power", "vector_norm",
           "matrix_norm", "norm", "cond", "det", "slogdet", "inv", "solve", "cholesky", "qr", "eigh",
           "eigvalsh", "svd", "svdvals", "pinv", "matrix_rank", "lstsq"]
