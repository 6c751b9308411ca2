"""Forward hooks and forward pre-hooks on modules, as PyTorch's; a compiled step that meets
one runs eagerly."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import steps_with_hook

import nanotorch as nt
from nanotorch import nn


def test_forward_hook_sees_and_may_replace_the_output():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    seen = []
    handle = model[1].register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape, out.shape)))
    model(nt.ones(5, 3))
    assert seen == [(model[1], (5, 4), (5, 4))]
    double = model[2].register_forward_hook(lambda m, args, out: out * 2)
    plain = model[2](model[1](model[0](nt.ones(1, 3))))  # hooks run on each call
    assert np.allclose(model(nt.ones(1, 3)).detach().numpy(), plain.detach().numpy())
    double.remove()
    assert np.allclose(model(nt.ones(1, 3)).detach().numpy() * 2, plain.detach().numpy())
    handle.remove()
    handle.remove()  # a second remove does nothing
    model(nt.ones(5, 3))
    assert len(seen) == 4  # the four calls before remove()


def test_pre_hooks_replace_the_input_in_order_and_prepend():
    layer = nn.Linear(2, 1)
    with nt.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.fill_(0.0)
    order = []
    layer.register_forward_pre_hook(lambda m, args: order.append("a") or args[0] + 1)  # not a tuple
    layer.register_forward_pre_hook(lambda m, args: order.append("b") or (args[0] * 10,))
    layer.register_forward_pre_hook(lambda m, args: order.append("first"), prepend=True)
    assert layer(nt.ones(1, 2)).item() == 40.0  # (1 + 1) * 10, twice
    assert order == ["first", "a", "b"]


def test_hooks_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {**kwargs, "factor": 3.0}), with_kwargs=True)
    got = []
    m.register_forward_hook(lambda mod, args, kwargs, out: got.append(kwargs["factor"]), with_kwargs=True)
    assert m(nt.ones(2), factor=2.0).tolist() == [3.0, 3.0] and got == [3.0]
    m.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"\(args, kwargs\)"):
        m(nt.ones(2))


def test_a_hook_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        nn.ReLU().register_forward_hook(3)


def test_matches_torch_activations_capture():
    torch = pytest.importorskip("torch")
    store = {}
    for lib in (nt, torch):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh())
        state = {k: np.linspace(-1, 1, v.numel(), dtype=np.float32).reshape(tuple(v.shape))
                 for k, v in model.state_dict().items()}
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        out = []
        model[0].register_forward_hook(lambda m, args, o, out=out: out.append(o.detach().numpy().copy()))
        model[1].register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        y = model(lib.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)))
        store[lib.__name__] = (out[0], y.detach().numpy())
    np.testing.assert_allclose(store["nanotorch"][0], store["torch"][0], rtol=1e-6)
    np.testing.assert_allclose(store["nanotorch"][1], store["torch"][1], rtol=1e-6)


@pytest.mark.parametrize("hook_at", [0, 2])
def test_a_compiled_step_with_a_hooked_module_runs_eagerly(hook_at):
    """A hook is Python that a replay would skip: with one, before tracing or added after, the
    step runs eagerly (one warning) and the hook sees every call."""
    def record_calls(model, record):
        model[0].register_forward_hook(lambda m, args, out: record())

    want, _, _, _ = steps_with_hook(None, None)
    got, seen, warned, _ = steps_with_hook(hook_at, record_calls)
    assert seen == list(range(hook_at, 4))
    assert np.allclose(got, want, rtol=1e-6)
    assert len(warned) == 1 and "Linear with forward hooks" in warned[0]
