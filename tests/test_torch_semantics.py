"""PyTorch's answers where NanoTorch once gave others (an audit against PyTorch 2.13, each
case checked there): known answers, so they run without torch; ``test_against_torch``
repeats them against torch itself when it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nanotorch as nt

NAN = float("nan")


def grad_of(fn, *values):
    """The gradients of ``fn(*tensors).sum()`` with respect to each input."""
    xs = [nt.tensor(v, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad.tolist() for x in xs]


# ---------------------------------------------------------------- reductions
def test_amax_amin_over_dim_0_reduce_that_dim_only():
    x = nt.tensor([[1., 5.], [3., 2.]], requires_grad=True)
    assert x.amax(0).tolist() == [3., 5.] and nt.amin(x, dim=0).tolist() == [1., 2.]
    assert x.amax(0, keepdim=True).shape == (1, 2)
    x.amax(dim=0).sum().backward()
    assert x.grad.tolist() == [[0., 1.], [1., 0.]]


@pytest.mark.parametrize("dim", [(), []])
def test_no_dims_reduce_every_dim(dim):
    x = nt.arange(8.).reshape(2, 2, 2)
    assert x.sum(dim=dim).item() == 28 and x.mean(dim).item() == 3.5 and x.amax(dim).item() == 7


def test_argmax_keepdim_without_dim_keeps_every_dim_as_one():
    x = nt.tensor([[1., 3.], [2., 0.]])
    assert x.argmax(keepdim=True).shape == (1, 1) and x.argmax(keepdim=True).item() == 1
    assert x.argmin().shape == ()


def test_max_min_of_everything_with_nan_send_the_gradient_to_the_nan():
    assert grad_of(lambda x: x.max(), [1., NAN, 3.]) == [[0., 1., 0.]]
    assert grad_of(lambda x: x.min(), [NAN, 1., NAN]) == [[0.5, 0., 0.5]]


# ------------------------------------------------------------------ pointwise
def test_maximum_minimum_with_nan_give_both_inputs_the_gradient():
    assert grad_of(nt.maximum, [NAN, 1., 2.], [0., NAN, 2.]) == [[1., 1., .5], [1., 1., .5]]
    assert grad_of(nt.minimum, [NAN, 1.], [0., 3.]) == [[1., 1.], [1., 0.]]


def test_sign_and_abs_gradient_are_zero_at_nan():
    assert nt.tensor([NAN, -2., 0., 3.]).sign().tolist() == [0., -1., 0., 1.]
    assert nt.tensor(NAN).sign().item() == 0
    assert grad_of(lambda x: x.abs(), [NAN, -2., 0.]) == [[0., -1., 0.]]
    b = nt.tensor([True, False])
    assert b.sign().dtype == nt.bool and b.sign().tolist() == [True, False]


def test_rsqrt_is_one_over_sqrt():
    with np.errstate(divide="ignore", invalid="ignore"):
        y = nt.tensor([-0.0, -math.inf, 4.0]).rsqrt().tolist()
    assert y[0] == -math.inf and math.isnan(y[1]) and y[2] == 0.5
    assert grad_of(lambda x: x.rsqrt(), [4.0]) == [[-0.5 * 4.0 ** -1.5]]


def test_square_of_bool_is_int64():
    assert nt.tensor([True, False]).square().dtype == nt.int64


# ---------------------------------------------------------------------- clamp
def test_clamp_of_integers_by_floats_is_float32():
    y = nt.tensor([-2, 0, 1, 3]).clamp(-0.5, 0.5)
    assert y.dtype == nt.float32 and y.tolist() == [-0.5, 0., 0.5, 0.5]
    assert nt.tensor([-2, 0, 1, 3]).clamp(0, 2).dtype == nt.int64


def test_clamp_by_tensors_broadcasts_and_differentiates_the_bounds():
    x = nt.tensor([-2., 0., 1., 3.], requires_grad=True)
    lo, hi = nt.zeros(4, requires_grad=True), nt.ones(1, requires_grad=True)
    y = x.clamp(lo, hi)
    y.sum().backward()
    assert y.tolist() == [0., 0., 1., 1.]
    assert (x.grad.tolist(), lo.grad.tolist(), hi.grad.tolist()) == ([0., 1., 1., 0.], [1., 0., 0., 0.], [1.])
    # max wins where min > max, and its gradient goes to max
    x = nt.tensor([1., 5.], requires_grad=True)
    lo, hi = nt.tensor([3., 3.], requires_grad=True), nt.tensor([2., 2.], requires_grad=True)
    y = nt.clamp(x, lo, hi)
    y.sum().backward()
    assert y.tolist() == [2., 2.] and hi.grad.tolist() == [1., 1.] and lo.grad.tolist() == [0., 0.]
    with pytest.raises(ValueError, match="min and max"):
        x.clamp()


# ------------------------------------------------------------------ promotion
@pytest.mark.parametrize("make, dtype", [
    (lambda: nt.ones(3) * nt.tensor(2.0, dtype=nt.float64), nt.float32),  # a 0-d tensor: no widening
    (lambda: nt.ones(3, dtype=nt.int32) + nt.tensor(2), nt.int32),
    (lambda: nt.ones(3, dtype=nt.float16) + nt.tensor(0.5), nt.float16),
    (lambda: nt.ones(3, dtype=nt.int64) * nt.tensor(2.0, dtype=nt.float64), nt.float64),  # higher category
    (lambda: nt.ones(3, dtype=nt.int64) + 0.5, nt.float32),
    (lambda: nt.tensor([True]) + 2, nt.int64),
    (lambda: nt.ones(2) + nt.ones(2, dtype=nt.float64), nt.float64),  # two tensors with dims widen
    (lambda: nt.tensor([1, 2]) / nt.tensor([2, 2]), nt.float32),
    (lambda: nt.tensor(1) + nt.tensor(0.5), nt.float32),
])
def test_result_dtypes(make, dtype):
    assert make().dtype == dtype


def test_integer_results_wrap_as_pytorch():
    assert (nt.tensor([100, 200], dtype=nt.uint8) * nt.tensor(2)).tolist() == [200, 144]
    assert (nt.tensor([5, 10], dtype=nt.uint8) + (-3)).tolist() == [2, 7]


def test_a_0d_float64_tensor_keeps_its_gradient_through_the_cast():
    x, s = nt.ones(3, requires_grad=True), nt.tensor(2.0, dtype=nt.float64, requires_grad=True)
    y = x * s
    y.sum().backward()
    assert y.dtype == nt.float32 and x.grad.tolist() == [2., 2., 2.] and s.grad.item() == 3.0


# ------------------------------------------------------------------- creation
@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.int16, np.float16, np.bool_])
def test_tensor_keeps_the_arrays_dtype(dtype):
    assert nt.tensor(np.array([1, 0], dtype=dtype)).dtype == np.dtype(dtype)
    assert nt.as_tensor(np.array([1, 0], dtype=dtype)).dtype == np.dtype(dtype)


# ----------------------------------------------------------- in-place writes
def test_an_integer_tensor_written_from_a_grad_tensor_does_not_require_grad():
    w = nt.tensor([1.5, 2.5], requires_grad=True)
    z = nt.zeros(2, dtype=nt.int64)
    z.copy_(w)
    assert z.tolist() == [1, 2] and not z.requires_grad
    z[0] = w[1]
    assert not z.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        (z.float() * 3).sum().backward()
    f = nt.zeros(2)
    f.copy_(w)
    assert f.requires_grad  # a float tensor joins the graph


# ------------------------------------------------------------- torch oracle
CASES = {
    "amax dim 0": lambda m, x: x.amax(0),
    "sum dim ()": lambda m, x: x.sum(dim=()),
    "argmax keepdim": lambda m, x: x.argmax(keepdim=True),
    "max nan": lambda m, x: m.tensor([1., NAN, 3.]).max(),
    "sign nan": lambda m, x: m.tensor([NAN, -2., 0.]).sign(),
    "clamp int by floats": lambda m, x: m.tensor([-2, 0, 1, 3]).clamp(-0.5, 0.5),
    "0-d float64 times float32": lambda m, x: x * m.tensor(2.0, dtype=m.float64),
    "uint8 times 0-d int": lambda m, x: m.tensor([100, 200], dtype=m.uint8) * m.tensor(2),
    "int32 array": lambda m, x: m.tensor(np.array([1, 2], dtype=np.int32)),
    "bool square": lambda m, x: m.tensor([True, False]).square(),
}


@pytest.mark.parametrize("case", CASES)
def test_against_torch(case):
    torch = pytest.importorskip("torch")
    data = np.array([[1., 5.], [3., 2.]], np.float32)
    ours, theirs = CASES[case](nt, nt.tensor(data)), CASES[case](torch, torch.tensor(data))
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ------------------------------------------------------------------- indexing
def test_a_0d_integer_tensor_indexes_as_an_int():
    x = nt.arange(24.).reshape(2, 3, 4)
    assert x[nt.tensor(1), :, [0, 2]].shape == (3, 2)  # as x[1, :, [0, 2]]
    t = x.clone()
    t[nt.tensor(1), :, [0, 2]] = nt.ones(3, 1)
    assert t[1, :, 0].tolist() == [1., 1., 1.] and t[1, :, 1].tolist() == [13., 17., 21.]


def test_a_list_holding_sequences_or_tensors_is_a_tuple_of_indices():
    x = nt.arange(24.).reshape(2, 3, 4)
    assert x[[nt.tensor(1), 0]].tolist() == x[1, 0].tolist()
    assert nt.arange(120.).reshape(4, 5, 6)[[[0, 1], [1, 2]]].shape == (2, 6)
    assert x[[1, 0]].shape == (2, 3, 4)  # a list of ints stays an index array


def test_a_uint8_index_is_a_mask_with_a_warning():
    x = nt.arange(24.).reshape(2, 3, 4)
    with pytest.warns(UserWarning, match="uint8"):
        assert x[nt.tensor([1, 0], dtype=nt.uint8)].shape == (1, 3, 4)


# ------------------------------------------------------------ cat, stack, norm
def test_cat_and_stack_promote_as_pytorch():
    a = nt.ones(2, requires_grad=True)
    y = nt.cat([a, nt.tensor([3, 4])])
    y.sum().backward()
    assert y.dtype == nt.float32 and y.tolist() == [1., 1., 3., 4.] and a.grad.tolist() == [1., 1.]
    assert nt.stack([nt.tensor([1, 2]), nt.tensor([0.5, 1.5])]).dtype == nt.float32


@pytest.mark.parametrize("p, value, grad", [
    (2, 5.0, [0.6, -0.8, 0.0]),
    (1, 7.0, [1.0, -1.0, 0.0]),
    (math.inf, 4.0, [0.0, -1.0, 0.0]),
    (-math.inf, 0.0, [0.0, 0.0, 0.0]),  # sign(0) at the smallest: 0, as PyTorch
    (3, (27 + 64) ** (1 / 3), [9 / 91 ** (2 / 3), -16 / 91 ** (2 / 3), 0.0]),
])
def test_vector_norms_and_their_gradients(p, value, grad):
    x = nt.tensor([3., -4., 0.], requires_grad=True)
    y = x.norm(p)
    y.backward()
    assert y.item() == pytest.approx(value) and x.grad.tolist() == pytest.approx(grad)


def test_norm_over_dims_and_of_a_zero_vector():
    x = nt.tensor([[3., 4.], [0., 0.]], requires_grad=True)
    y = nt.norm(x, dim=1)
    y.sum().backward()
    assert y.tolist() == [5., 0.] and np.allclose(x.grad.numpy(), [[0.6, 0.8], [0., 0.]])
    assert x.norm(dim=1, keepdim=True).shape == (2, 1) and x.norm().item() == 5.0
    with pytest.raises(NotImplementedError, match="nuc"):
        x.norm("nuc")


def test_normalize_with_inf_norm_and_zero_rows():
    F = nt.nn.functional
    x = nt.tensor([[3., -4., 1.], [0., 0., 0.]], requires_grad=True)
    y = F.normalize(x, p=math.inf, dim=1)
    assert y.tolist()[0] == [0.75, -1.0, 0.25]
    (F.normalize(x, dim=1) * nt.tensor([[1., 2., 3.], [1., 2., 3.]])).sum().backward()
    assert x.grad.tolist()[1] == pytest.approx([1e12, 2e12, 3e12])  # the zero row: g / eps


# --------------------------------------------------------- optimizers, .grad
@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("name, param, state", [
    ("Adam", 0.4, 9.000001556688747e+35), ("AdamW", 0.3995, 9.000001556688747e+35),
    ("RMSprop", -0.5, 9.000000447494471e+36),
])
def test_a_huge_gradient_does_not_overflow_the_second_moment(backend, name, param, state):
    """``(1 - b2) g`` times ``g``, as PyTorch's addcmul: ``g * g`` is inf from |g| ~ 1.8e19,
    and a moment at inf froze the parameter for good (PyTorch's values, checked there)."""
    with nt.backend.use(backend):
        p = nt.nn.Parameter(nt.tensor([0.5, 0.5]))
        opt = getattr(nt.optim, name)([p], lr=0.1)
        p.grad = nt.tensor([3e19, 1.0])
        opt.step()
        moment = opt.state[p]["square_avg" if name == "RMSprop" else "exp_avg_sq"]
    assert p.tolist()[0] == pytest.approx(param, rel=1e-6)
    assert math.isfinite(moment.tolist()[0]) and moment.tolist()[0] == pytest.approx(state, rel=1e-6)


def test_a_grad_of_another_shape_is_refused_not_broadcast():
    x = nt.ones(2, 3, requires_grad=True)
    x.grad = nt.tensor([100., 200., 300.])
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\) is a tensor of shape \(3,\)"):
        (x * 2).sum().backward()
    x.grad = np.zeros((2, 3), np.float32)
    with pytest.raises(RuntimeError, match="ndarray"):
        (x * 2).sum().backward()


