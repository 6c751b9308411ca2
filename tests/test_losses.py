"""Loss modules (``nanotorch.nn`` and the seed's ``nanotorch.loss``): hand-computed values,
options, bad input, and PyTorch parity of values and gradients in float32."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.loss
import nanotorch.nn.functional as F
from nanotorch import nn

RNG = np.random.default_rng(1)


def logits_and_grad(x: np.ndarray) -> nt.Tensor:
    return nt.tensor(x, requires_grad=True)


def test_seed_module_reexports_the_losses():
    for name in ("CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss"):
        assert getattr(nanotorch.loss, name) is getattr(nn, name)


def test_cross_entropy_hand_computed():
    # Uniform logits over C classes: the loss is log C, the gradient (1/C - onehot) / N.
    x = nt.zeros(2, 4, requires_grad=True)
    loss = nn.CrossEntropyLoss()(x, nt.tensor([1, 3]))
    assert loss.item() == pytest.approx(math.log(4), rel=1e-6)
    loss.backward()
    expected = np.full((2, 4), 0.25 / 2)
    expected[0, 1] -= 0.5
    expected[1, 3] -= 0.5
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6)


def test_cross_entropy_is_stable_for_huge_logits():
    x = nt.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction="none")(x, nt.tensor([0, 2]))
    np.testing.assert_allclose(loss.data, [0.0, math.log(2)], atol=1e-6)
    loss.sum().backward()
    assert np.isfinite(x.grad.data).all()


def test_cross_entropy_ignore_index_and_smoothing_by_hand():
    x = nt.tensor([[2.0, 0.0], [0.0, 0.0], [1.0, 3.0]])
    logp = x.data - np.log(np.exp(x.data).sum(1, keepdims=True))
    target = nt.tensor([0, -100, 1])
    loss = nn.CrossEntropyLoss()(x, target)
    assert loss.item() == pytest.approx(-(logp[0, 0] + logp[2, 1]) / 2, rel=1e-6)
    smooth = nn.CrossEntropyLoss(label_smoothing=0.1, reduction="sum")(x, target)
    by_hand = sum(-0.9 * logp[i, t] - 0.05 * logp[i].sum() for i, t in ((0, 0), (2, 1)))
    assert smooth.item() == pytest.approx(by_hand, rel=1e-6)


def test_cross_entropy_rejects_bad_input():
    criterion = nn.CrossEntropyLoss()
    x = nt.randn(3, 4)
    with pytest.raises(IndexError, match="target 4 is out of bounds for 4 classes"):
        criterion(x, nt.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="target -1"):
        criterion(x, nt.tensor([0, -1, 1]))
    with pytest.raises(TypeError, match="floating point type for target with class probabilities"):
        criterion(x, nt.randint(0, 4, (3, 4)))  # shaped as x: probabilities, which must be floats
    with pytest.raises(ValueError, match=r"expected \(3,\)"):
        criterion(x, nt.tensor([0, 1]))
    with pytest.raises(TypeError, match="floating point"):
        criterion(nt.tensor([[1, 2]]), nt.tensor([0]))
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)(x, nt.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction="):
        nn.CrossEntropyLoss(reduction="batchmean")
    # ignore_index may be any value, in range or not
    nn.CrossEntropyLoss(ignore_index=7)(x, nt.tensor([0, 7, 1]))


def test_cross_entropy_label_range_check_in_one_pass():
    """The range check reads the labels as unsigned: every negative label, even the most
    negative int64, is caught; ignored rows pass; other integer dtypes and strided targets
    give the same loss as a contiguous int64 one."""
    x = nt.randn(3, 4)
    for bad in (np.iinfo(np.int64).min, -2, 2**40):
        with pytest.raises(IndexError, match=f"target {bad} is out of bounds for 4 classes"):
            F.cross_entropy(x, nt.tensor(np.array([0, bad, 1], dtype=np.int64)))
    ref = F.cross_entropy(x, nt.tensor([0, 3, 1])).item()
    strided = nt.tensor(np.array([0, 9, 3, 9, 1, 9], dtype=np.int64))[::2]
    for target in (nt.tensor(np.array([0, 3, 1], dtype=np.int32)),
                   nt.tensor(np.array([0, 3, 1], dtype=np.uint8)), strided):
        assert F.cross_entropy(x, target).item() == pytest.approx(ref, rel=1e-6)
    kept = F.cross_entropy(x, nt.tensor([0, -100, 1]), reduction="sum").item()
    assert kept == pytest.approx(F.cross_entropy(x[[0, 2]], nt.tensor([0, 1]), reduction="sum").item(),
                                 rel=1e-6)


def test_bce_clamps_its_logs_at_minus_100():
    p = nt.tensor([0.0, 1.0, 1.0], requires_grad=True)
    loss = nn.BCELoss(reduction="none")(p, nt.tensor([1.0, 0.0, 1.0]))
    np.testing.assert_allclose(loss.data, [100, 100, 0])
    loss.sum().backward()
    assert np.isfinite(p.grad.data).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.BCELoss()(nt.tensor([1.5]), nt.tensor([1.0]))
    with pytest.raises(ValueError, match="target size"):
        nn.BCELoss()(nt.tensor([0.5, 0.5]), nt.tensor([1.0]))


def test_bce_with_logits_is_stable():
    x = nt.tensor([200.0, -200.0, 0.0], requires_grad=True)
    loss = nn.BCEWithLogitsLoss(reduction="none")(x, nt.tensor([0.0, 1.0, 1.0]))
    np.testing.assert_allclose(loss.data, [200, 200, math.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1, -1, -0.5], rtol=1e-6)


def test_loss_reprs():
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss()"


# ------------------------------------------------------------------ PyTorch parity
def _compare(torch, nt_loss, torch_loss, x: np.ndarray, target, torch_target, rtol=1e-5):
    xn = logits_and_grad(x)
    xt = torch.tensor(x, requires_grad=True)
    ln = nt_loss(xn, target)
    lt = torch_loss(xt, torch_target)
    np.testing.assert_allclose(ln.data, lt.detach().numpy(), rtol=rtol, atol=1e-6)
    ln.sum().backward()
    lt.sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=rtol, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_cross_entropy_matches_torch(torch, backend, reduction, smoothing, ignore_index):
    x = (RNG.standard_normal((16, 5)) * 4).astype(np.float32)
    y = RNG.integers(0, 5, 16)
    y[[1, 6]] = ignore_index
    kwargs = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=ignore_index)
    _compare(torch, nn.CrossEntropyLoss(**kwargs), torch.nn.CrossEntropyLoss(**kwargs),
             x, nt.tensor(y), torch.tensor(y))


@pytest.mark.torch
def test_cross_entropy_with_extra_dims_and_weights_matches_torch(torch):
    x = RNG.standard_normal((3, 4, 2, 2)).astype(np.float32)
    y = RNG.integers(0, 4, (3, 2, 2))
    for reduction in ("mean", "none"):
        _compare(torch, nn.CrossEntropyLoss(reduction=reduction),
                 torch.nn.CrossEntropyLoss(reduction=reduction), x, nt.tensor(y), torch.tensor(y))
    w = np.array([0.5, 1.0, 2.0, 0.1], dtype=np.float32)
    y2 = RNG.integers(0, 4, 8)
    y2[0] = -100
    _compare(torch, nn.CrossEntropyLoss(nt.tensor(w)), torch.nn.CrossEntropyLoss(torch.tensor(w)),
             RNG.standard_normal((8, 4)).astype(np.float32), nt.tensor(y2), torch.tensor(y2))
    _compare(torch, nn.NLLLoss(nt.tensor(w), reduction="sum"),
             torch.nn.NLLLoss(torch.tensor(w), reduction="sum"),
             RNG.standard_normal((8, 4)).astype(np.float32), nt.tensor(y2), torch.tensor(y2))


@pytest.mark.torch
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "BCEWithLogitsLoss", "BCELoss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_losses_match_torch(torch, name, reduction):
    x = RNG.standard_normal((4, 6)).astype(np.float32)
    if name == "BCELoss":
        x = 1 / (1 + np.exp(-x))
        x[0, :2] = [0.0, 1.0]
    y = RNG.uniform(0, 1, (4, 6)).astype(np.float32)
    _compare(torch, getattr(nn, name)(reduction=reduction), getattr(torch.nn, name)(reduction=reduction),
             x, nt.tensor(y), torch.tensor(y), rtol=1e-4)
    if name.startswith("BCE"):
        w = RNG.uniform(0, 2, 6).astype(np.float32)
        _compare(torch, getattr(nn, name)(nt.tensor(w), reduction=reduction),
                 getattr(torch.nn, name)(torch.tensor(w), reduction=reduction),
                 x, nt.tensor(y), torch.tensor(y), rtol=1e-4)


@pytest.mark.torch
def test_unbatched_cross_entropy_matches_torch(torch):
    x = RNG.standard_normal(5).astype(np.float32)
    for reduction in ("mean", "none"):
        _compare(torch, nn.CrossEntropyLoss(reduction=reduction),
                 torch.nn.CrossEntropyLoss(reduction=reduction), x, nt.tensor(3), torch.tensor(3))


class _RefusingBackend:
    """A backend whose kernels must not be reached."""

    name = "refusing"

    def __getattr__(self, kernel):
        raise AssertionError(f"the backend's {kernel} was called")


def test_bad_labels_never_reach_the_backend(monkeypatch):
    monkeypatch.setattr(nt.backend.state, "current", _RefusingBackend())
    with pytest.raises(IndexError, match="out of bounds"):
        nn.CrossEntropyLoss()(nt.randn(2, 3), nt.tensor([0, 3]))
    with pytest.raises(AssertionError, match="cross_entropy_forward"):  # the spy works
        nn.CrossEntropyLoss()(nt.randn(2, 3), nt.tensor([0, 2]))


def test_nll_loss_with_every_row_ignored_is_nan_with_zero_gradient():
    x = nt.randn(2, 3, requires_grad=True)
    loss = nn.NLLLoss()(x, nt.tensor([-100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, 0)


@pytest.mark.parametrize("bad, dtype", [(bad, dtype) for dtype in (np.int64, np.int32)
                                         for bad in (-1, 3, 2**62, -(2**62))
                                         if np.iinfo(dtype).min <= bad <= np.iinfo(dtype).max])
@pytest.mark.parametrize("at", [0, 4, 7])
def test_one_bad_label_anywhere_is_refused_before_the_backend(monkeypatch, bad, at, dtype):
    """The op's one-pass label check (the max of the labels seen as unsigned): a single label
    below 0 or >= C, at any row, never reaches a kernel; ignore_index rows (-100, and a
    non-negative one) pass through the slow path, and a bad label next to them is still named."""
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1], dtype)
    monkeypatch.setattr(nt.backend.state, "current", _RefusingBackend())
    bad_labels = labels.copy()
    bad_labels[at] = bad
    with pytest.raises(IndexError, match=f"target {bad} is out of bounds for 3 classes"):
        F.cross_entropy(nt.randn(8, 3), nt.tensor(bad_labels))
    for ignore in (-100, 5):
        ignored = labels.copy()
        ignored[(at + 1) % 8] = ignore
        with pytest.raises(AssertionError, match="cross_entropy_forward"):  # checked, then the backend
            F.cross_entropy(nt.randn(8, 3), nt.tensor(ignored), ignore_index=ignore)
        ignored[at] = bad
        with pytest.raises(IndexError, match=f"target {bad} is out of bounds"):
            F.cross_entropy(nt.randn(8, 3), nt.tensor(ignored), ignore_index=ignore)
