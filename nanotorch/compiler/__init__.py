"""``nanotorch.compile``: trace a training step once, then replay it without Python per op.

::

    @nt.compile
    def train_step(x, y):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

The first call with a new signature (argument shapes, dtypes and ``requires_grad``, other
arguments' values, the backend, grad mode) runs eagerly while ``tracer.Tracer`` records it;
later calls run the recorded ``plan.Plan`` when its guards hold (the modules' ``training``
and other plain attributes, the shapes of the parameters it reads), else trace again. A step
that cannot be replayed (``.item()``, a Python branch on a tensor, a tensor made inside the
step ...) stays eager for that signature, with one warning naming the cause. As with
tinygrad's ``TinyJit``, the Python of the step does not run on replay: only tensor
operations, the backward pass and the optimizer/scheduler/zero_grad calls it made. Where it
can, a plan calls each op's kernels alone, on the traced run's arrays (a static memory plan:
a replay allocates no activations or gradients); see ``entries.py``, ``memory.py`` and
docs/05-compile.md.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

from nanotorch import backend
from nanotorch.autograd import grad_mode
from nanotorch.compiler.plan import Plan
from nanotorch.compiler.tracer import Tracer
from nanotorch.tensor import Tensor

MAX_PLANS = 8  # plans per signature before the guards are considered unstable

_tracing = [False]  # a compiled function called while another traces runs inline


class CompiledFunction:
    """The callable ``nanotorch.compile(fn)`` returns; ``plans`` maps signatures to plans
    (or to the reason the signature runs eagerly)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.plans: dict = {}
        self._warned: set[str] = set()
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if _tracing[0]:
            return self.fn(*args, **kwargs)
        key, flat = _signature(args, kwargs)
        try:
            entry = self.plans.get(key)
        except TypeError:  # an unhashable argument
            key = ("unhashable",)
            entry = self.plans.get(key)
        if type(entry) is list:
            for plan in entry:
                if plan.check():
                    return plan.replay(flat)
            if len(entry) >= MAX_PLANS:
                self._eager(key, f"its guards failed {MAX_PLANS} times (a module attribute or a "
                                 "parameter's shape changes from call to call)")
                return self.fn(*args, **kwargs)
        elif entry is not None:
            return self.fn(*args, **kwargs)
        return self._trace(key, flat, args, kwargs)

    def _trace(self, key, flat: tuple, args: tuple, kwargs: dict):
        if key[0] == "unhashable":
            self._eager(key, "an argument that is neither a tensor nor hashable (e.g. an array)")
            return self.fn(*args, **kwargs)
        tracer = Tracer(flat)
        _tracing[0] = True
        try:
            out = tracer.run(self.fn, args, kwargs)
        finally:
            _tracing[0] = False
        result = tracer.returned(out) if tracer.cause is None else None
        if tracer.cause is not None:
            self._eager(key, tracer.cause)
        else:
            plan = Plan(tracer, result)
            self.plans.setdefault(key, []).append(plan)
            if plan.n_kernels:
                _own_memory(out, tracer.created)
        return out

    def _eager(self, key, cause: str) -> None:
        self.plans[key] = cause
        if cause not in self._warned:
            self._warned.add(cause)
            warnings.warn(f"nanotorch.compile: {self.fn.__qualname__} runs eagerly: {cause}",
                          stacklevel=3)


def _signature(args: tuple, kwargs: dict) -> tuple[tuple, tuple]:
    """``(key, flat)``: the call's signature (backend, grad mode, keyword names, and per
    argument its shape, dtype and requires_grad, or the value itself) and its arguments in
    one tuple, keywords last in name order."""
    if kwargs:
        names = tuple(sorted(kwargs))
        flat = args + tuple(kwargs[k] for k in names)
    else:
        names, flat = (), args
    parts = [backend.state.current, grad_mode.state.enabled, names]
    for a in flat:
        if isinstance(a, Tensor):
            data = a.data
            parts.append((data.shape, data.dtype, a.requires_grad))
        else:
            parts.append(a)
    return tuple(parts), flat


def _own_memory(out, created: set[int]) -> None:
    """Give the traced call's returned tensors (made in the step) arrays of their own: their
    arrays are now buffers of the plan, which every replay writes again."""
    for t in out if isinstance(out, (tuple, list)) else (out,):
        if isinstance(t, Tensor) and id(t) in created:
            t.data = t.data.copy()


def compile(fn: Callable | None = None) -> CompiledFunction | Callable[[Callable], CompiledFunction]:
    """Compile a step function: ``nt.compile(fn)`` or ``@nt.compile`` (PyTorch's name).

    Returns a callable with ``fn``'s signature that traces ``fn`` on the first call of each
    signature and replays the trace afterwards (see the module docstring).
    """
    if fn is None:
        return CompiledFunction
    if not callable(fn):
        raise TypeError(f"nanotorch.compile expects a function, got {type(fn).__name__}")
    return CompiledFunction(fn)
