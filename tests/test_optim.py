"""Tests for nanotorch.optim: optimizers and LR schedulers, step for step against PyTorch.

The optimizer tests run on every backend that can load here (``backend`` fixture).
"""

from __future__ import annotations

import math
import threading
import tracemalloc

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.backend.numpy_backend import FlatState, NumpyBackend
from nanotorch.optim import SGD, Adam, AdamW, Optimizer, RMSprop
from nanotorch.optim import lr_scheduler as nls
from nanotorch.optim.optimizer import _zeros_for
from nanotorch.serialization import load, save

SHAPES = [(3, 4), (5,)]
STEPS = 10


def make_params(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def make_grads(steps: int, seed: int = 1) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(steps)]


def nt_params(arrays) -> list[nt.Tensor]:
    return [nt.tensor(a, requires_grad=True) for a in arrays]


def torch_run(torch, cls_name: str, groups, grads, **kwargs) -> list[list[np.ndarray]]:
    """Torch's parameters after each step; ``groups`` is a list of (arrays, options)."""
    params = [[torch.tensor(a.copy(), requires_grad=True) for a in arrays] for arrays, _ in groups]
    opt = getattr(torch.optim, cls_name)(
        [{"params": ps, **opts} for ps, (_, opts) in zip(params, groups)], **kwargs)
    flat = [p for ps in params for p in ps]
    history = []
    for step_grads in grads:
        for p, g in zip(flat, step_grads):
            p.grad = torch.tensor(g)
        opt.step()
        history.append([p.detach().numpy().copy() for p in flat])
    return history


def nt_steps(opt: Optimizer, params: list[nt.Tensor], grads) -> list[list[np.ndarray]]:
    history = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = nt.tensor(g)
        opt.step()
        history.append([p.data.copy() for p in params])
    return history


def assert_same_history(ours, theirs) -> None:
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=f"after step {step + 1}")


CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01, "maximize": True}),
    ("SGD", {"lr": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6, "amsgrad": True, "weight_decay": 0.05,
              "maximize": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.1,
                 "maximize": True}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_matches_torch_step_for_step(backend, name, options):
    torch = pytest.importorskip("torch")
    arrays, grads = make_params(), make_grads(STEPS)
    params = nt_params(arrays)
    opt = getattr(nt.optim, name)(params, **options)
    expected = torch_run(torch, name, [(arrays, {})], grads, **options)
    assert_same_history(nt_steps(opt, params, grads), expected)


@pytest.mark.torch
def test_per_group_options_match_torch(backend):
    torch = pytest.importorskip("torch")
    a, b = make_params(0), make_params(1)
    groups = [(a, {}), (b, {"lr": 0.01, "momentum": 0.5, "nesterov": False})]
    grads = [g + h for g, h in zip(make_grads(STEPS, seed=2), make_grads(STEPS, seed=3))]
    pa, pb = nt_params(a), nt_params(b)
    opt = SGD([{"params": pa}, {"params": pb, "lr": 0.01, "momentum": 0.5}], lr=0.1, momentum=0.9,
              nesterov=False)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    ours = nt_steps(opt, pa + pb, grads)
    assert_same_history(ours, torch_run(torch, "SGD", groups, grads, lr=0.1, momentum=0.9))


@pytest.mark.torch
def test_training_through_autograd_matches_torch(backend):
    """Gradients from nanotorch's backward, updates by Adam: same weights as torch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, y, w0 = (rng.standard_normal(s).astype(np.float32) for s in ((8, 3), (8, 2), (3, 2)))
    w = nt.tensor(w0, requires_grad=True)
    tw = torch.tensor(w0.copy(), requires_grad=True)
    opt, topt = Adam([w], lr=0.1), torch.optim.Adam([tw], lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        ((nt.tensor(x) @ w - nt.tensor(y)) ** 2).mean().backward()
        opt.step()
        topt.zero_grad()
        ((torch.tensor(x) @ tw - torch.tensor(y)) ** 2).mean().backward()
        topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------ step mechanics
class SpyBackend(NumpyBackend):
    """The NumPy kernels, counting the optimizer-kernel calls."""

    def __init__(self):
        self.calls, self.multi = [], []

    def sgd_multi_step(self, params, grads, bufs, **kw):
        self.multi.append(("sgd", kw["first"], len(params)))
        super().sgd_multi_step(params, grads, bufs, **kw)

    def adam_multi_step(self, params, grads, *args, **kw):
        self.multi.append(("adam", kw["steps"], len(params)))
        super().adam_multi_step(params, grads, *args, **kw)

    def sgd_step(self, param, grad, buf, **kw):
        self.calls.append(("sgd", kw["first"]))
        super().sgd_step(param, grad, buf, **kw)

    def adam_step(self, *args, **kw):
        self.calls.append(("adam", kw["step"]))
        super().adam_step(*args, **kw)

    def rmsprop_step(self, *args, **kw):
        self.calls.append(("rmsprop", None))
        super().rmsprop_step(*args, **kw)


@pytest.fixture
def spy(monkeypatch):
    spy = SpyBackend()
    monkeypatch.setattr(nt.backend.state, "current", spy)
    return spy


@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop])
def test_update_goes_through_the_backend_in_place(spy, cls):
    p = nt.tensor([1.0, 2.0], requires_grad=True)
    data = p.data
    opt = cls([p], lr=0.1, momentum=0.9) if cls is not Adam else cls([p], lr=0.1)
    p.grad = nt.tensor([1.0, -1.0])
    opt.step()
    opt.step()
    assert p.data is data and not np.allclose(data, [1.0, 2.0])
    assert len(spy.calls) == 2
    if cls is SGD:
        assert spy.calls == [("sgd", True), ("sgd", False)]  # the buffer is seeded once
    if cls is Adam:
        assert spy.calls == [("adam", 1), ("adam", 2)]


def test_one_multi_tensor_call_per_group_and_step(spy):
    ps = [nt.tensor(np.ones(n, np.float32), requires_grad=True) for n in (3, 4, 5)]
    for cls in (SGD, Adam):
        spy.multi.clear()
        opt = cls([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.1)
        for p in ps:
            p.grad = nt.ones(*p.shape)
        opt.step()
        opt.step()
        name = cls.__name__.lower()
        keys = [[False] * 2, [False]] * 2 if cls is SGD else [[1, 1], [1], [2, 2], [2]]
        assert spy.multi == [(name, k, n) for k, n in zip(keys, [2, 1, 2, 1])]


def test_first_steps_and_step_counts_are_per_parameter(spy):
    """A parameter that gets its first gradient late: its momentum buffer starts as g (a
    per-parameter flag) and its Adam step count lags (per-parameter steps): one call each."""
    a, b = (nt.tensor(np.ones(2, np.float32), requires_grad=True) for _ in range(2))
    for cls, kw in ((SGD, {"momentum": 0.9}), (Adam, {})):
        spy.multi.clear()
        opt = cls([a, b], lr=0.1, **kw)
        a.grad, b.grad = nt.ones(2), None
        opt.step()
        a.grad, b.grad = nt.ones(2), nt.ones(2)
        opt.step()
        if cls is SGD:
            assert spy.multi == [("sgd", [True], 1), ("sgd", [False, True], 2)]
        else:
            assert spy.multi == [("adam", [1], 1), ("adam", [2, 1], 2)]


@pytest.mark.parametrize("name, kw", [("Adam", {"lr": 1e-2}), ("Adam", {"amsgrad": True}),
                                      ("AdamW", {"lr": 1e-2, "weight_decay": 0.1})])
def test_adam_step_counts_differ_within_a_group(backend, torch, monkeypatch, name, kw):
    """Parameters of one group at different step counts (some got no gradient on some
    steps; one joined the group late) match PyTorch, in one kernel call per step."""
    rng = np.random.default_rng(7)
    shapes = [(5, 3), (3,), (2, 2)]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ours = [nt.tensor(v.copy(), requires_grad=True) for v in init]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in init]
    opt = getattr(nt.optim, name)([ours[0]], **kw)
    topt = getattr(torch.optim, name)([theirs[0]], **kw)
    calls = []
    kernel = backend.adam_multi_step
    monkeypatch.setattr(backend, "adam_multi_step",
                        lambda *a, **k: (calls.append(list(k["steps"])), kernel(*a, **k)))
    has_grad = [(0,), (0, 1), (0, 1), (0,), (0, 1, 2), (1, 2), (0, 1, 2)]
    for n, which in enumerate(has_grad):
        if n == 1:  # ours[1] and ours[2] join the first group
            opt.param_groups[0]["params"] += ours[1:]
            topt.param_groups[0]["params"] += theirs[1:]
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            g = rng.standard_normal(shapes[i]).astype(np.float32)
            p.grad, tp.grad = (nt.tensor(g), torch.tensor(g)) if i in which else (None, None)
        opt.step()
        topt.step()
    assert calls == [[1], [2, 1], [3, 2], [4], [5, 3, 1], [4, 2], [6, 5, 3]]
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_multi_tensor_step_matches_per_parameter_steps(backend, torch):
    """Several parameters of mixed shapes in one group, updated as PyTorch does."""
    rng = np.random.default_rng(5)
    shapes = [(7, 3), (3,), (1,), (4, 2, 2)]
    for name, kw in (("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
                     ("Adam", {"lr": 1e-2, "amsgrad": True}),
                     ("AdamW", {"lr": 1e-2, "weight_decay": 0.1})):
        init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        ours = [nt.tensor(v.copy(), requires_grad=True) for v in init]
        theirs = [torch.tensor(v.copy(), requires_grad=True) for v in init]
        opt, topt = getattr(nt.optim, name)(ours, **kw), getattr(torch.optim, name)(theirs, **kw)
        for _ in range(3):
            grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
            for p, tp, g in zip(ours, theirs, grads):
                p.grad, tp.grad = nt.tensor(g), torch.tensor(g)
            opt.step()
            topt.step()
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_state_buffers_are_allocated_once(backend):
    p = nt.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    opt = Adam([p], amsgrad=True)
    p.grad = nt.ones(2, 3)
    opt.step()
    buffers = {k: v for k, v in opt.state[p].items() if isinstance(v, np.ndarray)}
    assert set(buffers) == {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert all(v.dtype == np.float32 and v.shape == (2, 3) for v in buffers.values())
    opt.step()
    assert all(opt.state[p][k] is v for k, v in buffers.items())
    assert opt.state[p]["step"] == 2


def test_sgd_on_hand_computed_values(backend):
    p = nt.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.5, momentum=0.5, weight_decay=0.1)
    p.grad = nt.tensor([2.0, 2.0])
    opt.step()  # g = grad + 0.1 p = [2.1, 1.8]; buf = g; p -= 0.5 g
    np.testing.assert_allclose(p.data, [-0.05, -2.9], rtol=1e-6)
    opt.step()  # g = [2 - 0.005, 2 - 0.29]; buf = 0.5 buf + g
    np.testing.assert_allclose(p.data, [-0.05 - 0.5 * (1.05 + 1.995), -2.9 - 0.5 * (0.9 + 1.71)],
                               rtol=1e-6)


def test_adam_first_step_moves_every_coordinate_by_lr(backend):
    # t = 1: m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps) = lr * sign(g)
    p = nt.tensor([0.0, 1.0, 2.0], requires_grad=True)
    opt = Adam([p], lr=0.25)
    p.grad = nt.tensor([3.0, -0.5, 1e-3])
    opt.step()
    np.testing.assert_allclose(p.data, [-0.25, 1.25, 1.75], rtol=1e-5)


def test_params_without_grad_are_skipped(backend):
    a = nt.tensor([1.0, 2.0], requires_grad=True)
    b = nt.tensor([3.0, 4.0], requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    a.grad = nt.tensor([1.0, 1.0])
    opt.step()
    assert b.data.tolist() == [3.0, 4.0] and b._version[0] == 0 and b not in opt.state
    assert a._version[0] == 1 and a.data.tolist() != [1.0, 2.0]


def test_step_bumps_the_version_so_stale_backward_raises(backend):
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()  # Mul saves w's array for backward
    opt = SGD([w], lr=0.1)
    w.grad = nt.tensor([1.0, 1.0])
    opt.step()
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_gradient_is_cast_and_made_contiguous(spy):
    p = nt.tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    opt = SGD([p], lr=1.0)
    p.grad = nt.Tensor._make(np.arange(6, dtype=np.float64).reshape(3, 2).T, False)
    opt.step()
    np.testing.assert_array_equal(p.data, -np.arange(6).reshape(3, 2).T)
    assert p.data.dtype == np.float32


def test_gradient_of_wrong_shape_raises():
    p = nt.tensor([1.0, 2.0], requires_grad=True)
    p.grad = nt.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="shape"):
        SGD([p]).step()


def test_closure_is_evaluated_with_grad_enabled():
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with nt.no_grad():
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(w.data, [0.8, 1.6], rtol=1e-6)
    assert SGD([w]).step() is None


def test_zero_grad_both_ways():
    a = nt.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([a])
    a.grad = nt.tensor([3.0, 4.0])
    grad, array = a.grad, a.grad.data
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and a.grad.data is array and array.tolist() == [0.0, 0.0]
    a.grad = nt.Tensor._make(np.broadcast_to(np.float32(5), (2,)), False)  # read-only
    opt.zero_grad(set_to_none=False)
    assert a.grad.data.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None
    opt.zero_grad()  # no gradient: nothing to do


# ------------------------------------------ parameter layouts, scratch buffers, ISAs
LAYOUT_CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),  # the buffer's first step (buf = g), then its rule
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name, options", LAYOUT_CASES, ids=[f"{n}-{o}" for n, o in LAYOUT_CASES])
def test_noncontiguous_and_float64_params_match_torch(backend, torch, name, options):
    """A parameter whose array is a transposed (non-contiguous) view, a float64 one and a
    float32 one of another size, in one group: updated in place, in their own layout and
    dtype, as PyTorch updates them (the NumPy kernels' scratch buffers are kept per dtype
    and sized by the largest parameter)."""
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal((4, 6)).astype(np.float32).T,  # [6, 4], F-ordered
              rng.standard_normal(7), rng.standard_normal(30).astype(np.float32)]
    ours = [nt.Tensor._make(a.copy(order="K"), True) for a in arrays]
    assert not ours[0].data.flags.c_contiguous and ours[1].data.dtype == np.float64
    views = [p.data for p in ours]
    theirs = [torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in arrays]
    opt, topt = getattr(nt.optim, name)(ours, **options), getattr(torch.optim, name)(theirs, **options)
    for _ in range(4):
        for p, tp, a in zip(ours, theirs, arrays):
            g = rng.standard_normal(a.shape).astype(a.dtype)
            p.grad, tp.grad = nt.Tensor._make(g, False), torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp, view in zip(ours, theirs, views):
        assert p.data is view and p.data.dtype == view.dtype  # in place
        tol = 1e-12 if p.data.dtype == np.float64 else 1e-6
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=10 * tol, atol=tol)


def test_numpy_steps_in_threads_use_their_own_scratch():
    """Two threads stepping their own optimizers at once (NumPy's ufuncs release the GIL on
    large arrays) get the numbers each gets alone: the scratch buffers are per thread."""
    numpy_backend = nt.backend.get("numpy")
    rng = np.random.default_rng(3)
    inits = [rng.standard_normal(300_000).astype(np.float32) for _ in range(2)]
    grads = [[rng.standard_normal(300_000).astype(np.float32) for _ in range(20)] for _ in range(2)]
    start = threading.Barrier(2)

    def run(k: int, out: dict) -> None:
        p = nt.tensor(inits[k].copy(), requires_grad=True)
        opt = Adam([p], lr=1e-2) if k == 0 else SGD([p], lr=0.1, momentum=0.9, nesterov=True)
        if out is not alone:
            start.wait()
        for g in grads[k]:
            p.grad = nt.tensor(g)
            opt.step()
        out[k] = p.data

    # NOTE: the backend in use is process-wide (nanotorch.backend.use), so it is chosen once
    # here for both threads: one thread leaving its own ``use`` block would switch the other's.
    alone: dict = {}
    together: dict = {}
    with nt.backend.use(numpy_backend.name):
        run(0, alone)
        run(1, alone)
        threads = [threading.Thread(target=run, args=(k, together)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for k in (0, 1):
        np.testing.assert_array_equal(together[k], alone[k])


# Option sets of the NumPy steps that change their passes (weight decay, maximize, nesterov,
# dampening, amsgrad, decoupled decay): shared by the tests of those passes below.
_SGD_MOMENTUM_CASES = [
    ("sgd", {"momentum": 0.9, "dampening": 0.1, "nesterov": False, "weight_decay": 0.01,
             "maximize": True}),
    ("sgd", {"momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 0.0,
             "maximize": False}),
]
_ADAM_CASES = [
    ("adam", {"weight_decay": 0.1, "decoupled": False, "maximize": True, "amsgrad": True}),
    ("adam", {"weight_decay": 0.1, "decoupled": True, "maximize": False, "amsgrad": False}),
]


@pytest.mark.parametrize("kind, options", _SGD_MOMENTUM_CASES + _ADAM_CASES + [
    ("rmsprop", {"weight_decay": 0.1, "momentum": 0.5, "maximize": True, "centered": True}),
])
def test_numpy_steps_allocate_no_temporaries(kind, options):
    """After the first step (which sizes the scratch buffers), a NumPy step of a 100,000-float
    parameter allocates nothing of its size: every pass writes into state or scratch."""
    numpy_backend = nt.backend.get("numpy")
    rng = np.random.default_rng(8)
    p, g = rng.standard_normal((2, 100_000)).astype(np.float32)
    state = [np.zeros_like(p) for _ in range(3)]

    def step():
        if kind == "sgd":
            numpy_backend.sgd_multi_step([p], [g], [state[0]], lr=0.1, first=[False], **options)
        elif kind == "adam":
            vmax = [state[2]] if options["amsgrad"] else None
            kw = {k: v for k, v in options.items() if k != "amsgrad"}
            numpy_backend.adam_multi_step([p], [g], [state[0]], [state[1]], vmax, steps=[3],
                                          lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, **kw)
        else:
            kw = {k: v for k, v in options.items() if k != "centered"}
            numpy_backend.rmsprop_step(p, g, state[1], state[0],
                                       state[2] if options["centered"] else None, lr=1e-2,
                                       alpha=0.99, eps=1e-8, **kw)

    step()
    before = p.copy()
    tracemalloc.start()
    try:
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not np.array_equal(p, before)  # the step ran
    assert peak < p.nbytes // 10, f"{peak} bytes allocated during a step of {p.nbytes} bytes"


def test_state_made_together_is_flat_and_looks_per_parameter(backend):
    """Buffers made in one step are consecutive views of one flat array per name (what
    ``FlatState`` needs); a user sees arrays shaped like each param, copied by state_dict."""
    rng = np.random.default_rng(11)
    for cls, kw, names in ((Adam, {"amsgrad": True}, ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
                           (SGD, {"lr": 0.1, "momentum": 0.9}, ("momentum_buffer",))):
        params = [nt.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
                  for s in [(4, 3), (3,), (2, 2, 2)]]
        opt = cls(params, **kw)
        for p in params:
            p.grad = nt.ones(*p.shape)
        opt.step()
        for name in names:
            column = [opt.state[p][name] for p in params]
            assert [a.shape for a in column] == [p.shape for p in params]
            assert all(a.base is column[0].base and a.flags.c_contiguous for a in column)
            assert FlatState.make([p.data for p in params], [column]) is not None
        saved = opt.state_dict()["state"][0][names[0]]
        assert saved.base is None and saved.shape == (4, 3)


def _step_kwargs(kind: str, options: dict) -> dict:
    if kind == "sgd":
        return {"lr": 0.1, **options}
    return {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, **options}


@pytest.mark.parametrize("kind, options", _SGD_MOMENTUM_CASES + [
    ("sgd", {"momentum": 0.5, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0,
             "maximize": False}),
    ("sgd", {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0,
             "maximize": False}),
    ("sgd", {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.01,
             "maximize": True}),
] + _ADAM_CASES + [
    ("adam", {"weight_decay": 0.0, "decoupled": False, "maximize": False, "amsgrad": False}),
])
def test_numpy_flat_steps_are_bitwise_the_per_parameter_steps(kind, options):
    """``flat=``: the passes over state run once over all params (a compiled step's way),
    and give the very bits of the per-parameter loop (eager's), first step included; state
    laid out otherwise, or Adam counts that differ, take the per-parameter loop."""
    numpy_backend = nt.backend.get("numpy")
    rng = np.random.default_rng(12)
    shapes = [(30, 7), (7,), (1,), (3, 2, 2)]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(4)]
    names = bool(options["momentum"]) if kind == "sgd" else 3 if options["amsgrad"] else 2
    runs = []
    for use_flat in (False, True):
        params = [a.copy() for a in init]
        columns = [_zeros_for([nt.tensor(a) for a in params]) for _ in range(names)]
        flat = FlatState.make(params, columns) if use_flat else None
        assert (flat is not None) is use_flat
        if flat is not None:
            flat.scratch[...] = np.nan  # the flat passes go through it
        for t, gs in enumerate(grads):
            if kind == "sgd":
                numpy_backend.sgd_multi_step(params, gs, columns[0] if names else None,
                                             first=[t == 0] * len(params),
                                             flat=flat, **_step_kwargs(kind, options))
            else:
                kw = {k: v for k, v in options.items() if k != "amsgrad"}
                numpy_backend.adam_multi_step(params, gs, columns[0], columns[1],
                                              columns[2] if names == 3 else None,
                                              steps=[t + 1] * len(params), flat=flat,
                                              **_step_kwargs(kind, kw))
        runs.append(params + [a for c in columns for a in c])
    assert not np.isnan(flat.scratch).any()
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[0][0], init[0])
    if names:
        separate = [[np.zeros(s, np.float32) for s in shapes] for _ in range(names)]
        assert FlatState.make(init, separate) is None  # e.g. after load_state_dict


def test_numpy_flat_sgd_for_other_params_takes_the_loop():
    """A ``FlatState`` serves only the params it was made for: others (here shaped
    otherwise than its scratch) take the per-parameter loop."""
    numpy_backend = nt.backend.get("numpy")
    flat = FlatState.make([np.zeros((2, 3), np.float32), np.zeros(5, np.float32)], [])
    params = [np.ones(6, np.float32), np.ones((5, 1), np.float32)]
    numpy_backend.sgd_multi_step(params, [np.full_like(p, 2.0) for p in params], None, lr=0.5,
                                 momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
                                 maximize=False, first=[False, False], flat=flat)
    for p in params:
        np.testing.assert_array_equal(p, 0.0)


def test_numpy_flat_adam_with_different_counts_takes_the_loop():
    numpy_backend = nt.backend.get("numpy")
    results = []
    for use_flat in (False, True):
        params = [np.ones((3, 2), np.float32), np.ones(4, np.float32)]
        m, v = (_zeros_for([nt.tensor(a) for a in params]) for _ in range(2))
        flat = FlatState.make(params, [m, v]) if use_flat else None
        numpy_backend.adam_multi_step(params, [np.ones_like(p) for p in params], m, v, None,
                                      steps=[1, 5], lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8,
                                      weight_decay=0.0, decoupled=False, maximize=False, flat=flat)
        results.append(params)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    # each at its own count: step 1 moves by lr, step 5 (fresh moments) by ~0.545 lr
    np.testing.assert_allclose(results[1][0], 0.9, rtol=1e-6)
    np.testing.assert_allclose(results[1][1], 1 - 0.1 * 0.2442 / math.sqrt(0.2004), rtol=1e-3)


@pytest.mark.parametrize("use_flat", [False, True])
def test_numpy_adam_with_subnormal_moments(use_flat):
    """``exp_avg`` decays into subnormal floats where a gradient stays 0 (the NumPy step
    multiplies by it rather than dividing it, for speed): the update still follows the
    formula, computed in float64, to float32 rounding, and equals eager's per-param loop."""
    numpy_backend = nt.backend.get("numpy")
    tiny = np.finfo(np.float32).tiny
    m0 = np.array([tiny / 3, -tiny / 7, 1e-44, 0.0, 2e-3, -1e-30], np.float32)
    v0 = np.array([0.0, 1e-30, 1e-12, 0.0, 4e-6, 1e-20], np.float32)
    assert np.count_nonzero((m0 != 0) & (np.abs(m0) < tiny)) == 3
    p0 = np.array([0.0, 0.0, 0.25, 0.5, -0.25, 0.0], np.float32)  # 0: the tiny updates show
    g = np.array([0.0, 0.0, 0.0, 0.0, 1e-3, 0.0], np.float32)
    lr, b1, b2, eps, t = 1e-3, 0.9, 0.999, 1e-8, 900
    results = []
    for flat in (False, use_flat):
        p, m, v = [_zeros_for([nt.tensor(p0)])[0] for _ in range(3)]
        np.copyto(p, p0), np.copyto(m, m0), np.copyto(v, v0)
        state = FlatState.make([p], [[m], [v]]) if flat else None
        numpy_backend.adam_multi_step([p], [g], [m], [v], None, steps=[t], lr=lr, beta1=b1,
                                      beta2=b2, eps=eps, weight_decay=0.0, decoupled=False,
                                      maximize=False, flat=state)
        results.append(p)
    np.testing.assert_array_equal(*results)
    m64 = b1 * m0.astype(np.float64) + (1 - b1) * g
    v64 = b2 * v0.astype(np.float64) + (1 - b2) * g.astype(np.float64) ** 2
    want = p0 - lr / (1 - b1**t) * m64 / (np.sqrt(v64 / (1 - b2**t)) + eps)
    np.testing.assert_allclose(results[1], want, rtol=1e-5, atol=0)
    assert results[1][3] == p0[3] and results[1][4] != p0[4]
    assert 0 < -results[1][0] < 1e-30 and 0 < results[1][1] < 1e-30  # moved by a subnormal m


def test_sgd_multi_step_needs_one_first_flag_per_param(backend):
    params = [np.ones(3, np.float32), np.ones(2, np.float32)]
    grads, bufs = [np.ones_like(p) for p in params], [np.zeros_like(p) for p in params]
    for first in ([True], [False, False, False]):
        with pytest.raises(ValueError, match="2 params"):
            backend.sgd_multi_step(params, grads, bufs, lr=0.1, momentum=0.9, dampening=0.0,
                                   nesterov=False, weight_decay=0.0, maximize=False, first=first)
    np.testing.assert_array_equal(params[0], 1.0)  # nothing updated


def test_c_optimizer_loops_agree_on_every_isa():
    """The C steps are compiled for the baseline and for AVX2 (picked by the GEMM's
    instruction set, ``select_isa``): on every one this CPU runs, they match NumPy."""
    if "c" not in nt.backend.available():
        pytest.skip("the C kernels are not built")
    from nanotorch.backend import c_backend

    c, numpy_backend = nt.backend.get("c"), nt.backend.get("numpy")
    rng = np.random.default_rng(4)
    sizes = [70_001, 37, 5]  # two threads' worth, a vector tail, less than a vector
    start = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    grads = [[rng.standard_normal(n).astype(np.float32) for n in sizes] for _ in range(3)]
    before = c_backend.isa()
    try:
        for isa in c_backend.supported_isas():
            c_backend.select_isa(isa)
            results = []
            for b in (c, numpy_backend):
                p, q, r = ([a.copy() for a in start] for _ in range(3))
                m, v, vmax, buf, sq, gavg, mbuf = ([np.zeros_like(a) for a in start] for _ in range(7))
                for t, g in enumerate(grads):
                    b.adam_multi_step(p, g, m, v, vmax, steps=[t + 1] * 3, lr=1e-2, beta1=0.9,
                                      beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled=False,
                                      maximize=False)
                    b.sgd_multi_step(q, g, buf, lr=0.1, momentum=0.9, dampening=0.0,
                                     nesterov=True, weight_decay=0.01, maximize=True,
                                     first=[t == 0] * 3)
                    for i in range(3):
                        b.rmsprop_step(r[i], g[i], sq[i], mbuf[i], gavg[i], lr=1e-2, alpha=0.9,
                                       eps=1e-8, weight_decay=0.0, momentum=0.5, maximize=False)
                results.append(p + m + v + vmax + q + buf + r + sq + gavg + mbuf)
            for got, want in zip(*results):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=isa)
    finally:
        c_backend.select_isa(before)


# ------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("name, options", [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
])
def test_state_dict_round_trip_continues_identically(backend, tmp_path, name, options):
    arrays, grads = make_params(), make_grads(8)
    cls = getattr(nt.optim, name)
    params = nt_params(arrays)
    opt = cls(params, **options)
    nt_steps(opt, params, grads[:4])
    path = tmp_path / "checkpoint.npz"
    save({"params": [p.detach() for p in params], "opt": opt.state_dict()}, path)
    expected = nt_steps(opt, params, grads[4:])

    saved = load(path)
    resumed = [t.requires_grad_() for t in saved["params"]]
    fresh = cls(resumed, lr=123.0)  # every option comes back from the state dict
    fresh.load_state_dict(saved["opt"])
    assert fresh.param_groups[0]["lr"] == options["lr"]
    for a, b in zip(nt_steps(fresh, resumed, grads[4:]), expected):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_state_dict_layout():
    a, b, c = (nt.tensor(np.ones(n, np.float32), requires_grad=True) for n in (2, 3, 4))
    opt = SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    a.grad, c.grad = nt.ones(2), nt.ones(4)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["momentum"] == 0.9
    assert set(sd["state"]) == {0, 2}  # b had no gradient: no state
    buf = sd["state"][0]["momentum_buffer"]
    assert isinstance(buf, np.ndarray) and buf.tolist() == [1.0, 1.0]
    opt.step()
    assert buf.tolist() == [1.0, 1.0]  # a snapshot


