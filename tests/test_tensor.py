"""Tensor basics: dtype rules and promotion, attributes, repr, creation, the global seed,
NumPy interop, comparisons, indexing views and in-place changes outside autograd."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.random import default_generator


# ------------------------------------------------------------------ dtype rules
@pytest.mark.parametrize("data, dtype", [
    ([1.0, 2.0], nt.float32),
    (2.5, nt.float32),
    (np.array([1.0]), nt.float32),  # float64 input becomes float32
    (np.float64(1.0), nt.float32),
    ([1, 2], nt.int64),
    (np.array([1, 2], dtype=np.int32), nt.int32),  # other dtypes stay, as in PyTorch
    (np.array([1, 2], dtype=np.uint8), nt.uint8),
    (np.array([1.0], dtype=np.float16), nt.float16),
    ([True, False], nt.bool),
])
def test_default_dtypes(data, dtype):
    assert nt.tensor(data).dtype == dtype


@pytest.mark.parametrize("dtype", [nt.float64, np.float64, "float64"])
def test_float64_on_request(dtype):
    t = nt.tensor([1.0, 2.0], dtype=dtype)
    assert t.dtype == nt.float64
    assert (t * 2.0).dtype == nt.float64
    assert (t * t).sum().dtype == nt.float64


def test_dtypes_are_numpy_dtypes():
    assert nt.float32 == np.float32 and nt.float64 == np.float64
    assert nt.int64 == np.int64 and nt.bool == np.bool_
    assert nt.zeros(2, dtype=np.int64).dtype == nt.int64


def test_requires_grad_on_int_tensor_raises():
    with pytest.raises(RuntimeError, match="floating point"):
        nt.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        nt.arange(3).requires_grad_()


@pytest.mark.parametrize("expr, dtype", [
    (lambda x, i: x * np.float64(2), nt.float32),  # a NumPy float64 scalar does not widen
    (lambda x, i: x ** np.float64(2), nt.float32),
    (lambda x, i: x + np.float32(2), nt.float32),
    (lambda x, i: x + np.int64(2), nt.float32),
    (lambda x, i: i + x, nt.float32),  # int tensor with float tensor
    (lambda x, i: x * i, nt.float32),
    (lambda x, i: i @ x, nt.float32),
    (lambda x, i: i * 2.5, nt.float32),  # int tensor with a Python float
    (lambda x, i: 2.5 - i, nt.float32),
    (lambda x, i: i / 2, nt.float32),  # true division of integers
    (lambda x, i: i / i, nt.float32),
    (lambda x, i: i ** 0.5, nt.float32),
    (lambda x, i: i + 1, nt.int64),
    (lambda x, i: i * i, nt.int64),
    (lambda x, i: x + nt.tensor([1.0, 2.0], dtype=nt.float64), nt.float64),  # as PyTorch
    (lambda x, i: x + np.ones(2), nt.float32),  # an array operand takes the tensor's dtype
    (lambda x, i: nt.maximum(i, x), nt.float32),
    (lambda x, i: nt.where(i > 1, i, 0.5), nt.float32),
    (lambda x, i: nt.where(i > 1, 1.0, 0.0), nt.float32),
    (lambda x, i: i.exp(), nt.float32),
    (lambda x, i: i.mean(), nt.float32),
    (lambda x, i: i.sum(), nt.int64),
])
def test_type_promotion(expr, dtype):
    x, i = nt.tensor([1.0, 2.0]), nt.tensor([1, 2])
    assert expr(x, i).dtype == dtype


def test_conversions():
    x = nt.tensor([1.5, -2.5], requires_grad=True)
    assert x.long().dtype == nt.int64 and not x.long().requires_grad
    assert x.long().tolist() == [1, -2]
    assert x.to(nt.float64).dtype == nt.float64 and x.to(nt.float64).requires_grad
    assert x.double().float().dtype == nt.float32
    assert x.to("cpu") is x and x.to("cpu", nt.float64).dtype == nt.float64
    assert nt.tensor([0, 3]).bool().tolist() == [False, True]
    with pytest.raises(RuntimeError, match="CPU"):
        x.to("cuda")


# ------------------------------------------------------------------ attributes
def test_attributes():
    x = nt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.numel() == 6 and len(x) == 2
    assert isinstance(x.data, np.ndarray) and x.dtype == nt.float32
    assert x.is_leaf and x.grad is None and x.grad_fn is None
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert x.sum().item() == 21.0 and isinstance(x.sum().item(), float)
    y = x * 2
    assert not y.is_leaf and y.requires_grad and y.grad_fn is not None
    with pytest.raises(ValueError):
        x.item()
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    with pytest.raises(TypeError):
        len(nt.tensor(1.0))


def test_results_are_arrays_even_when_0d():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    for t in (x.sum(), x.sum().exp(), x[0], x.max(), -x.mean(), x[1] * 2):
        assert type(t.data) is np.ndarray and t.shape == ()
    assert f"{x.sum().data:.4f}" == "3.0000"  # the seed README prints loss.data this way
    assert f"{x.sum():.2f}" == "3.00"


def test_numpy_interop_shares_memory():
    t = nt.tensor([1.0, 2.0])
    a = np.asarray(t)
    assert a.dtype == np.float32 and np.shares_memory(a, t.data) and t.numpy() is t.data
    assert not np.shares_memory(np.array(t), t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    d = nt.tensor([1.0, 2.0], requires_grad=True).detach()
    assert not d.requires_grad
    f = nt.from_numpy(a)
    f.data[0] = 9.0
    assert t.tolist() == [9.0, 2.0]


@pytest.mark.parametrize("t, text", [
    (nt.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
    (nt.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (nt.tensor([0.5, 1 / 3]), "tensor([0.5000, 0.3333])"),
    (nt.tensor([1, 2]), "tensor([1, 2])"),
    (nt.tensor(2.5), "tensor(2.5)"),
    (nt.tensor([True]), "tensor([ True])"),
    (nt.tensor([1.0], dtype=nt.float64), "tensor([1.], dtype=nanotorch.float64)"),
    (nt.tensor([1.0], requires_grad=True) * 2, "tensor([2.], grad_fn=<MulBackward>)"),
])
def test_repr(t, text):
    assert repr(t) == text


# ------------------------------------------------------------------ creation
def test_creation_functions():
    assert nt.zeros(2, 3).shape == (2, 3) and nt.zeros((2, 3)).tolist() == [[0.0] * 3] * 2
    assert nt.ones(2).dtype == nt.float32 and nt.ones(2, dtype=nt.int64).dtype == nt.int64
    assert nt.full((2,), 1.5).tolist() == [1.5, 1.5] and nt.full((2,), 1.5).dtype == nt.float32
    assert nt.full((2,), 7).dtype == nt.int64
    assert nt.empty(3, 2).shape == (3, 2)
    assert nt.eye(3).tolist()[1] == [0.0, 1.0, 0.0]
    assert nt.arange(4).tolist() == [0, 1, 2, 3] and nt.arange(4).dtype == nt.int64
    assert nt.arange(1, 2, 0.5).tolist() == [1.0, 1.5] and nt.arange(0.0, 2).dtype == nt.float32
    assert nt.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    x = nt.tensor([[1.0, 2.0]], dtype=nt.float64)
    for like in (nt.zeros_like, nt.ones_like, nt.rand_like, nt.randn_like):
        assert like(x).shape == (1, 2) and like(x).dtype == nt.float64
    assert nt.zeros_like(x).tolist() == [[0.0, 0.0]] and nt.ones_like(x).tolist() == [[1.0, 1.0]]
    assert nt.ones(2, requires_grad=True).requires_grad


def test_random_functions():
    nt.manual_seed(0)
    r = nt.rand(1000)
    assert r.dtype == nt.float32 and 0 <= r.min().item() and r.max().item() < 1
    n = nt.randn(2000)
    assert n.dtype == nt.float32 and abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    i = nt.randint(3, 7, (500,))
    assert i.dtype == nt.int64 and set(i.tolist()) == {3, 4, 5, 6}
    assert nt.randint(5, (4, 2)).shape == (4, 2)
    assert nt.randn(2, 3, dtype=nt.float64).dtype == nt.float64
    with pytest.raises(TypeError):
        nt.rand(2, dtype=nt.int64)


def test_manual_seed_fixes_every_draw():
    def draws():
        return [nt.randn(3).tolist(), nt.rand(2).tolist(), nt.randint(0, 100, (4,)).tolist(),
                nt.randn_like(nt.zeros(2)).tolist()]

    gen = default_generator.numpy
    assert nt.manual_seed(123) is default_generator
    first = draws()
    nt.manual_seed(123)
    assert draws() == first
    assert default_generator.numpy is gen  # reseeded in place: code holding it sees the seed
    nt.manual_seed(124)
    assert draws() != first


# ------------------------------------------------------------------ NumPy operands
def test_ndarray_with_tensor_gives_tensor():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    a = np.array([3.0, 4.0])
    for result, expected in [(a + x, [4, 6]), (a - x, [2, 2]), (a * x, [3, 8]), (a / x, [3, 2]),
                             (a ** x, [3, 16]), (x + a, [4, 6]), (a @ x, 11)]:
        assert isinstance(result, nt.Tensor) and result.dtype == nt.float32
        assert result.requires_grad
        np.testing.assert_allclose(result.data, expected)
    (a * x).sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
    assert isinstance(a == x, nt.Tensor) and (a > x).tolist() == [True, True]


def test_comparisons_are_bool_without_grad():
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for c in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2, x > nt.tensor(1.5), 2 < x):
        assert c.dtype == nt.bool and not c.requires_grad and c.grad_fn is None
    assert (x > 1.5).tolist() == [False, True, True]
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert (~(x > 1)).tolist() == [True, False, False]


# ------------------------------------------------------------------ shapes and views
def test_keepdims_alias_and_dims():
    x = nt.arange(24).reshape(2, 3, 4).float()
    assert x.sum(1, keepdims=True).shape == (2, 1, 4) == x.sum(dim=1, keepdim=True).shape
    assert x.mean(dim=(0, 2)).shape == (3,)
    assert nt.sum(x, dim=-1, keepdims=True).shape == (2, 3, 1)
    assert x.max(dim=2, keepdims=True).values.shape == (2, 3, 1)


def test_max_min_with_dim_return_values_and_indices():
    x = nt.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    m = x.min(0)
    assert m.values.tolist() == [1.0, 0.0, 2.0] and m.indices.tolist() == [0, 1, 0]
    assert m.indices.dtype == nt.int64
    assert nt.max(x).item() == 7.0 and nt.max(x, 1).indices.tolist() == [1, 0]
    assert x.argmax().item() == 3 and x.argmin(1).tolist() == [0, 1]


def test_split_and_chunk():
    x = nt.arange(10).reshape(5, 2)
    assert [p.shape for p in x.split(2)] == [(2, 2), (2, 2), (1, 2)]
    assert [p.shape for p in x.split([1, 4])] == [(1, 2), (4, 2)]
    assert [p.shape for p in x.chunk(2, dim=1)] == [(5, 1), (5, 1)]
    assert [p.tolist() for p in nt.chunk(nt.arange(5), 2)] == [[0, 1, 2], [3, 4]]
    with pytest.raises(ValueError):
        x.split([1, 1])


def test_indexing_with_ints_and_slices_gives_views():
    x = nt.arange(6).reshape(2, 3).float()
    row, elem = x[1], x[0, 2]
    assert row.tolist() == [3.0, 4.0, 5.0] and elem.shape == () and elem.item() == 2.0
    assert np.shares_memory(row.data, x.data) and np.shares_memory(elem.data, x.data)
    assert not np.shares_memory(x[[0, 1]].data, x.data)  # integer arrays copy, as PyTorch
    assert x[x > 3].tolist() == [4.0, 5.0]
    assert x[nt.tensor([1, 1])].shape == (2, 3) and x[..., None].shape == (2, 3, 1)


def test_inplace_outside_autograd():
    x = nt.tensor([1.0, 2.0, np.inf])
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
    x += 1
    x *= nt.tensor([1.0, 2.0, 3.0])
    x.sub_(1, alpha=0.5).div_(2)
    assert x.tolist() == [0.25, 0.75, 1.25]
    x[0] = 5
    x[1:] = nt.tensor([7.0, 8.0])
    x.view(3)[2] = 9  # a view writes through
    assert x.tolist() == [5.0, 7.0, 9.0]
    x.fill_(2).copy_(nt.tensor([1.0]))
    assert x.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError):
        i = nt.tensor([1, 2])
        i += 0.5  # as PyTorch: a float result can't be stored in an int tensor
