"""``groups`` and ``dilation`` in the convolutions (and their transposes), ``ceil_mode``, ``dilation``
and ``divisor_override`` in pooling, and ``max_unpool1d/2d``: known answers and ``gradcheck``
without PyTorch, then values, indices and gradients against PyTorch (the ``torch`` fixture skips
where it is not installed)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn.functional as F
from nanotorch import nn
from nanotorch.autograd.gradcheck import gradcheck


def _random(*shape, seed=0, dtype=nt.float32, requires_grad=False):
    rng = np.random.default_rng(seed)
    return nt.tensor(rng.uniform(-2, 2, shape), dtype=dtype, requires_grad=requires_grad)


def _close(a, b, atol=1e-5):
    np.testing.assert_allclose(a.detach().numpy(), np.asarray(b), atol=atol, rtol=1e-5)


def _gradcheck(fn, *shapes):
    inputs = [_random(*s, seed=i, dtype=nt.float64, requires_grad=True) for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs)


def _dilated(w: nt.Tensor, d: int) -> nt.Tensor:
    """The kernel with ``d - 1`` zeros between its taps: a dilated convolution with ``w`` is a
    plain one with this."""
    o, c, kh, kw = w.shape
    out = np.zeros((o, c, d * (kh - 1) + 1, d * (kw - 1) + 1), dtype=w.numpy().dtype)
    out[:, :, ::d, ::d] = w.numpy()
    return nt.tensor(out)


# ------------------------------------------------------------------ convolutions, known answers
def test_groups_1_and_dilation_1_keep_the_kernel_op():
    x, w = _random(2, 4, 6, 6, requires_grad=True), _random(6, 4, 3, 3)
    assert type(F.conv2d(x, w).grad_fn).__name__ == "Conv2dFn"
    assert type(F.conv2d(x, w, dilation=(1, 1), groups=1).grad_fn).__name__ == "Conv2dFn"
    assert type(F.conv_transpose2d(x, w.transpose(0, 1)).grad_fn).__name__ == "ConvTranspose2dFn"
    assert type(F.conv2d(x, w[:, :2], groups=2).grad_fn).__name__ != "Conv2dFn"


def test_grouped_conv_is_one_conv_per_group():
    x, w, b = _random(2, 6, 7, 5), _random(4, 3, 3, 2, seed=1), _random(4, seed=2)
    y = F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2)
    halves = [F.conv2d(x[:, 3 * g:3 * g + 3], w[2 * g:2 * g + 2], b[2 * g:2 * g + 2], (2, 1), 1)
              for g in (0, 1)]
    _close(y, nt.cat(halves, 1).numpy())


def test_depthwise_1x1_conv_scales_each_channel():
    x = _random(2, 3, 4, 4)
    y = F.conv2d(x, nt.tensor([2.0, -1.0, 0.5]).reshape(3, 1, 1, 1), groups=3)
    _close(y, x.numpy() * np.array([2.0, -1.0, 0.5]).reshape(1, 3, 1, 1))


def test_dilated_conv_is_a_conv_with_a_spread_kernel():
    x, w = _random(2, 3, 9, 8), _random(4, 3, 3, 2, seed=1)
    _close(F.conv2d(x, w, stride=2, padding=(2, 1), dilation=2), F.conv2d(x, _dilated(w, 2), stride=2,
                                                                         padding=(2, 1)).numpy())
    x1, w1 = _random(2, 3, 11), _random(4, 3, 3, seed=1)
    plain = F.conv2d(x1.unsqueeze(2), _dilated(w1.unsqueeze(2), 3)).squeeze(2)
    _close(F.conv1d(x1, w1, dilation=3), plain.numpy())


def test_same_padding_with_dilation_keeps_the_size():
    assert F.conv_padding("same", (3, 2), (1, 1), (2, 3)) == ((2, 1), (2, 2))  # reach d*(k-1) = 4 and 3
    x = _random(1, 2, 7, 6)
    assert F.conv2d(x, _random(4, 1, 3, 2), padding="same", dilation=(2, 3), groups=2).shape == (1, 4, 7, 6)
    assert nn.Conv1d(2, 2, 4, padding="same", dilation=3)(_random(1, 2, 9)).shape == (1, 2, 9)


@pytest.mark.parametrize("stride, padding, output_padding, dilation, groups",
                         [(2, 1, 1, 2, 2), (1, 0, 0, 3, 1), ((2, 1), (1, 2), (1, 0), (2, 3), 4),
                          (3, 0, 2, 2, 2)])
def test_conv_transpose_is_the_adjoint_of_conv(stride, padding, output_padding, dilation, groups):
    """``<conv2d(x, w), y> = <x, conv_transpose2d(y, w)>``, with the same options."""
    w, y = _random(4, 8 // groups, 3, 2, seed=1), _random(2, 4, 4, 5, seed=2)
    back = F.conv_transpose2d(y, w, None, stride, padding, output_padding, groups, dilation)
    x = _random(*back.shape, seed=3)
    forward = F.conv2d(x, w, None, stride, padding, dilation, groups)
    assert forward.shape == y.shape
    np.testing.assert_allclose((forward * y).sum().item(), (x * back).sum().item(), rtol=1e-4)


def test_conv_options_gradcheck():
    _gradcheck(lambda x, w, b: F.conv2d(x, w, b, (2, 1), (1, 2), (2, 3), 2), (2, 4, 7, 8), (6, 2, 3, 2), (6,))
    _gradcheck(lambda x, w: F.conv1d(x, w, None, 1, "same", 2, 3), (2, 3, 8), (3, 1, 4))
    _gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2, (2, 1)), (2, 4, 3, 4), (4, 3, 3, 2),
               (6,))
    _gradcheck(lambda x, w: F.conv_transpose1d(x, w, None, 2, 0, 2, 1, 3), (1, 2, 4), (2, 3, 2))


def test_conv_layers_with_groups_and_dilation():
    m = nn.Conv2d(4, 6, 3, 1, 2, 2, 2)
    assert m.weight.shape == (6, 2, 3, 3) and m(_random(1, 4, 5, 5)).shape == (1, 6, 5, 5)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / np.sqrt(2 * 9)  # fan_in = in/groups * k * k
    assert repr(m) == ("Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), padding=(2, 2), dilation=(2, 2), "
                       "groups=2)")
    assert repr(nn.Conv1d(4, 4, 3, groups=4, bias=False)) == ("Conv1d(4, 4, kernel_size=(3,), stride=(1,), "
                                                              "groups=4, bias=False)")
    t = nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2, dilation=2)
    assert t.weight.shape == (4, 3, 3, 3) and t.bias.shape == (6,)
    assert t(_random(1, 4, 5, 5)).shape == (1, 6, 13, 13)
    assert t(_random(4, 5, 5), output_size=(14, 14)).shape == (6, 14, 14)
    assert repr(t) == "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), dilation=(2, 2), groups=2)"
    assert nn.ConvTranspose1d(2, 4, 3, 1, 0, 0, 2, True, 3)(_random(1, 2, 5)).shape == (1, 4, 11)


def test_conv_option_errors():
    x = _random(1, 4, 5, 5)
    with pytest.raises(ValueError, match="in 2 groups expects 6"):
        F.conv2d(x, _random(4, 3, 3, 3), groups=2)
    with pytest.raises(ValueError, match="groups=2 must divide"):
        F.conv2d(x, _random(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="groups must be a positive int"):
        F.conv2d(x, _random(4, 4, 3, 3), groups=0)
    with pytest.raises(ValueError, match="dilation must be >= 1"):
        F.conv1d(_random(1, 4, 5), _random(4, 4, 3), dilation=0)
    with pytest.raises(ValueError, match="bias must have shape"):
        F.conv2d(x, _random(4, 2, 3, 3), _random(3), groups=2)
    with pytest.raises(ValueError, match="calculated shape of the array of sliding blocks"):
        F.conv2d(x, _random(4, 4, 3, 3), dilation=3)
    with pytest.raises(ValueError, match="output padding must be smaller than stride"):
        F.conv_transpose2d(x, _random(4, 1, 3, 3), stride=2, output_padding=2, dilation=2)
    with pytest.raises(ValueError, match="groups=3 must divide"):
        F.conv_transpose2d(x, _random(4, 1, 3, 3), groups=3)
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.ConvTranspose2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="valid sizes range from 13 to 14"):
        nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2, dilation=2)(x, output_size=(15, 15))


# ------------------------------------------------------------------ pooling, known answers
def test_ceil_mode_adds_a_last_partial_window():
    x = nt.arange(5.0).reshape(1, 1, 5)
    _close(F.max_pool1d(x, 2, ceil_mode=True), [[[1, 3, 4]]])
    _close(F.avg_pool1d(x, 2, ceil_mode=True), [[[0.5, 2.5, 4]]])  # the last window holds one element
    _close(F.avg_pool1d(x, 2, 2, 1, ceil_mode=True), [[[0, 1.5, 3.5]]])
    # a window would start at 6 >= L + padding: PyTorch's rule drops it
    _close(F.max_pool1d(x, 2, 2, 1, ceil_mode=True), [[[0, 2, 4]]])
    assert F.max_pool2d(nt.zeros(1, 1, 2, 2), 3, ceil_mode=True).shape == (1, 1, 1, 1)
    assert F.max_pool2d(nt.zeros(1, 1, 8, 8), 2, ceil_mode=True).shape == (1, 1, 4, 4)  # no partial window
    assert nn.MaxPool2d(3, 2, ceil_mode=True)(nt.zeros(1, 1, 6, 6)).shape == (1, 1, 3, 3)


def test_dilated_max_pool_and_its_indices():
    x = nt.tensor([[[0.0, 5.0, 1.0, 4.0, 2.0, 3.0]]], requires_grad=True)
    y, i = F.max_pool1d(x, 2, 1, dilation=2, return_indices=True)  # windows (0, 2), (1, 3), (2, 4), (3, 5)
    _close(y, [[[1, 5, 2, 4]]])
    np.testing.assert_array_equal(i.numpy(), [[[2, 1, 4, 3]]])
    y.sum().backward()
    _close(x.grad, [[[0, 1, 1, 1, 1, 0]]])
    # taps 3 apart: rows and columns {0, 3}, then (ceil_mode) {2} alone, as 5 is past the input
    y2, i2 = F.max_pool2d(nt.arange(25.0).reshape(1, 5, 5), 2, 2, 0, 3, True, True)
    _close(y2, [[[18, 17], [13, 12]]])
    np.testing.assert_array_equal(i2.numpy(), [[[18, 17], [13, 12]]])


def test_divisor_override_and_count_include_pad_with_ceil_mode():
    ones = nt.ones(1, 1, 4, 4)
    _close(F.avg_pool2d(ones, 2, divisor_override=3), np.full((1, 1, 2, 2), 4 / 3))
    # windows from -1, 1 and 3 (ceil_mode) hold 2, 3 and 1 inputs along a side
    sums = np.outer([2, 3, 1], [2, 3, 1])
    _close(nn.AvgPool2d(3, 2, 1, True, True, -2)(ones), sums[None, None] / -2)
    # count_include_pad: the padding counts (3, 3, 2 per side), what is past it does not
    _close(F.avg_pool2d(ones, 3, 2, 1, ceil_mode=True), (sums / np.outer([3, 3, 2], [3, 3, 2]))[None, None])
    _close(F.avg_pool2d(ones, 3, 2, 1, ceil_mode=True, count_include_pad=False), np.ones((1, 1, 3, 3)))


def test_pool_options_gradcheck():
    _gradcheck(lambda x: F.max_pool2d(x, (3, 2), (2, 1), 1, (1, 2), True), (2, 2, 7, 6))
    _gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1, 2, True), (2, 2, 10))
    _gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), (2, 2, 6, 7))
    _gradcheck(lambda x: F.avg_pool2d(x, 2, 1, 0, False, True, 3), (1, 2, 4, 5))
    _gradcheck(lambda x: F.avg_pool1d(x, 2, 2, 1, True), (2, 3, 6))


def test_pool_option_errors():
    x = _random(1, 1, 5, 5)
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.max_pool2d(x, 2, dilation=5)
    with pytest.raises(ValueError, match="dilation"):
        F.max_pool2d(x, 2, dilation=0)
    with pytest.raises(ValueError, match="at most half"):
        F.max_pool2d(x, 3, padding=2, dilation=2)
    with pytest.raises(ValueError, match="must not be zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="must be an int"):
        F.avg_pool2d(x, 2, divisor_override=2.5)


# ------------------------------------------------------------------ max_unpool
def test_max_unpool_puts_the_maxima_back():
    x = nt.tensor([[[[1.0, 2.0, 5.0, 0.0], [3.0, 4.0, 6.0, 7.0]]]])
    y, i = F.max_pool2d(x, 2, return_indices=True)
    v = y.detach().requires_grad_()
    out = F.max_unpool2d(v, i, 2)
    _close(out, [[[[0, 0, 0, 0], [0, 4, 0, 7]]]])
    (out * nt.arange(8.0).reshape(1, 1, 2, 4)).sum().backward()
    _close(v.grad, [[[[5, 7]]]])  # the gradient is read at the indices
    assert F.max_unpool2d(y[0], i[0], 2, output_size=(3, 5)).shape == (1, 3, 5)
    assert nn.MaxUnpool2d(2)(y, i, output_size=(1, 1, 3, 4)).shape == (1, 1, 3, 4)
    y1, i1 = F.max_pool1d(nt.tensor([[3.0, 1.0, 2.0, 5.0, 4.0]]), 2, 1, return_indices=True)
    _close(nn.MaxUnpool1d(2, 1)(y1, i1), [[3, 0, 2, 5, 0]])  # maxima [3, 2, 5, 5] at [0, 2, 3, 3]
    assert repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"


def test_max_unpool_gradcheck():
    indices = nt.tensor([[[[0, 3], [9, 14]]]])
    _gradcheck(lambda x: F.max_unpool2d(x, indices, 2, output_size=(4, 4)), (1, 1, 2, 2))


def test_max_unpool_errors():
    y, i = F.max_pool2d(nt.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match="invalid max index 13"):
        F.max_unpool2d(y, i, 2, output_size=(3, 3))
    with pytest.raises(ValueError, match=r"dim 0 must be between 2 and 6"):
        F.max_unpool2d(y, i, 2, output_size=(6, 6))
    with pytest.raises(TypeError, match="int64"):
        F.max_unpool2d(y, i.float(), 2)
    with pytest.raises(ValueError, match="the input's shape"):
        F.max_unpool2d(y, i[..., :1], 2)
    with pytest.raises(ValueError, match="3-D or 4-D"):
        F.max_unpool2d(y[0, 0], i[0, 0], 2)


# ------------------------------------------------------------------ against PyTorch
def _compare(torch, fn_nt, fn_torch, *shapes, seed=0):
    """Float32 values (and any int outputs exactly) and the gradients of ``sum(y * g)``."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    xs = [nt.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's warning on an even 'same' kernel
        y, t = fn_nt(*xs), fn_torch(*ts)
    if isinstance(t, tuple):
        np.testing.assert_array_equal(y[1].numpy(), t[1].numpy())
        y, t = y[0], t[0]
    assert y.shape == tuple(t.shape)
    np.testing.assert_allclose(y.detach().numpy(), t.detach().numpy(), atol=1e-5, rtol=1e-5)
    g = rng.standard_normal(y.shape).astype(np.float32)
    (y * nt.tensor(g)).sum().backward()
    (t * torch.tensor(g)).sum().backward()
    for a, b in zip(xs, ts):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-4, rtol=1e-5)