def test_load_state_dict_rejects_mismatches():
    a, b = nt.tensor([1.0], requires_grad=True), nt.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = nt.ones(1), nt.ones(2)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="number of parameters"):
        SGD([a], momentum=0.9).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter groups"):
        SGD([{"params": [a]}, {"params": [b]}], momentum=0.9).load_state_dict(sd)
    with pytest.raises(ValueError, match="shape"):
        SGD([b, a], momentum=0.9).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    sd["state"][7] = {}
    with pytest.raises(ValueError, match="in no group"):
        SGD([a, b], momentum=0.9).load_state_dict(sd)


def test_add_param_group_and_repr():
    a, b = nt.tensor([1.0], requires_grad=True), nt.tensor([2.0], requires_grad=True)
    opt = Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "betas": (0.5, 0.6)})
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["lr"] == 0.1
    assert opt.param_groups[1]["betas"] == (0.5, 0.6)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="twice"):
        Adam([b, b])
    assert "Parameter Group 1" in repr(opt) and "betas: (0.5, 0.6)" in repr(opt)


def test_defaults_and_seed_path():
    p = nt.tensor([1.0], requires_grad=True)
    assert SGD([p]).defaults["lr"] == 1e-3
    assert AdamW([p]).param_groups[0]["weight_decay"] == 1e-2
    assert AdamW([p]).param_groups[0]["decoupled_weight_decay"] is True
    assert Adam([p]).param_groups[0]["decoupled_weight_decay"] is False
    assert RMSprop([p]).defaults["lr"] == 1e-2
    from nanotorch import optimizer
    assert optimizer.SGD is SGD and optimizer.Adam is Adam and optimizer.Optimizer is Optimizer


