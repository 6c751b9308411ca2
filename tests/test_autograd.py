"""The backward engine: the README example, deep graphs, grad modes, accumulation, freed
graphs, in-place changes and views, retain_grad, gradient aliasing, custom Functions and
gradcheck."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.autograd import gradcheck


def test_readme_example():
    import nanotorch as nt
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = nt.tensor([4.0, 5.0, 6.0], requires_grad=True)
    z = x * y + 2
    z.backward()
    print(x.grad)  # [4.0, 5.0, 6.0]
    print(y.grad)  # [1.0, 2.0, 3.0]

    assert x.grad.tolist() == [4.0, 5.0, 6.0]
    assert y.grad.tolist() == [1.0, 2.0, 3.0]


def test_deep_chain_without_recursion():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0
        y = y + 1.0
    y.sum().backward()  # through 100,000 nodes
    assert x.grad.tolist() == [1.0, 1.0]
    assert y.tolist() == [50_001.0, 50_002.0]


def test_diamond_sums_both_paths():
    x = nt.tensor([2.0], requires_grad=True)
    a = x * 3
    (a * a + a.exp()).sum().backward()  # d/dx (9x^2 + e^{3x}) = 18x + 3 e^{3x}
    np.testing.assert_allclose(x.grad.data, 36 + 3 * np.exp(6.0), rtol=1e-6)


# ------------------------------------------------------------------ grad modes
def test_no_grad_context_and_decorators():
    x = nt.tensor([1.0], requires_grad=True)
    with nt.no_grad():
        y = x * 2
        with nt.enable_grad():
            w = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert w.requires_grad and nt.is_grad_enabled()

    @nt.no_grad()
    def f(t):
        return t * 2

    @nt.no_grad
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad and g.__name__ == "g"
    assert nt.is_grad_enabled()


def test_set_grad_enabled():
    with nt.set_grad_enabled(False):
        assert not nt.is_grad_enabled()
        with nt.set_grad_enabled(True):
            assert nt.is_grad_enabled()
        assert not nt.is_grad_enabled()
    assert nt.is_grad_enabled()

    @nt.set_grad_enabled(False)
    def f():
        return nt.is_grad_enabled()

    assert nt.is_grad_enabled() and f() is False and nt.is_grad_enabled()
    nt.set_grad_enabled(False)
    try:
        assert not (nt.tensor([1.0], requires_grad=True) * 2).requires_grad
    finally:
        nt.set_grad_enabled(True)


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError), nt.no_grad():
        raise ValueError
    assert nt.is_grad_enabled()


# ------------------------------------------------------------------ accumulation and freeing
def test_grads_accumulate_across_backward_calls():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]
    x.grad.zero_()
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_second_backward_through_freed_graph_raises():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).exp().sum()
    loss.backward(retain_graph=True)
    first = x.grad.data.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first)


def test_backward_seeds_and_explicit_gradient():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward()  # a non-scalar output is seeded with ones (unlike PyTorch)
    assert x.grad.tolist() == [3.0, 3.0]
    x.grad = None
    g = np.array([1.0, -1.0], dtype=np.float32)
    (x * 3).backward(g)
    assert x.grad.tolist() == [3.0, -3.0]
    x.grad.data[0] = 100.0
    assert g.tolist() == [1.0, -1.0]  # the caller's gradient is never stored as a .grad
    with pytest.raises(RuntimeError, match="shape"):
        (x * 3).backward(nt.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        nt.tensor([1.0]).backward()


def test_leaf_grads_never_alias():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    y = nt.tensor([3.0, 4.0], requires_grad=True)
    z = x + y
    z.backward()
    x.grad.zero_()
    assert y.grad.tolist() == [1.0, 1.0]
    # the same gradient array reaches x twice, and through a view and a sum's broadcast
    a = nt.tensor([[1.0, 2.0]], requires_grad=True)
    b = nt.tensor([5.0], requires_grad=True)
    (a.reshape(2) + a.view(2) + b).sum().backward()
    for t in (a, b):
        assert t.grad.data.flags.writeable and t.grad.data.base is None
    a.grad.data += 1
    assert a.grad.tolist() == [[3.0, 3.0]] and b.grad.tolist() == [2.0]


def test_retain_grad_keeps_non_leaf_grads():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    k = h * 3
    h.retain_grad()
    (k * k).sum().backward()
    assert h.grad.tolist() == [36.0, 72.0]  # d/dh (3h)^2 = 18 h
    assert k.grad is None  # not retained
    assert x.grad.tolist() == [72.0, 144.0]


def test_mixed_dtypes_give_each_leaf_its_own_dtype():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    w = nt.tensor([3.0, 4.0], dtype=nt.float64, requires_grad=True)
    (x * w).sum().backward()
    assert x.grad.dtype == nt.float32 and w.grad.dtype == nt.float64
    d = nt.tensor([1.5], dtype=nt.float64, requires_grad=True)
    (d.float() * 2).sum().backward()
    assert d.grad.dtype == nt.float64 and d.grad.tolist() == [2.0]


def test_detach_and_long_stop_the_gradient():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    (x.detach() * x).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0]
    assert not x.long().requires_grad and x.long().grad_fn is None


# ------------------------------------------------------------------ gradients of some ops
def test_getitem_repeated_indices_accumulate():
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]
    m = nt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (m[nt.tensor([1, 1]), nt.tensor([0, 0])] * 2).sum().backward()
    assert m.grad.tolist() == [[0.0, 0.0], [4.0, 0.0]]


def test_split_and_chunk_gradients():
    x = nt.arange(6).float().requires_grad_()
    a, b, c = x.split([1, 2, 3])
    (a * 1 + b.sum() * 2 + c.sum() * 3).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 2.0, 3.0, 3.0, 3.0]
    y = nt.ones(2, 4, requires_grad=True)
    left, right = y.chunk(2, dim=1)
    (left * 5).sum().backward()
    assert y.grad.tolist() == [[5.0, 5.0, 0.0, 0.0]] * 2
    assert right.shape == (2, 2)


def test_where_and_rpow_gradients():
    x = nt.tensor([-1.0, 2.0], requires_grad=True)
    y = nt.tensor([10.0, 20.0], requires_grad=True)
    nt.where(x > 0, x * 3, y).sum().backward()
    assert x.grad.tolist() == [0.0, 3.0] and y.grad.tolist() == [1.0, 0.0]
    z = nt.tensor([1.0, 3.0], requires_grad=True)
    (2 ** z).sum().backward()
    np.testing.assert_allclose(z.grad.data, [2 * np.log(2), 8 * np.log(2)], rtol=1e-6)
    assert z.grad.dtype == nt.float32


def test_max_min_with_dim_gradients_go_to_the_index():
    x = nt.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    (values * nt.tensor([1.0, 10.0])).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [10.0, 0.0, 0.0]]
    assert not indices.requires_grad
    x.grad = None
    x.min(0, keepdim=True).values.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]


def test_max_with_ties_matches_torch():
    torch = pytest.importorskip("torch")
    data = [[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]]
    for reduce in ("max", "min"):
        x, t = nt.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        (getattr(x, reduce)() * 2).backward()
        (getattr(t, reduce)() * 2).backward()
        np.testing.assert_allclose(x.grad.data, t.grad.numpy())
    a, b = nt.tensor([1.0, 2.0], requires_grad=True), nt.tensor([1.0, 3.0], requires_grad=True)
    ta, tb = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 3.0], requires_grad=True)
    nt.maximum(a, b).sum().backward()
    torch.maximum(ta, tb).sum().backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy())
    np.testing.assert_allclose(b.grad.data, tb.grad.numpy())


def test_stable_for_large_logits():
    x = nt.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], requires_grad=True)
    p, logp, lse = x.softmax(-1), x.log_softmax(-1), x.logsumexp(1)
    assert np.isfinite(p.data).all() and np.isfinite(logp.data).all() and np.isfinite(lse.data).all()
    np.testing.assert_allclose(p.data, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-6)
    np.testing.assert_allclose(lse.data, [1e4, -1e4 + np.log(3)], rtol=1e-6)
    (logp[:, 0].sum() + lse.sum() + (p * p).sum()).backward()
    assert np.isfinite(x.grad.data).all()
    assert (x.sigmoid().data[0] == [1.0, 0.5, 0.0]).all()


def test_std_of_a_constant_has_zero_gradient():
    x = nt.tensor([2.0, 2.0, 2.0], requires_grad=True)
    x.std().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


# ------------------------------------------------------------------ in-place changes
def test_inplace_on_leaf_requires_no_grad():
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    for change in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.copy_(w * 0),
                   lambda: w.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="leaf"):
            change()
    with nt.no_grad():
        w -= 0.5 * nt.ones(2)
        w[1] = 4.0
    assert w.tolist() == [0.5, 4.0] and w.is_leaf and w.requires_grad


def test_inplace_change_of_a_saved_tensor_raises():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y.exp()  # saves its output
    w = (y * y).sum()  # saves y
    z.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        z.sum().backward()
    with nt.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        w.backward()


def test_inplace_change_of_a_leaf_under_no_grad_is_detected():
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with nt.no_grad():
        w.sub_(0.1)  # an optimizer step before backward
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


VIEWS = [lambda t: t.view(3, 1), lambda t: t.reshape(3), lambda t: t[1:], lambda t: t[0],
         lambda t: t.unsqueeze(0)]


@pytest.mark.parametrize("make_view", [*VIEWS, lambda t: t.detach()])
def test_inplace_change_through_a_view_is_detected(make_view):
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1
    loss = (h * h).sum()  # saves h
    with nt.no_grad():
        make_view(h).mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


@pytest.mark.parametrize("make_view", [*VIEWS, lambda t: t.expand(2, 3), lambda t: t.T])
def test_inplace_change_of_a_viewed_tensor_is_detected(make_view):
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1
    v = make_view(h)
    loss = (v * v).sum()  # saves the view (``v * 2`` would not: PyTorch saves no operand there)
    with nt.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_recorded_inplace_change_of_a_base_invalidates_older_views():
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1
    first = h[0]
    h.mul_(2)  # recorded: h's graph changes, the view `first` was taken before
    with pytest.raises(RuntimeError, match="view"):
        first.backward()
    h[1].backward()  # a view taken after the change is fine
    assert x.grad.tolist() == [0.0, 2.0, 0.0]


def test_recorded_inplace_change_of_a_view_raises():
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1
    with pytest.raises(RuntimeError, match="view"):
        h[0].mul_(2)
    buf = nt.zeros(3)
    with pytest.raises(RuntimeError, match="view"):
        buf[1:] += x[:2]  # buf's own graph would miss x


INPLACE_CASES = {
    "add_mul": lambda m, a, b: (a * 2).add_(b).mul_(3),
    "iadd_isub": lambda m, a, b: _iops(a * 1, b),
    "div_by_tensor": lambda m, a, b: (a + 0).div_(b.exp()),
    "self_times_self": lambda m, a, b: _square_inplace(a * 1) + b,
    "setitem": lambda m, a, b: _setitem(a * 3, b),
    "copy_": lambda m, a, b: (a * 1).copy_(b[:1] ** 2) * a,
    "leaf_buffer_gets_grad": lambda m, a, b: _buffer(m, a, b),
}


def _iops(h, b):
    h += b
    h -= b * b
    return h


def _square_inplace(h):
    h *= 3
    return h


def _setitem(h, b):
    h[1:] = b[1:] * b[1:]
    h[0] = 7.0
    return h


def _buffer(m, a, b):
    buf = m.zeros(3)
    buf += a * b
    buf[0] = b[0]
    return buf


@pytest.mark.parametrize("name", INPLACE_CASES)
def test_recorded_inplace_changes_match_torch(name):
    torch = pytest.importorskip("torch")
    f = INPLACE_CASES[name]
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    grads = []
    for m in (nt, torch):
        x, y = (m.tensor(v, dtype=m.float64, requires_grad=True) for v in (a, b))
        out = f(m, x, y)
        (out * m.tensor([1.0, 2.0, 3.0], dtype=m.float64)).sum().backward()
        grads.append((out.detach().numpy(), x.grad.numpy(), y.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_inplace_of_a_tensor_with_itself():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    h = x + 0
    h *= h  # PyTorch raises here; the old value is kept, so the gradient is right
    h.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_retain_grad_follows_an_inplace_change():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    h.retain_grad()
    h.mul_(3)
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0] and x.grad.tolist() == [18.0, 36.0]


# ------------------------------------------------------------------ Function and gradcheck
class _HalfGrad(nt.Function):
    """``out = a * b`` whose backward sends nothing to ``b``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0], None