CONV2D = [  # (in, out, kernel, stride, padding, dilation, groups)
    (4, 6, 3, 1, 1, 2, 2), (4, 4, 3, 2, 0, 1, 4), (6, 3, (2, 3), (2, 1), (1, 0), (2, 3), 3),
    (4, 8, 3, 1, "same", 2, 2), (4, 8, 2, 1, "same", 3, 1), (2, 4, 3, 1, "valid", (1, 2), 1),
    (8, 8, 3, 1, 1, 1, 8), (6, 4, 1, 2, 0, 1, 2)]


@pytest.mark.parametrize("c, o, k, s, p, d, g", CONV2D)
def test_conv2d_against_torch(torch, c, o, k, s, p, d, g):
    kernel = k if isinstance(k, tuple) else (k, k)
    _compare(torch, lambda x, w, b: F.conv2d(x, w, b, s, p, d, g),
             lambda x, w, b: torch.nn.functional.conv2d(x, w, b, s, p, d, g),
             (2, c, 9, 8), (o, c // g, *kernel), (o,))


@pytest.mark.parametrize("c, o, k, s, p, d, g", [(4, 6, 3, 2, 1, 2, 2), (3, 3, 3, 1, "same", 2, 3),
                                                  (4, 2, 2, 1, "same", 3, 2), (2, 4, 5, 3, 2, 1, 1)])
def test_conv1d_against_torch(torch, c, o, k, s, p, d, g):
    _compare(torch, lambda x, w: F.conv1d(x, w, None, s, p, d, g),
             lambda x, w: torch.nn.functional.conv1d(x, w, None, s, p, d, g), (2, c, 11), (o, c // g, k))


CONV_TRANSPOSE2D = [  # (in, out, kernel, stride, padding, output_padding, dilation, groups)
    (4, 6, 3, 2, 1, 1, 2, 2), (4, 4, 3, 1, 0, 0, 1, 4), (6, 3, (2, 3), (2, 1), (1, 0), (1, 0), (2, 3), 3),
    (4, 4, 3, 2, 0, 2, 3, 2), (2, 2, 3, 1, 2, 0, 2, 1), (4, 2, 2, 3, 1, 2, 1, 2)]


@pytest.mark.parametrize("c, o, k, s, p, op, d, g", CONV_TRANSPOSE2D)
def test_conv_transpose2d_against_torch(torch, c, o, k, s, p, op, d, g):
    kernel = k if isinstance(k, tuple) else (k, k)
    _compare(torch, lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, op, g, d),
             lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, s, p, op, g, d),
             (2, c, 5, 4), (c, o // g, *kernel), (o,))


def test_conv_transpose1d_and_layers_against_torch(torch):
    _compare(torch, lambda x, w: F.conv_transpose1d(x, w, None, 2, 1, 1, 2, 2),
             lambda x, w: torch.nn.functional.conv_transpose1d(x, w, None, 2, 1, 1, 2, 2),
             (2, 4, 7), (4, 3, 3))
    layers = [("Conv2d", (4, 6, 3, 2, 1, 2, 2), (2, 4, 9, 9)),
              ("Conv1d", (3, 6, 3, 1, "same", 2, 3), (2, 3, 8)),
              ("ConvTranspose2d", (4, 6, 3, 2, 1, 1, 2, True, 2), (2, 4, 5, 5))]
    for name, args, shape in layers:
        ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert tuple(ours.weight.shape) == tuple(theirs.weight.shape) and repr(ours) == repr(theirs)
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        np.testing.assert_allclose(ours(nt.tensor(x)).detach().numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), atol=1e-5)


MAX_POOL2D = [  # (H, W, kernel, stride, padding, dilation, ceil_mode)
    (7, 7, 2, 2, 0, 1, True), (7, 8, 3, 2, 1, 1, True), (6, 6, 3, 2, 1, 2, False),
    (9, 7, (3, 2), (2, 3), (1, 1), (2, 1), True), (2, 2, 3, 3, 0, 1, True), (5, 5, 2, 1, 1, 3, True),
    (6, 6, 2, 2, 1, 1, True), (8, 8, 2, 2, 0, 1, True)]


@pytest.mark.parametrize("h, w, k, s, p, d, ceil", MAX_POOL2D)
def test_max_pool2d_against_torch(torch, h, w, k, s, p, d, ceil):
    _compare(torch, lambda x: F.max_pool2d(x, k, s, p, d, ceil, True),
             lambda x: torch.nn.functional.max_pool2d(x, k, s, p, d, ceil, True), (2, 3, h, w))


AVG_POOL2D = [  # (H, W, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    (7, 7, 2, 2, 0, True, True, None), (7, 8, 3, 2, 1, True, True, None), (7, 8, 3, 2, 1, True, False, None),
    (6, 6, 3, 2, 1, False, False, None), (2, 2, 3, 3, 0, True, True, None), (7, 6, 3, 2, 1, True, True, 5),
    (5, 5, 2, 2, 1, False, True, -3), (6, 6, 2, 2, 1, True, False, None), (5, 6, (3, 2), (2, 1), (1, 0), True,
                                                                             False, None)]


@pytest.mark.parametrize("h, w, k, s, p, ceil, include, divisor", AVG_POOL2D)
def test_avg_pool2d_against_torch(torch, h, w, k, s, p, ceil, include, divisor):
    _compare(torch, lambda x: F.avg_pool2d(x, k, s, p, ceil, include, divisor),
             lambda x: torch.nn.functional.avg_pool2d(x, k, s, p, ceil, include, divisor), (2, 3, h, w))


@pytest.mark.parametrize("k, s, p, d, ceil", [(3, 2, 1, 2, True), (2, 2, 1, 1, True), (3, 3, 0, 1, True),
                                               (2, 1, 0, 4, False)])
def test_pool1d_against_torch(torch, k, s, p, d, ceil):
    tf = torch.nn.functional
    _compare(torch, lambda x: F.max_pool1d(x, k, s, p, d, ceil, True),
             lambda x: tf.max_pool1d(x, k, s, p, d, ceil, True), (2, 3, 10))
    _compare(torch, lambda x: F.avg_pool1d(x, k, s, p, ceil, False),
             lambda x: tf.avg_pool1d(x, k, s, p, ceil, False), (2, 3, 10))
    _compare(torch, nn.MaxPool1d(k, s, p, d, False, ceil), torch.nn.MaxPool1d(k, s, p, d, False, ceil),
             (3, 10))
    _compare(torch, nn.AvgPool1d(k, s, p, ceil), torch.nn.AvgPool1d(k, s, p, ceil), (2, 3, 10))


@pytest.mark.parametrize("shape, k, s, p, output_size", [
    ((2, 3, 6, 8), 2, 2, 0, None), ((2, 3, 7, 7), 3, 2, 1, None),
    ((2, 3, 6, 7), (2, 3), (2, 1), (1, 1), None),
    ((2, 3, 7, 7), 2, 2, 0, (2, 3, 7, 7)), ((3, 7, 7), 2, 2, 0, (7, 7))])
def test_max_unpool2d_against_torch(torch, shape, k, s, p, output_size):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    _, ours = F.max_pool2d(nt.tensor(x), k, s, p, return_indices=True)
    _, theirs = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
    _compare(torch, lambda y: F.max_unpool2d(y, ours, k, s, p, output_size),
             lambda y: torch.nn.functional.max_unpool2d(y, theirs, k, s, p, output_size), tuple(ours.shape))


def test_max_unpool1d_against_torch(torch):
    x = np.random.default_rng(1).standard_normal((2, 3, 9)).astype(np.float32)
    _, ours = F.max_pool1d(nt.tensor(x), 3, 2, 1, return_indices=True)
    _, theirs = torch.nn.functional.max_pool1d(torch.tensor(x), 3, 2, 1, return_indices=True)
    _compare(torch, lambda y: nn.MaxUnpool1d(3, 2, 1)(y, ours, (9,)),
             lambda y: torch.nn.MaxUnpool1d(3, 2, 1)(y, theirs, (9,)), tuple(ours.shape))
