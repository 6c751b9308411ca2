"""Linear algebra: ``cdist``, and the matrix functions of ``nanotorch.linalg`` on ``np.linalg``.

Every op works on batches: the matrices are the last two dims. The factorizations run in
float64 inside (``float64``) and the results are rounded back to the input's dtype: a float32
LAPACK call loses digits in proportion to the matrix's condition number, a float64 one keeps
the float32 result accurate. A factorization that returns several tensors (``qr``, ``eigh``,
``svd``) makes one node per output (``part``), all sharing the arrays it computed once: the
gradient of a factorization is linear in the outputs' gradients, so each node passes back its
output's share and autograd adds the shares up.
"""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.function import Function
from nanotorch.ops.broadcast import unbroadcast


class LinAlgError(RuntimeError):
    """A matrix the operation cannot handle (singular, not positive-definite): a ``RuntimeError``,
    as PyTorch's ``torch.linalg.LinAlgError``."""


def mT(a: np.ndarray) -> np.ndarray:
    """The transpose of each matrix: the last two dims swapped."""
    return np.swapaxes(a, -1, -2)


def float64(a: np.ndarray) -> np.ndarray:
    """``a`` in float64, where the factorizations run (see the module's docstring)."""
    return a.astype(np.float64, copy=False)


def inverse(a: np.ndarray, op: str) -> np.ndarray:
    """``np.linalg.inv`` in float64, a singular matrix raising ``LinAlgError`` named for ``op``."""
    try:
        return np.linalg.inv(float64(a))
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{op}: the input matrix is singular (not invertible)") from None


def sym(a: np.ndarray) -> np.ndarray:
    """The symmetric part ``(a + a^T) / 2``."""
    return (a + mT(a)) / 2


def mv_or_mm(fn, a: np.ndarray, b: np.ndarray, vector: bool) -> np.ndarray:
    """``fn(a, b)`` where ``b`` is a (batch of) vector(s) when ``vector``, else of matrices."""
    return fn(a, b[..., None])[..., 0] if vector else fn(a, b)


