"""``nanotorch.autograd.grad``, ``backward(inputs=...)``, ``Tensor.register_hook``,
``detach_``, ``inference_mode`` and the rest of ``nanotorch.autograd``'s small surface; a
compiled step that meets a tensor hook runs eagerly."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest
from helpers import steps_with_hook

import nanotorch as nt
from nanotorch import nn
from nanotorch.autograd import hooks

grad = nt.autograd.grad


def leaf(*values: float) -> nt.Tensor:
    return nt.tensor(list(values), requires_grad=True)


# ------------------------------------------------------------------ autograd.grad
def test_grad_of_a_cube_is_three_x_squared_and_touches_no_grad():
    x = leaf(1.0, -2.0, 3.0)
    y = (x ** 3).sum()
    (g,) = grad(y, x)
    assert g.tolist() == [3.0, 12.0, 27.0]
    assert x.grad is None and g.grad_fn is None and not g.requires_grad
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        grad(y, x)  # retain_graph defaults to create_graph (False): the graph was freed


def test_retain_graph_keeps_the_graph_for_another_call():
    x = leaf(2.0)
    y = (x * x).sum()
    assert grad(y, x, retain_graph=True)[0].tolist() == [4.0]
    y.backward()
    assert x.grad.tolist() == [4.0]


def test_grad_sums_every_path_and_every_output():
    x, w = leaf(1.0, 2.0), leaf(3.0, 4.0)
    y = x * 2 + x * x  # d/dx = 2 + 2x
    assert grad(y.sum(), x)[0].tolist() == [4.0, 6.0]
    gx, gw, gx2 = grad([(x * w).sum(), (x * 3).sum()], [x, w, x])  # d/dx = w + 3, d/dw = x
    assert gx.tolist() == gx2.tolist() == [6.0, 7.0] and gw.tolist() == [1.0, 2.0]
    assert not np.shares_memory(gx.data, gx2.data)


def test_grad_outputs_weight_the_outputs():
    x = leaf(1.0, 2.0, 3.0)
    v = nt.tensor([1.0, 0.0, -1.0])
    assert grad(x * x, x, v)[0].tolist() == [2.0, 0.0, -6.0]  # v * 2x
    assert grad(x * x, x, grad_outputs=[v.data])[0].tolist() == [2.0, 0.0, -6.0]
    s = leaf(2.0).sum()  # a 0-d output: a seed of None means 1
    assert grad([s * 3, x * 1], [x], grad_outputs=[None, nt.tensor([1.0, 2, 3])])[0].tolist() == [1, 2, 3]
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        grad(x * x, x)
    with pytest.raises(RuntimeError, match=r"grad_output\[0\] has a shape of \(2,\) and output\[0\] has a "
                                           r"shape of \(3,\)"):
        grad(x * x, x, nt.ones(2))
    with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
        grad([x * 2, x * 3], x, [v])


def test_grad_through_a_float64_output_is_in_the_input_dtype():
    x = leaf(1.0, 2.0)
    (g,) = grad((x.double() ** 2).sum(), x)
    assert g.dtype == nt.float32 and g.tolist() == [2.0, 4.0]


def test_allow_unused_and_materialize_grads():
    x, w = leaf(1.0, 2.0), leaf(5.0)
    with pytest.raises(RuntimeError, match="index 1 appears to not have been used in the graph"):
        grad((x * 2).sum(), [x, w], retain_graph=True)
    assert grad((x * 2).sum(), [x, w], allow_unused=True)[1] is None
    gx, gw = grad((x * 2).sum(), [x, w], materialize_grads=True)
    assert gx.tolist() == [2.0, 2.0] and gw.tolist() == [0.0] and gw.dtype == w.dtype
    with pytest.raises(ValueError, match="allow_unused to be True or not passed"):
        grad((x * 2).sum(), [x, w], allow_unused=False, materialize_grads=True)


def test_grad_wrt_a_non_leaf_runs_only_the_graph_above_it():
    x = leaf(0.0, 1.0)
    h = x.exp()
    (g,) = grad((h * h).sum(), h)
    np.testing.assert_allclose(g.data, 2 * np.exp([0.0, 1.0]), rtol=1e-6)
    h.sum().backward()  # ExpFn did not run, so its saved arrays are still there
    np.testing.assert_allclose(x.grad.data, np.exp([0.0, 1.0]), rtol=1e-6)


def test_grad_runs_hooks_on_the_way_but_not_elsewhere():
    x, w = leaf(1.0, 1.0), leaf(2.0, 2.0)
    ran = []
    w.register_hook(lambda g: ran.append("w"))
    w.register_post_accumulate_grad_hook(lambda t: ran.append("w post"))
    x.register_hook(lambda g: g * 10)
    h = x * 3
    h.register_hook(lambda g: g + 1)
    h.retain_grad()
    assert grad((h * w).sum(), x)[0].tolist() == [90.0, 90.0]  # ((w=2) + 1) * 3 * 10
    assert ran == [] and x.grad is None and h.grad.tolist() == [3.0, 3.0]  # retain_grad's, after the hook


def test_grad_argument_errors():
    x = leaf(1.0)
    with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty"):
        grad((x * 2).sum(), [])
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad((x * 2).sum(), nt.ones(1))
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        grad(nt.ones(1).sum(), x)
    with pytest.raises(TypeError, match="inputs must be a tensor or a sequence of tensors"):
        grad((x * 2).sum(), np.ones(1))
    with pytest.raises(NotImplementedError, match="create_graph=True.*First derivatives work"):
        grad((x * 2).sum(), x, create_graph=True)
    with pytest.raises(NotImplementedError, match="is_grads_batched"):
        grad((x * 2).sum(), x, is_grads_batched=True)


# -------------------------------------------------------------- backward(inputs=)
def test_backward_inputs_accumulates_into_those_only():
    x, w = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [1.0, 2.0]
    (x * w).sum().backward(inputs=w)
    assert w.grad.tolist() == [2.0, 4.0]
    h = x * 2
    h.retain_grad()  # counted once, not twice
    (h * h).sum().backward(inputs=[h, x])
    assert h.grad.tolist() == [4.0, 8.0] and x.grad.tolist() == [8.0, 16.0]


def test_backward_inputs_and_create_graph_errors():
    x = leaf(1.0)
    with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty"):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward(inputs=[nt.ones(1)])
    with pytest.raises(NotImplementedError, match="backward\\(create_graph=True\\)"):
        (x * 2).sum().backward(create_graph=True)
    assert x.grad is None


# ------------------------------------------------------------------ register_hook
def test_a_leaf_hook_sees_the_summed_gradient_and_may_scale_it():
    x = leaf(1.0, 2.0)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    (x * 2 + x * 3).sum().backward()  # two paths: one call, with their sum
    assert seen == [[5.0, 5.0]] and x.grad.tolist() == [50.0, 50.0]
    handle.remove()
    handle.remove()  # a second remove does nothing
    (x * 2).sum().backward()
    assert x.grad.tolist() == [52.0, 52.0] and len(seen) == 1


def test_a_non_leaf_hook_changes_what_flows_on():
    x = leaf(1.0, 2.0)
    h = x * 3
    h.register_hook(lambda g: g * 2)
    h.register_hook(lambda g: g + 1)  # hooks chain in registration order
    h.retain_grad()
    (h * h).sum().backward()  # dL/dh = 2h = [6, 12] -> 2 * [6, 12] + 1
    assert h.grad.tolist() == [13.0, 25.0] and x.grad.tolist() == [39.0, 75.0]


def test_a_hook_returning_none_only_observes_and_kept_gradients_do_not_alias_grad():
    x = leaf(1.0, 2.0)
    kept = []
    x.register_hook(kept.append)
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert not np.shares_memory(kept[0].data, x.grad.data)


def test_hook_errors():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require grad"):
        nt.ones(2).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="callable"):
        leaf(1.0).register_hook(3)
    for bad, error, match in [(lambda g: nt.ones(3), RuntimeError, "changed the size of value"),
                              (lambda g: g.double(), RuntimeError, "changed the type of value"),
                              (lambda g: 3.0, TypeError, "returned a float")]:
        x = leaf(1.0, 2.0)
        x.register_hook(bad)
        with pytest.raises(error, match=match):
            (x * 2).sum().backward()


def test_hooks_go_with_their_tensor():
    x = leaf(1.0)
    h = x * 2
    x.register_hook(lambda g: g)
    h.register_hook(lambda g: g)
    keys = (id(x), id(h.grad_fn))
    assert all(k in hooks.grad_hooks for k in keys)
    del x, h
    gc.collect()
    assert not any(k in hooks.grad_hooks for k in keys)


def test_hook_on_the_output_itself():
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    y.register_hook(lambda g: g * 3)
    y.backward()
    assert x.grad.tolist() == [6.0, 12.0]
    x.register_hook(lambda g: g * 0)
    x.backward(nt.ones(2))  # a leaf as the output: its hooks run too
    assert x.grad.tolist() == [6.0, 12.0]


# ------------------------------------------------ detach_, inference_mode, Function ...
def test_detach_in_place():
    x = leaf(1.0, 2.0)
    h = x * 2
    assert h.detach_() is h and h.grad_fn is None and not h.requires_grad and h.is_leaf
    (h * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    assert x.detach_() is x and not x.requires_grad
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        (leaf(1.0, 2.0) * 1)[:1].detach_()


def test_inference_mode():
    x = leaf(1.0)
    assert not nt.is_inference_mode_enabled()
    with nt.inference_mode():
        assert nt.is_inference_mode_enabled() and not nt.is_grad_enabled()
        assert not (x * 2).requires_grad
        with nt.inference_mode(False):  # turns grad mode on, as PyTorch
            assert not nt.is_inference_mode_enabled() and (x * 2).requires_grad
    with nt.no_grad(), nt.inference_mode(False):
        assert nt.is_grad_enabled()
    assert nt.is_grad_enabled() and not nt.is_inference_mode_enabled()

    @nt.inference_mode
    def bare():
        return nt.is_inference_mode_enabled(), (x * 2).requires_grad

    @nt.autograd.inference_mode()
    def called():
        yield (x * 2).requires_grad

    assert bare() == (True, False) and list(called()) == [False]
    assert bare.__name__ == "bare" and nt.is_grad_enabled()


class Legendre3(nt.autograd.Function):
    """P3(x) = (5x^3 - 3x) / 2, as in PyTorch's tutorial; P3'(x) = (15x^2 - 3) / 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x ** 3 - 3 * x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * x ** 2 - 1)