def test_backward_must_return_one_gradient_per_input():
    class TooFew(nt.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad

    a = nt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 1 gradients for 2 inputs"):
        TooFew.apply(a, a * 2).backward()
    TooFew.apply(a, 2.0).backward()  # trailing inputs that need no gradient may be left out
    TooFew.apply(a, nt.tensor([2.0])).backward()
    assert a.grad.tolist() == [2.0]


def test_a_none_gradient_does_not_block_other_paths():
    a = nt.tensor([1.0, 2.0], requires_grad=True)
    w = nt.tensor([3.0, 4.0], requires_grad=True)
    b = w * 2  # reached by two consumers, one of which sends None
    (_HalfGrad.apply(a, b).sum() + b.sum()).backward()
    assert a.grad.tolist() == [6.0, 8.0] and w.grad.tolist() == [2.0, 2.0]
    c = w * 1
    _HalfGrad.apply(a, c).sum().backward()  # c's node receives nothing at all
    assert w.grad.tolist() == [2.0, 2.0]


class _WrongSquare(nt.Function):
    """``out = a^2`` with a wrong backward (``g * a`` instead of ``2 g a``)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


def test_gradcheck_passes_and_names_the_failing_input():
    x = nt.tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True)
    y = nt.tensor([1.0, 3.0], requires_grad=True)
    assert gradcheck(lambda a, b: (a * b).tanh().sum(1), (x, y))
    assert gradcheck(lambda a: a.max(1), [x])  # a (values, indices) result
    with pytest.raises(AssertionError, match=r"input 1 \(shape \(2, 2\)\) at element \(1, 0\)"):
        gradcheck(lambda a, b: a + _WrongSquare.apply(b), (y, x * nt.tensor([[0.1, 0.1], [1, 0.1]])))
    assert x.grad is None  # gradcheck works on float64 copies


def test_gradcheck_leaves_the_global_generator_alone():
    nt.manual_seed(5)
    expected = nt.randn(3).tolist()
    nt.manual_seed(5)
    gradcheck(lambda a: a.exp(), nt.tensor([1.0], requires_grad=True))
    assert nt.randn(3).tolist() == expected


def test_only_kernel_ops_keep_the_backend_in_their_node():
    x, w = nt.randn(2, 3, requires_grad=True), nt.randn(4, 3, requires_grad=True)
    y = nt.nn.functional.linear(x, w)
    z = y * 2
    assert type(y.grad_fn).uses_backend and y.grad_fn.backend is nt.backend.current()
    assert not type(z.grad_fn).uses_backend and not hasattr(z.grad_fn, "backend")
