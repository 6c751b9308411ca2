"""The table of differentiable ops, one line each, and the checks run over it.

An op is written once as ``fn(lib, *tensors)`` using the PyTorch API, so the same line runs
on NanoTorch (``lib = nt``) and on PyTorch (``lib = torch``), and, where NumPy spells it the
same way, on NumPy arrays as the forward reference (``lib = np``); otherwise ``ref`` gives the
NumPy reference. ``tests/test_ops.py`` checks forward against NumPy and backward with
``gradcheck``; ``tests/test_torch_parity.py`` compares both with PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pytest

import nanotorch as nt

# Input shapes: one tuple of shapes per case. Broadcasting cases cover equal shapes,
# prepended dims, size-1 dims on either side, and 0-d operands.
BINARY = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1, 3), (2, 1)),
          ((), (2, 3)), ((2, 3), ())]
UNARY = [((3, 4),), ((),), ((2, 1, 3),)]
MATRIX = [((3, 4),), ((2, 3, 4),)]  # for reductions and shape ops along dims 0 and 1
INDEXED = [((3, 4),), ((3, 2, 4),)]  # for indexing: size 3 along dim 0, at least 4 along dim -1
MATMUL = [((4,), (4,)), ((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((2, 3, 4), (4, 2)),
          ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3))]


@dataclass(frozen=True)
class Op:
    """One op: ``fn(lib, *xs)``; NumPy reference ``ref(*arrays)`` (default ``fn(np, ...)``);
    ``domain`` of the random inputs: ``real``, ``pos`` (0.5 to 2), or ``grid`` (values at
    least 0.1 from 0 and from +-0.5, all distinct: away from kinks and ties)."""

    name: str
    fn: Callable
    ref: Callable | None = None
    domain: str = "real"

    def reference(self, *arrays: np.ndarray):
        return self.ref(*arrays) if self.ref is not None else self.fn(np, *arrays)


def op(name: str, fn: Callable, shapes: list, ref: Callable | None = None, domain: str = "real") -> list:
    """One pytest case per input-shape tuple."""
    spec = Op(name, fn, ref, domain)
    return [pytest.param(spec, s, id=f"{name}-{'-'.join(map(str, s)).replace(' ', '')}") for s in shapes]


def make_inputs(shapes: Sequence[tuple], domain: str = "real", seed: int = 0) -> list[np.ndarray]:
    """Random float64 arrays of the given shapes (see ``Op.domain``)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for k, shape in enumerate(shapes):
        if domain == "pos":
            a = rng.uniform(0.5, 2.0, shape)
        elif domain == "grid":
            n = int(np.prod(shape))
            a = ((rng.permutation(n) - n // 2) * 0.5 + 0.1 + 0.25 * k).reshape(shape)
        else:
            a = rng.uniform(-2.0, 2.0, shape)
        arrays.append(np.asarray(a, dtype=np.float64))
    return arrays


def outputs(result) -> list:
    """An op's result as a list (ops like ``split`` and ``max(dim)`` return several)."""
    return list(result) if isinstance(result, (list, tuple)) else [result]


def assert_matches(got, expected, rtol: float = 1e-7, atol: float = 1e-10) -> None:
    """Tensors (NanoTorch or PyTorch) ``got`` equal arrays ``expected`` in shape and value."""
    got, expected = outputs(got), outputs(expected)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g = g.detach().numpy() if hasattr(g, "detach") else np.asarray(g)
        e = e.detach().numpy() if hasattr(e, "detach") else np.asarray(e)
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


def check_op(spec: Op, shapes: tuple) -> None:
    """Forward against NumPy in float64, float32 kept as float32, backward by gradcheck."""
    arrays = make_inputs(shapes, spec.domain)
    xs = [nt.tensor(a, dtype=nt.float64, requires_grad=True) for a in arrays]
    out = spec.fn(nt, *xs)
    assert all(o.dtype == nt.float64 for o in outputs(out) if o.dtype.kind == "f")
    assert_matches(out, spec.reference(*arrays))

    xs32 = [nt.tensor(a, requires_grad=True) for a in arrays]
    out32 = spec.fn(nt, *xs32)
    assert all(o.dtype == nt.float32 for o in outputs(out32) if o.dtype.kind == "f")
    assert_matches(out32, spec.reference(*arrays), rtol=1e-5, atol=1e-5)

    assert nt.autograd.gradcheck(lambda *t: spec.fn(nt, *t), xs)


def _softmax(a: np.ndarray, dim: int) -> np.ndarray:
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


# fmt: off
OPS = [
    # arithmetic, with broadcasting, numbers on either side, and reflected forms
    *op("add", lambda m, a, b: a + b, BINARY),
    *op("sub", lambda m, a, b: a - b, BINARY),
    *op("mul", lambda m, a, b: a * b, BINARY),
    *op("div", lambda m, a, b: a / b, BINARY, domain="pos"),
    *op("pow", lambda m, a, b: a ** b, BINARY, domain="pos"),
    *op("add_number", lambda m, a: a + 2, UNARY),
    *op("rsub_number", lambda m, a: 2 - a, UNARY),
    *op("mul_number", lambda m, a: 3 * a, UNARY),
    *op("div_number", lambda m, a: a / 4, UNARY),
    *op("rdiv_number", lambda m, a: 2 / a, UNARY, domain="pos"),
    *op("pow_2", lambda m, a: a ** 2, UNARY),
    *op("pow_half", lambda m, a: a ** 0.5, UNARY, domain="pos"),
    *op("pow_neg", lambda m, a: a ** -1.5, UNARY, domain="pos"),
    *op("rpow", lambda m, a: 2 ** a, UNARY),
    *op("neg", lambda m, a: -a, UNARY),
    *op("matmul", lambda m, a, b: a @ b, MATMUL),
    # pointwise
    *op("exp", lambda m, a: m.exp(a), UNARY),
    *op("log", lambda m, a: m.log(a), UNARY, domain="pos"),
    *op("sqrt", lambda m, a: m.sqrt(a), UNARY, domain="pos"),
    *op("abs", lambda m, a: m.abs(a), UNARY, domain="grid"),
    *op("relu", lambda m, a: a.relu(), UNARY, ref=lambda a: np.maximum(a, 0), domain="grid"),
    *op("sigmoid", lambda m, a: a.sigmoid(), UNARY, ref=lambda a: 1 / (1 + np.exp(-a))),
    *op("tanh", lambda m, a: m.tanh(a), UNARY),
    *op("clamp", lambda m, a: a.clamp(-0.5, 0.5), UNARY, ref=lambda a: np.clip(a, -0.5, 0.5), domain="grid"),
    *op("clamp_min", lambda m, a: a.clamp(min=0.2), UNARY, ref=lambda a: np.maximum(a, 0.2), domain="grid"),
    *op("maximum", lambda m, a, b: m.maximum(a, b), BINARY, domain="grid"),
    *op("minimum", lambda m, a, b: m.minimum(a, b), BINARY, domain="grid"),
    *op("where", lambda m, a, b: m.where(a > 0, a, b), BINARY, domain="grid"),
    *op("where_number", lambda m, a: m.where(a > 0, a, 0.5), UNARY, domain="grid"),
    # reductions
    *op("sum", lambda m, a: a.sum(), UNARY),
    *op("sum_dim", lambda m, a: a.sum(1), MATRIX),
    *op("sum_dims_keepdim", lambda m, a: a.sum((0, -1), keepdim=True), MATRIX,
        ref=lambda a: a.sum((0, -1), keepdims=True)),
    *op("mean", lambda m, a: a.mean(), UNARY),
    *op("mean_dim", lambda m, a: a.mean(-1, keepdim=True), MATRIX, ref=lambda a: a.mean(-1, keepdims=True)),
    *op("var", lambda m, a: a.var(), MATRIX, ref=lambda a: a.var(ddof=1)),
    *op("var_dim", lambda m, a: a.var(0), MATRIX, ref=lambda a: a.var(0, ddof=1)),
    *op("std_dim", lambda m, a: a.std(1, keepdim=True), MATRIX,
        ref=lambda a: a.std(1, ddof=1, keepdims=True)),
    *op("max", lambda m, a: a.max(), UNARY, domain="grid"),
    *op("min", lambda m, a: a.min(), UNARY, domain="grid"),
    *op("max_dim", lambda m, a: a.max(1), MATRIX, ref=lambda a: (a.max(1), a.argmax(1)), domain="grid"),
    *op("min_dim_keepdim", lambda m, a: a.min(-1, keepdim=True), MATRIX,
        ref=lambda a: (a.min(-1, keepdims=True), a.argmin(-1, keepdims=True)), domain="grid"),
    *op("logsumexp", lambda m, a: a.logsumexp(1), MATRIX, ref=lambda a: np.log(np.exp(a).sum(1))),
    *op("softmax", lambda m, a: a.softmax(-1), MATRIX, ref=lambda a: _softmax(a, -1)),
    *op("softmax_dim0", lambda m, a: a.softmax(0), MATRIX, ref=lambda a: _softmax(a, 0)),
    *op("log_softmax", lambda m, a: a.log_softmax(1), MATRIX, ref=lambda a: np.log(_softmax(a, 1))),
    # shape
    *op("reshape", lambda m, a: a.reshape(-1, 2), MATRIX),
    *op("view", lambda m, a: a.view(2, -1), MATRIX, ref=lambda a: a.reshape(2, -1)),
    *op("flatten", lambda m, a: a.flatten(), UNARY),
    *op("flatten_start", lambda m, a: a.flatten(1), MATRIX, ref=lambda a: a.reshape(a.shape[0], -1)),
    *op("transpose", lambda m, a: a.transpose(0, 1), MATRIX, ref=lambda a: np.swapaxes(a, 0, 1)),
    *op("permute", lambda m, a: a.permute(2, 0, 1), [((2, 3, 4),)], ref=lambda a: a.transpose(2, 0, 1)),
    *op("T", lambda m, a: a.T, [((3, 4),)]),
    *op("squeeze", lambda m, a: a.squeeze(), [((2, 1, 3, 1),)]),
    *op("squeeze_dim", lambda m, a: a.squeeze(1), [((2, 1, 3),)]),
    *op("unsqueeze", lambda m, a: a.unsqueeze(-1), MATRIX, ref=lambda a: a[..., None]),
    *op("expand", lambda m, a: a.expand(2, 3, 4), [((3, 1),), ((4,),)],
        ref=lambda a: np.broadcast_to(a, (2, 3, 4))),
    *op("cat", lambda m, a, b: m.cat([a, b], 1), [((2, 3), (2, 4))],
        ref=lambda a, b: np.concatenate([a, b], 1)),
    *op("stack", lambda m, a, b: m.stack([a, b], -1), [((2, 3), (2, 3))]),
    *op("split", lambda m, a: a.split(2, 1), [((3, 5),)], ref=lambda a: np.split(a, [2, 4], 1)),
    *op("split_sizes", lambda m, a: a.split([1, 3, 1], 1), [((3, 5),)], ref=lambda a: np.split(a, [1, 4], 1)),
    *op("chunk", lambda m, a: a.chunk(3, 0), [((5, 2),)], ref=lambda a: np.split(a, [2, 4], 0)),
    # indexing
    *op("index_int", lambda m, a: a[1], INDEXED),
    *op("index_slices", lambda m, a: a[:, 1:3], INDEXED),
    *op("index_none_ellipsis", lambda m, a: a[None, ..., 0], INDEXED),
    *op("index_scalar", lambda m, a: a[1, 2], [((3, 4),)]),
    *op("index_repeated", lambda m, a: a[[0, 2, 0, 0]], INDEXED),
    *op("index_tensor", lambda m, a: a[m.tensor([2, 0, 2])], INDEXED, ref=lambda a: a[[2, 0, 2]]),
    *op("index_pairs", lambda m, a: a[[0, 1, 1], [2, 0, 0]], [((3, 4),)]),
    *op("index_mixed", lambda m, a: a[1:, [3, 3, 0]], [((3, 4),)]),
    *op("index_mask", lambda m, a: a[a > 0], INDEXED, domain="grid"),
]
# fmt: on
