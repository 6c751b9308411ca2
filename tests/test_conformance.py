"""Cases where NanoTorch once differed from PyTorch (issue 9), checked against hand-computed
values, and against PyTorch itself where it is installed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn.functional as F


@pytest.mark.parametrize("expr, expected", [
    (lambda m: m.tensor([1, -8, 6]) & m.tensor([1, -8, 3]), [1, -8, 2]),
    (lambda m: m.tensor([1, 2, 3]) | 4, [5, 6, 7]),
    (lambda m: 1 & m.tensor([3, 2]), [1, 0]),
    (lambda m: 6 | m.tensor([1]), [7]),
    (lambda m: m.tensor([5, 3]) ^ m.tensor([1, 1]), [4, 2]),
    (lambda m: 2 ^ m.tensor([3]), [1]),
    (lambda m: ~m.tensor([0, 5, -1]), [-1, -6, 0]),
    (lambda m: m.tensor([True, False]) & m.tensor([True, True]), [True, False]),
    (lambda m: m.tensor([True, False]) ^ True, [False, True]),
    (lambda m: ~m.tensor([True, False]), [False, True]),
    (lambda m: m.tensor([True, False]).logical_not(), [False, True]),
    (lambda m: m.tensor([-7, 7]) % 3, [2, 1]),
    (lambda m: m.tensor([-7, 7]) // 2, [-4, 3]),
    (lambda m: 7 % m.tensor([-3, 3]), [-2, 1]),
])
def test_integer_and_bool_operators(expr, expected):
    got = expr(nt)
    assert got.dtype.kind == np.asarray(expected).dtype.kind
    np.testing.assert_array_equal(got.numpy(), expected)


def test_integer_and_bool_operators_match_torch(torch):
    a, b = np.array([1, -8, 6, 0, 13]), np.array([1, -8, 3, 7, -2])
    for op in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x,
               lambda x, y: x % y, lambda x, y: x // y, lambda x, y: 5 & x, lambda x, y: 5 | y):
        np.testing.assert_array_equal(op(nt.tensor(a), nt.tensor(b)).numpy(),
                                      op(torch.tensor(a), torch.tensor(b)).numpy())


def test_bitwise_operators_on_floats_raise():
    with pytest.raises(TypeError, match="integer or bool"):
        nt.tensor([1.0]) & nt.tensor([1.0])
    with pytest.raises(TypeError, match="integer or bool"):
        ~nt.tensor([1.0])


def test_floor_divide_has_no_gradient():
    x = nt.tensor([3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="floor_divide"):
        (x // 2).sum().backward()


@pytest.mark.parametrize("index, shape", [
    ((0, slice(None), [0, 1]), (3, 2)),
    (([0, 1], slice(None), 0), (2, 3)),
    ((slice(None), 0, [0, 1]), (2, 2)),
    ((0, Ellipsis, [1, 2]), (3, 2)),
    ((None, 0, slice(None), [1, 2]), (1, 3, 2)),
    ((0, [0, 1], [1, 2]), (2,)),
])
def test_int_and_list_index_follows_pytorch(index, shape):
    """PyTorch applies the ints first: ``x[0, :, [0, 1]]`` is ``x[0][:, [0, 1]]``."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x = nt.tensor(a, requires_grad=True)
    out = x[index]
    assert out.shape == shape
    ints_first = a[index[0]][index[1:]] if index[0] == 0 else None
    if ints_first is not None:
        np.testing.assert_array_equal(out.detach().numpy(), ints_first)
    out.sum().backward()
    assert x.grad.sum().item() == out.numel()  # each picked element got its 1
    y = nt.zeros(2, 3, 4)
    y[index] = nt.ones(shape)
    assert y.sum().item() == out.numel()


def test_int_and_list_index_matches_torch(torch):
    a = np.arange(24.0).reshape(2, 3, 4)
    for index in [(0, slice(None), [0, 3]), ([1, 0], slice(None), 2), (1, Ellipsis, [3, 0, 3])]:
        x, t = nt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        np.testing.assert_array_equal(x[index].detach().numpy(), t[index].detach().numpy())
        x[index].sum().backward()
        t[index].sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def _var_grads(lib, data, **kw):
    x = lib.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = x.var(**kw) if "std" not in kw else None
        if out is None:
            kw.pop("std")
            out = x.std(**kw)
        out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("data, kw", [
    ([[1.0, 2.0, 3.0]], {"dim": 0}),
    ([1.0, 2.0, 3.0], {"correction": 3}),
    ([1.0, 2.0, 3.0], {"correction": 3, "std": True}),
    ([[1.0, 2.0, 3.0]], {"dim": 0, "std": True}),
])
def test_var_std_with_no_degrees_of_freedom_give_nan_gradients(data, kw):
    out, grad = _var_grads(nt, data, **dict(kw))
    assert not np.isfinite(out).any()
    assert not np.isfinite(grad).any()  # nan (inf where x differs from the mean and the var is 0/0)


