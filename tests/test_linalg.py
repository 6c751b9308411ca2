"""``nanotorch.linalg`` and the linear-algebra tensor functions (kron, tensordot, addmm, cdist, ...):
known answers, gradcheck in float64, PyTorch's errors, and (with torch installed) values and
gradients against PyTorch. Decompositions are compared on what is unique: reconstructions,
singular values, eigenvalues, and sign-invariant functions of the vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import linalg as LA  # noqa: N812
from nanotorch.autograd.gradcheck import gradcheck

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def spd(n: int, dtype=np.float32) -> np.ndarray:
    a = RNG.standard_normal((n, n))
    return (a @ a.T + n * np.eye(n)).astype(dtype)


def symmetric(n: int, dtype=np.float32) -> np.ndarray:
    a = RNG.standard_normal((n, n))
    return (a + a.T).astype(dtype)


def t64(a) -> nt.Tensor:
    return nt.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def close(got, expected, tol=1e-5) -> None:
    np.testing.assert_allclose(got.detach().numpy() if hasattr(got, "detach") else got, expected,
                               rtol=tol, atol=tol)


# ----------------------------------------------------------------------------------- known answers

def test_products_known_answers():
    close(nt.kron(nt.tensor([[1.0, 2.0]]), nt.tensor([1.0, 10.0])), [[1, 10, 2, 20]])
    close(nt.tensordot(nt.tensor([[1.0, 2.0], [3.0, 4.0]]), nt.tensor([[1.0, 0.0], [0.0, 1.0]])), 5)
    close(nt.tensordot(nt.tensor([1.0, 2.0]), nt.tensor([3.0, 4.0]), dims=0), [[3, 4], [6, 8]])
    close(nt.inner(nt.tensor([[1.0, 2.0], [3.0, 4.0]]), nt.tensor([1.0, 1.0])), [3, 7])
    close(nt.mv(nt.tensor([[1.0, 2.0], [3.0, 4.0]]), nt.tensor([1.0, -1.0])), [-1, -1])
    eye = nt.eye(2)
    close(nt.addmm(nt.tensor([1.0, 2.0]), eye, eye * 3, beta=2, alpha=0.5), [[3.5, 4], [2, 5.5]])
    close(nt.addmm(nt.full((2, 2), math.nan), eye, eye, beta=0), np.eye(2))  # beta=0 ignores NaNs
    close(nt.addmv(nt.ones(2), eye, nt.tensor([1.0, 2.0]), alpha=-1), [0, -1])
    close(nt.addbmm(nt.zeros(2, 2), nt.stack([eye, eye]), nt.stack([eye, eye])), 2 * np.eye(2))
    close(nt.baddbmm(nt.ones(1), nt.stack([eye]), nt.stack([eye])), [[[2, 1], [1, 2]]])
    close(nt.linalg.cross(nt.tensor([1.0, 0.0, 0.0]), nt.tensor([0.0, 1.0, 0.0])), [0, 0, 1])
    close(nt.cross(nt.tensor([[0.0], [1.0], [0.0]]), nt.tensor([[0.0], [0.0], [1.0]])), [[1], [0], [0]])
    x1, x2 = nt.tensor([[0.0, 0.0]]), nt.tensor([[3.0, 4.0], [0.0, 0.0]])
    for p, expected in ((2, [[5, 0]]), (1, [[7, 0]]), (math.inf, [[4, 0]]), (0, [[2, 0]]),
                        (3, [[91 ** (1 / 3), 0]])):
        close(nt.cdist(x1, x2, p), expected)
    jordan = nt.tensor([[1.0, 1.0], [0.0, 1.0]])
    close(nt.linalg.matrix_power(jordan, 5), [[1, 5], [0, 1]])
    close(nt.linalg.matrix_power(jordan, -2), [[1, -2], [0, 1]])
    close(jordan.matrix_power(0), np.eye(2))
    close(nt.linalg.multi_dot([nt.tensor([1.0, 2.0]), jordan, nt.tensor([1.0, 1.0])]), 4)
    close(nt.chain_matmul(jordan, jordan, jordan), [[1, 3], [0, 1]])
    close(nt.vdot(nt.tensor([1.0, 2.0]), nt.tensor([3.0, 4.0])), 11)
    close(nt.dist(nt.tensor([1.0, 1.0]), nt.tensor([4.0, 5.0])), 5)
    close(nt.dist(nt.tensor([1.0, 1.0]), nt.tensor([4.0, 5.0]), math.inf), 4)


def test_matrix_functions_known_answers():
    d = nt.tensor([[-2.0, 0.0], [0.0, 3.0]])
    close(LA.det(d), -6)
    close(nt.det(nt.tensor([[1.0, 2.0], [2.0, 4.0]])), 0)
    sign, logabsdet = LA.slogdet(d)
    close(sign, -1), close(logabsdet, math.log(6))
    assert math.isnan(nt.logdet(d).item())
    close(LA.inv(d), [[-0.5, 0], [0, 1 / 3]])
    close(LA.solve(d, nt.tensor([2.0, 3.0])), [-1, 1])
    close(LA.solve(d, nt.tensor([[2.0, 3.0]]), left=False), [[-1, 1]])
    close(LA.cholesky(nt.tensor([[4.0, 2.0], [2.0, 5.0]])), [[2, 0], [1, 2]])
    close(LA.cholesky(nt.tensor([[4.0, 2.0], [2.0, 5.0]]), upper=True), [[2, 1], [0, 2]])
    close(LA.eigvalsh(nt.tensor([[2.0, 1.0], [1.0, 2.0]])), [1, 3])
    values, vectors = LA.eigh(nt.tensor([[2.0, 1.0], [1.0, 2.0]]))
    close(vectors.abs(), np.full((2, 2), 0.5 ** 0.5))
    close(LA.svdvals(d), [3, 2])
    close(LA.pinv(nt.tensor([[2.0, 0.0], [0.0, 0.0]])), [[0.5, 0], [0, 0]])
    close(LA.matrix_rank(nt.tensor([[1.0, 2.0], [2.0, 4.0]])), 1)
    close(LA.lstsq(nt.tensor([[1.0], [1.0]]), nt.tensor([[1.0], [3.0]])).solution, [[2]])
    m = nt.tensor([[1.0, -2.0], [3.0, 4.0]])
    for ord, expected in (("fro", 30 ** 0.5), (1, 6), (-1, 4), (math.inf, 7), (-math.inf, 3)):
        close(LA.matrix_norm(m, ord), expected)
    close(LA.norm(m), 30 ** 0.5), close(LA.norm(nt.tensor([3.0, -4.0]), 1), 7)
    close(LA.vector_norm(m, math.inf), 4), close(LA.cond(d), 1.5)
    close(LA.diagonal(m), [1, 4]), close(LA.matmul(m, nt.eye(2)), m.numpy())


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 4), (2, 4, 3)])
def test_factorizations_reconstruct(shape):
    a = rand(*shape, dtype=np.float64)
    q, r = LA.qr(nt.tensor(a))
    close(q @ r, a), close(q.transpose(-2, -1) @ q, np.eye(q.shape[-1]) + np.zeros(q.shape[:-2] + (1, 1)))
    assert np.allclose(np.tril(r.numpy(), -1), 0)
    u, s, vh = LA.svd(nt.tensor(a), full_matrices=False)
    close((u * s.unsqueeze(-2)) @ vh, a)
    u, s, vh = LA.svd(nt.tensor(a))
    assert u.shape[-1] == u.shape[-2] and vh.shape[-1] == vh.shape[-2]
    close(LA.pinv(nt.tensor(a)), np.linalg.pinv(a))
    assert LA.qr(nt.tensor(a.astype(np.float32))).Q.dtype == nt.float32


# ----------------------------------------------------------------------------------------- gradcheck

def _sign_free(u) -> nt.Tensor:
    """A function of the columns of ``u`` that does not change when a column changes sign."""
    return (u * u * nt.tensor(np.arange(1.0, u.shape[-1] + 1))).sum(-2)


GRADCHECKS = {
    "det": (lambda a: LA.det(a), [rand(3, 3)]),
    "det_singular": (lambda a: LA.det(a), [np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])]),
    "logabsdet": (lambda a: LA.slogdet(a).logabsdet, [rand(2, 3, 3)]),
    "inv": (lambda a: LA.inv(a), [rand(2, 3, 3) + 3 * np.eye(3)]),
    "solve": (lambda a, b: LA.solve(a, b), [rand(3, 3) + 3 * np.eye(3), rand(2, 3, 2)]),
    "solve_vector": (lambda a, b: LA.solve(a, b), [rand(2, 3, 3) + 3 * np.eye(3), rand(3)]),
    "cholesky": (lambda a: LA.cholesky(a @ a.transpose(-2, -1)), [rand(3, 3) + 3 * np.eye(3)]),
    "cholesky_upper": (lambda a: LA.cholesky(a @ a.transpose(-2, -1), upper=True),
                       [rand(3, 3) + 3 * np.eye(3)]),
    "qr_tall": (lambda a: LA.qr(a), [rand(4, 3)]),
    "qr_wide": (lambda a: LA.qr(a), [rand(2, 3, 4)]),
    "eigh": (lambda a: (LA.eigh(a + a.transpose(-2, -1))[0], _sign_free(LA.eigh(a + a.transpose(-2, -1))[1])),
             [rand(2, 3, 3)]),
    "svd": (lambda a: (lambda r: (r.S, _sign_free(r.U), _sign_free(r.Vh.transpose(-2, -1))))(
        LA.svd(a, False)), [rand(4, 3)]),
    "svd_wide": (lambda a: (lambda r: (r.U * r.S.unsqueeze(-2)) @ r.Vh)(LA.svd(a, False)), [rand(3, 4)]),
    "pinv": (lambda a: LA.pinv(a), [rand(4, 3)]),
    "cdist_2": (lambda a, b: nt.cdist(a, b), [rand(2, 3, 2), rand(4, 2)]),
    "cdist_3": (lambda a, b: nt.cdist(a, b, 3), [rand(3, 2), rand(4, 2)]),
    "cdist_inf": (lambda a, b: nt.cdist(a, b, math.inf), [rand(3, 2), rand(4, 2)]),
    "cross": (lambda a, b: LA.cross(a, b), [rand(2, 3), rand(1, 3)]),
    "kron": (lambda a, b: nt.kron(a, b), [rand(2, 3), rand(2, 1, 2)]),
    "tensordot": (lambda a, b: nt.tensordot(a, b, ([0, 2], [1, 0])), [rand(2, 3, 4), rand(4, 2, 5)]),
    "addmm": (lambda x, a, b: nt.addmm(x, a, b, beta=0.5, alpha=2), [rand(3), rand(2, 4), rand(4, 3)]),
    "baddbmm": (lambda x, a, b: nt.baddbmm(x, a, b, beta=2), [rand(2, 1), rand(3, 2, 4), rand(3, 4, 2)]),
    "matrix_power": (lambda a: LA.matrix_power(a, -3), [rand(3, 3) + 3 * np.eye(3)]),
    "matrix_norm_nuc": (lambda a: LA.matrix_norm(a, "nuc"), [rand(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, arrays = GRADCHECKS[name]
    assert gradcheck(fn, [t64(a) for a in arrays], atol=1e-6, rtol=1e-4)


def test_qr_and_svd_parts_sum_their_gradients():
    a = t64(rand(3, 3))
    q, r = LA.qr(a)
    (q.sum() + r.sum()).backward()
    both = a.grad.numpy().copy()
    a.grad = None
    LA.qr(a).Q.sum().backward()
    from_q = a.grad.numpy().copy()
    a.grad = None
    LA.qr(a).R.sum().backward()
    np.testing.assert_allclose(both, from_q + a.grad.numpy())


# ---------------------------------------------------------------------------------------- errors

def test_errors():
    singular = nt.ones(3, 3)
    with pytest.raises(RuntimeError, match="singular"):
        LA.inv(singular)
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.solve(singular, nt.ones(3))
    with pytest.raises(RuntimeError, match="positive-definite"):
        LA.cholesky(-nt.eye(3))
    with pytest.raises(RuntimeError, match="square"):
        LA.det(nt.ones(2, 3))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.inv(nt.ones(3))
    with pytest.raises(RuntimeError, match="floating point"):
        LA.eigh(nt.ones(2, 2, dtype=nt.int64))
    with pytest.raises(RuntimeError, match="Incompatible shapes"):
        LA.solve(nt.eye(3), nt.ones(2, 3))
    with pytest.raises(RuntimeError, match="contracted dimensions"):
        nt.tensordot(nt.ones(2, 3), nt.ones(4, 4), 1)
    with pytest.raises(RuntimeError, match="same dtype"):
        nt.inner(nt.ones(3), nt.ones(3, dtype=nt.float64))
    with pytest.raises(RuntimeError, match="size mismatch"):
        nt.mv(nt.ones(2, 3), nt.ones(4))
    with pytest.raises(RuntimeError, match="broadcast"):
        nt.addmm(nt.ones(4), nt.ones(2, 3), nt.ones(3, 3))
    with pytest.raises(RuntimeError, match="length 3"):
        LA.cross(nt.ones(3, 4), nt.ones(3, 4))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        LA.cross(nt.ones(2, 3), nt.ones(5, 1, 3))
    with pytest.raises(RuntimeError, match="non-negative p"):
        nt.cdist(nt.ones(2, 3), nt.ones(4, 3), p=-1)
    with pytest.raises(RuntimeError, match="same number of columns"):
        nt.cdist(nt.ones(2, 3), nt.ones(4, 2))
    with pytest.raises(RuntimeError, match="at least 2 tensors"):
        LA.multi_dot([nt.ones(3, 3)])
    with pytest.raises(RuntimeError, match="square"):
        LA.matrix_power(nt.ones(3, 2), 2)
    with pytest.raises(RuntimeError, match="Order 3 not supported"):
        LA.matrix_norm(nt.ones(3, 3), 3)
    with pytest.raises(RuntimeError, match="floating point"):
        nt.dist(nt.ones(3, dtype=nt.int64), nt.ones(3, dtype=nt.int64))
    with pytest.raises(RuntimeError, match="mode='r'"):
        LA.qr(t64(rand(3, 3)), mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="not differentiable"):
        LA.qr(t64(rand(4, 3)), mode="complete").Q.sum().backward()


# ------------------------------------------------------------------------------------ against torch

def _torch_cases():
    """``(name, nanotorch fn, torch fn, input arrays)``; the fns take the library's tensors."""
    f = rand
    cases = [
        ("det", lambda L, a: L.linalg.det(a), [f(2, 4, 4)]),
        ("logabsdet", lambda L, a: L.linalg.slogdet(a)[1], [f(3, 3)]),
        ("inv", lambda L, a: L.linalg.inv(a), [f(2, 3, 3)]),
        ("solve", lambda L, a, b: L.linalg.solve(a, b), [f(2, 3, 3), f(4, 1, 3, 2)]),
        ("solve_vector", lambda L, a, b: L.linalg.solve(a, b), [f(2, 3, 3), f(2, 3)]),
        ("solve_right", lambda L, a, b: L.linalg.solve(a, b, left=False), [f(3, 3), f(5, 3)]),
        ("cholesky", lambda L, a: L.linalg.cholesky(a), [spd(4)]),
        ("cholesky_upper", lambda L, a: L.linalg.cholesky(a, upper=True), [spd(4)]),
        ("eigvalsh", lambda L, a: L.linalg.eigvalsh(a), [f(4, 4)]),
        ("eigh_vectors", lambda L, a: (lambda v: v[..., :2] * v[..., :2])(L.linalg.eigh(a, "U")[1]),
         [symmetric(4)]),
        ("pinv_hermitian", lambda L, a: L.linalg.pinv(a, hermitian=True), [symmetric(4)]),
        ("lstsq", lambda L, a, b: L.linalg.lstsq(a, b).solution, [f(5, 3), f(5, 2)]),
        ("lstsq_vector", lambda L, a, b: L.linalg.lstsq(a, b).solution, [f(2, 3, 5), f(2, 3)]),
        ("logdet", lambda L, a: L.logdet(a), [spd(3)]),
        ("kron", lambda L, a, b: L.kron(a, b), [f(2, 1, 3), f(2, 2)]),
        ("tensordot", lambda L, a, b: L.tensordot(a, b, ([0, 2], [1, 0])), [f(2, 3, 4), f(4, 2, 5)]),
        ("inner", lambda L, a, b: L.inner(a, b), [f(2, 3), f(4, 5, 3)]),
        ("mv", lambda L, a, b: L.mv(a, b), [f(2, 3), f(3)]),
        ("addmm", lambda L, x, a, b: L.addmm(x, a, b, beta=0.5, alpha=2), [f(3), f(2, 4), f(4, 3)]),
        ("addmv", lambda L, x, a, b: L.addmv(x, a, b, beta=2, alpha=-1), [f(2), f(2, 4), f(4)]),
        ("addbmm", lambda L, x, a, b: L.addbmm(x, a, b, beta=2, alpha=3), [f(2, 1), f(5, 2, 4), f(5, 4, 3)]),
        ("baddbmm", lambda L, x, a, b: L.baddbmm(x, a, b, alpha=3), [f(3), f(5, 2, 4), f(5, 4, 3)]),
        ("cross", lambda L, a, b: L.linalg.cross(a, b), [f(4, 3), f(1, 3)]),
        ("cross_dim", lambda L, a, b: L.cross(a, b, dim=0), [f(3, 4), f(3, 4)]),
        ("multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [f(3), f(3, 4), f(4, 2)]),
        ("vdot", lambda L, a, b: L.vdot(a, b), [f(3), f(3)]),
        ("vector_norm", lambda L, a: L.linalg.vector_norm(a, 3.5, dim=(0, 2)), [f(2, 3, 4)]),
        ("norm_all", lambda L, a: L.linalg.norm(a), [f(2, 3, 4)]),
        ("norm_vector_dim", lambda L, a: L.linalg.norm(a, dim=1), [f(2, 3, 4)]),
    ]
    for shape in [(5, 3), (3, 3), (3, 5), (2, 4, 3)]:
        cases += [
            (f"qr_Q{shape}", lambda L, a: L.linalg.qr(a)[0], [f(*shape)]),
            (f"qr_R{shape}", lambda L, a: L.linalg.qr(a)[1], [f(*shape)]),
            (f"svdvals{shape}", lambda L, a: L.linalg.svdvals(a), [f(*shape)]),
            (f"svd_UUt{shape}", lambda L, a: (lambda u: u @ u.transpose(-2, -1))(L.linalg.svd(a, False)[0]),
             [f(*shape)]),
            (f"svd_UVh{shape}", lambda L, a: (lambda r: r[0] @ r[2])(L.linalg.svd(a, False)), [f(*shape)]),
            (f"svd_full{shape}", lambda L, a: (lambda r: r[0][..., :1] * r[2][..., :1, :])(L.linalg.svd(a)),
             [f(*shape)]),
            (f"pinv{shape}", lambda L, a: L.linalg.pinv(a), [f(*shape)]),
        ]
    for p in [0, 1, 2, 3, 0.5, math.inf]:
        x1, x2 = np.round(f(2, 5, 3), 1), np.round(f(4, 3), 1)
        x2[0] = x1[0, 0]  # a zero distance
        cases.append((f"cdist_p{p}", lambda L, a, b, p=p: L.cdist(a, b, p), [x1, x2]))
    for n in [1, 2, 5, -1, -3]:
        cases.append((f"matrix_power{n}", lambda L, a, n=n: L.linalg.matrix_power(a, n), [f(2, 3, 3)]))
    for p in [2, 1, 3, math.inf]:
        cases.append((f"dist_p{p}", lambda L, a, b, p=p: L.dist(a, b, p), [f(2, 3), f(3)]))
    for ord in ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf]:
        cases += [
            (f"matrix_norm{ord}", lambda L, a, o=ord: L.linalg.matrix_norm(a, o), [f(2, 3, 4)]),
            (f"matrix_norm{ord}_dims",
             lambda L, a, o=ord: L.linalg.matrix_norm(a, o, dim=(2, 0), keepdim=True), [f(3, 2, 4)]),
        ]
    for p in [None, 2, -2]:
        cases.append((f"cond{p}", lambda L, a, p=p: L.linalg.cond(a, p), [f(2, 3, 3)]))
    return cases


