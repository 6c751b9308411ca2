"""The machinery of the op table (the table itself is ``tests/test_ops.py``'s ``OPS``).

An op is written once as ``fn(lib, *tensors)`` using the PyTorch API, so the same line runs
on NanoTorch (``lib = nt``) and on PyTorch (``lib = torch``), and, where NumPy spells it the
same way, on NumPy arrays as the forward reference (``lib = np``); otherwise ``ref`` gives the
NumPy reference. ``check_op`` checks forward against NumPy and backward with ``gradcheck``;
``tests/test_torch_parity.py`` compares both with PyTorch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import nn


@dataclass(frozen=True)
class Op:
    """One op: ``fn(lib, *xs)``; NumPy reference ``ref(*arrays)`` (default ``fn(np, ...)``);
    ``domain`` of the random inputs: ``real``, ``pos`` (0.5 to 2), or ``grid`` (values at
    least 0.1 from 0 and from +-0.5, all distinct: away from kinks and ties)."""

    name: str
    fn: Callable
    ref: Callable | None = None
    domain: str = "real"

    def reference(self, *arrays: np.ndarray):
        return self.ref(*arrays) if self.ref is not None else self.fn(np, *arrays)


def op(name: str, fn: Callable, shapes: list, ref: Callable | None = None, domain: str = "real") -> list:
    """One pytest case per input-shape tuple."""
    spec = Op(name, fn, ref, domain)
    return [pytest.param(spec, s, id=f"{name}-{'-'.join(map(str, s)).replace(' ', '')}") for s in shapes]


def make_inputs(shapes: Sequence[tuple], domain: str = "real", seed: int = 0) -> list[np.ndarray]:
    """Random float64 arrays of the given shapes (see ``Op.domain``)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for k, shape in enumerate(shapes):
        if domain == "pos":
            a = rng.uniform(0.5, 2.0, shape)
        elif domain == "grid":
            n = int(np.prod(shape))
            a = ((rng.permutation(n) - n // 2) * 0.5 + 0.1 + 0.25 * k).reshape(shape)
        else:
            a = rng.uniform(-2.0, 2.0, shape)
        arrays.append(np.asarray(a, dtype=np.float64))
    return arrays


def outputs(result) -> list:
    """An op's result as a list (ops like ``split`` and ``max(dim)`` return several)."""
    return list(result) if isinstance(result, (list, tuple)) else [result]


def assert_matches(got, expected, rtol: float = 1e-7, atol: float = 1e-10) -> None:
    """Tensors (NanoTorch or PyTorch) ``got`` equal arrays ``expected`` in shape and value."""
    got, expected = outputs(got), outputs(expected)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g = g.detach().numpy() if hasattr(g, "detach") else np.asarray(g)
        e = e.detach().numpy() if hasattr(e, "detach") else np.asarray(e)
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


def check_op(spec: Op, shapes: tuple) -> None:
    """Forward against NumPy in float64, float32 kept as float32, backward by gradcheck."""
    arrays = make_inputs(shapes, spec.domain)
    xs = [nt.tensor(a, dtype=nt.float64, requires_grad=True) for a in arrays]
    out = spec.fn(nt, *xs)
    assert all(o.dtype == nt.float64 for o in outputs(out) if o.dtype.kind == "f")
    assert_matches(out, spec.reference(*arrays))

    xs32 = [nt.tensor(a, requires_grad=True) for a in arrays]
    out32 = spec.fn(nt, *xs32)
    assert all(o.dtype == nt.float32 for o in outputs(out32) if o.dtype.kind == "f")
    assert_matches(out32, spec.reference(*arrays), rtol=1e-5, atol=1e-5)

    assert nt.autograd.gradcheck(lambda *t: spec.fn(nt, *t), xs)


def train_step(model: nn.Module, opt):
    """The plain training step the tests compile: zero_grad, cross-entropy, backward, step."""
    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def steps_with_hook(hook_at: int | None, register: Callable | None, compiled: bool = True,
                    make_step: Callable = train_step) -> tuple:
    """4 training steps of a small model (compiled or eager); before step ``hook_at`` (None:
    never) ``register(model, record)`` adds a hook, which calls ``record()`` to note the step
    it runs in. Returns the losses, those step numbers, the ``nanotorch.compile`` warnings
    and the parameters."""
    nt.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    step = make_step(model, nt.optim.SGD(model.parameters(), lr=0.1))
    f = nt.compile(step) if compiled else step
    seen: list = []
    rng = np.random.default_rng(0)
    losses: list = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(4):
            if i == hook_at:
                register(model, lambda: seen.append(len(losses)))
            x = nt.tensor(rng.standard_normal((4, 6)).astype(np.float32))
            losses.append(f(x, nt.tensor(rng.integers(0, 3, 4))).detach().numpy().copy())
    warned = [str(w.message) for w in caught if "nanotorch.compile" in str(w.message)]
    return np.array(losses), seen, warned, list(model.parameters())
