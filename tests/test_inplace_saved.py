"""In-place changes after an op saved an input: raise exactly where PyTorch does (issue 10
item 1, issue 9 item 1). A node checks the versions of what its backward reads, following
NumPy views (a reshape, ``x[..., None]``) to the input they view; an input whose gradient
is never computed is not saved, so changing it later is fine."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn as nn


def _raises_on_backward(lib, make) -> bool:
    """Build the graph with ``make``, add 1 to its input in place, then run backward."""
    x, y = make(lib)
    with lib.no_grad():
        x += 1
    try:
        y.sum().backward()
    except RuntimeError as exc:
        assert "in-place" in str(exc) or "inplace" in str(exc)
        return True
    return False


def _both(lib):
    return (lambda *s: lib.arange(float(np.prod(s))).reshape(*s) / 10)


def _linear3d(lib):
    lib.manual_seed(0)
    x = _both(lib)(2, 5, 4)
    layer = (lib.nn.Linear if lib is not nt else nn.Linear)(4, 3)
    return x, layer(x)


def _batchnorm3d(lib):
    x = _both(lib)(2, 3, 5)
    layer = (lib.nn.BatchNorm1d if lib is not nt else nn.BatchNorm1d)(3)
    return x, layer(x)


@pytest.mark.parametrize("make", [_linear3d, _batchnorm3d], ids=["linear_3d", "batchnorm1d_3d"])
def test_inplace_change_of_an_input_saved_as_a_view_raises(backend, make, torch):
    """Linear on [B, T, K] saves x.reshape(-1, K); BatchNorm1d on [N, C, L] saves x[..., None]."""
    assert _raises_on_backward(torch, make)
    assert _raises_on_backward(nt, make)


def test_inplace_change_through_a_reshape_of_a_saved_input_raises(backend):
    x = nt.randn(2, 5, 4)
    w = nt.randn(3, 4, requires_grad=True)
    y = nt.nn.functional.linear(x, w)
    x.view(10, 4).mul_(2)  # another view of the same memory
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_unchanged_input_saved_as_a_view_still_gives_the_right_gradient(backend, torch):
    x = nt.randn(2, 5, 4)
    layer = nn.Linear(4, 3)
    layer(x).sum().backward()
    tx = torch.tensor(x.numpy())
    tl = torch.nn.Linear(4, 3)
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(layer.weight.detach().numpy()))
        tl.bias.copy_(torch.tensor(layer.bias.detach().numpy()))
    tl(tx).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), tl.weight.grad.numpy(), rtol=1e-5)


# Issue 9 item 1: the constant's side of Mul, Div and MatMul is not saved.
def _mul_self_update(lib):
    a = lib.tensor(2.0, requires_grad=True)
    d = a * 1
    d += d * 2
    return a, d


def _h(lib):
    a = lib.tensor([2.0, -1.0, 3.0], requires_grad=True)
    return a, a * 1


def _mul_scalar(lib):
    a, h = _h(lib)
    g = h * 0.5
    h += 1
    return a, g


def _div_scalar(lib):
    a, h = _h(lib)
    g = h / 2.0
    h += 1
    return a, g


def _matmul_const(lib):
    a, h = _h(lib)
    w = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = h @ w
    h += 1
    return a, y


def _mul_const_tensor(lib):
    a, h = _h(lib)
    c = lib.tensor([1.0, 2.0, 3.0])
    y = h * c
    h += 1
    return a, y


def _div_by_tensor_changed(lib):
    """The divisor's old value is needed for da: changing it must still raise."""
    a, h = _h(lib)
    y = a / h
    h += 1
    return a, y


def _mul_needs_changed_side(lib):
    """h * a needs h for da: changing h must still raise."""
    a, h = _h(lib)
    y = a * h
    h += 1
    return a, y


@pytest.mark.parametrize("make", [_mul_self_update, _mul_scalar, _div_scalar, _matmul_const,
                                  _mul_const_tensor, _div_by_tensor_changed, _mul_needs_changed_side])
def test_inplace_after_an_op_that_saved_inputs_matches_torch(backend, make, torch):
    def outcome(lib):
        a, y = make(lib)
        try:
            y.sum().backward()
        except RuntimeError as exc:
            assert "in-place" in str(exc) or "inplace" in str(exc)
            return "raises", None
        return "ok", a.grad.numpy()

    got, expected = outcome(nt), outcome(torch)
    assert got[0] == expected[0]
    if got[0] == "ok":
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-6)


def test_matmul_gradients_for_every_rank_combination(backend, torch):
    """MatMul saves only what each gradient reads; the shapes come from forward."""
    rng = np.random.default_rng(0)
    for sa, sb in [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                   ((5, 2, 3), (3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (1, 3, 4))]:
        an, bn = rng.standard_normal(sa, dtype=np.float32), rng.standard_normal(sb, dtype=np.float32)
        for ra, rb in [(True, True), (True, False), (False, True)]:
            a, b = nt.tensor(an, requires_grad=ra), nt.tensor(bn, requires_grad=rb)
            ta, tb = torch.tensor(an, requires_grad=ra), torch.tensor(bn, requires_grad=rb)
            (a @ b).sum().backward()
            (ta @ tb).sum().backward()
            for mine, ref in ((a, ta), (b, tb)):
                if ref.requires_grad:
                    np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), rtol=1e-5, atol=1e-6)
                else:
                    assert mine.grad is None