TORCH_CASES = _torch_cases()


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_against_torch(case):
    torch = pytest.importorskip("torch")
    _, fn, arrays = case
    ours = [nt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = fn(nt, *ours), fn(torch, *theirs)
    assert out.dtype == nt.float32
    close(out, expected.detach().numpy(), tol=1e-4)
    weight = RNG.standard_normal(tuple(expected.shape)).astype(np.float32)
    (out * nt.tensor(weight)).sum().backward()
    (expected * torch.tensor(weight)).sum().backward()
    for a, b in zip(ours, theirs):
        got = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
        close(got, np.zeros(a.shape) if b.grad is None else b.grad.numpy(), tol=1e-4)


def test_errors_match_torch_types():
    torch = pytest.importorskip("torch")
    cases = [
        (lambda L: L.linalg.inv(L.zeros(3, 3))),
        (lambda L: L.linalg.cholesky(-L.eye(3))),
        (lambda L: L.linalg.det(L.ones(2, 3))),
        (lambda L: L.linalg.solve(L.ones(3, 3), L.ones(3))),
        (lambda L: L.cdist(L.ones(3), L.ones(4, 3))),
        (lambda L: L.linalg.matrix_power(L.ones(3, 3), -1)),
    ]
    for case in cases:
        with pytest.raises(RuntimeError) as theirs:
            case(torch)
        with pytest.raises(RuntimeError) as ours:
            case(nt)
        assert isinstance(theirs.value, torch.linalg.LinAlgError) == isinstance(ours.value, LA.LinAlgError)


def test_rank_and_lstsq_outputs_match_torch():
    torch = pytest.importorskip("torch")
    for a in (np.ones((2, 4, 3), np.float32), rand(5, 3), rand(3, 5)):
        assert LA.matrix_rank(nt.tensor(a)).tolist() == torch.linalg.matrix_rank(torch.tensor(a)).tolist()
    ours = LA.lstsq(nt.ones(5, 3), nt.ones(5, 2))
    theirs = torch.linalg.lstsq(torch.ones(5, 3), torch.ones(5, 2))
    assert ours.rank.item() == theirs.rank.item()
    assert tuple(ours.residuals.shape) == tuple(theirs.residuals.shape)
    assert tuple(ours.singular_values.shape) == tuple(theirs.singular_values.shape)
