"""The indexing, shape, logic and counting functions and their Tensor methods: index_add/copy/fill,
scatter_reduce (and scatter_/scatter_add_), take, take_along_dim, argwhere, masked_scatter,
index_put, put; meshgrid, broadcast_tensors/to, tensor_split, hstack/vstack/dstack/column_stack,
diag, diag_embed, diagflat, trace, tril/triu_indices, rot90, atleast_nd, unflatten, mT/mH/H, the
in-place view changes and fill_diagonal_; logical_and/or/xor, the bitwise functions and shifts;
unique, unique_consecutive, bincount, searchsorted, bucketize, histc, histogram.

Known answers and gradcheck run everywhere; the ``torch`` tests compare values, dtypes, gradients
and error types with PyTorch (skipped where it is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt


def _grad(fn, *values) -> list:
    """The gradients of ``(fn(*xs) * weights).sum()`` w.r.t. float64 tensors made from ``values``."""
    xs = [nt.tensor(v, dtype=nt.float64, requires_grad=True) for v in values]
    out = fn(*xs)
    weights = nt.arange(1, out.numel() + 1, dtype=nt.float64).reshape(out.shape)
    (out * weights).sum().backward()
    return [x.grad.tolist() for x in xs]


# ------------------------------------------------------------------ known answers: indexing
def test_index_add_copy_fill_known_answers():
    x = nt.zeros(3, 2)
    i = nt.tensor([0, 0, 2])
    src = nt.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert nt.index_add(x, 0, i, src, alpha=2).tolist() == [[8, 12], [0, 0], [10, 12]]
    assert x.index_copy(0, nt.tensor([2, 0]), src[:2]).tolist() == [[3, 4], [0, 0], [1, 2]]
    assert x.index_fill(1, nt.tensor([-1]), 7).tolist() == [[0, 7]] * 3
    assert nt.zeros(2, dtype=nt.int64).index_fill(0, nt.tensor([0]), 1.7).tolist() == [1, 0]
    assert nt.tensor(1.0).index_add(0, nt.tensor([0]), nt.tensor(2.0)).item() == 3.0
    # gradients: self keeps g (add) or loses the copied rows (copy); source gets g's rows
    assert _grad(lambda a, s: a.index_add(0, i, s), [[0.0] * 2] * 3, [[0.0] * 2] * 3) == [
        [[1, 2], [3, 4], [5, 6]], [[1, 2], [1, 2], [5, 6]]]
    assert _grad(lambda a, s: a.index_copy(0, nt.tensor([2]), s), [[0.0] * 2] * 3, [[0.0] * 2]) == [
        [[1, 2], [3, 4], [0, 0]], [[5, 6]]]
    # a tensor value gets the gradient of every filled element, each slice once
    assert _grad(lambda a, v: a.index_fill(0, nt.tensor([0, 0, 2]), v), [[0.0] * 2] * 3, 2.0) == [
        [[0, 0], [3, 4], [0, 0]], 1 + 2 + 5 + 6]


def test_index_functions_reject_bad_input():
    x = nt.zeros(3, 2)
    with pytest.raises(IndexError, match="out of bounds"):
        x.index_add(0, nt.tensor([3]), nt.ones(1, 2))
    with pytest.raises(RuntimeError, match="same dtype"):
        x.index_add(0, nt.tensor([0]), nt.ones(1, 2, dtype=nt.float64))
    with pytest.raises(RuntimeError, match="expected shape"):
        x.index_add(0, nt.tensor([0]), nt.ones(1, 3))
    with pytest.raises(IndexError, match="0-d or 1-D"):
        x.index_add(0, nt.tensor([[0]]), nt.ones(1, 2))
    with pytest.raises(RuntimeError, match="int64"):
        x.index_copy(0, nt.tensor([0], dtype=nt.int32), nt.ones(1, 2))
    with pytest.raises(RuntimeError, match="0-d tensor"):
        x.index_fill(0, nt.tensor([0]), nt.tensor([1.0]))
    with pytest.raises(TypeError, match="integer tensor"):
        x.index_add(0, nt.tensor([0.0]), nt.ones(1, 2))


REDUCE_CASES = {  # reduce -> (out, self grad, src grad) with include_self True, then False
    "sum": ([3, 7, 3, 2], [1, 2, 3, 4], [1, 1, 2, 2, 3], [2, 7, 0, 2], [0, 0, 0, 4], [1, 1, 2, 2, 3]),
    "prod": ([0, 0, 0, 2], [0, 20, 0, 4], [2, 0, 0, 0, 9], [0, 10, 0, 2], [0, 0, 0, 4], [2, 0, 10, 4, 3]),
    "mean": ([1, 7 / 3, 1.5, 2], [1 / 3, 2 / 3, 1.5, 4], [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1.5],
             [1, 3.5, 0, 2], [0, 0, 0, 4], [0.5, 0.5, 1, 1, 3]),
    "amax": ([2, 5, 3, 2], [0, 0, 3, 4], [0, 1, 0, 2, 0], [2, 5, 0, 2], [0, 0, 0, 4], [0, 1, 0, 2, 3]),
    "amin": ([0, 0, 0, 2], [0, 2, 0, 4], [1, 0, 0, 0, 3], [0, 2, 0, 2], [0, 0, 0, 4], [1, 0, 2, 0, 3]),
}


@pytest.mark.parametrize("reduce", list(REDUCE_CASES))
def test_scatter_reduce_known_answers(reduce):
    """Zeros and ties on purpose: prod's gradient is the product of the others, ties share."""
    index = nt.tensor([0, 0, 1, 1, 2])
    cases = REDUCE_CASES[reduce]
    for include_self, (out, dself, dsrc) in ((True, cases[:3]), (False, cases[3:])):
        x = nt.tensor([1.0, 0.0, 3.0, 2.0], dtype=nt.float64, requires_grad=True)
        src = nt.tensor([0.0, 2.0, 2.0, 5.0, 0.0], dtype=nt.float64, requires_grad=True)
        y = nt.scatter_reduce(x, 0, index, src, reduce, include_self=include_self)
        y.backward(nt.tensor([1.0, 2.0, 3.0, 4.0], dtype=nt.float64))
        np.testing.assert_allclose(y.tolist(), out)
        np.testing.assert_allclose(x.grad.tolist(), dself)
        np.testing.assert_allclose(src.grad.tolist(), dsrc)