def test_autograd_function_and_gradcheck():
    assert nt.autograd.Function is nt.Function
    x = nt.tensor([0.5, -1.0, 2.0], dtype=nt.float64, requires_grad=True)
    assert nt.autograd.gradcheck(Legendre3.apply, (x,))
    np.testing.assert_allclose(grad(Legendre3.apply(x).sum(), x)[0].data, 1.5 * (5 * x.data ** 2 - 1))


def test_gradcheck_raise_exception():
    class Wrong(nt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g

    x = nt.tensor([1.0, 2.0], dtype=nt.float64, requires_grad=True)
    assert nt.autograd.gradcheck(Wrong.apply, x, raise_exception=False) is False
    with pytest.raises(RuntimeError, match="gradcheck failed for input 0"):
        nt.autograd.gradcheck(Wrong.apply, x)


# ----------------------------------------------------------------------- torch
def _mlp_and_batch(lib):
    """A 5-4-3 MLP with fixed weights and a batch, in ``lib`` (nanotorch or torch)."""
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.Tanh(), lib.nn.Linear(4, 3))
    state = {k: np.linspace(-1, 1, v.numel(), dtype=np.float32).reshape(tuple(v.shape)) * (i + 1)
             for i, (k, v) in enumerate(model.state_dict().items())}
    model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((6, 5)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 3, 6))
    return model, x, y