def test_var_std_with_no_degrees_of_freedom_match_torch(torch):
    for data, kw in [([[1.0, 2.0, 3.0]], {"dim": 0}), ([1.0, 2.0, 3.0], {"correction": 3, "std": True})]:
        for got, expected in zip(_var_grads(nt, data, **dict(kw)), _var_grads(torch, data, **dict(kw))):
            np.testing.assert_array_equal(got, expected)


def test_integer_linspace_truncates_toward_zero():
    np.testing.assert_array_equal(
        nt.linspace(5, -5, 20, dtype=nt.int32).numpy(),
        [5, 4, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, -1, -1, -2, -2, -3, -3, -4, -5])
    assert nt.linspace(5, -5, 20, dtype=nt.int32).dtype == nt.int32


def test_integer_linspace_matches_torch(torch):
    for start, end, steps in [(5, -5, 20), (-3, 7, 9), (0, 10, 7), (-10, -1, 4)]:
        np.testing.assert_array_equal(nt.linspace(start, end, steps, dtype=nt.int64).numpy(),
                                      torch.linspace(start, end, steps, dtype=torch.int64).numpy())


@pytest.mark.parametrize("op", [lambda x: x.logsumexp(0), lambda x: x.logsumexp(-1, keepdim=True),
                                lambda x: x.sum(0), lambda x: x.mean(-1), lambda x: x.squeeze(0),
                                lambda x: x.squeeze(-1)])
def test_dim_0_and_minus_1_on_a_0d_tensor(op):
    x = nt.tensor(2.0, requires_grad=True)
    out = op(x)
    assert out.shape == () and out.item() == 2.0
    out.backward()
    assert x.grad.item() == 1.0
    with pytest.raises(IndexError, match="dimension out of range"):
        x.sum(1)


@pytest.mark.parametrize("shape", [(5,), (2, 5), (2, 5, 3, 3)])
def test_class_probability_targets_go_to_cross_entropy_only(shape):
    """A float target shaped like the input is class probabilities: cross_entropy takes it
    (as PyTorch; values: tests/test_nn_losses_layers.py), nll_loss says where it belongs."""
    loss = F.cross_entropy(nt.randn(*shape), nt.rand(*shape))
    assert loss.shape == () and np.isfinite(loss.item())
    with pytest.raises(TypeError, match="class probabilities are taken only by cross_entropy"):
        F.nll_loss(nt.randn(*shape), nt.rand(*shape))


# ------------------------------------------------------------ ops with no gradient
def test_predicates_and_boolean_reductions():
    x = nt.tensor([[1.0, float("nan")], [float("inf"), -2.0]])
    np.testing.assert_array_equal(x.isnan().numpy(), [[False, True], [False, False]])
    np.testing.assert_array_equal(nt.isinf(x).numpy(), [[False, False], [True, False]])
    np.testing.assert_array_equal(nt.isfinite(x).numpy(), [[True, False], [False, True]])
    b = nt.tensor([[True, False], [True, True]])
    assert nt.any(b).item() and not nt.all(b).item()
    np.testing.assert_array_equal(b.all(1).numpy(), [False, True])
    np.testing.assert_array_equal(b.any(0, keepdim=True).numpy(), [[True, True]])
    np.testing.assert_array_equal(nt.logical_not(nt.tensor([0, 3])).numpy(), [True, False])
    assert nt.tensor(0).any().dtype == nt.bool


def test_predicates_match_torch(torch):
    a = np.array([[1.0, np.nan, 0.0], [np.inf, -2.0, -np.inf]])
    for name in ("isnan", "isinf", "isfinite", "logical_not", "any", "all"):
        np.testing.assert_array_equal(getattr(nt.tensor(a), name)().numpy(),
                                      getattr(torch.tensor(a), name)().numpy())
    np.testing.assert_array_equal(nt.tensor(a).any(1).numpy(), torch.tensor(a).any(1).numpy())


def test_one_hot():
    out = F.one_hot(nt.tensor([[0, 2], [1, 0]]), 4)
    assert out.dtype == nt.int64 and out.shape == (2, 2, 4)
    np.testing.assert_array_equal(out.numpy()[0, 1], [0, 0, 1, 0])
    assert F.one_hot(nt.tensor([3, 1])).shape == (2, 4)
    with pytest.raises(ValueError, match=r"class values must be in \[0, 3\)"):
        F.one_hot(nt.tensor([3]), 3)
    with pytest.raises(TypeError, match="integer tensor"):
        F.one_hot(nt.tensor([1.0]))


def test_one_hot_matches_torch(torch):
    labels = np.array([[0, 2], [4, 1]])
    np.testing.assert_array_equal(F.one_hot(nt.tensor(labels), 6).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(labels), 6).numpy())