def test_scatter_reduce_integers_and_in_place_forms():
    x, i, s = nt.tensor([1, 2, 3, 4]), nt.tensor([0, 0, 1]), nt.tensor([5, 6, 8])
    assert x.scatter_reduce(0, i, s, "mean").tolist() == [4, 5, 3, 4]  # floor division
    assert x.scatter_reduce(0, i, s, "prod", include_self=False).tolist() == [30, 8, 3, 4]
    assert x.clone().scatter_reduce_(0, i, s, "amin").tolist() == [1, 2, 3, 4]
    assert nt.zeros(3).scatter_(0, nt.tensor([0, 0]), 2.0, reduce="add").tolist() == [4, 0, 0]
    assert nt.ones(3).scatter_(0, nt.tensor([1]), value=5.0).tolist() == [1, 5, 1]
    assert nt.zeros(3).scatter_add_(0, nt.tensor([2, 2]), nt.ones(2)).tolist() == [0, 0, 2]
    with pytest.raises(RuntimeError, match="reduce must be"):
        x.scatter_reduce(0, i, s, "max")
    with pytest.raises(RuntimeError, match="same dtype"):
        x.scatter_reduce(0, i, s.float(), "sum")
    with pytest.raises(RuntimeError, match="'add' or 'multiply'"):
        x.scatter(0, i, s, reduce="sum")


def test_take_put_index_put_masked_scatter_known_answers():
    x = nt.arange(6.0).reshape(2, 3)
    assert nt.take(x, nt.tensor([[-1, 0]])).tolist() == [[5, 0]]
    assert x.take_along_dim(nt.tensor([[0], [2]]), 1).tolist() == [[0], [5]]
    assert x.take_along_dim(nt.tensor([[1, 0, -1]]), 0).tolist() == [[3, 1, 5]]  # broadcast rows
    assert nt.take_along_dim(x, nt.tensor([5, 1])).tolist() == [5, 1]
    assert nt.argwhere(nt.tensor([[0, 1], [2, 0]])).tolist() == [[0, 1], [1, 0]]
    assert nt.zeros(3).put(nt.tensor([0, 0, -1]), nt.ones(3), accumulate=True).tolist() == [2, 0, 1]
    assert nt.zeros(2, 2).put_(nt.tensor([3]), nt.tensor([7.0])).tolist() == [[0, 0], [0, 7]]
    assert nt.zeros(3).index_put((nt.tensor([0, 0]),), nt.tensor(2.0), accumulate=True).tolist() == [4, 0, 0]
    mask = nt.tensor([True, False, True])
    assert nt.zeros(3).index_put_([mask], nt.tensor([5.0, 6.0])).tolist() == [5, 0, 6]
    mask = nt.tensor([[True, False], [True, True]])
    assert nt.zeros(2).masked_scatter(mask, nt.arange(5.0)).tolist() == [[0, 0], [1, 2]]
    assert _grad(lambda a: a.take(nt.tensor([1, 1, 0])), [4.0, 5.0]) == [[3, 3]]
    assert _grad(lambda a, s: a.masked_scatter(nt.tensor([True, False]), s), [[0.0] * 2] * 2,
                 [0.0] * 3) == [[[0, 2], [0, 4]], [1, 3, 0]]
    assert _grad(lambda a, v: a.index_put((nt.tensor([0, 0]),), v, accumulate=True), [0.0, 0.0], 1.0) == [
        [1, 2], 2]


