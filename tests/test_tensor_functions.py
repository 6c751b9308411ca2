"""The torch-level math functions and their Tensor methods: nan_to_num, logaddexp, addcmul/addcdiv,
fmax/fmin, hypot, xlogy, clamp_min/max, lerp, exp2, logit, erfc, frac, sgn, float_power,
true_divide, copysign, sinc, deg2rad/rad2deg and the in-place forms; and the reductions median,
nansum, nanmean, count_nonzero, var_mean/std_mean, aminmax, cummax/cummin, logcumsumexp, quantile,
isclose/allclose/equal.

Known answers and gradcheck run everywhere; the ``torch`` tests compare values, dtypes and
gradients with PyTorch (skipped where it is not installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nanotorch as nt

# The inputs hold 0, -0, NaN and +-inf on purpose: NumPy warns where they meet (1 / 0, inf - inf),
# PyTorch does not; the values are what these tests check.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

NAN, INF = math.nan, math.inf


def _values(t) -> list:
    return t.detach().numpy().tolist()


def _grads(fn, *values, dtype=nt.float64) -> list:
    """The gradients of ``fn(*xs).sum()`` w.r.t. tensors made from ``values``."""
    xs = [nt.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad.numpy().tolist() for x in xs]


# ------------------------------------------------------------------ known answers
def test_nan_to_num_known_answers():
    x = nt.tensor([NAN, INF, -INF, 1.5])
    big = float(np.finfo(np.float32).max)
    assert _values(nt.nan_to_num(x)) == [0.0, big, -big, 1.5]
    assert _values(x.nan_to_num(1.0, 2.0, -3.0)) == [1.0, 2.0, -3.0, 1.5]
    assert nt.nan_to_num(nt.tensor([NAN], dtype=nt.float16)).dtype == nt.float16
    assert _values(nt.nan_to_num(nt.tensor([1, 2]))) == [1, 2]
    assert _grads(nt.nan_to_num, [NAN, INF, -INF, 1.5]) == [[0.0, 0.0, 0.0, 1.0]]


def test_logaddexp_is_stable_and_exact_at_infinities():
    a, b = nt.tensor([1000.0, -1000.0, 0.0, -INF, INF]), nt.tensor([1000.0, -1000.0, 0.0, -INF, INF])
    out = nt.logaddexp(a, b).numpy()
    np.testing.assert_allclose(out[:3], [1000 + math.log(2), -1000 + math.log(2), math.log(2)], rtol=1e-6)
    assert out[3] == -INF and out[4] == INF
    assert _grads(nt.logaddexp, [1.0, 2.0], [1.0, -INF]) == [[0.5, 1.0], [0.5, 0.0]]
    with pytest.raises(NotImplementedError, match="logaddexp"):
        nt.logaddexp(nt.tensor([1]), nt.tensor([2]))
    with pytest.raises(TypeError, match="must be Tensor"):
        nt.logaddexp(nt.tensor([1.0]), 2.0)


def test_hypot_xlogy_copysign_known_answers():
    assert _values(nt.hypot(nt.tensor([3.0, 5.0]), nt.tensor([4.0, 12.0]))) == [5.0, 13.0]
    assert _grads(nt.hypot, [3.0], [4.0]) == [[0.6], [0.8]]
    x, y = [0.0, 0.0, 0.0, 1.0, 2.0], [0.0, -1.0, NAN, 0.0, math.e]
    np.testing.assert_equal(_values(nt.xlogy(nt.tensor(x), nt.tensor(y))), [0.0, 0.0, NAN, -INF, 2.0])
    dx, dy = _grads(nt.xlogy, x, y)
    np.testing.assert_equal(dx, [0.0, 0.0, NAN, -INF, 1.0])
    np.testing.assert_allclose(dy[3:], [INF, 2 / math.e])
    assert nt.xlogy(nt.tensor([1, 2]), 3.5).dtype == nt.float32
    assert nt.xlogy(3, nt.tensor([1.0], dtype=nt.float64)).dtype == nt.float64
    out = nt.copysign(nt.tensor([1.0, -2.0, 3.0]), nt.tensor([-0.0, 1.0, -1.0]))
    assert _values(out) == [-1.0, 2.0, -3.0]
    assert nt.copysign(nt.tensor([1, 2]), -1).dtype == nt.float32
    assert _grads(nt.copysign, [0.0, 1.0, -2.0], [1.0, -1.0, -1.0]) == [[0.0, -1.0, 1.0], [0.0, 0.0, 0.0]]


def test_fmax_fmin_skip_nan_and_give_ties_to_the_first():
    a, b = [1.0, 2.0, NAN, 3.0, NAN], [1.0, 3.0, 1.0, NAN, NAN]
    np.testing.assert_equal(_values(nt.fmax(nt.tensor(a), nt.tensor(b))), [1.0, 3.0, 1.0, 3.0, NAN])
    np.testing.assert_equal(_values(nt.fmin(nt.tensor(a), nt.tensor(b))), [1.0, 2.0, 1.0, 3.0, NAN])
    assert _grads(nt.fmax, a, b) == [[1.0, 0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0, 0.0]]
    assert _grads(nt.fmin, a, b) == [[1.0, 1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0, 0.0]]
    assert nt.fmax(nt.tensor([1, 5]), nt.tensor([3, 2])).tolist() == [3, 5]
    with pytest.raises(TypeError, match="must be Tensor"):
        nt.fmin(nt.tensor([1.0]), 0.0)


def test_unary_math_known_answers():
    np.testing.assert_allclose(_values(nt.exp2(nt.tensor([0, 3, -1]))), [1.0, 8.0, 0.5])
    assert nt.exp2(nt.tensor([1])).dtype == nt.float32
    np.testing.assert_allclose(_grads(nt.exp2, [3.0]), [[8 * math.log(2)]])
    assert nt.erfc(nt.tensor([5.0])).item() == pytest.approx(1.5374597944e-12, rel=1e-6)
    np.testing.assert_allclose(_grads(nt.erfc, [0.0]), [[-2 / math.sqrt(math.pi)]])
    np.testing.assert_allclose(_values(nt.sinc(nt.tensor([0.0, 0.5, 2.0]))), [1.0, 2 / math.pi, 0.0],
                               atol=1e-7)
    np.testing.assert_allclose(_grads(nt.sinc, [0.0, 0.5]), [[0.0, -4 / math.pi]])
    assert _values(nt.frac(nt.tensor([-1.5, 2.25]))) == [-0.5, 0.25]
    assert _grads(nt.frac, [-1.5, 2.25]) == [[1.0, 1.0]]
    with pytest.raises(NotImplementedError, match="frac"):
        nt.frac(nt.tensor([1]))
    assert nt.sgn(nt.tensor([-2, 0, 3])).tolist() == [-1, 0, 1]
    np.testing.assert_allclose(_values(nt.deg2rad(nt.tensor([180]))), [math.pi], rtol=1e-6)
    np.testing.assert_allclose(_values(nt.rad2deg(nt.tensor([math.pi]))), [180.0], rtol=1e-6)


def test_logit_with_and_without_eps():
    np.testing.assert_allclose(_values(nt.logit(nt.tensor([0.5, 0.75]))), [0.0, math.log(3)], rtol=1e-6)
    assert _values(nt.logit(nt.tensor([0.0, 1.0]))) == [-INF, INF]
    clamped = nt.logit(nt.tensor([0.0, 1.0]), eps=0.25)
    np.testing.assert_allclose(_values(clamped), [-math.log(3), math.log(3)], rtol=1e-6)
    np.testing.assert_equal(_grads(nt.logit, [0.5, -0.5, 1.5]), [[4.0, NAN, NAN]])
    np.testing.assert_allclose(_grads(lambda x: x.logit(eps=0.25), [0.1, 0.25, 0.5, 0.9]),
                               [[0.0, 16 / 3, 4.0, 0.0]])


def test_float_power_true_divide_clamp_min_max():
    out = nt.float_power(nt.tensor([1, 2, 3]), 2)
    assert out.dtype == nt.float64 and out.tolist() == [1.0, 4.0, 9.0]
    assert nt.float_power(2, nt.tensor([3.0])).tolist() == [8.0]
    assert nt.float_power(nt.tensor([2.0]), nt.tensor([3])).dtype == nt.float64
    assert _grads(lambda x: nt.float_power(x, 2), [3.0], dtype=nt.float32) == [[6.0]]
    assert nt.true_divide(nt.tensor([1, 2]), 2).tolist() == [0.5, 1.0]
    assert nt.clamp_min(nt.tensor([1, 2, 3]), 1.5).tolist() == [1.5, 2.0, 3.0]
    assert nt.tensor([1.0, 5.0]).clamp_max(nt.tensor([2.0, 2.0])).tolist() == [1.0, 2.0]


def test_addcmul_addcdiv():
    x, a, b = nt.tensor([1.0, 2.0]), nt.tensor([3.0, 4.0]), nt.tensor([2.0, 8.0])
    assert nt.addcmul(x, a, b, value=0.5).tolist() == [4.0, 18.0]
    assert nt.addcdiv(x, a, b, value=2).tolist() == [4.0, 3.0]
    i = nt.tensor([1, 2])
    assert nt.addcmul(i, i, i, value=1.7).tolist() == [2, 6]  # PyTorch truncates value to an int
    with pytest.raises(RuntimeError, match="integer division"):
        nt.addcdiv(x, i, i)
    assert _grads(lambda x, a, b: x.addcdiv(a, b, value=2), [1.0], [3.0], [2.0]) == [[1.0], [1.0], [-1.5]]
    y = x.clone()
    assert y.addcmul_(a, b) is y and y.tolist() == [7.0, 34.0]
    assert y.addcdiv_(a, b, value=-1).tolist() == [5.5, 33.5]


def test_lerp_and_its_checks():
    start, end = nt.tensor([1.0, 2.0]), nt.tensor([3.0, 6.0])
    assert nt.lerp(start, end, 0.25).tolist() == [1.5, 3.0]
    assert nt.lerp(start, end, 1.0).tolist() == [3.0, 6.0]
    assert start.lerp(end, nt.tensor([0.25, 0.75])).tolist() == [1.5, 5.0]
    assert _grads(nt.lerp, [1.0, 2.0], [3.0, 5.0], [0.25, 0.75]) == [[0.75, 0.25], [0.25, 0.75], [2.0, 3.0]]
    with pytest.raises(RuntimeError, match="`end`"):
        nt.lerp(start, nt.tensor([1, 2]), 0.5)
    with pytest.raises(RuntimeError, match="`weight`"):
        nt.lerp(start, end, nt.tensor([0.5], dtype=nt.float64))
    with pytest.raises(NotImplementedError, match="lerp"):
        nt.lerp(nt.tensor([1]), nt.tensor([2]), 0.5)
    s = start.clone()
    assert s.lerp_(end, 0.5) is s and s.tolist() == [2.0, 4.0]


def test_inplace_math_methods():
    x = nt.tensor([1.0, 2.0])
    assert x.pow_(2) is x and x.tolist() == [1.0, 4.0]
    assert x.clone().sigmoid_().tolist() == pytest.approx([1 / (1 + math.exp(-1)), 1 / (1 + math.exp(-4))])
    assert nt.tensor([0.0]).tanh_().tolist() == [0.0]
    assert nt.tensor([-1.5, 2.5]).floor_().tolist() == [-2.0, 2.0]
    assert nt.tensor([1, 2]).floor_().tolist() == [1, 2]
    with pytest.raises(TypeError, match="can't be cast"):
        nt.tensor([1, 2]).sigmoid_()
    w = nt.tensor([0.5], requires_grad=True)
    y = w * 1
    y.sigmoid_().sum().backward()
    s = 1 / (1 + math.exp(-0.5))
    assert w.grad.tolist() == pytest.approx([s * (1 - s)], rel=1e-6)


GRADCHECKED = [
    ("logaddexp", lambda a, b: nt.logaddexp(a, b), 2),
    ("hypot", lambda a, b: nt.hypot(a, b), 2),
    ("xlogy", lambda a, b: nt.xlogy(a, b.abs() + 0.5), 2),
    ("copysign", lambda a, b: nt.copysign(a, b), 2),
    ("fmax", lambda a, b: nt.fmax(a, b), 2),
    ("fmin", lambda a, b: nt.fmin(a, b), 2),
    ("addcmul", lambda x, a, b: nt.addcmul(x, a, b, value=-0.5), 3),
    ("addcdiv", lambda x, a, b: nt.addcdiv(x, a, b.abs() + 0.5, value=2), 3),
    ("lerp", lambda a, b, w: nt.lerp(a, b, w), 3),
    ("exp2", lambda a: nt.exp2(a), 1),
    ("erfc", lambda a: nt.erfc(a), 1),
    ("sinc", lambda a: nt.sinc(a), 1),
    ("logit", lambda a: nt.logit(a.sigmoid()), 1),
    ("logit_eps", lambda a: nt.logit(a.sigmoid(), eps=0.05), 1),
    ("nan_to_num", lambda a: nt.nan_to_num(a), 1),
    ("frac", lambda a: nt.frac(a * 3), 1),
    ("float_power", lambda a, b: nt.float_power(a.abs() + 0.5, b), 2),
    ("deg2rad", lambda a: nt.deg2rad(a), 1),
    ("clamp_min", lambda a: nt.clamp_min(a, 0.3), 1),
]


@pytest.mark.parametrize("name, fn, arity", GRADCHECKED, ids=[g[0] for g in GRADCHECKED])
def test_gradcheck(name, fn, arity):
    rng = np.random.default_rng(3)
    xs = [nt.tensor(rng.uniform(-2, 2, (3, 4)), dtype=nt.float64, requires_grad=True) for _ in range(arity)]
    assert nt.autograd.gradcheck(fn, xs)


# ------------------------------------------------------------------- against torch
TORCH_CASES = [
    ("nan_to_num", lambda lib, a: lib.nan_to_num(a, nan=0.5, posinf=3.0), 1),
    ("nan_to_num_default", lambda lib, a: lib.nan_to_num(a), 1),
    ("logaddexp", lambda lib, a, b: lib.logaddexp(a, b), 2),
    ("addcmul", lambda lib, x, a, b: lib.addcmul(x, a, b, value=0.5), 3),
    ("addcdiv", lambda lib, x, a, b: lib.addcdiv(x, a, b, value=-2), 3),
    ("fmax", lambda lib, a, b: lib.fmax(a, b), 2),
    ("fmin", lambda lib, a, b: lib.fmin(a, b), 2),
    ("hypot", lambda lib, a, b: lib.hypot(a, b), 2),
    ("xlogy", lambda lib, a, b: lib.xlogy(a, b), 2),
    ("xlogy_number", lambda lib, a: lib.xlogy(a, 2.5), 1),
    ("clamp_min", lambda lib, a, b: lib.clamp_min(a, b), 2),
    ("clamp_max", lambda lib, a: lib.clamp_max(a, 0.25), 1),
    ("lerp", lambda lib, a, b, w: lib.lerp(a, b, w), 3),
    ("lerp_number", lambda lib, a, b: lib.lerp(a, b, 0.75), 2),
    ("exp2", lambda lib, a: lib.exp2(a), 1),
    ("logit", lambda lib, a: lib.logit(a), 1),
    ("logit_eps", lambda lib, a: lib.logit(a, eps=0.2), 1),
    ("erfc", lambda lib, a: lib.erfc(a), 1),
    ("frac", lambda lib, a: lib.frac(a), 1),
    ("sgn", lambda lib, a: lib.sgn(a), 1),
    ("float_power", lambda lib, a, b: lib.float_power(a, b), 2),
    ("true_divide", lambda lib, a, b: lib.true_divide(a, b), 2),
    ("copysign", lambda lib, a, b: lib.copysign(a, b), 2),
    ("sinc", lambda lib, a: lib.sinc(a), 1),
    ("deg2rad", lambda lib, a: lib.deg2rad(a), 1),
    ("rad2deg", lambda lib, a: lib.rad2deg(a), 1),
    ("pow_", lambda lib, a: (a * 1).pow_(3), 1),
    ("sigmoid_", lambda lib, a: (a * 1).sigmoid_(), 1),
    ("tanh_", lambda lib, a: (a * 1).tanh_(), 1),
    ("floor_", lambda lib, a: (a * 1).floor_(), 1),
    ("lerp_", lambda lib, a, b: (a * 1).lerp_(b, 0.3), 2),
    ("addcmul_", lambda lib, x, a, b: (x * 1).addcmul_(a, b, value=3), 3),
    ("addcdiv_", lambda lib, x, a, b: (x * 1).addcdiv_(a, b), 3),
]
# special values every case meets: zeros, ties, NaN, infinities, and values in (0, 1)
SPECIAL = np.array([0.0, -0.0, 1.0, 0.5, -1.5, NAN, INF, -INF, 0.25, 2.0, 0.75, -0.3])


def _torch_inputs(arity: int, shapes) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    arrays = [rng.uniform(-3, 3, s) for s in shapes[:arity]]
    arrays[0].reshape(-1)[:12] = SPECIAL[:arrays[0].size]
    if arity > 1:
        arrays[1].reshape(-1)[:12] = np.roll(SPECIAL, 3)[:arrays[1].size]
    return arrays


def _compare(ours, theirs, tol):
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(force=True), rtol=tol, atol=tol)


SHAPES = [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((2, 3, 2), (), (3, 1))]


@pytest.mark.parametrize("shapes", SHAPES, ids=["same", "broadcast", "zero-d"])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("name, fn, arity", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch(name, fn, arity, dtype, tol, shapes):
    torch = pytest.importorskip("torch")
    arrays = _torch_inputs(arity, shapes)
    ours = [nt.tensor(a, dtype=getattr(nt, dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    out, expected = fn(nt, *ours), fn(torch, *theirs)
    _compare(out, expected, tol)
    weights = np.random.default_rng(1).standard_normal(out.shape)
    (out * nt.tensor(weights, dtype=out.dtype)).sum().backward()
    (expected * torch.tensor(weights, dtype=expected.dtype)).sum().backward()
    for x, t in zip(ours, theirs):
        if t.grad is None:
            assert x.grad is None or not x.grad.numpy().any()
        else:
            _compare(x.grad, t.grad, tol)


INT_CASES = ["exp2", "erfc", "sgn", "float_power", "true_divide", "copysign", "xlogy", "fmax", "fmin",
             "deg2rad", "rad2deg", "logit", "sinc", "nan_to_num_default", "clamp_min", "clamp_max", "addcmul"]


@pytest.mark.parametrize("kind", ["int64", "bool", "int64+float32"])
@pytest.mark.parametrize("name", INT_CASES)
def test_dtypes_match_torch(name, kind):
    """Integer and bool inputs, and integers with floats: the same result dtype and values."""
    torch = pytest.importorskip("torch")
    fn, arity = next((c[1], c[2]) for c in TORCH_CASES if c[0] == name)
    rng = np.random.default_rng(2)
    arrays = [rng.integers(-3, 4, (3, 4)) for _ in range(arity)]
    dtypes = (["int64"] * 3 if kind == "int64" else ["bool"] * 3 if kind == "bool"
              else ["int64", "float32", "float32"])
    try:
        expected = fn(torch, *[torch.tensor(a).to(getattr(torch, d)) for a, d in zip(arrays, dtypes)])
    except (RuntimeError, TypeError) as error:
        with pytest.raises(type(error)):
            fn(nt, *[nt.tensor(a).to(getattr(nt, d)) for a, d in zip(arrays, dtypes)])
        return
    _compare(fn(nt, *[nt.tensor(a).to(getattr(nt, d)) for a, d in zip(arrays, dtypes)]), expected, 1e-6)


# ------------------------------------------------------------------- reductions
def test_median_known_answers():
    x = nt.tensor([[3.0, 1.0, 2.0, 1.0], [NAN, 0.0, 5.0, 4.0]])
    assert math.isnan(nt.median(x).item()) and nt.median(x[0]).item() == 1.0
    values, indices = x.median(1)
    np.testing.assert_equal(values.tolist(), [1.0, NAN])
    assert indices.tolist() == [3, 0] and x.median(1, keepdim=True).indices.shape == (2, 1)
    assert nt.median(nt.tensor([1, 2, 3, 4])).tolist() == 2
    assert math.isnan(nt.median(nt.tensor([])).item())
    with pytest.raises(IndexError, match="non-zero size"):
        nt.tensor([]).median(0)
    assert _grads(nt.median, [4.0, 1.0, 3.0, 2.0]) == [[0.0, 0.0, 0.0, 1.0]]
    assert _grads(nt.median, [2.0, 1.0, 2.0, 3.0, 2.0]) == [[1 / 3, 0.0, 1 / 3, 0.0, 1 / 3]]  # ties share


def test_nan_reductions_and_counts():
    x = nt.tensor([[1.0, NAN, 3.0], [NAN, NAN, NAN]])
    assert nt.nansum(x).item() == 4.0 and nt.nansum(x, 1).tolist() == [4.0, 0.0]
    np.testing.assert_equal(nt.nanmean(x, 1).tolist(), [2.0, NAN])
    assert _grads(lambda t: nt.nanmean(t, 1), [[1.0, NAN, 3.0]]) == [[[0.5, 0.0, 0.5]]]
    assert nt.nansum(nt.tensor([1, 2])).dtype == nt.int64
    with pytest.raises(RuntimeError, match="floating point"):
        nt.nanmean(nt.tensor([1, 2]))
    assert nt.count_nonzero(nt.tensor([[0, 1, 2], [0, 0, 3]])).item() == 3
    assert nt.count_nonzero(nt.tensor([[0, 1, 2], [0, 0, 3]]), dim=0).tolist() == [0, 1, 2]


def test_var_mean_std_mean_aminmax():
    x = nt.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
    var, mean = nt.var_mean(x, 1)
    assert var.tolist() == [1.0, 4.0] and mean.tolist() == [2.0, 4.0]
    std, mean = nt.std_mean(x, dim=1, correction=0, keepdim=True)
    np.testing.assert_allclose(std.numpy(), [[math.sqrt(2 / 3)], [math.sqrt(8 / 3)]], rtol=1e-6)
    assert mean.shape == (2, 1)
    assert nt.var_mean(nt.tensor([1.0, 3.0]), False)[0].item() == 1.0
    result = nt.aminmax(x)
    assert (result.min.item(), result.max.item()) == (1.0, 6.0)
    assert x.aminmax(dim=0, keepdim=True).max.tolist() == [[2.0, 4.0, 6.0]]
    with pytest.raises(TypeError, match="must be int"):
        nt.aminmax(x, dim=(0, 1))
    with pytest.raises(RuntimeError, match="empty"):
        nt.aminmax(nt.tensor([]))


def test_cummax_cummin_logcumsumexp():
    values, indices = nt.cummax(nt.tensor([1.0, 3.0, 3.0, 2.0, NAN, 5.0, NAN]), 0)
    np.testing.assert_equal(values.tolist(), [1.0, 3.0, 3.0, 3.0, NAN, NAN, NAN])
    assert indices.tolist() == [0, 1, 2, 2, 4, 4, 6]
    assert nt.cummin(nt.tensor([True, False, True]), 0).indices.tolist() == [0, 1, 1]
    assert nt.tensor([[2, 1], [0, 3]]).cummin(1).values.tolist() == [[2, 1], [0, 0]]
    assert _grads(lambda t: t.cummax(0).values, [1.0, 3.0, 2.0]) == [[1.0, 2.0, 0.0]]
    out = nt.logcumsumexp(nt.tensor([-1e30, 0.0, 1000.0, -INF], dtype=nt.float64), 0)
    assert out.tolist() == [-1e30, 0.0, 1000.0, 1000.0]
    np.testing.assert_allclose(nt.logcumsumexp(nt.tensor([0.0, 0.0]), 0).numpy(), [0.0, math.log(2)])
    np.testing.assert_allclose(_grads(lambda t: nt.logcumsumexp(t, 0), [0.0, 0.0]), [[1.5, 0.5]])
    with pytest.raises(NotImplementedError, match="logcumsumexp"):
        nt.logcumsumexp(nt.tensor([1, 2]), 0)


def test_quantile_known_answers_and_checks():
    x = nt.tensor([0.0, 1.0, 2.0, 3.0])
    expected = {"linear": 1.5, "lower": 1.0, "higher": 2.0, "midpoint": 1.5, "nearest": 2.0}
    for method, value in expected.items():
        assert nt.quantile(x, 0.5, interpolation=method).item() == value
    assert nt.quantile(nt.tensor([0.0, 1, 2, 3, 4]), nt.tensor([0.125, 0.375]),
                       interpolation="nearest").tolist() == [0.0, 2.0]  # ties round to even
    m = nt.tensor([[3.0, 1.0, 2.0, 1.0], [NAN, 0.0, 5.0, 4.0]])
    np.testing.assert_equal(nt.quantile(m, 0.5, dim=1).tolist(), [1.5, NAN])
    assert nt.quantile(m, nt.tensor([0.25, 0.5]), dim=1, keepdim=True).shape == (2, 2, 1)
    assert nt.quantile(m, nt.tensor([0.25, 0.5]), keepdim=True).shape == (2, 1, 1)
    assert _grads(lambda t: nt.quantile(t, 0.25), [3.0, 0.0, 1.0]) == [[0.0, 0.5, 0.5]]
    for bad, match in [(lambda: nt.quantile(x, 1.5), r"range \[0, 1\]"),
                       (lambda: nt.quantile(x, nt.tensor([0.5], dtype=nt.float64)), "same dtype"),
                       (lambda: nt.quantile(nt.tensor([1, 2]), 0.5), "float or double"),
                       (lambda: nt.quantile(x, 0.5, interpolation="foo"), "interpolation"),
                       (lambda: nt.quantile(nt.tensor([]), 0.5), "non-empty"),
                       (lambda: nt.quantile(x, nt.tensor([[0.5]])), "1D")]:
        with pytest.raises(RuntimeError, match=match):
            bad()


def test_isclose_allclose_equal():
    a, b = nt.tensor([1.0, NAN, INF]), nt.tensor([1.0 + 1e-6, NAN, INF])
    assert nt.isclose(a, b).tolist() == [True, False, True]
    assert nt.isclose(a, b, equal_nan=True).tolist() == [True, True, True]
    assert nt.isclose(nt.tensor([1.0]), nt.tensor([1.1]), rtol=0.1).tolist() == [True]
    assert nt.allclose(nt.tensor([1.0]), nt.tensor([1.0, 1.0])) is True
    assert not nt.allclose(a, b) and a.allclose(b, equal_nan=True)
    with pytest.raises(RuntimeError, match="did not match"):
        nt.isclose(nt.tensor([1.0]), nt.tensor([1.0], dtype=nt.float64))
    with pytest.raises(RuntimeError, match="rtol"):
        nt.isclose(a, b, rtol=-1)
    assert nt.equal(nt.tensor([1.0]), nt.tensor([1])) is True
    assert not nt.equal(nt.tensor([1.0]), nt.tensor([1.0, 1.0]))
    assert not nt.equal(nt.tensor([NAN]), nt.tensor([NAN]))


REDUCTIONS = [
    ("median", lambda lib, a: lib.median(a)),
    ("median_dim", lambda lib, a: lib.median(a, 1)),
    ("median_keepdim", lambda lib, a: a.median(-1, keepdim=True)),
    ("nansum", lambda lib, a: lib.nansum(a, 0)),
    ("nanmean", lambda lib, a: lib.nanmean(a, (0, 1), keepdim=True)),
    ("var_mean", lambda lib, a: lib.var_mean(a, 1)),
    ("std_mean", lambda lib, a: lib.std_mean(a, dim=0, correction=0, keepdim=True)),
    ("aminmax", lambda lib, a: lib.aminmax(a)),
    ("aminmax_dim", lambda lib, a: lib.aminmax(a, dim=-1, keepdim=True)),
    ("cummax", lambda lib, a: lib.cummax(a, 1)),
    ("cummin", lambda lib, a: lib.cummin(a, 0)),
    ("logcumsumexp", lambda lib, a: lib.logcumsumexp(a * 5, 1)),
    ("count_nonzero", lambda lib, a: lib.count_nonzero(a.detach().round(), 1)),
    ("isclose", lambda lib, a: lib.isclose(a, a.detach().round(), atol=0.3)),
] + [(f"quantile_{m}", lambda lib, a, m=m: lib.quantile(a, lib.tensor([0.1, 0.5, 0.9], dtype=a.dtype), dim=1,
                                                         interpolation=m))
     for m in ("linear", "lower", "higher", "midpoint", "nearest")] + [
    ("quantile_all", lambda lib, a: lib.quantile(a, 0.3, keepdim=True)),
]


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4)])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("name, fn", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
def test_reductions_match_torch(name, fn, dtype, tol, shape):
    """Distinct values (no ties), with and without a NaN: values, indices and gradients."""
    torch = pytest.importorskip("torch")
    for with_nan in (False, True):
        data = np.random.default_rng(4).permutation(np.prod(shape)).reshape(shape) * 0.37 - 2
        if with_nan:
            data.reshape(-1)[[1, -3]] = NAN
        ours = nt.tensor(data, dtype=getattr(nt, dtype), requires_grad=True)
        theirs = torch.tensor(data, dtype=getattr(torch, dtype), requires_grad=True)
        out, expected = fn(nt, ours), fn(torch, theirs)
        out, expected = (list(out), list(expected)) if isinstance(out, tuple) else ([out], [expected])
        loss_ours = loss_theirs = 0
        for o, e in zip(out, expected):
            _compare(o, e, tol)
            if o.dtype.kind == "f" and o.requires_grad:
                w = np.random.default_rng(5).standard_normal(o.shape)
                loss_ours = loss_ours + (o * nt.tensor(w, dtype=o.dtype)).sum()
                loss_theirs = loss_theirs + (e * torch.tensor(w, dtype=e.dtype)).sum()
        # with several NaNs, PyTorch's quantile may pick another one of them (the value is NaN alike)
        if isinstance(loss_ours, nt.Tensor) and not (with_nan and name.startswith("quantile")):
            loss_ours.backward()
            loss_theirs.backward()
            _compare(ours.grad, theirs.grad, tol)