@pytest.mark.parametrize("make, match", [
    (lambda p: SGD(p, lr=-0.1), "lr"),
    (lambda p: SGD(p, momentum=-0.1), "momentum"),
    (lambda p: SGD(p, weight_decay=-1), "weight_decay"),
    (lambda p: SGD(p, nesterov=True), "Nesterov"),
    (lambda p: SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda p: SGD([{"params": p, "lr": -1.0}]), "lr"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1"),
    (lambda p: Adam(p, betas=(0.9,)), "pair"),
    (lambda p: Adam(p, eps=-1e-8), "eps"),
    (lambda p: AdamW(p, lr=float("nan")), "lr"),
    (lambda p: RMSprop(p, alpha=-0.5), "alpha"),
    (lambda p: RMSprop(p, momentum=-0.5), "momentum"),
    (lambda p: RMSprop(p, eps=-1.0), "eps"),
    (lambda p: SGD([]), "empty"),
    (lambda p: SGD([nt.tensor([1.0], requires_grad=True) * 2]), "non-leaf"),
])
def test_bad_hyperparameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make([nt.tensor([1.0], requires_grad=True)])


@pytest.mark.parametrize("params", [
    lambda p: p,  # a single Tensor
    lambda p: {p},  # a set: no order
    lambda p: [p, 3.0],
    lambda p: [{"params": [p]}, p],
])
def test_bad_params_raise_type_error(params):
    with pytest.raises(TypeError):
        SGD(params(nt.tensor([1.0], requires_grad=True)))


def test_non_numeric_hyperparameter_raises_type_error():
    with pytest.raises(TypeError, match="lr must be a number"):
        SGD([nt.tensor([1.0], requires_grad=True)], lr="0.1")


# ------------------------------------------------------------ schedulers
def scheduler_pair(torch, n_groups: int = 2):
    """A nanotorch and a torch SGD with groups of lr 0.1, 0.05, ..."""
    lrs = [0.1 / (i + 1) for i in range(n_groups)]
    ours = SGD([{"params": [nt.tensor([0.0], requires_grad=True)], "lr": lr} for lr in lrs])
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs])
    return ours, theirs