class CdistFn(Function):
    """``out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p``, over broadcast batch dims.

    With ``d = x1_i - x2_j``: ``dx1_i = sum_j g_ij sign(d) |d|^(p-1) / out_ij^(p-1)`` (``p = 1``:
    ``sign(d)``; ``p = 2``: ``d / out``), 0 where ``out`` is 0 (and where ``d`` is 0 for
    ``p < 1``); ``p = inf``: ``sign(d)`` at every coordinate where ``|d|`` reaches ``out``;
    ``p = 0``: 0. ``dx2_j = -sum_i`` of the same terms.
    """

    @staticmethod
    def forward(ctx, x1, x2, p):
        diff = x1[..., :, None, :] - x2[..., None, :, :]
        absolute = np.abs(diff)
        if p == np.inf:
            out = absolute.max(axis=-1, initial=0)
        elif p == 0:
            out = (diff != 0).sum(axis=-1).astype(diff.dtype)
        else:
            out = (absolute ** p).sum(axis=-1) ** (1 / p)
        ctx.save_for_backward(diff, out)
        ctx.p, ctx.shapes = p, (x1.shape, x2.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        diff, out = ctx.saved_tensors
        p, dist = ctx.p, out[..., None]
        absolute = np.abs(diff)
        if p == 0:
            part = np.zeros_like(diff)
        elif p == np.inf:
            part = np.sign(diff) * (absolute == dist)
        elif p == 1:
            part = np.sign(diff)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                part = np.sign(diff) * absolute ** (p - 1) / dist ** (p - 1)
            part = np.where((dist == 0) | ((diff == 0) & (p < 1)), 0, part)
        part = part * grad[..., None]
        return unbroadcast(part.sum(axis=-2), ctx.shapes[0]), unbroadcast(-part.sum(axis=-3), ctx.shapes[1])


class DetFn(Function):
    """``out = det(A)``.

    ``dA = g adj(A)^T`` (``= g det(A) A^-T`` when ``A`` is invertible). With ``A = U S V^T``,
    ``adj(A)^T = det(U) det(V) U diag(c) V^T`` where ``c_i`` is the product of the singular
    values other than ``s_i``: one formula that also holds for a singular ``A``.
    """

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.linalg.det(float64(a)).astype(a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        u, s, vh = np.linalg.svd(float64(a))
        others = np.prod(np.where(np.eye(s.shape[-1], dtype=bool), 1, s[..., None, :]), axis=-1)
        sign = np.linalg.det(u) * np.linalg.det(vh)
        adj_t = (sign * grad)[..., None, None] * ((u * others[..., None, :]) @ vh)
        return adj_t.astype(a.dtype)


class LogAbsDetFn(Function):
    """``out = log|det(A)|`` (``slogdet``'s second output); ``dA = g A^-T`` (NaN for a singular ``A``)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.linalg.slogdet(float64(a))[1].astype(a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        try:
            a_inv = np.linalg.inv(float64(a))
        except np.linalg.LinAlgError:  # log|det| of a singular matrix is -inf: no slope
            a_inv = np.full(a.shape, np.nan)
        return (grad[..., None, None] * mT(a_inv)).astype(a.dtype)


class InvFn(Function):
    """``out = A^-1``; ``dA = -A^-T g A^-T`` (from ``d(A^-1) = -A^-1 dA A^-1``)."""

    @staticmethod
    def forward(ctx, a):
        out = inverse(a, "linalg.inv").astype(a.dtype)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (a_inv,) = ctx.saved_tensors
        return -mT(a_inv) @ grad @ mT(a_inv)


class SolveFn(Function):
    """``X = A^-1 B``: the solution of ``A X = B`` (``B`` a batch of vectors when ``vector``).

    ``dB = A^-T g`` (a second solve, with ``A^T``) and ``dA = -dB X^T``, each summed over the
    batch dims it was broadcast along.
    """

    @staticmethod
    def forward(ctx, a, b, vector):
        try:
            x = mv_or_mm(np.linalg.solve, float64(a), float64(b), vector)
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.solve: the input matrix A is singular (not invertible)") from None
        x = x.astype(a.dtype)
        ctx.save_for_backward(a, x)
        ctx.vector, ctx.shapes = vector, (a.shape, b.shape)
        return x

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        db = mv_or_mm(np.linalg.solve, mT(float64(a)), float64(grad), ctx.vector).astype(a.dtype)
        da = -db[..., :, None] * x[..., None, :] if ctx.vector else -db @ mT(x)
        return unbroadcast(da, ctx.shapes[0]), unbroadcast(db, ctx.shapes[1])


class CholeskyFn(Function):
    """``L`` with ``A = L L^T``, lower triangular (``upper``: ``U = L^T``, ``A = U^T U``).

    With ``phi(X)`` the lower triangle of ``X`` with its diagonal halved:
    ``dA = sym(L^-T phi(L^T g) L^-1)`` (``g`` for ``L``; for ``U`` its transpose).
    """

    @staticmethod
    def forward(ctx, a, upper):
        try:
            low = np.linalg.cholesky(float64(a)).astype(a.dtype)
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.cholesky: the input is not positive-definite") from None
        ctx.save_for_backward(low)
        ctx.upper = upper
        return mT(low) if upper else low

    @staticmethod
    def backward(ctx, grad):
        (low,) = ctx.saved_tensors
        grad = mT(grad) if ctx.upper else grad
        phi = np.tril(mT(low) @ grad)
        phi -= np.tril(np.triu(phi)) / 2  # the diagonal halved
        low_inv = inverse(low, "linalg.cholesky backward")
        return sym(mT(low_inv) @ phi @ low_inv).astype(low.dtype)


def _copyltu(m: np.ndarray) -> np.ndarray:
    """The symmetric matrix with ``m``'s lower triangle: ``tril(m) + tril(m, -1)^T``."""
    return np.tril(m) + mT(np.tril(m, -1))


def qr_gradient(q, r, gq, gr) -> np.ndarray:
    """``dA`` for ``A = Q R`` (reduced; ``gq``/``gr`` may be None for a zero gradient).

    ``m >= n``: ``dA = (gQ + Q copyltu(M)) R^-T`` with ``M = R gR^T - gQ^T Q``. ``m < n``: split
    ``A = [X | Y]``, ``R = [U | V]`` (``U`` square, ``X = Q U``, ``Y = Q V``): ``dY = Q gV``, and
    ``dX`` is the square case's with ``gQ + Y gV^T`` for ``gQ`` and ``gU`` for ``gR``.
    """
    m, n = q.shape[-2], r.shape[-1]
    gq = np.zeros_like(q) if gq is None else gq
    gr = np.zeros_like(r) if gr is None else gr
    if m < n:
        y, gv = q @ r[..., m:], gr[..., m:]
        dx = qr_gradient(q, r[..., :m], gq + y @ mT(gv), gr[..., :m])
        return np.concatenate([dx, q @ gv], axis=-1)
    c = gq + q @ _copyltu(r @ mT(gr) - mT(gq) @ q)
    return mT(np.linalg.solve(r, mT(c)))  # c R^-T


def eigh_gradient(values, vectors, gvalues, gvectors) -> np.ndarray:
    """``dA`` for ``A = V diag(L) V^T`` (``eigh``; either gradient may be None for zero).

    ``dA = sym(V (diag(gL) + F o (V^T gV)) V^T)``, with ``F_ij = 1 / (L_j - L_i)``
    off the diagonal and 0 on it (``o``: elementwise).
    """
    inner = np.zeros(vectors.shape[:-2] + values.shape[-1:] * 2, dtype=values.dtype)
    if gvectors is not None:
        gap = values[..., None, :] - values[..., :, None]
        off = ~np.eye(values.shape[-1], dtype=bool)
        with np.errstate(divide="ignore"):
            f = np.where(off, 1 / np.where(off, gap, 1), 0)
        inner = f * (mT(vectors) @ gvectors)
    if gvalues is not None:
        inner = inner + gvalues[..., None] * np.eye(values.shape[-1], dtype=values.dtype)
    return sym(vectors @ inner @ mT(vectors))


def svd_gradient(u, s, vh, gu, gs, gvh) -> np.ndarray:
    """``dA`` for ``A = U diag(S) V^T`` (``k = min(m, n)`` columns of ``U``, rows of ``V^T`` used;
    gradients may be None).

    ``J = skew(U^T gU)``, ``K = skew(V^T gV)`` (``skew(X) = X - X^T``), ``E_ij = s_j^2 - s_i^2``
    (1 on the diagonal): ``inner = (J S + S K) / E + diag(gS)``, ``dA = U inner V^T``, plus, for a
    tall ``A``, ``(I - U U^T) gU S^-1 V^T``, for a wide one, ``U S^-1 gV^T (I - V V^T)``.
    """
    k = s.shape[-1]  # full_matrices: only the first k singular vectors are unique, as in PyTorch
    u, vh = u[..., :k], vh[..., :k, :]
    gu = None if gu is None else gu[..., :k]
    gvh = None if gvh is None else gvh[..., :k, :]
    inner = np.zeros(s.shape + (k,), dtype=s.dtype)
    if gu is not None or gvh is not None:
        gap = s[..., None, :] ** 2 - s[..., :, None] ** 2
        gap = np.where(np.eye(k, dtype=bool), 1, gap)
        if gu is not None:
            j = mT(u) @ gu
            inner = inner + (j - mT(j)) * s[..., None, :] / gap
        if gvh is not None:
            kk = vh @ mT(gvh)
            inner = inner + s[..., :, None] * (kk - mT(kk)) / gap
    if gs is not None:
        inner = inner + gs[..., None] * np.eye(k, dtype=s.dtype)
    da = u @ inner @ vh
    if gu is not None and u.shape[-2] > k:
        da = da + ((gu - u @ (mT(u) @ gu)) / s[..., None, :]) @ vh
    if gvh is not None and vh.shape[-1] > k:
        da = da + u @ ((gvh - (gvh @ mT(vh)) @ vh) / s[..., :, None])
    return da


class FactorFn(Function):
    """One output (``part``) of a factorization computed once in ``factors``; the gradient is
    ``gradient(*factors, *grads)`` with this output's ``grad`` and None for the others."""

    @staticmethod
    def forward(ctx, a, factors, part, gradient):
        ctx.save_for_backward(*factors)
        ctx.part, ctx.gradient, ctx.dtype = part, gradient, a.dtype
        return factors[part].astype(a.dtype)

    @staticmethod
    def backward(ctx, grad):
        grads = [None] * len(ctx.saved_tensors)
        grads[ctx.part] = float64(grad)
        return ctx.gradient(*ctx.saved_tensors, *grads).astype(ctx.dtype)


class PinvFn(Function):
    """``P = A^+``, the pseudo-inverse, from the SVD with the singular values at most ``cutoff``
    (per matrix) treated as 0.

    ``hermitian``: ``A`` is read as the symmetric matrix of its lower triangle. For a fixed rank:
    ``dA = -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A)``.
    """

    @staticmethod
    def forward(ctx, a, cutoff, hermitian):
        a = np.tril(a) + mT(np.tril(a, -1)) if hermitian else a
        u, s, vh = np.linalg.svd(float64(a), full_matrices=False)
        keep = s > cutoff[..., None]
        with np.errstate(divide="ignore"):
            s_inv = np.where(keep, 1 / np.where(keep, s, 1), 0)
        p = (mT(vh) * s_inv[..., None, :]) @ mT(u)
        ctx.save_for_backward(a, p)
        return p.astype(a.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, p = float64(ctx.saved_tensors[0]), ctx.saved_tensors[1]
        g, pt = float64(grad), mT(p)
        left = np.eye(a.shape[-2]) - a @ p
        right = np.eye(a.shape[-1]) - p @ a
        da = -pt @ g @ pt + left @ mT(g) @ p @ pt + pt @ p @ mT(g) @ right
        return da.astype(ctx.saved_tensors[0].dtype)