def test_step_functions_keep_integer_dtype():
    x = nt.tensor([-3, 0, 2])
    assert x.floor().dtype == nt.int64
    np.testing.assert_array_equal(x.sign().numpy(), [-1, 0, 1])
    np.testing.assert_array_equal(nt.tensor([0.5, 1.5, 2.5, -0.5]).round().numpy(), [0, 2, 2, -0])


# -------------------------------------------------- gradients at awkward points
def test_prod_gradient_with_zeros_matches_torch(torch):
    a = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 4.0, -2.0]])
    for fn in (lambda t: t.prod(1), lambda t: t.prod(), lambda t: t.prod(0, keepdim=True)):
        x, t = nt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        fn(x).sum().backward()
        fn(t).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_prod_gradient_with_one_zero():
    x = nt.tensor([2.0, 0.0, 3.0], requires_grad=True)
    x.prod().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 6.0, 0.0])


def test_amax_shares_the_gradient_among_ties():
    x = nt.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.amax(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_amax_ties_match_torch(torch):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for fn in (lambda t: t.amax(1), lambda t: t.amin(), lambda t: t.amax((0, 1), keepdim=True)):
        x, t = nt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        fn(x).sum().backward()
        fn(t).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, error, words", [
    (lambda x: x.gather(1, nt.tensor([[4]])), IndexError, "index 4 is out of bounds for size 4"),
    (lambda x: x.gather(1, nt.tensor([[-1]])), IndexError, "out of bounds"),
    (lambda x: x.gather(1, nt.tensor([0, 1])), ValueError, "does not fit"),
    (lambda x: x.gather(1, nt.tensor([[0.0]])), TypeError, "integer tensor"),
    (lambda x: x.gather(2, nt.tensor([[0]])), IndexError, "dim 2 is out of range"),
    (lambda x: x.scatter(0, nt.tensor([[3]]), 1.0), IndexError, "out of bounds for size 3"),
    (lambda x: x.scatter_add(1, nt.tensor([[0, 1]]), nt.ones(1, 1)), ValueError, "smaller than index"),
    (lambda x: x.index_select(0, nt.tensor([0, 3])), IndexError, "index 3 is out of bounds"),
    (lambda x: x.index_select(0, nt.tensor([[0]])), ValueError, "0-d or 1-D"),
    (lambda x: x.masked_fill(nt.tensor([1, 0, 1, 0]), 0.0), TypeError, "bool tensor"),
    (lambda x: x.masked_fill(nt.ones(2, 4) > 0, 0.0), ValueError, "does not broadcast"),
    (lambda x: x.repeat(2), ValueError, "at least one per dim"),
    (lambda x: x[0].tril(), ValueError, "at least 2 dims"),
    (lambda x: F.pad(x, (1,)), ValueError, "even number"),
    (lambda x: F.pad(x, (-2, -2)), ValueError, "crop away"),
    (lambda x: F.pad(x.flatten(), (1, 1), mode="reflect"), NotImplementedError, "reflect"),  # 1-D
    (lambda x: F.embedding(nt.tensor([3]), x), IndexError, "index 3 is out of bounds"),
    (lambda x: F.layer_norm(x, (3,)), ValueError, "does not end with normalized_shape"),
    (lambda x: F.gelu(x, approximate="fast"), ValueError, "approximate"),
    (lambda x: F.conv1d(x[0], nt.ones(2, 3, 3)), ValueError, "expected input"),  # 1-D input
    (lambda x: F.adaptive_avg_pool2d(x, 0), ValueError, "adaptive_avg_pool2d"),
    (lambda x: nt.einsum("ij,jk", x), ValueError, "has 2 operands"),
    (lambda x: nt.einsum("ijk", x), ValueError, "do not match"),
])
def test_bad_input_is_a_clear_error(call, error, words):
    x = nt.ones(3, 4, requires_grad=True)
    with pytest.raises(error, match=words):
        call(x)


def test_integer_division_by_zero_raises():
    with pytest.raises(ZeroDivisionError):
        nt.tensor([1, 2]) % 0
    with pytest.raises(ZeroDivisionError):
        nt.tensor([1, 2]) // nt.tensor([1, 0])
    assert np.isnan((nt.tensor([1.0]) % 0).item())


def test_flip_of_a_0d_tensor_is_itself():
    assert nt.tensor(2.0).flip(0).item() == 2.0


def test_int_and_list_index_when_the_sizes_agree():
    """``x[0, :, [0, 1, 2]]`` on ``[3, 3, 3]``: NumPy's rule gives the transpose, same shape."""
    a = np.arange(27.0).reshape(3, 3, 3)
    x = nt.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x[0, :, [0, 1, 2]].detach().numpy(), a[0][:, [0, 1, 2]])
    w = np.arange(9.0).reshape(3, 3)
    (x[0, :, [2, 1, 0]] * nt.tensor(w, dtype=nt.float64)).sum().backward()
    expected = np.zeros_like(a)
    expected[0][:, [2, 1, 0]] = w
    np.testing.assert_array_equal(x.grad.numpy(), expected)
