"""Tensor methods and ``nt.*`` functions PyTorch tutorials use: products (mm, bmm, dot, outer,
pow), sorting (sort, argsort, topk, cumprod), indexing (masked_select, nonzero, where,
masked_fill_), shape (movedim, narrow, unbind, tile, repeat_interleave, diagonal), the
trigonometric and hyperbolic functions, fmod, and small conveniences.

Known answers and ``gradcheck`` run everywhere; the ``torch`` tests compare values, dtypes and
gradients with PyTorch and skip where it is not installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.autograd import gradcheck


def _grad_of(fn, *values):
    """``fn``'s result and the gradients of ``sum(result * w)`` (fixed weights ``w``) for inputs
    made from ``values`` (float32, requiring grad)."""
    xs = [nt.tensor(v, requires_grad=True) for v in values]
    out = fn(*xs)
    weights = np.arange(1, out.numel() + 1, dtype=np.float32).reshape(out.shape)
    (out * nt.tensor(weights)).sum().backward()
    return out, [x.grad.tolist() for x in xs]


# --------------------------------------------------------------------- products
def test_mm_bmm_dot_outer_known_values():
    a = nt.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = nt.tensor([[5.0, 6.0], [7.0, 8.0]])
    assert nt.mm(a, b).tolist() == [[19.0, 22.0], [43.0, 50.0]]
    assert a.mm(b).tolist() == (a @ b).tolist()
    assert nt.bmm(a[None], b[None]).tolist() == [[[19.0, 22.0], [43.0, 50.0]]]
    assert nt.dot(nt.tensor([1, 2, 3]), nt.tensor([4, 5, 6])).item() == 32
    assert nt.dot(nt.tensor([1.0, 2.0]), nt.tensor([3.0, 4.0])).shape == ()
    assert nt.outer(nt.tensor([1, 2]), nt.tensor([1.0, 10.0])).tolist() == [[1.0, 10.0], [2.0, 20.0]]
    assert nt.outer(nt.tensor([1, 2]), nt.tensor([1.0, 10.0])).dtype == nt.float32


@pytest.mark.parametrize("call, message", [
    (lambda: nt.mm(nt.ones(2, 3), nt.ones(4, 5)), "cannot be multiplied"),
    (lambda: nt.mm(nt.ones(3), nt.ones(3, 5)), "expected 2-D"),
    (lambda: nt.mm(nt.ones(1, 2, 3), nt.ones(3, 5)), "expected 2-D"),   # no broadcasting
    (lambda: nt.mm(nt.ones(2, 3), nt.ones(3, 5, dtype=nt.float64)), "same dtype"),
    (lambda: nt.bmm(nt.ones(2, 2, 3), nt.ones(3, 3, 5)), "cannot be multiplied"),
    (lambda: nt.bmm(nt.ones(2, 2, 3), nt.ones(2, 4, 5)), "cannot be multiplied"),
    (lambda: nt.bmm(nt.ones(2, 3), nt.ones(3, 5)), "expected 3-D"),
    (lambda: nt.dot(nt.ones(3), nt.ones(4)), "cannot be multiplied"),
    (lambda: nt.dot(nt.ones(3, 1), nt.ones(3)), "expected 1-D"),
    (lambda: nt.outer(nt.ones(3, 1), nt.ones(3)), "1-D"),
])
def test_products_check_shapes_and_dtypes(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_mm_gradients_known():
    out, (da, db) = _grad_of(nt.mm, [[1.0, 2.0]], [[3.0], [4.0]])
    assert out.tolist() == [[11.0]]
    assert da == [[3.0, 4.0]] and db == [[1.0], [2.0]]


def test_pow_function_and_t_clone():
    x = nt.tensor([1.0, 2.0, 3.0])
    assert nt.pow(x, 2).tolist() == [1.0, 4.0, 9.0]
    assert nt.pow(x, nt.tensor([0.0, 1.0, 2.0])).tolist() == [1.0, 2.0, 9.0]
    assert nt.pow(2, nt.tensor([1, 2, 3])).tolist() == [2, 4, 8]
    assert nt.pow(2, nt.tensor([1, 2, 3])).dtype == nt.int64
    assert nt.pow(2.5, nt.tensor([1, 2])).dtype == nt.float32
    assert nt.t(nt.tensor([[1, 2, 3]])).shape == (3, 1)
    c = nt.clone(x)
    c[0] = 5.0
    assert x[0].item() == 1.0


# -------------------------------------------------------------------- sorting
def test_sort_known_values_ties_and_nan():
    x = nt.tensor([3.0, 1.0, 2.0, 1.0])
    values, indices = nt.sort(x)
    assert values.tolist() == [1.0, 1.0, 2.0, 3.0] and indices.tolist() == [1, 3, 2, 0]
    assert x.sort(descending=True).indices.tolist() == [0, 2, 1, 3]  # ties keep their order
    assert x.argsort(descending=True).tolist() == [0, 2, 1, 3]
    assert indices.dtype == nt.int64
    nan = nt.tensor([1.0, float("nan"), 0.0])
    assert nan.sort().indices.tolist() == [2, 0, 1]                  # NaN is the largest
    assert nan.sort(descending=True).indices.tolist() == [1, 0, 2]
    m = nt.tensor([[3, 1], [0, 2]])
    assert m.sort(dim=0).values.tolist() == [[0, 1], [3, 2]]
    assert nt.tensor([True, False]).sort().values.tolist() == [False, True]
    assert nt.tensor([2, 1], dtype=nt.uint8).sort(descending=True).indices.tolist() == [0, 1]
    v, i = nt.sort(nt.tensor(3.0))
    assert v.item() == 3.0 and i.item() == 0 and i.shape == ()
    with pytest.raises(IndexError, match="dimension out of range"):
        x.sort(dim=1)


def test_sort_and_topk_gradients_go_to_the_elements():
    out, (grad,) = _grad_of(lambda x: x.sort().values, [3.0, 1.0, 2.0])
    assert out.tolist() == [1.0, 2.0, 3.0] and grad == [3.0, 1.0, 2.0]
    out, (grad,) = _grad_of(lambda x: x.topk(2).values, [3.0, 1.0, 2.0])
    assert out.tolist() == [3.0, 2.0] and grad == [1.0, 0.0, 2.0]


def test_topk_known_values_and_errors():
    x = nt.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    values, indices = x.topk(2)
    assert values.tolist() == [[5.0, 3.0], [6.0, 4.0]] and indices.tolist() == [[1, 2], [2, 0]]
    assert nt.topk(x, 1, dim=0, largest=False).values.tolist() == [[1.0, 2.0, 3.0]]
    assert x.topk(0).values.shape == (2, 0)
    with pytest.raises(RuntimeError, match="out of range"):
        x.topk(4)
    with pytest.raises(RuntimeError, match="out of range"):
        x.topk(-1)


def test_cumprod_known_values_dtype_and_zero_gradients():
    assert nt.cumprod(nt.tensor([1, 2, 3, 4], dtype=nt.int32), 0).tolist() == [1, 2, 6, 24]
    assert nt.tensor([1, 2], dtype=nt.int32).cumprod(0).dtype == nt.int64
    assert nt.tensor([True, True]).cumprod(0).dtype == nt.int64
    assert nt.tensor([1, 2]).cumprod(0, dtype=nt.float64).dtype == nt.float64
    assert nt.tensor([[1.0, 2.0], [3.0, 4.0]]).cumprod(-1).tolist() == [[1.0, 2.0], [3.0, 12.0]]
    assert nt.tensor(2.0).cumprod(0).item() == 2.0
    # out = [x0, x0 x1, x0 x1 x2] = [2, 0, 0] with weights [1, 2, 3]: at the zero x1,
    # d/dx1 = 2 x0 + 3 x0 x2 (not 0/0); after it, 0
    _, (grad,) = _grad_of(lambda x: x.cumprod(0), [2.0, 0.0, 3.0])
    assert grad == [1.0, 2 * 2 + 3 * 2 * 3, 0.0]
    _, (grad,) = _grad_of(lambda x: x.cumprod(0), [0.0, 0.0, 3.0])
    assert grad == [1.0, 0.0, 0.0]
    assert nt.ones(0).cumprod(0).shape == (0,)


# -------------------------------------------------------------------- indexing
def test_masked_select_broadcasts_and_has_gradient():
    x = nt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    picked = x.masked_select(nt.tensor([True, False]))
    assert picked.tolist() == [1.0, 3.0]
    picked.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert nt.masked_select(nt.tensor([1.0, 2.0]), nt.tensor([[True], [False]])).tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="bool"):
        x.masked_select(nt.tensor([1, 0]))
    with pytest.raises(ValueError, match="broadcast"):
        x.masked_select(nt.tensor([True, False, True]))


def test_nonzero_and_where_with_one_argument():
    x = nt.tensor([[1, 0], [2, 3]])
    assert x.nonzero().tolist() == [[0, 0], [1, 0], [1, 1]]
    assert x.nonzero().dtype == nt.int64
    rows, cols = nt.nonzero(x, as_tuple=True)
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [0, 0, 1]
    assert [t.tolist() for t in nt.where(x > 0)] == [[0, 1, 1], [0, 0, 1]]
    assert nt.tensor(3.0).nonzero().shape == (1, 0)
    assert [t.tolist() for t in nt.tensor(3.0).nonzero(as_tuple=True)] == [[0]]
    assert x[nt.where(x > 1)].tolist() == [2, 3]
    with pytest.raises(TypeError, match="condition"):
        nt.where(x > 0, x)


def test_tensor_where_method():
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = x.where(x > 1.5, nt.tensor(0.0))
    assert out.tolist() == [0.0, 2.0, 3.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]
    assert nt.tensor([1, 2]).where(nt.tensor([True, False]), 0.5).tolist() == [1.0, 0.5]


def test_masked_fill_inplace_follows_the_inplace_rules():
    x = nt.tensor([[1.0, 2.0], [3.0, 4.0]])
    version = x._version[0]
    assert x.masked_fill_(nt.tensor([True, False]), -1.0) is x
    assert x.tolist() == [[-1.0, 2.0], [-1.0, 4.0]] and x._version[0] == version + 1
    leaf = nt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.masked_fill_(nt.tensor([True, False]), 0.0)
    y = leaf * 3
    value = nt.tensor(5.0, requires_grad=True)
    y.masked_fill_(nt.tensor([True, False]), value)
    assert y.tolist() == [5.0, 3.0]
    (y * nt.tensor([2.0, 7.0])).sum().backward()
    assert leaf.grad.tolist() == [0.0, 21.0] and value.grad.item() == 2.0
    s = nt.ones(2, requires_grad=True)
    w = s.sigmoid()                     # SigmoidFn saves w for its backward
    w.masked_fill_(nt.tensor([True, False]), 0.0)
    with pytest.raises(RuntimeError, match="modified"):
        w.sum().backward()
    with pytest.raises(TypeError, match="bool"):
        x.masked_fill_(nt.tensor([1, 0]), 0.0)
    with pytest.raises(ValueError, match="broadcast"):
        x.masked_fill_(nt.ones(3, 2, 2, dtype=nt.bool), 0.0)
    with pytest.raises(ValueError, match="0-d"):
        x.masked_fill_(nt.tensor([True, False]), nt.tensor([1.0, 2.0]))


# ----------------------------------------------------------------------- shape
def test_movedim_narrow_select_unbind():
    x = nt.zeros(2, 3, 4)
    assert x.movedim(0, -1).shape == (3, 4, 2)
    assert nt.movedim(x, (0, 1), (2, 0)).shape == (3, 4, 2)
    assert nt.moveaxis(x, 2, 0).shape == (4, 2, 3)
    with pytest.raises(RuntimeError, match="repeated"):
        x.movedim((0, 0), (1, 2))
    with pytest.raises(RuntimeError, match="same number"):
        x.movedim((0, 1), 2)
    y = nt.arange(6).reshape(2, 3)
    assert y.narrow(1, 1, 2).tolist() == [[1, 2], [4, 5]]
    assert y.narrow(1, -1, 1).tolist() == [[2], [5]]
    assert y.narrow(0, 2, 0).shape == (0, 3)
    with pytest.raises(RuntimeError, match="exceeds"):
        y.narrow(1, 2, 2)
    with pytest.raises(IndexError, match="start"):
        y.narrow(1, -4, 1)
    assert y.select(1, -1).tolist() == [2, 5]
    with pytest.raises(IndexError):
        y.select(0, 2)
    rows = nt.unbind(y)
    assert isinstance(rows, tuple) and [r.tolist() for r in rows] == [[0, 1, 2], [3, 4, 5]]
    assert [c.tolist() for c in y.unbind(1)] == [[0, 3], [1, 4], [2, 5]]
    with pytest.raises(IndexError):
        nt.tensor(1.0).unbind()


def test_narrow_and_unbind_gradients_known():
    _, (grad,) = _grad_of(lambda x: x.narrow(0, 1, 2), [1.0, 2.0, 3.0])
    assert grad == [0.0, 1.0, 2.0]
    x = nt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    first, second = x.unbind(1)
    (first * 2 + second * 3).sum().backward()
    assert x.grad.tolist() == [[2.0, 3.0], [2.0, 3.0]]


def test_tile_and_repeat_interleave_known():
    x = nt.tensor([[1, 2]])
    assert x.tile(2).tolist() == [[1, 2, 1, 2]]
    assert nt.tile(x, (2, 1, 1)).shape == (2, 1, 2)
    v = nt.tensor([1, 2, 3])
    assert v.repeat_interleave(2).tolist() == [1, 1, 2, 2, 3, 3]
    assert v.repeat_interleave(nt.tensor([1, 0, 2])).tolist() == [1, 3, 3]
    assert x.repeat_interleave(2, dim=0).tolist() == [[1, 2], [1, 2]]
    assert x.repeat_interleave(2).tolist() == [1, 1, 2, 2]          # flattened
    assert nt.repeat_interleave(nt.tensor([2, 1])).tolist() == [0, 0, 1]
    assert v.repeat_interleave(2, output_size=6).shape == (6,)
    _, (grad,) = _grad_of(lambda t: t.repeat_interleave(nt.tensor([2, 1])), [1.0, 2.0])
    assert grad == [1.0 + 2.0, 3.0]
    for repeats, error in [(-1, RuntimeError), (nt.tensor([1, 2]), RuntimeError),
                           (nt.tensor([[1, 2, 3]]), RuntimeError), (nt.tensor([1.0, 2.0, 1.0]), TypeError)]:
        with pytest.raises(error, match="repeat"):
            v.repeat_interleave(repeats)
    with pytest.raises(RuntimeError, match="output_size"):
        v.repeat_interleave(2, output_size=5)


def test_diagonal_known_view_and_gradient():
    x = nt.arange(9.0).reshape(3, 3)
    assert x.diagonal().tolist() == [0.0, 4.0, 8.0]
    assert x.diagonal(1).tolist() == [1.0, 5.0]
    assert nt.diagonal(x, -1).tolist() == [3.0, 7.0]
    assert x.diagonal(5).shape == (0,)
    assert nt.zeros(2, 3, 4).diagonal(0, 0, 2).shape == (3, 2)
    x.diagonal().fill_(-1.0)                       # a view: writing it changes x
    assert x[1, 1].item() == -1.0
    _, (grad,) = _grad_of(lambda t: t.diagonal(), [[1.0, 2.0], [3.0, 4.0]])
    assert grad == [[1.0, 0.0], [0.0, 2.0]]
    with pytest.raises(RuntimeError, match="identical"):
        x.diagonal(0, 1, 1)
    with pytest.raises(IndexError):
        nt.ones(3).diagonal()


def test_swapaxes_swapdims():
    x = nt.zeros(2, 3, 4)
    assert x.swapaxes(0, 2).shape == (4, 3, 2) and x.swapdims(1, 2).shape == (2, 4, 3)
    assert nt.swapaxes(x, 0, 1).shape == (3, 2, 4) and nt.swapdims(x, 0, 1).shape == (3, 2, 4)


# ------------------------------------------------------------------------ math
def test_math_known_values():
    assert nt.log10(nt.tensor([1000, 1])).tolist() == [3.0, 0.0]
    assert nt.tan(nt.tensor([0.0])).item() == 0.0
    assert nt.asin(nt.tensor([1.0])).item() == pytest.approx(math.pi / 2)
    assert nt.acos(nt.tensor([-1.0])).item() == pytest.approx(math.pi)
    assert nt.atan(nt.tensor([1.0])).item() == pytest.approx(math.pi / 4)
    angles = nt.atan2(nt.tensor([1, -1]), nt.tensor([0, 0])).tolist()
    assert angles == pytest.approx([math.pi / 2, -math.pi / 2])
    assert nt.atan2(nt.tensor([1]), nt.tensor([1])).dtype == nt.float32
    assert nt.sinh(nt.tensor([1.0])).item() == pytest.approx(math.sinh(1))
    assert nt.cosh(nt.tensor([1.0])).item() == pytest.approx(math.cosh(1))
    assert nt.asinh(nt.tensor([1.0])).item() == pytest.approx(math.asinh(1))
    assert nt.acosh(nt.tensor([2.0])).item() == pytest.approx(math.acosh(2))
    assert nt.atanh(nt.tensor([0.5])).item() == pytest.approx(math.atanh(0.5))
    assert nt.arcsin is nt.asin and nt.tensor(1.0).arctan2(1.0).item() == pytest.approx(math.pi / 4)
    assert math.isnan(nt.asin(nt.tensor([2.0])).item())                 # no warning, as PyTorch
    assert nt.fmod(nt.tensor([-3, 3]), 2).tolist() == [-1, 1]
    assert (nt.tensor([-3, 3]) % 2).tolist() == [1, 1]
    assert nt.fmod(nt.tensor([-3.5]), nt.tensor([2.0])).tolist() == [-1.5]
    assert math.isnan(nt.fmod(nt.tensor([1.0]), 0.0).item())
    with pytest.raises(ZeroDivisionError):
        nt.fmod(nt.tensor([1]), 0)


def test_math_gradients_known():
    for fn, x, slope in [(nt.tan, 0.5, 1 / math.cos(0.5) ** 2), (nt.asin, 0.5, 1 / math.sqrt(0.75)),
                         (nt.acos, 0.5, -1 / math.sqrt(0.75)), (nt.atan, 2.0, 1 / 5),
                         (nt.sinh, 1.0, math.cosh(1)), (nt.cosh, 1.0, math.sinh(1)),
                         (nt.asinh, 1.0, 1 / math.sqrt(2)), (nt.acosh, 2.0, 1 / math.sqrt(3)),
                         (nt.atanh, 0.5, 1 / 0.75), (nt.log10, 2.0, 1 / (2 * math.log(10)))]:
        _, (grad,) = _grad_of(fn, [x])
        assert grad[0] == pytest.approx(slope, rel=1e-6), fn.__name__
    _, (ga, gb) = _grad_of(nt.atan2, [1.0], [2.0])
    assert ga == pytest.approx([2 / 5]) and gb == pytest.approx([-1 / 5])
    _, (ga, gb) = _grad_of(nt.fmod, [-7.0], [2.0])
    assert ga == [1.0] and gb == [3.0]                                   # -trunc(-3.5)


# ---------------------------------------------------------------- conveniences
def test_small_conveniences():
    x = nt.tensor([1.0, 2.0])
    assert x.add(nt.tensor([1.0, 1.0]), alpha=2).tolist() == [3.0, 4.0]
    assert x.sub(1, alpha=0.5).tolist() == [0.5, 1.5]
    assert nt.tensor([1, 2], dtype=nt.uint8).sum().dtype == nt.int64
    assert nt.tensor([1, 2]).sum(dtype=nt.float32).dtype == nt.float32
    assert nt.tensor([True, True]).sum().item() == 2
    assert nt.zeros(2, 3, 4).permute(dims=(2, 0, 1)).shape == (4, 2, 3)
    assert nt.zeros(6).reshape(shape=(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="shape"):
        nt.zeros(6).reshape(2, 3, shape=(2, 3))
    assert x.is_floating_point() and not nt.tensor([1]).is_floating_point()
    assert nt.is_floating_point(x) and nt.is_tensor(x) and not nt.is_tensor([1.0])
    assert nt.numel(nt.zeros(2, 3)) == 6
    i = nt.tensor([1, 2], dtype=nt.int32)
    assert i.new_zeros(2, 3).dtype == nt.int32 and i.new_zeros((2, 3)).shape == (2, 3)
    assert i.new_ones(2).tolist() == [1, 1] and i.new_empty(4).dtype == nt.int32
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_full((2,), 7).dtype == nt.float32
    assert x.new_tensor([1, 2]).dtype == nt.float32 and x.new_zeros(1, dtype=nt.int64).dtype == nt.int64
    assert x.new_ones(2, requires_grad=True).requires_grad
    assert x.half().dtype == np.float16 and x.byte().dtype == np.uint8
    assert x.char().dtype == np.int8 and x.short().dtype == np.int16


def test_inplace_math_methods():
    x = nt.tensor([-1.0, 4.0])
    version = x._version[0]
    assert x.abs_() is x and x.tolist() == [1.0, 4.0] and x._version[0] == version + 1
    assert x.sqrt_().tolist() == [1.0, 2.0]
    assert x.neg_().tolist() == [-1.0, -2.0]
    assert x.clamp_(min=-1.5).tolist() == [-1.0, -1.5]
    assert x.relu_().tolist() == [0.0, 0.0]
    assert x.exp_().tolist() == [1.0, 1.0]
    with pytest.raises(TypeError):
        nt.tensor([1, 2]).exp_()                       # float results can't go into int64
    leaf = nt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.exp_()
    y = leaf * 2
    y.exp_()
    y.sum().backward()
    assert leaf.grad.tolist() == pytest.approx([2 * math.e ** 2] * 2)
    with nt.no_grad():
        leaf.clamp_(max=0.5)
    assert leaf.tolist() == [0.5, 0.5]


# --------------------------------------------------------------- gradcheck
def _rand(*shape, low=-2.0, high=2.0, seed=0):
    return nt.tensor(np.random.default_rng(seed).uniform(low, high, shape), dtype=nt.float64,
                     requires_grad=True)


GRADCHECKS = {
    "mm": (lambda a, b: nt.mm(a, b), lambda: (_rand(2, 3), _rand(3, 4, seed=1))),
    "bmm": (lambda a, b: nt.bmm(a, b), lambda: (_rand(2, 2, 3), _rand(2, 3, 2, seed=1))),
    "dot": (lambda a, b: nt.dot(a, b), lambda: (_rand(4), _rand(4, seed=1))),
    "outer": (lambda a, b: nt.outer(a, b), lambda: (_rand(3), _rand(2, seed=1))),
    "pow": (lambda a, b: nt.pow(a, b), lambda: (_rand(3, low=0.5), _rand(3, seed=1))),
    "pow-number-base": (lambda b: nt.pow(2.0, b), lambda: (_rand(3),)),
    "sort": (lambda a: a.sort(dim=0, descending=True).values, lambda: (_rand(4, 3),)),
    "topk": (lambda a: a.topk(2).values, lambda: (_rand(3, 4),)),
    "cumprod": (lambda a: a.cumprod(1), lambda: (_rand(3, 4),)),
    "cumprod-zeros": (lambda a: a.cumprod(0), lambda: (nt.tensor([2.0, 0.0, 3.0, 0.0, 1.5], dtype=nt.float64,
                                                                 requires_grad=True),)),
    "masked_select": (lambda a: a.masked_select(nt.tensor([True, False, True])), lambda: (_rand(2, 3),)),
    "where-method": (lambda a, b: a.where(a > 0, b), lambda: (_rand(5), _rand(5, seed=1))),
    "movedim": (lambda a: a.movedim(0, 2), lambda: (_rand(2, 3, 4),)),
    "narrow": (lambda a: a.narrow(1, 1, 2), lambda: (_rand(2, 4),)),
    "unbind": (lambda a: a.unbind(1), lambda: (_rand(2, 3),)),
    "tile": (lambda a: a.tile(2, 1, 2), lambda: (_rand(2, 3),)),
    "repeat_interleave": (lambda a: a.repeat_interleave(nt.tensor([2, 0, 1]), dim=1), lambda: (_rand(2, 3),)),
    "diagonal": (lambda a: a.diagonal(1, 0, 2), lambda: (_rand(3, 2, 4),)),
    "tan": (nt.tan, lambda: (_rand(5, low=-1.2, high=1.2),)),
    "asin": (nt.asin, lambda: (_rand(5, low=-0.9, high=0.9),)),
    "acos": (nt.acos, lambda: (_rand(5, low=-0.9, high=0.9),)),
    "atan": (nt.atan, lambda: (_rand(5),)),
    "atan2": (nt.atan2, lambda: (_rand(5), _rand(5, seed=1))),
    "atan2-broadcast": (nt.atan2, lambda: (_rand(2, 3), _rand(3, seed=1))),
    "sinh": (nt.sinh, lambda: (_rand(5),)),
    "cosh": (nt.cosh, lambda: (_rand(5),)),
    "asinh": (nt.asinh, lambda: (_rand(5),)),
    "acosh": (nt.acosh, lambda: (_rand(5, low=1.1, high=3.0),)),
    "atanh": (nt.atanh, lambda: (_rand(5, low=-0.9, high=0.9),)),
    "log10": (nt.log10, lambda: (_rand(5, low=0.5),)),
    "fmod": (nt.fmod, lambda: (nt.tensor([-3.3, 2.7, 5.1], dtype=nt.float64, requires_grad=True),
                               nt.tensor([1.3, -1.9, 2.2], dtype=nt.float64, requires_grad=True))),
    "masked_fill_": (lambda a, v: (a * 1).masked_fill_(a > 0, v), lambda: (_rand(5), _rand(seed=1))),
    "clamp_": (lambda a: (a * 1).clamp_(-1, 1), lambda: (_rand(6),)),
}


@pytest.mark.parametrize("name", GRADCHECKS)
def test_gradcheck(name):
    fn, make = GRADCHECKS[name]
    assert gradcheck(fn, make())


# ------------------------------------------------------------------ PyTorch
def _inputs(shapes, domain):
    rng = np.random.default_rng(1)
    low, high = {"real": (-2.0, 2.0), "unit": (-0.9, 0.9), "pos": (0.5, 2.0), "above1": (1.1, 3.0)}[domain]
    return [rng.uniform(low, high, s).astype(np.float32) for s in shapes]


TORCH_CASES = [
    ("mm", lambda lib, a, b: lib.mm(a, b), [(2, 3), (3, 4)], "real"),
    ("bmm", lambda lib, a, b: a.bmm(b), [(2, 2, 3), (2, 3, 4)], "real"),
    ("dot", lambda lib, a, b: lib.dot(a, b), [(5,), (5,)], "real"),
    ("outer", lambda lib, a, b: a.outer(b), [(3,), (4,)], "real"),
    ("pow", lambda lib, a, b: lib.pow(a, b), [(4,), (4,)], "pos"),
    ("pow-number", lambda lib, a: lib.pow(a, 3), [(4,)], "real"),
    ("pow-number-base", lambda lib, a: lib.pow(1.5, a), [(4,)], "real"),
    ("sort", lambda lib, a: lib.sort(a, dim=0)[0], [(5, 3)], "real"),
    ("sort-desc", lambda lib, a: a.sort(descending=True).values, [(3, 5)], "real"),
    ("topk", lambda lib, a: lib.topk(a, 3).values, [(2, 6)], "real"),
    ("topk-smallest", lambda lib, a: a.topk(2, dim=0, largest=False).values, [(4, 3)], "real"),
    ("cumprod", lambda lib, a: lib.cumprod(a, 1), [(3, 5)], "real"),
    ("cumprod-zeros", lambda lib, a: (a * (a > 0)).cumprod(0), [(6, 2)], "real"),
    ("masked_select", lambda lib, a: a.masked_select(a > 0), [(3, 4)], "real"),
    ("where-method", lambda lib, a, b: a.where(a > b, b), [(3, 4), (4,)], "real"),
    ("movedim", lambda lib, a: lib.movedim(a, (0, 1), (2, 0)), [(2, 3, 4)], "real"),
    ("narrow", lambda lib, a: lib.narrow(a, 1, -3, 2), [(2, 5)], "real"),
    ("unbind", lambda lib, a: lib.unbind(a, 1)[1], [(3, 4)], "real"),
    ("tile", lambda lib, a: lib.tile(a, (2, 1, 3)), [(2, 3)], "real"),
    ("repeat_interleave", lambda lib, a: a.repeat_interleave(3), [(2, 2)], "real"),
    ("repeat_interleave-dim", lambda lib, a: lib.repeat_interleave(a, 2, dim=1), [(2, 3)], "real"),
    ("diagonal", lambda lib, a: lib.diagonal(a, -1, 2, 0), [(4, 2, 3)], "real"),
    ("swapaxes", lambda lib, a: a.swapaxes(0, 1), [(2, 3)], "real"),
    ("log10", lambda lib, a: lib.log10(a), [(5,)], "pos"),
    ("tan", lambda lib, a: lib.tan(a), [(5,)], "unit"),
    ("asin", lambda lib, a: lib.asin(a), [(5,)], "unit"),
    ("acos", lambda lib, a: a.acos(), [(5,)], "unit"),
    ("atan", lambda lib, a: lib.atan(a), [(5,)], "real"),
    ("atan2", lambda lib, a, b: lib.atan2(a, b), [(2, 3), (3,)], "real"),
    ("sinh", lambda lib, a: lib.sinh(a), [(5,)], "real"),
    ("cosh", lambda lib, a: a.cosh(), [(5,)], "real"),
    ("asinh", lambda lib, a: lib.asinh(a), [(5,)], "real"),
    ("acosh", lambda lib, a: lib.acosh(a), [(5,)], "above1"),
    ("atanh", lambda lib, a: lib.atanh(a), [(5,)], "unit"),
    ("fmod", lambda lib, a, b: lib.fmod(a * 3, b), [(2, 4), (4,)], "pos"),
    ("add-alpha", lambda lib, a, b: a.add(b, alpha=0.5), [(3,), (3,)], "real"),
    ("sum-dtype", lambda lib, a: a.sum(dtype=lib.float64), [(3,)], "real"),
]


@pytest.mark.torch
@pytest.mark.parametrize("name, fn, shapes, domain", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch(torch, name, fn, shapes, domain):
    arrays = _inputs(shapes, domain)
    ours = [nt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = fn(nt, *ours), fn(torch, *theirs)
    assert out.shape == tuple(expected.shape)
    assert str(out.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    weights = np.random.default_rng(2).standard_normal(out.shape).astype(out.dtype)
    (out * nt.tensor(weights, dtype=out.dtype)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for x, t in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.torch
def test_indices_and_integer_results_match_torch(torch):
    rng = np.random.default_rng(3)
    ints = rng.integers(-3, 4, (4, 5))
    floats = rng.standard_normal((4, 5)).astype(np.float32)
    floats[0, :2] = floats[1, 3] = np.nan  # NaN sorts as the largest value
    cases = [
        lambda lib, i, f: lib.sort(i, stable=True, descending=True).indices,
        lambda lib, i, f: i.argsort(dim=0, stable=True),
        lambda lib, i, f: f.sort(dim=1).indices,
        lambda lib, i, f: f.sort(dim=1, descending=True).values,
        lambda lib, i, f: f[1:].topk(2).indices,  # (PyTorch's topk orders tied NaNs its own way)
        lambda lib, i, f: i.nonzero(),
        lambda lib, i, f: lib.where(i > 0)[1],
        lambda lib, i, f: lib.cumprod(i, 1),
        lambda lib, i, f: lib.repeat_interleave(i.abs()[0]),
        lambda lib, i, f: lib.fmod(i, 2),
        lambda lib, i, f: lib.pow(2, i.abs()),
        lambda lib, i, f: lib.mm(i, i.t()),
        lambda lib, i, f: i.sum(dtype=lib.float32),
        lambda lib, i, f: lib.atan2(i, i.sum(0)),
        lambda lib, i, f: i.clone().masked_fill_(i > 0, 9),
        lambda lib, i, f: i.new_full((2,), 3.7),
    ]
    for k, case in enumerate(cases):
        ours = case(nt, nt.tensor(ints), nt.tensor(floats))
        theirs = case(torch, torch.tensor(ints), torch.tensor(floats))
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), k
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, err_msg=str(k))
