"""``nanotorch.nn.functional``: every function's forward against NumPy (or loops written
out), and its backward against central differences in float64 (``gradcheck``)."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn.functional as F
from nanotorch.autograd import gradcheck

RNG = np.random.default_rng(0)


def check_grads(fn, *arrays) -> None:
    """``nanotorch.autograd.gradcheck`` of ``fn`` at float64 tensors made from ``arrays``."""
    assert gradcheck(fn, [nt.tensor(a, dtype=nt.float64, requires_grad=True) for a in arrays],
                     atol=1e-6, rtol=1e-5)


def randn(*shape) -> np.ndarray:
    return RNG.standard_normal(shape)


# ----------------------------------------------------------------------------- linear
@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear_forward_and_grads(x_shape):
    x, w, b = randn(*x_shape), randn(3, 4), randn(3)
    y = F.linear(nt.tensor(x), nt.tensor(w), nt.tensor(b))
    np.testing.assert_allclose(y.data, x @ w.T + b, rtol=1e-5, atol=1e-5)
    assert y.dtype == nt.float32 and y.shape == x_shape[:-1] + (3,)
    check_grads(F.linear, x, w, b)
    check_grads(lambda x, w: F.linear(x, w), x, w)


def test_linear_computes_only_the_gradients_asked_for():
    x = nt.randn(4, 3)
    w = nt.randn(2, 3, requires_grad=True)
    F.linear(x, w).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.data, np.tile(x.data.sum(0), (2, 1)), rtol=1e-5)


def test_linear_rejects_bad_input():
    with pytest.raises(ValueError, match="in_features=3"):
        F.linear(nt.randn(4, 5), nt.randn(2, 3))
    with pytest.raises(TypeError, match="float64"):
        F.linear(nt.randn(4, 3, dtype=nt.float64), nt.randn(2, 3))
    with pytest.raises(TypeError, match="floating point"):
        F.linear(nt.tensor([[1, 2, 3]]), nt.randn(2, 3))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        F.linear(nt.randn(4, 3), nt.randn(2, 3), nt.randn(3))


# ------------------------------------------------------------------------ activations
@pytest.mark.parametrize("fn", [F.relu, F.sigmoid, F.tanh, F.leaky_relu,
                                lambda x: F.leaky_relu(x, 0.2),
                                lambda x: F.softmax(x, 1), lambda x: F.log_softmax(x, 0)])
def test_activation_grads(fn):
    x = randn(3, 4)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from ReLU's kink
    check_grads(fn, x)


def test_activation_values():
    x = np.array([-2.0, -0.5, 0.0, 1.5], dtype=np.float32)
    t = nt.tensor(x)
    np.testing.assert_allclose(F.relu(t).data, [0, 0, 0, 1.5])
    np.testing.assert_allclose(F.leaky_relu(t, 0.1).data, [-0.2, -0.05, 0, 1.5], rtol=1e-6)
    np.testing.assert_allclose(F.sigmoid(t).data, 1 / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_allclose(F.tanh(t).data, np.tanh(x), rtol=1e-6)
    e = np.exp(x - x.max())
    np.testing.assert_allclose(F.softmax(t, 0).data, e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(t, -1).data, np.log(e / e.sum()), rtol=1e-5)


def test_leaky_relu_gradient_at_zero_is_the_slope():
    x = nt.tensor([0.0, 2.0], requires_grad=True)
    F.leaky_relu(x, 0.25).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.25, 1.0])


def test_softmax_without_dim_warns_and_uses_pytorchs_rule():
    x = nt.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(x)
    np.testing.assert_allclose(y.data.sum(axis=1), 1, rtol=1e-6)


# ---------------------------------------------------------------------------- dropout
def test_dropout_eval_is_the_identity():
    x = nt.randn(3, 4)
    assert F.dropout(x, 0.5, training=False) is x


def test_dropout_train_zeros_a_fraction_p_and_keeps_the_expectation():
    nt.manual_seed(0)
    x = nt.ones(200, 500, requires_grad=True)
    y = F.dropout(x, p=0.3)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.data.mean() - 1.0) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # dy/dx is the scaled mask


def test_dropout_edges_and_seed():
    x = nt.randn(10, 10)
    np.testing.assert_array_equal(F.dropout(x, 0.0).data, x.data)
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0)
    nt.manual_seed(3)
    a = F.dropout(x, 0.5).data
    nt.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, a)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


# ------------------------------------------------------------------------- batch norm
def _bn_reference(x, gamma, beta, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(shape) \
        + beta.reshape(shape), mean, var


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 2)])
def test_batch_norm_training_forward_running_stats_and_grads(shape):
    x, gamma, beta = randn(*shape) * 2 + 1, randn(3), randn(3)
    rm, rv = nt.zeros(3), nt.ones(3)
    y = F.batch_norm(nt.tensor(x), rm, rv, nt.tensor(gamma), nt.tensor(beta), training=True,
                     momentum=0.1, eps=1e-5)
    expected, mean, var = _bn_reference(x, gamma, beta, 1e-5)
    np.testing.assert_allclose(y.data, expected, rtol=1e-4, atol=1e-5)
    m = x.size // 3
    np.testing.assert_allclose(rm.data, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(rv.data, 0.9 + 0.1 * var * m / (m - 1), rtol=1e-5)
    check_grads(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True), x, gamma, beta)
    check_grads(lambda x: F.batch_norm(x, None, None, training=True), x)


def test_batch_norm_eval_uses_running_stats():
    x, gamma, beta = randn(5, 3), randn(3), randn(3)
    rm, rv = randn(3), np.abs(randn(3)) + 0.5
    y = F.batch_norm(nt.tensor(x), nt.tensor(rm), nt.tensor(rv), nt.tensor(gamma), nt.tensor(beta))
    np.testing.assert_allclose(y.data, (x - rm) / np.sqrt(rv + 1e-5) * gamma + beta, rtol=1e-5, atol=1e-6)
    check_grads(lambda x, g, b: F.batch_norm(x, nt.tensor(rm, dtype=nt.float64),
                                             nt.tensor(rv, dtype=nt.float64), g, b), x, gamma, beta)


def test_batch_norm_rejects_bad_input():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(nt.randn(1, 4), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(nt.randn(3, 4), None, None, training=False)
    with pytest.raises(ValueError, match=r"running_mean must have shape \(4,\)"):
        F.batch_norm(nt.randn(3, 4), nt.zeros(3), nt.ones(4), training=True)
    with pytest.raises(TypeError, match="float64"):
        F.batch_norm(nt.randn(3, 4), nt.zeros(4, dtype=nt.float64), nt.ones(4), training=True)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        F.batch_norm(nt.randn(3), None, None, training=True)


# -------------------------------------------------------------------- conv and pooling
def _conv_reference(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    y = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
    return y


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_conv2d_forward_and_grads(stride, padding):
    x, w, b = randn(2, 2, 5, 5), randn(3, 2, 3, 3), randn(3)
    y = F.conv2d(nt.tensor(x), nt.tensor(w), nt.tensor(b), stride=stride, padding=padding)
    np.testing.assert_allclose(y.data, _conv_reference(x, w, b, stride, padding), rtol=1e-4, atol=1e-5)
    check_grads(lambda x, w, b: F.conv2d(x, w, b, stride, padding), x, w, b)


def test_conv2d_rejects_bad_input():
    with pytest.raises(ValueError, match="3 channels"):
        F.conv2d(nt.randn(1, 3, 5, 5), nt.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.conv2d(nt.randn(1, 2, 2, 2), nt.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        F.conv2d(nt.randn(5, 5), nt.randn(4, 2, 3, 3))  # [C, H, W] is accepted, unbatched


def _pool_reference(x, k, s, p, reduce, fill):
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    ho, wo = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
    y = np.zeros(x.shape[:2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            y[:, :, i, j] = reduce(xp[:, :, i * s:i * s + k, j * s:j * s + k], axis=(2, 3))
    return y


@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1), (3, 1, 0)])
def test_pooling_forward_and_grads(k, s, p):
    x = randn(2, 2, 6, 6)
    stride = s or k
    y = F.max_pool2d(nt.tensor(x), k, s, p)
    np.testing.assert_allclose(y.data, _pool_reference(x, k, stride, p, np.max, -np.inf), rtol=1e-6)
    y = F.avg_pool2d(nt.tensor(x), k, s, p)
    np.testing.assert_allclose(y.data, _pool_reference(x, k, stride, p, np.mean, 0.0), rtol=1e-5, atol=1e-6)
    check_grads(lambda x: F.max_pool2d(x, k, s, p), x)
    check_grads(lambda x: F.avg_pool2d(x, k, s, p), x)


def test_max_pool_sends_the_gradient_to_the_first_maximum():
    x = nt.tensor([[[[1.0, 3.0], [3.0, 2.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0, 1], [0, 0]]]])


def test_pooling_rejects_bad_padding():
    with pytest.raises(ValueError, match="at most half"):
        F.max_pool2d(nt.randn(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="kernel_size"):
        F.avg_pool2d(nt.randn(1, 1, 4, 4), (2, 2, 2))


# ----------------------------------------------------------------------------- losses
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_grads(reduction, smoothing):
    target = nt.tensor([0, 2, -100, 1, 2])
    check_grads(lambda x: F.cross_entropy(x, target, reduction=reduction, label_smoothing=smoothing),
                randn(5, 3) * 3)


def test_cross_entropy_with_extra_dims_and_weight_grads():
    target = nt.tensor([[0, 2], [1, 1]])
    check_grads(lambda x: F.cross_entropy(x, target), randn(2, 3, 2))
    weight = nt.tensor([0.2, 1.0, 3.0], dtype=nt.float64)
    check_grads(lambda x: F.cross_entropy(x, nt.tensor([0, 2, 1, 2]), weight), randn(4, 3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_grads(reduction):
    weight = nt.tensor([0.5, 2.0, 1.0], dtype=nt.float64)
    target = nt.tensor([0, 2, 1, -100])
    check_grads(lambda x: F.nll_loss(x, target, reduction=reduction), randn(4, 3))
    check_grads(lambda x: F.nll_loss(x, target, weight, reduction=reduction), randn(4, 3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_loss_grads(reduction):
    x, y = randn(3, 4), randn(3, 4)
    check_grads(lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y)
    check_grads(lambda a, b: F.l1_loss(a, b, reduction=reduction), x, y)
    p, t = RNG.uniform(0.05, 0.95, (3, 4)), RNG.uniform(0, 1, (3, 4))
    check_grads(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), p, t)
    check_grads(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), x * 3, t)
    w = nt.tensor(RNG.uniform(0, 2, 4), dtype=nt.float64)
    check_grads(lambda a: F.binary_cross_entropy_with_logits(a, nt.tensor(t, dtype=nt.float64), w,
                                                             reduction=reduction), x)


@pytest.mark.parametrize("call", [
    lambda a, b: F.mse_loss(a, b, "sum"), lambda a, b: F.l1_loss(a, b, "sum"),
    lambda a, b: F.smooth_l1_loss(a, b, "sum"), lambda a, b: F.kl_div(a, b, "sum"),
    lambda a, b: F.binary_cross_entropy(a.sigmoid(), b, None, "sum"),
    lambda a, b: F.binary_cross_entropy_with_logits(a, b, None, "sum"),
    lambda a, b: nt.nn.MSELoss("sum")(a, b), lambda a, b: nt.nn.L1Loss("sum")(a, b),
    lambda a, b: nt.nn.BCELoss(None, "sum")(a.sigmoid(), b),
    lambda a, b: nt.nn.BCEWithLogitsLoss(None, "sum")(a, b),
])
def test_reduction_is_keyword_only_where_pytorch_has_size_average(call):
    """PyTorch's positional slot there is the legacy ``size_average`` (``MSELoss("sum")`` is
    the mean in PyTorch): a positional reduction raises rather than mean something else."""
    with pytest.raises(TypeError):
        call(nt.tensor([0.2, 0.7]), nt.tensor([0.0, 1.0]))


def test_elementwise_loss_values():
    x = nt.tensor([1.0, -2.0, 3.0])
    y = nt.tensor([0.0, 0.0, 1.0])
    assert F.mse_loss(x, y).item() == pytest.approx((1 + 4 + 4) / 3)
    assert F.l1_loss(x, y, reduction="sum").item() == pytest.approx(5.0)
    np.testing.assert_allclose(F.l1_loss(x, y, reduction="none").data, [1, 2, 2])
    p = nt.tensor([0.5, 0.9])
    t = nt.tensor([1.0, 0.0])
    assert F.binary_cross_entropy(p, t).item() == pytest.approx((np.log(2) - np.log(0.1)) / 2, rel=1e-5)
    with pytest.raises(ValueError, match="reduction='avg'"):
        F.mse_loss(x, y, reduction="avg")
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, nt.tensor([0.0]))