def test_take_put_masked_scatter_reject_bad_input():
    with pytest.raises(IndexError, match="out of bounds"):
        nt.arange(4).take(nt.tensor([4]))
    with pytest.raises(RuntimeError, match="int64"):
        nt.arange(4).take(nt.tensor([0], dtype=nt.int32))
    with pytest.raises(IndexError, match="same|equal"):
        nt.zeros(3).put(nt.tensor([0, 1]), nt.ones(1))
    with pytest.raises(RuntimeError, match="same number of dims"):
        nt.zeros(2, 3).take_along_dim(nt.tensor([1]), 0)
    with pytest.raises(RuntimeError, match="fewer"):
        nt.zeros(2, 2).masked_scatter(nt.tensor([True, False]), nt.arange(1.0))
    with pytest.raises(TypeError, match="bool"):
        nt.zeros(2).masked_scatter(nt.tensor([1, 0]), nt.arange(2.0))
    with pytest.raises(TypeError, match="tuple"):
        nt.zeros(3).index_put(nt.tensor([1]), nt.tensor(2.0))


# ------------------------------------------------------------------ known answers: shape
def test_meshgrid_broadcast_and_stacking():
    xs, ys = nt.meshgrid(nt.tensor([1, 2, 3]), nt.tensor([4, 5]), indexing="xy")
    assert xs.tolist() == [[1, 2, 3]] * 2 and ys.tolist() == [[4, 4, 4], [5, 5, 5]]
    a, b = nt.meshgrid(nt.tensor([1, 2]), nt.tensor([3, 4, 5]))
    assert a.shape == b.shape == (2, 3) and a[:, 0].tolist() == [1, 2]
    a, b = nt.broadcast_tensors(nt.ones(3, 1), nt.zeros(2))
    assert a.shape == b.shape == (3, 2)
    assert nt.broadcast_to(nt.tensor([1, 2]), (2, -1)).tolist() == [[1, 2]] * 2
    assert nt.hstack([nt.tensor([1, 2]), nt.tensor(3)]).tolist() == [1, 2, 3]
    assert nt.vstack([nt.tensor([1, 2]), nt.tensor([3, 4])]).tolist() == [[1, 2], [3, 4]]
    assert nt.dstack([nt.ones(2, 2), nt.zeros(2, 2)]).shape == (2, 2, 2)
    assert nt.column_stack((nt.tensor(1), nt.tensor([[2, 3]]))).tolist() == [[1, 2, 3]]
    assert nt.concat([nt.tensor([1]), nt.tensor([2.5])]).tolist() == [1, 2.5]
    assert nt.atleast_3d(nt.tensor([1, 2])).shape == (1, 2, 1)
    assert [t.shape for t in nt.atleast_2d(nt.tensor(1), nt.tensor([1, 2]))] == [(1, 1), (1, 2)]
    with pytest.raises(RuntimeError, match="indexing"):
        nt.meshgrid(nt.ones(2), indexing="ab")
    with pytest.raises(ValueError, match="broadcast"):
        nt.broadcast_tensors(nt.ones(3), nt.ones(2))