SCHEDULERS = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 20}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.9 ** epoch}),
    ("LambdaLR", {"lr_lambda": [lambda e: 1 / (e + 1), lambda e: 1 + e % 3]}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name, options", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_schedulers_match_torch_over_20_epochs(name, options):
    torch = pytest.importorskip("torch")
    opt, topt = scheduler_pair(torch)
    ours = getattr(nls, name)(opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(topt, **options)
    for epoch in range(21):
        assert ours.last_epoch == theirs.last_epoch == epoch
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12, atol=0)
        assert [g["lr"] for g in opt.param_groups] == ours.get_last_lr()
        opt.step()
        topt.step()
        ours.step()
        theirs.step()


def test_cosine_closed_form():
    p = nt.tensor([0.0], requires_grad=True)
    opt = SGD([p], lr=1.0)
    sched = nls.CosineAnnealingLR(opt, T_max=10, eta_min=0.2)
    for epoch in range(1, 31):
        sched.step()
        expected = 0.2 + 0.8 * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(expected, abs=1e-12)


def test_step_lr_hand_values():
    opt = SGD([nt.tensor([0.0], requires_grad=True)], lr=1.0)
    sched = nls.StepLR(opt, step_size=2, gamma=0.5)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(5):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert opt.param_groups[0]["initial_lr"] == 1.0


@pytest.mark.parametrize("name, options", SCHEDULERS[:4], ids=[s[0] for s in SCHEDULERS[:4]])
def test_scheduler_state_dict_round_trip(tmp_path, name, options):
    def make():
        opt = SGD([{"params": [nt.tensor([0.0], requires_grad=True)], "lr": lr} for lr in (0.1, 0.3)])
        return opt, getattr(nls, name)(opt, **options)

    opt, sched = make()
    for _ in range(6):
        sched.step()
    save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ck")
    expected = []
    for _ in range(8):
        sched.step()
        expected.append(sched.get_last_lr())
    opt2, sched2 = make()
    saved = load(tmp_path / "ck")
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    got = []
    for _ in range(8):
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == expected
    assert [g["lr"] for g in opt2.param_groups] == expected[-1]


def test_lambda_lr_state_dict_keeps_callable_objects_state():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = SGD([nt.tensor([0.0], requires_grad=True)], lr=1.0)
    decay = Decay()
    sched = nls.LambdaLR(opt, decay)
    decay.rate = 0.25
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["lr_lambdas"] == [{"rate": 0.25}]
    other = Decay()
    sched2 = nls.LambdaLR(SGD([nt.tensor([0.0], requires_grad=True)], lr=1.0), other)
    sched2.load_state_dict(sd)
    assert other.rate == 0.25
    assert nls.LambdaLR(opt, lambda e: 1.0).state_dict()["lr_lambdas"] == [None]


def test_scheduler_errors():
    opt = SGD([nt.tensor([0.0], requires_grad=True)], lr=1.0)
    with pytest.raises(TypeError, match="not an Optimizer"):
        nls.StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        nls.StepLR(opt, step_size=2, last_epoch=4)
    with pytest.raises(ValueError, match="step_size"):
        nls.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        nls.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="milestones"):
        nls.MultiStepLR(opt, milestones=[1.5])
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas"):
        nls.LambdaLR(opt, [lambda e: 1.0, lambda e: 2.0])
    with pytest.raises(TypeError, match="function"):
        nls.LambdaLR(opt, 0.5)
    sched = nls.StepLR(opt, step_size=2)
    with pytest.raises(ValueError, match="unexpected keys"):
        sched.load_state_dict({"optimizer": None})
