"""Edge cases where NanoTorch now does what PyTorch does (issue 10 item 7): empty feature
dims in Linear, empty batches in BatchNorm and Conv2d, unbatched [C, H, W] input to the 2-D
layers, and a clear error for a custom Function whose backward returns a number."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn as nn
from nanotorch.autograd.function import Function


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # PyTorch's
@pytest.mark.parametrize("sizes", [(0, 5), (5, 0)], ids=["in_0", "out_0"])
def test_linear_with_an_empty_feature_dim_on_3d_input(backend, sizes, torch):
    k, m = sizes
    layer = nn.Linear(k, m)
    x = nt.randn(2, 3, k, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    ty = torch.nn.Linear(k, m)(torch.zeros(2, 3, k))
    assert y.shape == tuple(ty.shape)
    assert x.grad.shape == x.shape and layer.weight.grad.shape == (m, k)
    if k == 0:  # no inputs: the output is the bias, its gradient 6 per unit
        bias = layer.bias.detach().numpy()
        np.testing.assert_allclose(y.detach().numpy(), np.broadcast_to(bias, (2, 3, m)))
        np.testing.assert_allclose(layer.bias.grad.numpy(), np.full(m, 6.0))


@pytest.mark.parametrize("make, shape", [(lambda: nn.BatchNorm1d(3), (0, 3)),
                                         (lambda: nn.BatchNorm1d(3), (0, 3, 4)),
                                         (lambda: nn.BatchNorm2d(3), (0, 3, 4, 4))])
def test_batch_norm_on_an_empty_batch_gives_an_empty_result(backend, make, shape, torch):
    bn = make()
    x = nt.zeros(*shape, requires_grad=True)
    y = bn(x)
    y.sum().backward()
    assert y.shape == shape and x.grad.shape == shape
    np.testing.assert_array_equal(bn.weight.grad.numpy(), np.zeros(3))
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3))  # untouched
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3))
    tbn = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d}[len(shape)](3)
    assert tuple(tbn(torch.zeros(*shape)).shape) == shape
    np.testing.assert_array_equal(tbn.running_mean.numpy(), bn.running_mean.numpy())


def test_batch_norm_with_one_value_per_channel_still_raises(backend):
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(nt.zeros(1, 3))


def test_conv2d_backward_on_an_empty_batch_of_huge_planes(backend):
    """No patches, no scratch: the C kernel used to size its scratch by H*W anyway (~2^60 bytes)."""
    conv = nn.Conv2d(1, 2, 1)
    planes = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), (0, 1, 1 << 20, 1 << 20),
                                             (4, 4, 4, 4))
    x = nt.tensor(planes, requires_grad=True)
    y = conv(x)
    y.sum().backward()
    assert y.shape == (0, 2, 1 << 20, 1 << 20)
    np.testing.assert_array_equal(conv.weight.grad.numpy(), np.zeros((2, 1, 1, 1)))
    np.testing.assert_array_equal(conv.bias.grad.numpy(), np.zeros(2))


@pytest.mark.parametrize("make", [lambda lib: lib.nn.Conv2d(3, 4, 3, padding=1),
                                  lambda lib: lib.nn.MaxPool2d(2),
                                  lambda lib: lib.nn.AvgPool2d(2)],
                         ids=["conv2d", "max_pool2d", "avg_pool2d"])
def test_unbatched_chw_input_to_the_2d_layers(backend, make, torch):
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((3, 6, 6)).astype(np.float32)
    nt.manual_seed(0)
    layer = make(nt)
    tlayer = make(torch)
    for name, p in layer.named_parameters():
        with torch.no_grad():
            getattr(tlayer, name).copy_(torch.tensor(p.detach().numpy()))
    x, tx = nt.tensor(xn, requires_grad=True), torch.tensor(xn, requires_grad=True)
    y, ty = layer(x), tlayer(tx)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_a_custom_backward_returning_a_float_is_a_clear_error():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return 2.0

    x = nt.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="Double.backward returned a float as the gradient of input 0"):
        Double.apply(x).sum().backward()


def test_a_custom_backward_returning_a_numpy_scalar_is_accepted():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return (grad * 2 * x)[()]  # a NumPy scalar for a 0-d input

    x = nt.tensor(3.0, requires_grad=True)
    Square.apply(x).backward()
    assert x.grad.item() == 6.0


def test_binary_cross_entropy_refuses_nan_probabilities(backend, torch):
    p, y = [float("nan"), 0.5], [1.0, 0.0]
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(y))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nt.nn.functional.binary_cross_entropy(nt.tensor(p), nt.tensor(y))