def _np(t) -> np.ndarray:
    return t.detach().numpy()


def test_mlp_grads_hooks_and_backward_inputs_match_torch():
    torch = pytest.importorskip("torch")
    got = {}
    for lib in (nt, torch):
        model, x, y = _mlp_and_batch(lib)
        hidden = model[1](model[0](x))
        loss = lib.nn.functional.cross_entropy(model[2](hidden), y)
        params = list(model.parameters())
        grads = lib.autograd.grad(loss, params + [hidden], retain_graph=True)
        hidden.register_hook(lambda g: g * 2)
        model[0].bias.register_hook(lambda g: g - 1)
        loss.backward(inputs=params[:3])
        got[lib.__name__] = ([_np(g) for g in grads], [_np(p.grad) for p in params[:3]], params[3].grad)
    (g_nt, b_nt, last_nt), (g_t, b_t, last_t) = got["nanotorch"], got["torch"]
    for a, b in zip(g_nt + b_nt, g_t + b_t):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert last_nt is None and last_t is None


GRAPHS = {
    "diamond": (lambda x, w: ((x * w).exp() + (x * w).sin()) * x, 1),
    "broadcast": (lambda x, w: (x.reshape(2, 3) * w[:3].reshape(1, 3)).tanh().sum(0), 1),
    "reuse": (lambda x, w: (x * x * w).sum() + (x ** 2).mean(), 1),
    "two-outputs": (lambda x, w: ((x * w).sum(), (x - w).abs()), 2),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_grads_of_graphs_match_torch(name):
    torch = pytest.importorskip("torch")
    fn, n_out = GRAPHS[name]
    rng = np.random.default_rng(1)
    xs, ws = rng.uniform(-1, 1, 6).astype(np.float32), rng.uniform(0.5, 1.5, 6).astype(np.float32)
    got = {}
    for lib in (nt, torch):
        x, w = lib.tensor(xs, requires_grad=True), lib.tensor(ws, requires_grad=True)
        unused = lib.tensor([1.0], requires_grad=True)
        outs = fn(x, w)
        outs = outs if n_out > 1 else (outs,)
        seeds = [lib.tensor(np.linspace(-1, 1, o.numel(), dtype=np.float32).reshape(tuple(o.shape)))
                 for o in outs]
        gs = lib.autograd.grad(outs, [w, x, unused], seeds, allow_unused=True)
        got[lib.__name__] = [None if g is None else _np(g) for g in gs]
    for a, b in zip(got["nanotorch"], got["torch"]):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- compile
def _halve_first_weight(model, record):
    model[0].weight.register_hook(lambda g: record() or g * 0.5)


def _count_steps(model, record):
    model[2].bias.register_post_accumulate_grad_hook(lambda p: record())


@pytest.mark.parametrize("hook_at", [0, 2])
@pytest.mark.parametrize("register, cause", [(_halve_first_weight, "a tensor hook (register_hook) ran"),
                                             (_count_steps, "a post-accumulate-grad hook ran")])
def test_a_compiled_step_with_a_hooked_tensor_runs_eagerly(hook_at, register, cause):
    """A hook is Python that a replay would skip: with one, registered before tracing or
    after, the step runs eagerly (one warning) and the hook runs in every step."""
    want, seen_eager, _, _ = steps_with_hook(hook_at, register, compiled=False)
    got, seen, warned, _ = steps_with_hook(hook_at, register)
    assert len(seen) == len(seen_eager) == 4 - hook_at
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert len(warned) == 1 and cause in warned[0]


def test_a_compiled_step_without_hooks_is_replayed():
    assert steps_with_hook(None, _halve_first_weight)[2] == []


def test_a_compiled_step_calling_autograd_grad_runs_eagerly():
    nt.manual_seed(0)
    model = nn.Linear(3, 2)

    @nt.compile
    def grads(x):
        return grad(model(x).sum(), model.weight)[0]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [grads(nt.full((4, 3), float(i))).data.copy() for i in range(3)]
    assert [r.tolist() for r in results] == [[[4.0 * i] * 3] * 2 for i in range(3)]
    assert len(caught) == 1 and "autograd.grad" in str(caught[0].message)


def _last_layer_step(model: nn.Module, opt):
    """A training step whose backward fills the last layer's gradients only."""
    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward(inputs=list(model[2].parameters()))
        opt.step()
        return loss
    return step


def test_a_compiled_step_with_backward_inputs_is_replayed_as_eager():
    want, _, _, want_params = steps_with_hook(None, None, compiled=False, make_step=_last_layer_step)
    got, _, warned, got_params = steps_with_hook(None, None, make_step=_last_layer_step)
    assert warned == [] and want_params[0].grad is None and got_params[0].grad is None
    np.testing.assert_array_equal(got, want)
    for a, b in zip(got_params, want_params):
        np.testing.assert_array_equal(a.data, b.data)