# ------------------------------------------------------------ empty reductions
def test_reductions_of_empty_tensors():
    x = nt.zeros(0, 3, requires_grad=True)
    y = x.prod(0)
    y.sum().backward()
    assert y.tolist() == [1., 1., 1.] and x.grad.shape == (0, 3)
    assert nt.zeros(0, 3).amax(1).shape == (0,)  # only the reduced dim must be non-empty
    assert nt.zeros(0, 3).logsumexp(0).tolist() == [-math.inf] * 3
    with pytest.raises(RuntimeError, match="reduction dim 0 to have non-zero size"):
        nt.zeros(0, 3).amax(0)


def test_layer_norm_takes_numpy_integers():
    assert nt.nn.LayerNorm(np.int64(4)).normalized_shape == (4,)
    assert nt.nn.LayerNorm([2, np.int64(3)])(nt.ones(5, 2, 3)).shape == (5, 2, 3)


def test_conv1d_takes_an_unbatched_input():
    conv = nt.nn.Conv1d(3, 4, 3)
    x = nt.randn(3, 7)
    y = conv(x)
    assert y.shape == (4, 5)
    np.testing.assert_allclose(y.detach().numpy(), conv(x.unsqueeze(0)).detach().numpy()[0], rtol=1e-6)
    with pytest.raises(ValueError, match=r"\[C, L\]"):
        conv(nt.randn(7))


def test_max_min_over_dim_0_of_a_0d_tensor():
    x = nt.tensor(2.0, requires_grad=True)
    values, indices = x.max(0)
    values.backward()
    assert (values.item(), indices.item(), x.grad.item()) == (2.0, 0, 1.0)
    assert nt.tensor(3.0).min(-1).values.item() == 3.0
    with pytest.raises(IndexError, match="dimension out of range"):
        x.max(1)
