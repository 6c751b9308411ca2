"""Recording one eager run of a step as straight-line Python over NumPy arrays.

While a ``Tracer`` is active, a few entry points are wrapped (and put back afterwards):

- ``Function.apply``: the op's ``forward(ctx, *arrays)`` call becomes one line of the plan,
  its output array a new variable; its graph node gets a recording ``backward``;
- the engine's ``_accumulate_leaf`` and ``_sum_grads`` and ``Tensor.backward``'s seed: the
  gradient routing of the backward walk, so replay needs no graph;
- ``Optimizer.step``/``zero_grad``, ``Module.zero_grad`` and ``LRScheduler.step`` (every
  subclass's own): called as a whole on replay (they read ``lr``, step counts and state live);
- in-place changes of tensors that live across steps (``num_batches_tracked += 1``);
- ``Module.__call__``: which modules ran, for the guards.

Every array gets a variable by its identity (all arrays are kept alive while tracing, so an
``id`` is never reused). Tensors that existed before the step (parameters, buffers) are bound
by identity and their ``.data`` is read at replay. Anything that makes Python depend on a
tensor's values (``.item()``, ``if loss > 0``, ``print(loss)``), a tensor made inside the
step from outside data, or an unknown array sets ``cause``: the step then stays eager.
The run being traced is always a complete, ordinary eager run: the tracer only watches.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from nanotorch import backend, tensor_methods
from nanotorch.autograd import engine
from nanotorch.autograd.function import Function
from nanotorch.nn.module import Module
from nanotorch.optim.lr_scheduler import LRScheduler
from nanotorch.optim.optimizer import Optimizer
from nanotorch.tensor import Tensor

_PLAIN = (int, float, bool, str, type(None))


def _literal(value) -> bool:
    """Whether ``repr(value)`` is Python source for it (NaN and infinities are not)."""
    return type(value) in _PLAIN and (type(value) is not float or math.isfinite(value))


def _subclasses(cls: type) -> list[type]:
    out, todo = [], [cls]
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(c.__subclasses__())
    return out


class Tracer:
    """Watches one call of the step function and writes the plan's source lines."""

    def __init__(self, args: tuple) -> None:
        self.lines: list[str] = []
        self.names: dict[str, object] = {}  # name in the plan's code -> object it refers to
        self._name_of: dict[int, str] = {}  # id(object) -> that name
        self.var_of: dict[int, str] = {}  # id(array) -> plan variable holding it
        self.tensor_of: dict[int, str] = {}  # id(tensor) -> expression for the tensor itself
        self.keep: list = []  # everything seen, so that ids stay unique while tracing
        self.created: set[int] = set()  # ids of tensors made during the step
        self.live: list[Tensor] = []  # tensors read by identity: guarded on shape and dtype
        self.modules: list[Module] = []  # modules called: guarded on their plain attributes
        self.nodes: list[Function] = []  # graph nodes of the traced call (their backward is wrapped)
        self.cause: str | None = None
        self.depth = 0  # > 0 inside a call that replays as a whole (optimizer.step ...)
        self._n = 0
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                self.tensor_of[id(a)] = f"A[{i}]"
                self.keep.append(a)
                self.lines.append(f"{self._new_var(a.data)} = A[{i}].data")

    # ----------------------------------------------------------------- naming
    @property
    def recording(self) -> bool:
        return self.depth == 0 and self.cause is None

    def fail(self, cause: str) -> None:
        """Give up on a plan (the first cause is the one reported); the run continues eagerly."""
        if self.cause is None:
            self.cause = cause

    def name(self, obj, prefix: str) -> str:
        """A global name in the plan's code for ``obj`` (one per object)."""
        key = id(obj)
        if key not in self._name_of:
            self._name_of[key] = f"{prefix}{len(self.names)}"
            self.names[self._name_of[key]] = obj
            self.keep.append(obj)
        return self._name_of[key]

    def _new_var(self, array) -> str:
        name = f"v{self._n}"
        self._n += 1
        self.var_of[id(array)] = name
        self.keep.append(array)
        return name

    def array(self, a) -> str | None:
        """Expression for an array argument: its variable, or None (recording stops)."""
        var = self.var_of.get(id(a))
        if var is None:
            self.fail(f"an array of shape {getattr(a, 'shape', '?')} that the step did not compute "
                      "was passed to an operation")
        return var

    def tensor(self, t: Tensor) -> str | None:
        """Expression for a tensor object: a step argument, or one that lives across steps."""
        expr = self.tensor_of.get(id(t))
        if expr is not None:
            return expr
        if id(t) in self.created:
            self.fail("a tensor created inside the step (from data, not by an operation) is used; "
                      "create it outside the compiled function and pass it in")
            return None
        self.live.append(t)
        return self.name(t, "T")

    def value(self, a) -> str | None:
        """Expression for an operation's argument: an array, a tensor's data, or a constant."""
        if isinstance(a, Tensor):
            var = self.var_of.get(id(a.data))
            if var is not None:
                return var
            t = self.tensor(a)
            return None if t is None else f"{t}.data"
        if isinstance(a, np.ndarray):
            return self.array(a)
        if _literal(a) or isinstance(a, (tuple, list)) and all(_literal(v) for v in a):
            return repr(a)
        return self.name(a, "K")  # options such as dtypes, ufuncs, inf: used as they are

    def emit(self, line: str) -> None:
        self.lines.append(line)

    # ------------------------------------------------------------- the hooks
    def op(self, orig, cls, args, kwargs):
        """``Function.apply``: record ``forward`` on the arguments' arrays; wrap ``backward``."""
        if not self.recording:
            return orig(cls, *args, **kwargs)
        exprs = [self.value(a) for a in args]
        kw = {k: self.value(v) for k, v in kwargs.items()}
        result = orig(cls, *args, **kwargs)
        if not self.recording:
            return result
        # NOTE: the plan gets contexts of its own (forward fills them on each replay), so
        # the graph of the traced call is never rewritten by a later replay.
        node = result.grad_fn
        ctx = cls.__new__(cls)
        if cls.uses_backend:
            ctx.backend = backend.state.current if node is None else node.backend
        ctx.needs_input_grad = (False,) * len(args) if node is None else node.needs_input_grad
        if node is not None:
            node.backward = functools.partial(self.backward_of, cls, ctx)
            self.nodes.append(node)
        call = ", ".join([self.name(ctx, "C")] + exprs + [f"{k}={v}" for k, v in kw.items()])
        self.emit(f"{self._new_var(result.data)} = asarray({self.name(cls.forward, 'F')}({call}))"
                  f"  # {cls.__name__}.forward")
        return result

    def backward_of(self, cls, ctx, node, grad):
        """A node's ``backward`` while tracing: record it on the plan's ``ctx`` for that node,
        and name each gradient it returns."""
        out = cls.backward(node, grad)
        if self.recording:
            g = self.array(grad)
            if g is not None:
                result = self._new_var(out)
                self.emit(f"{result} = {self.name(cls.backward, 'B')}({self.name(ctx, 'C')}, {g})"
                          f"  # {cls.__name__}.backward")
                for i, gi in enumerate(out if isinstance(out, tuple) else ()):
                    if gi is not None:
                        self.emit(f"{self._new_var(gi)} = {result}[{i}]")
        return out

    def seed(self, orig, root: Tensor, gradient, retain_graph: bool) -> None:
        """``Tensor.backward``'s start: the seed gradient (ones, or an array of the step)."""
        if self.recording:
            var = self.var_of.get(id(gradient))
            root_var = self.value(root)
            if var is None and root_var is not None:
                if gradient.shape == root.data.shape and np.all(gradient == 1):
                    var = self._new_var(gradient)
                    self.emit(f"{var} = ones_like({root_var})")
                else:
                    self.fail("backward(gradient=...) with an array the step did not compute")
            if var is not None:
                self.emit(f"H = {{id({var})}}")
        return orig(root, gradient, retain_graph)

    def accumulate(self, orig, leaf: Tensor, g, handed_out: set) -> None:
        """The engine adding a gradient into a leaf's ``.grad``: replayed by the same function."""
        if self.recording:
            t, var = self.tensor(leaf), self.array(g)
            if t is not None and var is not None:
                self.emit(f"{self.name(orig, 'E')}({t}, {var}, H)  # .grad += gradient")
        return orig(leaf, g, handed_out)

    def sum_grads(self, orig, a, b):
        """The engine summing two gradients that meet at one node."""
        out = orig(a, b)
        if self.recording:
            x, y = self.array(a), self.array(b)
            if x is not None and y is not None:
                self.emit(f"{self._new_var(out)} = {x} + {y}")
        return out

    def whole_call(self, orig, what: str, obj, args, kwargs):
        """A call replayed as a whole (``optimizer.step()``), bound to its object now."""
        if self.recording:
            if any(isinstance(a, Tensor) or callable(a) for a in (*args, *kwargs.values())):
                self.fail(f"{what} is called with a tensor or function argument (e.g. a closure)")
            else:
                call = functools.partial(orig, obj, *args, **kwargs)
                self.emit(f"{self.name(call, 'W')}()  # {what}")
        self.depth += 1
        try:
            return orig(obj, *args, **kwargs)
        finally:
            self.depth -= 1

    def inplace(self, orig, t: Tensor, ufunc, other):
        """``t += other`` and friends without autograd: replayed on the same tensor."""
        if self.recording:
            target = self.tensor(t) if id(t.data) not in self.var_of else None
            if target is None:
                self.fail("an in-place change of a tensor computed inside the step")
            else:
                o = self.value(other)
                if o is not None:
                    self.emit(f"{self.name(orig, 'I')}({target}, {self.name(ufunc, 'K')}, {o})")
        return orig(t, ufunc, other)

    def setitem(self, orig, t: Tensor, index, value) -> None:
        """``t[index] = value`` (also ``fill_``, ``zero_``, ``copy_``): replayed the same way."""
        if self.recording:
            target = self.tensor(t) if id(t.data) not in self.var_of else None
            if target is None:
                self.fail("an in-place change of a tensor computed inside the step")
            elif isinstance(index, Tensor) or (isinstance(index, tuple)
                                                and any(isinstance(i, Tensor) for i in index)):
                self.fail("indexed assignment with a tensor index")
            else:
                v = self.value(value)
                if v is not None:
                    self.emit(f"{self.name(orig, 'S')}({target}, {self.name(index, 'K')}, {v})")
        return orig(t, index, value)

    def returned(self, out) -> str | None:
        """The plan's return expression for the step's result (tensors, tuples of them, None)."""
        if out is None:
            return "None"
        if isinstance(out, Tensor):
            var = self.var_of.get(id(out.data))
            if var is not None:
                return f"make({var}, False)"
            return self.tensor(out)
        if isinstance(out, (tuple, list)):
            parts = [self.returned(o) for o in out]
            if None in parts:
                return None
            body = ", ".join(parts) + ("," if len(parts) == 1 else "")
            return f"({body})" if isinstance(out, tuple) else f"[{body}]"
        self.fail(f"the step returns a {type(out).__name__}; return tensors (or nothing)")
        return None

    # -------------------------------------------------------------- patching
    def run(self, fn, args, kwargs):
        """Call ``fn`` eagerly with the hooks in place; always restore them."""
        patches = self._patches()
        saved = [(owner, attr, owner.__dict__[attr]) for owner, attr, _ in patches]
        for owner, attr, new in patches:
            setattr(owner, attr, new)
        try:
            return fn(*args, **kwargs)
        finally:
            for owner, attr, old in reversed(saved):
                setattr(owner, attr, old)
            for node in self.nodes:
                node.__dict__.pop("backward", None)

    def _patches(self) -> list:
        tr = self
        patches = []

        def patch(owner, attr, make):
            orig = owner.__dict__[attr]
            patches.append((owner, attr, make(orig)))

        def apply_hook(orig):
            f = orig.__func__
            return classmethod(lambda cls, *a, **k: tr.op(f, cls, a, k))

        patch(Function, "apply", apply_hook)

        def make_hook(orig):
            f = orig.__func__

            def make(cls, data, requires_grad):
                t = f(cls, data, requires_grad)
                tr.created.add(id(t))
                tr.keep.append(t)
                return t
            return classmethod(make)

        patch(Tensor, "_make", make_hook)

        def init_hook(orig):
            def init(t, *a, **k):
                orig(t, *a, **k)
                tr.created.add(id(t))
                tr.keep.append(t)
            return init

        patch(Tensor, "__init__", init_hook)
        patch(engine, "_accumulate_leaf", lambda o: lambda *a: tr.accumulate(o, *a))
        patch(engine, "_sum_grads", lambda o: lambda a, b: tr.sum_grads(o, a, b))
        patch(tensor_methods, "run_backward", lambda o: lambda *a: tr.seed(o, *a))

        def hooks_refused(orig):  # a hook (DDP's all-reduce) runs Python the plan would skip
            def wrapper(leaf):
                if tr.recording and engine.post_accumulate_hooks.get(id(leaf)):
                    tr.fail("a post-accumulate-grad hook ran (DistributedDataParallel's gradient "
                            "all-reduce, or your own): hooks are not replayed")
                return orig(leaf)
            return wrapper

        patch(engine, "run_hooks", hooks_refused)
        patch(Tensor, "_inplace", lambda o: lambda t, u, v: tr.inplace(o, t, u, v))
        patch(Tensor, "__setitem__", lambda o: lambda t, i, v: tr.setitem(o, t, i, v))

        def refuse(what):
            def hook(orig):
                def wrapper(t, *a, **k):
                    if tr.recording:
                        tr.fail(f"{what} reads a tensor's value into Python")
                    return orig(t, *a, **k)
                return wrapper
            return hook

        for attr, what in (("item", ".item()"), ("__bool__", "a Python branch on a tensor (bool())"),
                           ("__float__", "float()"), ("__int__", "int()"), ("__index__", "indexing"),
                           ("tolist", ".tolist()"), ("numpy", ".numpy()"), ("__array__", "NumPy conversion"),
                           ("__format__", "formatting (print/f-string)"), ("__repr__", "repr()/print")):
            patch(Tensor, attr, refuse(what))
        _record_with_backward = Tensor.__dict__["_record_inplace"]

        def recorded_inplace(t, *a, **k):
            if tr.recording:
                tr.fail("an in-place operation recorded in the autograd graph")
            return _record_with_backward(t, *a, **k)

        patches.append((Tensor, "_record_inplace", recorded_inplace))

        def whole(owner, attr):
            def hook(orig):
                what = f"{owner.__name__}.{attr}()"
                return functools.wraps(orig)(lambda obj, *a, **k: tr.whole_call(orig, what, obj, a, k))
            patch(owner, attr, hook)

        for cls in _subclasses(Optimizer):
            for attr in ("step", "zero_grad"):
                if attr in cls.__dict__:
                    whole(cls, attr)
        for cls in _subclasses(LRScheduler):
            if "step" in cls.__dict__:
                whole(cls, "step")
        whole(Module, "zero_grad")

        module_call = Module.__dict__["__call__"]

        def call(m, *a, **k):
            if tr.recording and all(m is not seen for seen in tr.modules):
                tr.modules.append(m)
            return module_call(m, *a, **k)

        patches.append((Module, "__call__", call))
        return patches