def test_split_diag_rot_unflatten():
    x = nt.arange(7)
    assert [t.tolist() for t in nt.tensor_split(x, 3)] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [t.tolist() for t in x.tensor_split([1, 5, 3, 9])] == [[0], [1, 2, 3, 4], [], [3, 4, 5, 6], []]
    assert [t.tolist() for t in x.tensor_split(nt.tensor([-2]))] == [[0, 1, 2, 3, 4], [5, 6]]
    with pytest.raises(RuntimeError, match="larger than 0"):
        x.tensor_split(0)
    assert nt.diag(nt.tensor([1, 2]), 1).tolist() == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    m = nt.arange(6).reshape(2, 3)
    assert nt.diag(m, -1).tolist() == [3] and nt.trace(m).item() == 4 and nt.trace(m).dtype == nt.int64
    assert nt.diagflat(nt.tensor([[1, 2]])).tolist() == [[1, 0], [0, 2]]
    assert nt.diag_embed(nt.tensor([[1, 2]]), 1, 0, 2).tolist() == [[[0, 1, 0]], [[0, 0, 2]], [[0, 0, 0]]]
    assert nt.rot90(m).tolist() == [[2, 5], [1, 4], [0, 3]]
    assert nt.rot90(m, -1).tolist() == nt.rot90(m, 3).tolist() == [[3, 0], [4, 1], [5, 2]]
    assert nt.arange(6).unflatten(0, (2, -1)).shape == (2, 3)
    assert nt.tril_indices(3, 2, 1).tolist() == [[0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1]]
    assert nt.triu_indices(2, 3, -1).tolist() == [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    assert m.mT.shape == (3, 2) and m.H.shape == (3, 2) and nt.ones(2, 3, 4).mH.shape == (2, 4, 3)
    assert _grad(lambda v: nt.diag(v, -1), [1.0, 2.0]) == [[4, 8]]
    assert _grad(lambda a: a.rot90(), [[1.0, 2.0], [3.0, 4.0]]) == [[[3, 1], [4, 2]]]
    for bad in (lambda: nt.arange(6).unflatten(0, (4, -1)), lambda: nt.rot90(m, 1, (1, 1)),
                lambda: nt.diag(nt.zeros(1, 1, 1)), lambda: nt.trace(nt.ones(2)), lambda: nt.arange(3).mT,
                lambda: nt.ones(1, 2, 3).H):
        with pytest.raises(RuntimeError):
            bad()


def test_in_place_view_changes_and_fill_diagonal():
    x = nt.ones(2, 1, requires_grad=True)
    y = x * 2
    assert y.squeeze_() is y and y.shape == (2,)
    y.unsqueeze_(0).t_()
    assert y.shape == (2, 1)
    y.transpose_(0, 1)
    y.backward(nt.tensor([[1.0, 2.0]]))
    assert x.grad.tolist() == [[2], [4]]
    with pytest.raises(RuntimeError, match="leaf"):
        x.squeeze_()
    assert nt.zeros(5, 2).fill_diagonal_(1, wrap=True).tolist() == [[1, 0], [0, 1], [0, 0], [1, 0], [0, 1]]
    assert nt.zeros(5, 2).fill_diagonal_(1).sum().item() == 2
    assert nt.zeros(3, 3, 3).fill_diagonal_(2).sum().item() == 6
    with pytest.raises(RuntimeError, match="same size"):
        nt.zeros(2, 3, 2).fill_diagonal_(1)


# ------------------------------------------------------------------ known answers: logic and counting
def test_logical_bitwise_and_shifts():
    a, b = nt.tensor([1.0, 0.0, 2.0]), nt.tensor([2, 0, 0])
    assert nt.logical_and(a, b).tolist() == [True, False, False]
    assert nt.logical_or(a, b).tolist() == [True, False, True]
    assert nt.logical_xor(a, b).tolist() == [False, False, True]
    with pytest.raises(TypeError, match="must be Tensor"):
        nt.logical_xor(a, 1)
    i = nt.tensor([12, -8])
    assert nt.bitwise_and(i, 10).tolist() == [8, 8] and nt.bitwise_or(i, 1).tolist() == [13, -7]
    assert nt.bitwise_xor(i, i).tolist() == [0, 0] and nt.bitwise_not(i).tolist() == [-13, 7]
    assert (i << 2).tolist() == [48, -32] and (i >> 2).tolist() == [3, -2]
    assert nt.bitwise_left_shift(3, nt.tensor([1])).tolist() == [6]
    assert (i >> 70).tolist() == [0, -1] and (i << -1).tolist() == [0, 0]  # every bit shifted out
    assert (nt.tensor([8], dtype=nt.int32) << 1).dtype == nt.int32
    assert (nt.tensor([True]) << 1).dtype == nt.int64
    with pytest.raises(TypeError, match="integer or bool"):
        nt.tensor([1.0]) << 1


def test_unique_bincount_search_histograms():
    x = nt.tensor([[3, 1], [2, 3]])
    values, inverse, counts = nt.unique(x, return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3] and inverse.tolist() == [[2, 0], [1, 2]]
    assert counts.tolist() == [1, 1, 2]
    rows, inverse = nt.unique(nt.tensor([[3, 1], [2, 3], [3, 1]]), dim=0, return_inverse=True)
    assert rows.tolist() == [[2, 3], [3, 1]] and inverse.tolist() == [1, 0, 1]
    values, inverse, counts = nt.unique_consecutive(nt.tensor([1, 1, 2, 2, 3, 1]), True, True)
    assert values.tolist() == [1, 2, 3, 1] and inverse.tolist() == [0, 0, 1, 1, 2, 3]
    assert counts.tolist() == [2, 2, 1, 1]
    assert nt.bincount(nt.tensor([0, 2, 2])).tolist() == [1, 0, 2]
    weighted = nt.bincount(nt.tensor([0, 2]), nt.tensor([0.5, 1.0]), minlength=4)
    assert weighted.tolist() == [0.5, 0, 1, 0] and weighted.dtype == nt.float32
    with pytest.raises(RuntimeError, match="non-negative"):
        nt.bincount(nt.tensor([-1]))
    assert nt.searchsorted(nt.tensor([1, 3, 5]), nt.tensor([3, 6])).tolist() == [1, 3]
    assert nt.searchsorted(nt.tensor([1, 3, 5]), 3, side="right").item() == 2
    assert nt.searchsorted(nt.tensor([[1, 3, 5], [2, 4, 6]]), nt.tensor([[3], [7]])).tolist() == [[1], [3]]
    assert nt.searchsorted(nt.tensor([5, 1, 3]), nt.tensor([3]), sorter=nt.tensor([1, 2, 0])).tolist() == [1]
    assert nt.searchsorted(nt.tensor([1, 3]), nt.tensor([2]), out_int32=True).dtype == nt.int32
    with pytest.raises(RuntimeError, match="opposites"):
        nt.searchsorted(nt.tensor([1, 3]), nt.tensor([2]), side="left", right=True)
    assert nt.bucketize(nt.tensor([1, 3, 6]), nt.tensor([1, 3, 5])).tolist() == [0, 1, 3]
    assert nt.bucketize(nt.tensor([1, 3, 6]), nt.tensor([1, 3, 5]), right=True).tolist() == [1, 2, 3]
    assert nt.histc(nt.tensor([1.0, 2, 1, 7]), bins=4, min=0, max=3).tolist() == [0, 2, 1, 0]
    hist, edges = nt.histogram(nt.tensor([1.0, 2, 1]), bins=2)
    assert hist.tolist() == [2, 1] and edges.tolist() == [1, 1.5, 2]
    with pytest.raises(NotImplementedError, match="float"):
        nt.histc(nt.tensor([1, 2]))


GRADCHECKED = [
    ("index_add", lambda a, s: a.index_add(1, nt.tensor([0, 3, 0]), s, alpha=-2), [(3, 4), (3, 3)]),
    ("index_copy", lambda a, s: a.index_copy(0, nt.tensor([2, 0]), s), [(3, 4), (2, 4)]),
    ("scatter_reduce_prod", lambda a, s: a.scatter_reduce(1, nt.tensor([[0, 0, 2]] * 3), s, "prod"),
     [(3, 4), (3, 3)]),
    ("scatter_reduce_mean", lambda a, s: a.scatter_reduce(0, nt.tensor([[1, 0, 1, 1]]), s, "mean",
                                                          include_self=False), [(3, 4), (1, 4)]),
    ("scatter_reduce_amax", lambda a, s: a.scatter_reduce(1, nt.tensor([[0, 1, 3]] * 3), s, "amax"),
     [(3, 4), (3, 3)]),
    ("take_along_dim", lambda a: a.take_along_dim(nt.tensor([[0, 1, 0, 2]]), 0), [(3, 4)]),
    ("put_accumulate", lambda a, s: a.put(nt.tensor([0, 0, 11]), s, accumulate=True), [(3, 4), (3,)]),
    ("masked_scatter", lambda a, s: a.masked_scatter(nt.tensor([True, False, False, True]), s),
     [(3, 4), (9,)]),
    ("diag_embed", lambda a: a.diag_embed(-1, 0, 2), [(3, 4)]),
    ("meshgrid", lambda a, b: nt.meshgrid(a[0], b[0], indexing="xy")[1] * 2, [(3, 4), (1, 3)]),
]


@pytest.mark.parametrize("name, fn, shapes", GRADCHECKED, ids=[g[0] for g in GRADCHECKED])
def test_gradcheck(name, fn, shapes):
    rng = np.random.default_rng(4)
    xs = [nt.tensor(rng.uniform(0.5, 2, s), dtype=nt.float64, requires_grad=True) for s in shapes]
    assert nt.autograd.gradcheck(fn, xs)


# ------------------------------------------------------------------- against torch
def _index(lib, values):
    return lib.tensor(values)


TORCH_CASES = [  # (name, fn(lib, *tensors), input shapes); the index tensors are made per library
    ("index_add", lambda lib, a, s: a.index_add(1, _index(lib, [3, 0, 3]), s, alpha=2), [(3, 4), (3, 3)]),
    ("index_add_0d", lambda lib, a, s: a.sum().index_add(0, _index(lib, [0]), s.sum()), [(2, 2), (2,)]),
    ("index_copy", lambda lib, a, s: lib.index_copy(a, 0, _index(lib, [2, 0]), s), [(3, 4), (2, 4)]),
    ("index_fill", lambda lib, a, v: a.index_fill(1, _index(lib, [1, 3, 1]), v.sum()), [(3, 4), (2,)]),
    ("index_fill_", lambda lib, a: (a * 1).index_fill_(0, _index(lib, [1]), -1.5), [(3, 4)]),
    ("index_add_", lambda lib, a, s: (a * 1).index_add_(0, _index(lib, [1, 1]), s), [(3, 4), (2, 4)]),
    ("scatter_", lambda lib, a, s: (a * 1).scatter_(1, _index(lib, [[2, 0]] * 3), s), [(3, 4), (3, 2)]),
    ("scatter_add_", lambda lib, a, s: (a * 1).scatter_add_(1, _index(lib, [[2, 2]] * 3), s),
     [(3, 4), (3, 2)]),
    ("take", lambda lib, a: lib.take(a, _index(lib, [[11, -1], [0, 5]])), [(3, 4)]),
    ("take_along_dim", lambda lib, a: lib.take_along_dim(a, _index(lib, [[2], [0], [-1]]), 1), [(3, 4)]),
    ("take_along_dim_none", lambda lib, a: lib.take_along_dim(a, _index(lib, [5, 5, 0])), [(3, 4)]),
    ("masked_scatter", lambda lib, a, s: a.masked_scatter(_index(lib, [True, False, True, True]), s),
     [(3, 4), (10,)]),
    ("masked_scatter_", lambda lib, a, s: (a * 1).masked_scatter_(_index(lib, [[True], [False], [True]]), s),
     [(3, 4), (9,)]),
    ("index_put", lambda lib, a, v: a.index_put((_index(lib, [0, 2, 0]), _index(lib, [1])), v,
                                                accumulate=True),
     [(3, 4), (3,)]),
    ("index_put_", lambda lib, a, v: (a * 1).index_put_((_index(lib, [2, 0]),), v), [(3, 4), (4,)]),
    ("put_", lambda lib, a, s: (a * 1).put_(_index(lib, [1, -1, 1]), s, accumulate=True), [(3, 4), (3,)]),
    ("put", lambda lib, a, s: a.put(_index(lib, [3, 0]), s), [(3, 4), (2,)]),
    ("meshgrid_ij", lambda lib, a, b: lib.meshgrid(a[0], b[0], indexing="ij")[0] * lib.meshgrid(
        a[0], b[0], indexing="ij")[1], [(3, 4), (2, 3)]),
    ("meshgrid_xy", lambda lib, a, b: lib.meshgrid(a[0], b[0], a[1], indexing="xy")[1], [(3, 4), (2, 3)]),
    ("broadcast_tensors", lambda lib, a, b: lib.broadcast_tensors(a[:, :1], b[0])[0] + b[0],
     [(3, 4), (1, 5)]),
    ("broadcast_to", lambda lib, a: lib.broadcast_to(a[:1], (2, 3, -1)), [(3, 4)]),
    ("tensor_split", lambda lib, a: lib.tensor_split(a, 3, 1)[0] * 2, [(3, 4)]),
    ("tensor_split_idx", lambda lib, a: a.tensor_split([1, 3], 1)[1], [(3, 4)]),
    ("hstack", lambda lib, a, b: lib.hstack([a, b.T]), [(3, 4), (2, 3)]),
    ("vstack", lambda lib, a, b: lib.vstack([a[0], b]), [(3, 4), (2, 4)]),
    ("dstack", lambda lib, a, b: lib.dstack([a, b]), [(3, 4), (3, 4)]),
    ("column_stack", lambda lib, a, b: lib.column_stack([a[0], b]), [(3, 4), (4, 2)]),
    ("concat", lambda lib, a, b: lib.concat([a, b], 1), [(3, 4), (3, 2)]),
    ("diag_1d", lambda lib, a: lib.diag(a[0], -2), [(3, 4)]),
    ("diag_2d", lambda lib, a: lib.diag(a, 1), [(3, 4)]),
    ("diag_embed", lambda lib, a: lib.diag_embed(a, 1, 2, 0), [(3, 4)]),
    ("diagflat", lambda lib, a: lib.diagflat(a, -1), [(2, 2)]),
    ("trace", lambda lib, a: lib.trace(a), [(3, 4)]),
    ("rot90", lambda lib, a: lib.rot90(a, 1, (1, 0)), [(3, 4)]),
    ("rot90_k2", lambda lib, a: a.rot90(2), [(3, 4)]),
    ("rot90_k3", lambda lib, a: a.rot90(-5), [(3, 4)]),
    ("atleast_3d", lambda lib, a: lib.atleast_3d(a), [(3, 4)]),
    ("unflatten", lambda lib, a: lib.unflatten(a, 1, (2, -1)), [(3, 4)]),
    ("mT", lambda lib, a: a.reshape(2, 3, 2).mT, [(3, 4)]),
    ("H", lambda lib, a: a.H, [(3, 4)]),
    ("squeeze_", lambda lib, a: (a[:1] * 1).squeeze_(0), [(3, 4)]),
    ("transpose_", lambda lib, a: (a * 1).unsqueeze_(1).transpose_(0, 2), [(3, 4)]),
    ("fill_diagonal_", lambda lib, a: (a * 1).fill_diagonal_(2.5, wrap=True), [(9, 4)]),
]
# NOTE: without include_self, ``a + 10`` keeps the excluded self values from tying with an amax/amin:
# PyTorch still counts such a tie when it shares the gradient (which then sums to less than g); we don't.
for reduce in ("sum", "prod", "mean", "amax", "amin"):
    for include_self in (True, False):
        TORCH_CASES.append((
            f"scatter_reduce_{reduce}_{include_self}",
            lambda lib, a, s, r=reduce, i=include_self: (a if i else a + 10).scatter_reduce(
                1, _index(lib, [[0, 3, 0, 0], [1, 1, 1, 1], [2, 0, 0, 2]]), s, r, include_self=i),
            [(3, 4), (3, 4)]))


def _inputs(shapes, dtype):
    """Data with ties and zeros (the special places of prod, amax, amin)."""
    rng = np.random.default_rng(11)
    arrays = [rng.integers(-2, 3, s).astype(dtype) * 0.5 for s in shapes]
    return arrays


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("name, fn, shapes", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch(name, fn, shapes, dtype, tol):
    torch = pytest.importorskip("torch")
    arrays = _inputs(shapes, dtype)
    ours = [nt.tensor(a, dtype=getattr(nt, dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    out, expected = fn(nt, *ours), fn(torch, *theirs)
    assert out.shape == tuple(expected.shape) and str(out.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=tol, atol=tol)
    weights = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    (out * nt.tensor(weights, dtype=out.dtype)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for x, t in zip(ours, theirs):
        if t.grad is None:
            assert x.grad is None or not x.grad.numpy().any()
        else:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


NO_GRAD_CASES = [  # (name, fn(lib, x) on an integer tensor x of shape (4, 5) with values in [0, 6))
    ("logical_and", lambda lib, x: lib.logical_and(x, x.flip(0) > 2)),
    ("logical_or", lambda lib, x: lib.logical_or(x.float() - 3, x.flip(1))),
    ("logical_xor", lambda lib, x: lib.logical_xor(x, x.T.reshape(4, 5))),
    ("bitwise_and", lambda lib, x: lib.bitwise_and(x, x.flip(0))),
    ("bitwise_or_int32", lambda lib, x: lib.bitwise_or(x.int(), x.flip(1).to(lib.uint8))),
    ("bitwise_xor_bool", lambda lib, x: lib.bitwise_xor(x > 2, x < 4)),
    ("bitwise_not", lambda lib, x: lib.bitwise_not(x - 3)),
    ("left_shift", lambda lib, x: lib.bitwise_left_shift(x - 3, x * 15)),
    ("right_shift", lambda lib, x: (x * 7 - 20) >> (x * 15)),
    ("shift_int8", lambda lib, x: x.to(lib.int8) << 5),
    ("rshift_number", lambda lib, x: 100 >> x),
    ("unique", lambda lib, x: lib.unique(x, return_inverse=True, return_counts=True)),
    ("unique_dim", lambda lib, x: lib.unique(x[:, :2] % 2, dim=0, return_inverse=True, return_counts=True)),
    ("unique_dim1", lambda lib, x: (x[:2] % 2).unique(dim=1, return_counts=True)),
    ("unique_float", lambda lib, x: (x.double() / 2).unique()),
    ("unique_consecutive", lambda lib, x: lib.unique_consecutive(x // 2, return_inverse=True,
                                                                 return_counts=True)),
    ("unique_consecutive_dim", lambda lib, x: (x[:, :2] // 4).unique_consecutive(dim=0, return_counts=True)),
    ("bincount", lambda lib, x: lib.bincount(x.reshape(-1), minlength=9)),
    ("bincount_weights", lambda lib, x: x.reshape(-1).bincount(x.reshape(-1).float() / 4)),
    ("bincount_int_weights", lambda lib, x: x[0].bincount(x[1])),
    ("searchsorted", lambda lib, x: lib.searchsorted(x.sort(1).values, x.flip(1))),
    ("searchsorted_right", lambda lib, x: lib.searchsorted(x[0].sort().values, x, right=True)),
    ("searchsorted_side", lambda lib, x: lib.searchsorted(x[0].sort().values.double(), 2.5, side="right")),
    ("searchsorted_sorter", lambda lib, x: lib.searchsorted(x[0], x[1], sorter=x[0].argsort(stable=True))),
    ("bucketize", lambda lib, x: lib.bucketize(x, lib.tensor([1, 3, 4]))),
    ("bucketize_right", lambda lib, x: lib.bucketize(x.float(), lib.tensor([1.0, 3.0, 4.0]), right=True,
                                                     out_int32=True)),
    ("histc", lambda lib, x: lib.histc(x.float() * 0.7, bins=6)),
    ("histc_range", lambda lib, x: (x.double() - 1).histc(4, min=-0.5, max=3)),
    ("histogram", lambda lib, x: tuple(lib.histogram(x.float(), 4, range=(0.0, 5.0)))),
    ("histogram_edges", lambda lib, x: tuple(lib.histogram(x.double(), lib.tensor([0.0, 1.5, 2, 6]).double(),
                                                           weight=x.double().sqrt(), density=True))),
    ("argwhere", lambda lib, x: lib.argwhere(x > 3)),
    ("tril_indices", lambda lib, x: lib.tril_indices(4, 6, -1)),
    ("triu_indices", lambda lib, x: lib.triu_indices(5, 3, 1, dtype=lib.int32)),
]


@pytest.mark.parametrize("name, fn", NO_GRAD_CASES, ids=[c[0] for c in NO_GRAD_CASES])
def test_no_grad_functions_match_torch(name, fn):
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(5).integers(0, 6, (4, 5))
    out, expected = fn(nt, nt.tensor(data)), fn(torch, torch.tensor(data))
    outs, expecteds = (out, expected) if isinstance(expected, tuple) else ((out,), (expected,))
    assert len(outs) == len(expecteds)
    for o, e in zip(outs, expecteds):
        assert str(o.dtype) == str(e.dtype).removeprefix("torch.")
        np.testing.assert_allclose(o.numpy(), e.numpy(), rtol=1e-6)


ERROR_CASES = [  # calls that raise in PyTorch: ours raises the same error type
    ("index_add_dtype", lambda lib, x: x.index_add(0, lib.tensor([0]), x[:1].double())),
    ("index_copy_int32", lambda lib, x: x.index_copy(0, lib.tensor([0], dtype=lib.int32), x[:1])),
    ("index_fill_1d_value", lambda lib, x: x.index_fill(0, lib.tensor([0]), lib.tensor([1.0]))),
    ("scatter_reduce_dtype", lambda lib, x: x.scatter_reduce(0, lib.tensor([[0]]), x.double(), "sum")),
    ("take_int32", lambda lib, x: x.take(lib.tensor([0], dtype=lib.int32))),
    ("take_oob", lambda lib, x: x.take(lib.tensor([20]))),
    ("take_along_dim_ndim", lambda lib, x: x.take_along_dim(lib.tensor([0]), 0)),
    ("put_count", lambda lib, x: x.put(lib.tensor([0, 1]), x[0, :1])),
    ("put_dtype", lambda lib, x: x.put(lib.tensor([0]), x[0, :1].double())),
    ("masked_scatter_few", lambda lib, x: x.masked_scatter(x > -10, x[0])),
    ("masked_scatter_dtype", lambda lib, x: x.masked_scatter(x > 0, x.double())),
    ("index_put_dtype", lambda lib, x: x.index_put((lib.tensor([0]),), x[0].double())),
    ("meshgrid_2d", lambda lib, x: lib.meshgrid(x, indexing="ij")),
    ("meshgrid_dtypes", lambda lib, x: lib.meshgrid(x[0], x[0].long(), indexing="ij")),
    ("tensor_split_zero", lambda lib, x: x.tensor_split(0)),
    ("diag_3d", lambda lib, x: lib.diag(x[None])),
    ("trace_1d", lambda lib, x: lib.trace(x[0])),
    ("rot90_same", lambda lib, x: lib.rot90(x, 1, (0, 0))),
    ("rot90_1d", lambda lib, x: lib.rot90(x[0])),
    ("unflatten_bad", lambda lib, x: x.unflatten(1, (2, 3))),
    ("mT_1d", lambda lib, x: x[0].mT),
    ("H_3d", lambda lib, x: x[None].H),
    ("fill_diagonal_1d", lambda lib, x: x[0].fill_diagonal_(1)),
    ("squeeze_leaf", lambda lib, x: x.requires_grad_().squeeze_()),
    ("logical_and_number", lambda lib, x: lib.logical_and(x, 1)),
    ("bincount_2d", lambda lib, x: lib.bincount(x.long())),
    ("bincount_negative", lambda lib, x: lib.bincount(lib.tensor([-1]))),
    ("bincount_minlength", lambda lib, x: lib.bincount(lib.tensor([1]), minlength=-1)),
    ("searchsorted_batch", lambda lib, x: lib.searchsorted(x, x[:2])),
    ("searchsorted_side", lambda lib, x: lib.searchsorted(x[0], x[1], side="left", right=True)),
    ("bucketize_2d", lambda lib, x: lib.bucketize(x, x)),
    ("histc_range", lambda lib, x: lib.histc(x, 2, min=3, max=1)),
    ("histc_int", lambda lib, x: lib.histc(x.long())),
]


@pytest.mark.parametrize("name, fn", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch(name, fn):
    torch = pytest.importorskip("torch")
    data = np.arange(12.0).reshape(3, 4).astype(np.float32)
    with pytest.raises(Exception) as theirs:
        fn(torch, torch.tensor(data))
    with pytest.raises(type(theirs.value)):
        fn(nt, nt.tensor(data))
