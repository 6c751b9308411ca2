"""Recording one eager run of a step: op by op, and kernel by kernel below each op.

While a ``Tracer`` is active, a few entry points are wrapped (and put back afterwards):

- ``Function.apply``: the op's ``forward(ctx, *arrays)`` call becomes an ``OpCall`` of the
  plan, its output array a new variable; its graph node gets a recording ``backward``;
- below the ops, the C backend's ``_lib`` and ``_from_buffer`` (every C kernel call, and which
  array each pointer it is given points into), and
  the NumPy backend's hot methods (``linear_*``, ``relu_*``): the kernels each op ran, so a
  replay can call them alone on the traced arrays (``entries.py``, ``memory.py``);
- the engine's ``_accumulate_leaf`` and ``_sum_grads`` and ``Tensor.backward``'s seed: the
  gradient routing of the backward walk, so replay needs no graph (hooks on tensors, which
  are Python the replay would skip, and ``autograd.grad`` make the step stay eager);
- ``Optimizer.step``/``zero_grad``, ``Module.zero_grad`` and ``LRScheduler.step`` (every
  subclass's own): called as a whole on replay (they read ``lr``, step counts and state live);
- in-place changes of tensors that live across steps (``num_batches_tracked += 1``);
- ``Module.__call__``: which modules ran, for the guards.

Every array gets a variable by its identity (all arrays are kept alive while tracing, so an
``id`` is never reused). Tensors that existed before the step (parameters, buffers) are bound
by identity. Anything that makes Python depend on a tensor's values (``.item()``,
``if loss > 0``, ``print(loss)``), a tensor made inside the step from outside data, or an
unknown array sets ``cause``: the step then stays eager. The run being traced is always a
complete, ordinary eager run: the tracer only watches.
"""

from __future__ import annotations

import functools
import math
import sys

import numpy as np

from nanotorch import backend, tensor_methods
from nanotorch.autograd import engine, gradients
from nanotorch.autograd.function import Function
from nanotorch.backend.numpy_backend import NumpyBackend
from nanotorch.compiler.entries import READS, WRITES, CKernel, NpKernel, OpCall, WholeCall
from nanotorch.compiler.memory import Memory, bounds
from nanotorch.nn.module import Module
from nanotorch.optim.lr_scheduler import LRScheduler
from nanotorch.optim.optimizer import Optimizer
from nanotorch.tensor import Tensor

_PLAIN = (int, float, bool, str, type(None))
# Reading a tensor's value into Python: the step can't be replayed (attribute -> cause).
_VALUE_READS = (("item", ".item()"), ("__bool__", "a Python branch on a tensor (bool())"),
                ("__float__", "float()"), ("__int__", "int()"), ("__index__", "indexing"),
                ("tolist", ".tolist()"), ("numpy", ".numpy()"), ("__array__", "NumPy conversion"),
                ("__format__", "formatting (print/f-string)"), ("__repr__", "repr()/print"))



class _RecordingLib:
    """Stands in for ``c_backend._lib`` while tracing: its kernels (``nt_*`` functions) are
    called through ``Tracer.c_kernel``, everything else (constants) is the library's."""

    def __init__(self, lib, tracer: Tracer) -> None:
        self._lib, self._tracer = lib, tracer

    def __getattr__(self, name: str):
        value = getattr(self._lib, name)
        if not callable(value):
            return value
        tracer = self._tracer
        return lambda *args: tracer.c_kernel(value, name, args)


def c_module():
    """``nanotorch.backend.c_backend`` once the C backend was loaded, else None (then no C
    kernel can run; importing it here would load it, and read its settings, for nothing)."""
    return sys.modules.get("nanotorch.backend.c_backend")


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


class Accumulate:
    """``leaf.grad += g`` of the backward walk; ``as_is``: the traced run stored ``g``
    itself as the first ``.grad`` (so a replay may store the plan's buffer the same way)."""

    def __init__(self, tensor: str, var: str, array: np.ndarray, as_is: bool) -> None:
        self.tensor, self.var, self.array, self.as_is = tensor, var, array, as_is


class InPlace:
    """``t += other`` (``line``) on a tensor that lives across steps (``tensor``: its name;
    ``constant``: ``other`` is a number, so the line reads no memory)."""

    def __init__(self, line: str, tensor: str, array, constant: bool) -> None:
        self.line, self.tensor, self.array, self.constant = line, tensor, array, constant


class Tracer:
    """Watches one call of the step function and writes the plan's entries."""

    def __init__(self, args: tuple) -> None:
        self.entries: list = []  # str lines, OpCall, Accumulate, InPlace ... entries, in order
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
        self.mem = Memory()
        self.current: OpCall | None = None  # the op call whose kernels are being recorded
        self.forward_calls: dict[int, OpCall] = {}  # id(plan ctx) -> its forward's call
        self.c_arrays: dict[int, tuple] = {}  # id(cdata from from_buffer) -> (cdata, array)
        self.inputs: dict[int, int] = {}  # id(argument array) -> its index
        self.pointers: dict[str, str] = {}  # step arguments' pointers: variable -> its line
        self.lowering = True  # False: every entry op-level (a write the tracer did not see)
        self.c = c_module()
        self.lib = None if self.c is None else self.c._lib
        self._n = 0
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                self.tensor_of[id(a)] = f"A[{i}]"
                self.keep.append(a)
                self.inputs[id(a.data)] = i
                self.mem.add(a.data, "input", self._new_var(a.data))
                self.entries.append(f"{self.var_of[id(a.data)]} = A[{i}].data")

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

    def input_pointer(self, var: str, ctype: str) -> str:
        """A step argument's pointer for a C kernel: a variable the replay sets once, from
        the argument's array (``c_backend._arg``: copied if it is not C-contiguous)."""
        name = f"p{var}_{ctype.split('_')[0].rstrip('[]')}"
        self.pointers[name] = f"{name} = arg({var}, None, {ctype!r})"
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
        name = self.name(t, "T")
        self.tensor_of[id(t)] = name
        if isinstance(t.data, np.ndarray):
            self.mem.add(t.data, "live", name)
        return name

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

    def emit(self, line) -> None:
        self.entries.append(line)

    # ------------------------------------------------------- memory of kernels
    def _read(self, call: OpCall, a: np.ndarray):
        """Where a kernel reads ``a`` from: the ``Region`` (marked), or None (not replayable)."""
        region = self.mem.find(*bounds(a))
        if region is None:
            return None
        if region.kind == "dynamic":
            region.copy = True
        region.readers.append(call)
        return region

    def _write(self, call: OpCall, a: np.ndarray) -> bool:
        """Register ``a`` as memory a kernel of ``call`` just wrote: new memory becomes a
        static region; a live tensor is updated in place. False if it can't be replayed."""
        region = self.mem.find(*bounds(a))
        if region is None and a.flags.c_contiguous and a.flags.writeable:
            region = self.mem.add(a, "static")
            region.writer = call
            call.written.append(region)
        elif region is None or region.kind not in ("static", "live") or region.writer not in (None, call):
            return False
        if region.kind == "static":
            self.mem.snapshot(region)
        else:
            region.updated = True  # a live tensor: in-place Python changes stay in order
        return True

    def c_kernel(self, function, kernel: str, args: tuple) -> int:
        """``c_backend._lib.<kernel>(*args)``: call it, and record it with its constants and
        pointers; returns the kernel's status."""
        call = self.current if self.recording else None
        if call is None:
            return function(*args)
        outs = WRITES.get(kernel)
        k = CKernel(kernel)
        writes = []
        for i, a in enumerate(args):
            if outs is not None and i in outs and id(a) in self.c_arrays:
                writes.append(self.c_arrays[id(a)][1])
                k.args.append(("ptr", a))
            else:
                k.args.append(self._c_argument(call, a, outs is None))
        status = function(*args)
        if status or not all([self._write(call, a) for a in writes]):
            call.fail()
        call.kernels.append(k)
        return status

    def _c_argument(self, call: OpCall, a, unknown_kernel: bool) -> tuple:
        """How a replay passes argument ``a`` (one the kernel reads) of a recorded C call."""
        ffi = self.c._ffi
        if not isinstance(a, ffi.CData):
            if not _literal(a):
                call.fail()
            return ("const", a)
        if a == ffi.NULL:
            return ("ptr", a)
        if id(a) not in self.c_arrays or unknown_kernel:
            call.fail()
            return ("ptr", a)
        array = self.c_arrays[id(a)][1]
        region = self._read(call, array)
        if region is None:
            call.fail()
        elif region.kind == "input":
            if bounds(array)[0] != region.start:
                call.fail()
            return ("input", region.ref, ffi.typeof(a).cname)
        return ("ptr", a)

    def c_buffer(self, orig, ctype, a, writable: bool = False):
        """``c_backend._from_buffer``: a pointer to ``a``'s data, remembered as ``a``'s."""
        p = orig(ctype, a, writable)
        if self.current is not None and isinstance(a, np.ndarray) and a.size:
            self.c_arrays[id(p)] = (p, a)
        return p

    def np_kernel(self, method: str, args: tuple, result):
        """A NumPy backend method (``linear_forward`` ...): record it with its outputs."""
        call = self.current if self.recording else None
        if call is None:
            return
        outs = result if isinstance(result, tuple) else (result,)
        k = NpKernel(method, args, outs)
        for i in READS[method]:
            a = args[i]
            if a is None:
                continue
            region = self._read(call, a) if isinstance(a, np.ndarray) else None
            if region is None or (region.kind == "input" and id(a) not in self.inputs):
                call.fail()
            elif region.kind == "input":
                k.exprs[id(a)] = region.ref
        if not all([o is None or (isinstance(o, np.ndarray) and self._write(call, o)) for o in outs]):
            call.fail()
        call.kernels.append(k)

    # ------------------------------------------------------------- op calls
    def _start(self, what: str) -> OpCall:
        call = OpCall(what)
        self.current = call
        self.entries.append(call)
        return call

    def _finish(self, call: OpCall, outs: list) -> None:
        """Decide the call's form once it returned ``outs`` (arrays, None skipped)."""
        self.current = None
        for a in outs:
            if a is None:
                continue
            call.outs.append((self._new_var(a), a))
            if call.ok:
                region = self.mem.find(*bounds(a)) if isinstance(a, np.ndarray) else None
                if region is None or region.kind not in ("static", "live"):
                    call.fail()
        if call.ok:
            call.lowered = True
        else:
            if call.forward is not None and call.forward.lowered:
                self._op_level(call.forward, call)
            self._op_level(call, None)

    def _op_level(self, call: OpCall, paired: OpCall | None) -> None:
        """``call`` replays op-level: its outputs become dynamic memory (copied in when a
        kernel reads them), the rest it wrote dead (only ``paired`` may have read it)."""
        call.lowered = False
        outs = {id(a): var for var, a in call.outs}
        for region in call.written:
            var = outs.get(id(region.array))
            if var is not None:
                region.kind, region.ref, region.copy = "dynamic", var, bool(region.readers)
            else:
                region.kind = "dead"
                if any(r is not call and r is not paired for r in region.readers):
                    self.lowering = False
        for var, a in call.outs:
            if isinstance(a, np.ndarray) and self.mem.find(*bounds(a)) is None and a.flags.c_contiguous:
                self.mem.add(a, "dynamic", var)

    # ------------------------------------------------------------- the hooks
    def op(self, orig, cls, args, kwargs):
        """``Function.apply``: record ``forward`` on the arguments' arrays; wrap ``backward``."""
        if not self.recording:
            return orig(cls, *args, **kwargs)
        exprs = [self.value(a) for a in args]
        kw = {k: self.value(v) for k, v in kwargs.items()}
        outer, call = self.current, self._start(f"{cls.__name__}.forward")
        try:
            result = orig(cls, *args, **kwargs)
        finally:
            self.current = outer
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
        self.forward_calls[id(ctx)] = call
        self.current = call
        self._finish(call, [result.data])
        self.current = outer
        line = ", ".join([self.name(ctx, "C")] + exprs + [f"{k}={v}" for k, v in kw.items()])
        call.op_lines.append(f"{call.outs[0][0]} = asarray({self.name(cls.forward, 'F')}({line}))"
                             f"  # {cls.__name__}.forward")
        return result

    def backward_of(self, cls, ctx, node, grad):
        """A node's ``backward`` while tracing: record it on the plan's ``ctx`` for that node,
        and name each gradient it returns."""
        if not self.recording:
            return cls.backward(node, grad)
        g = self.array(grad)
        call = self._start(f"{cls.__name__}.backward")
        call.forward = self.forward_calls.get(id(ctx))
        try:
            out = cls.backward(node, grad)
        finally:
            self.current = None
        if g is None or not self.recording:
            return out
        grads = out if isinstance(out, tuple) else (out,)
        self._finish(call, list(grads))
        result = f"r{self._n}" if isinstance(out, tuple) else call.outs[0][0]
        self._n += 1
        call.op_lines.append(f"{result} = {self.name(cls.backward, 'B')}({self.name(ctx, 'C')}, {g})"
                             f"  # {cls.__name__}.backward")
        it = iter(call.outs)
        for i, gi in enumerate(grads if isinstance(out, tuple) else ()):
            if gi is not None:
                call.op_lines.append(f"{next(it)[0]} = {result}[{i}]")
        return out

    def seed(self, orig, root: Tensor, gradient, retain_graph: bool, inputs=None) -> None:
        """``Tensor.backward``'s start: the seed gradient (ones, or an array of the step)."""
        if self.recording:
            var = self.var_of.get(id(gradient))
            root_var = self.value(root)
            if var is None and root_var is not None:
                if gradient.shape == root.data.shape and np.all(gradient == 1):
                    call = self._start("seed")
                    gradient = np.ones_like(root.data)  # the plan's own (the caller's is theirs)
                    if not self._write(call, gradient):  # a constant: nothing to replay
                        call.fail()
                    self._finish(call, [gradient])
                    var = call.outs[0][0]
                    call.op_lines.append(f"{var} = ones_like({root_var})")
                else:
                    self.fail("backward(gradient=...) with an array the step did not compute")
            if var is not None:
                self.emit(f"H = {{id({var})}}")
        return orig(root, gradient, retain_graph, inputs)

    def accumulate(self, orig, leaf: Tensor, g, handed_out: set) -> None:
        """The engine adding a gradient into a leaf's ``.grad``: replayed by the same function."""
        first = leaf.grad is None
        orig(leaf, g, handed_out)
        if self.recording:
            t, var = self.tensor(leaf), self.array(g)
            if t is not None and var is not None:
                self.entries.append(Accumulate(t, var, g, first and leaf.grad.data is g))
            if t not in self.names and leaf.grad.data is g:  # a step input's: g becomes a
                leaf.grad.data = g.copy()  # plan buffer, which the next replay overwrites

    def sum_grads(self, orig, a, b):
        """The engine summing two gradients that meet at one node."""
        call = self._start("sum") if self.recording else None
        try:
            out = orig(a, b)
        finally:
            self.current = None
        if call is not None and self.recording:
            x, y = self.array(a), self.array(b)
            self.current = call
            self.np_kernel("sum_grads", (a, b), out)
            self._finish(call, [out])
            if x is not None and y is not None:
                call.op_lines.append(f"{call.outs[0][0]} = {x} + {y}")
        return out

    def whole_call(self, orig, what: str, obj, args, kwargs):
        """A call replayed as a whole (``optimizer.step()``), bound to its object now."""
        if self.recording:
            if any(isinstance(a, Tensor) or callable(a) for a in (*args, *kwargs.values())):
                self.fail(f"{what} is called with a tensor or function argument (e.g. a closure)")
            elif isinstance(obj, LRScheduler) and (args or kwargs):
                # a metric or an epoch computed in the step (ReduceLROnPlateau.step(loss),
                # step(epoch + i / n)) changes from call to call: a replay would repeat the first
                self.fail(f"{what} is called with an argument (a value the replay would repeat)")
            else:
                call = functools.partial(orig, obj, *args, **kwargs)
                self.emit(WholeCall(self.name(call, "W"), obj, what))
        self.depth += 1
        try:
            return orig(obj, *args, **kwargs)
        finally:
            self.depth -= 1

    def _live_target(self, t: Tensor) -> str | None:
        target = self.tensor(t) if id(t.data) not in self.var_of else None
        if target is None:
            self.fail("an in-place change of a tensor computed inside the step")
        return target

    def inplace(self, orig, t: Tensor, ufunc, other):
        """``t += other`` and friends without autograd: replayed on the same tensor."""
        if self.recording:
            target = self._live_target(t)
            o = self.value(other) if target is not None else None
            if o is not None:
                self.emit(InPlace(f"{self.name(orig, 'I')}({target}, {self.name(ufunc, 'K')}, {o})",
                                  target, t.data, _literal(other)))
        return orig(t, ufunc, other)

    def setitem(self, orig, t: Tensor, index, value) -> None:
        """``t[index] = value`` (also ``fill_``, ``zero_``, ``copy_``): replayed the same way."""
        if self.recording:
            target = self._live_target(t)
            if target is not None and (isinstance(index, Tensor) or (
                    isinstance(index, tuple) and any(isinstance(i, Tensor) for i in index))):
                self.fail("indexed assignment with a tensor index")
            elif target is not None:
                v = self.value(value)
                if v is not None:
                    self.emit(f"{self.name(orig, 'S')}({target}, {self.name(index, 'K')}, {v})")
        return orig(t, index, value)

    def returned(self, out) -> str | None:
        """The plan's return expression for the step's result (tensors, tuples of them, None):
        arrays are copied out (a kernel-level plan writes the same memory at every call)."""
        if out is None:
            return "None"
        if isinstance(out, Tensor):
            var = self.var_of.get(id(out.data))
            if var is not None:
                return f"make({var}.copy(), False)"
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
            if not self.mem.unchanged():
                self.lowering = False

    def _patches(self) -> list:
        """``(owner, attribute, replacement)`` for every entry point watched while tracing."""
        patches: list = []
        for part in (self._op_patches, self._engine_patches, self._kernel_patches,
                     self._tensor_patches, self._value_read_patches, self._whole_call_patches):
            part(patches)
        return patches

    @staticmethod
    def _wrap(patches: list, owner, attr: str, make) -> None:
        patches.append((owner, attr, make(owner.__dict__[attr])))

    def _refusing(self, cause: str):
        """For ``_wrap``: a call of the wrapped function while recording makes the step
        stay eager with ``cause``."""
        tr = self

        def make(orig):
            def wrapper(*args, **kwargs):
                if tr.recording:
                    tr.fail(cause)
                return orig(*args, **kwargs)
            return wrapper
        return make

    def _op_patches(self, patches: list) -> None:
        """``Function.apply``, and which tensors are made during the step."""
        tr = self
        apply = Function.__dict__["apply"].__func__
        patches.append((Function, "apply", classmethod(lambda cls, *a, **k: tr.op(apply, cls, a, k))))
        make = Tensor.__dict__["_make"].__func__

        def made(cls, data, requires_grad):
            t = make(cls, data, requires_grad)
            tr.created.add(id(t))
            tr.keep.append(t)
            return t

        patches.append((Tensor, "_make", classmethod(made)))
        init = Tensor.__dict__["__init__"]

        def initialized(t, *a, **k):
            init(t, *a, **k)
            tr.created.add(id(t))
            tr.keep.append(t)

        patches.append((Tensor, "__init__", initialized))

    def _engine_patches(self, patches: list) -> None:
        """The backward walk's gradient routing; hooks on tensors and ``autograd.grad`` refused."""
        tr = self
        self._wrap(patches, engine, "_accumulate_leaf", lambda o: lambda *a: tr.accumulate(o, *a))
        self._wrap(patches, engine, "_sum_grads", lambda o: lambda a, b: tr.sum_grads(o, a, b))
        self._wrap(patches, tensor_methods, "run_backward", lambda o: lambda *a: tr.seed(o, *a))

        def hooks_refused(orig):  # a hook (DDP's all-reduce) runs Python the plan would skip
            def wrapper(leaf):
                if tr.recording and engine.post_accumulate_hooks.get(id(leaf)):
                    tr.fail("a post-accumulate-grad hook ran (DistributedDataParallel's gradient "
                            "all-reduce, or your own): hooks are not replayed")
                return orig(leaf)
            return wrapper

        self._wrap(patches, engine, "run_hooks", hooks_refused)
        self._wrap(patches, engine, "run_grad_hooks",
                   self._refusing("a tensor hook (register_hook) ran: hooks are not replayed"))
        self._wrap(patches, gradients, "run_to_inputs",
                   self._refusing("nanotorch.autograd.grad returns gradients the replay would not compute"))

    def _kernel_patches(self, patches: list) -> None:
        """The C kernel calls and the NumPy backend's replayable methods."""
        tr = self
        if self.c is not None:
            patches.append((self.c, "_lib", _RecordingLib(self.c._lib, tr)))
            self._wrap(patches, self.c, "_from_buffer", lambda o: lambda *a: tr.c_buffer(o, *a))

        def recorded(method):
            def hook(orig):
                def wrapper(be, *args):
                    result = orig(be, *args)
                    tr.np_kernel(method, args, result)
                    return result
                return wrapper
            return hook

        for method in ("linear_forward", "linear_backward", "relu_forward", "relu_backward",
                       "cross_entropy_forward", "cross_entropy_backward"):
            self._wrap(patches, NumpyBackend, method, recorded(method))

    def _tensor_patches(self, patches: list) -> None:
        """In-place changes: of tensors that live across steps, replayed; recorded in the
        graph, refused."""
        tr = self
        self._wrap(patches, Tensor, "_inplace", lambda o: lambda t, u, v: tr.inplace(o, t, u, v))
        self._wrap(patches, Tensor, "__setitem__", lambda o: lambda t, i, v: tr.setitem(o, t, i, v))
        self._wrap(patches, Tensor, "_record_inplace",
                   self._refusing("an in-place operation recorded in the autograd graph"))

    def _value_read_patches(self, patches: list) -> None:
        """Reading a tensor's value into Python: the step stays eager."""
        for attr, what in _VALUE_READS:
            self._wrap(patches, Tensor, attr, self._refusing(f"{what} reads a tensor's value into Python"))

    def _whole_call_patches(self, patches: list) -> None:
        """Optimizer, scheduler and ``zero_grad`` calls (replayed whole); modules called."""
        tr = self

        def whole(owner, attr):
            what = f"{owner.__name__}.{attr}()"
            self._wrap(patches, owner, attr, lambda orig: functools.wraps(orig)(
                lambda obj, *a, **k: tr.whole_call(orig, what, obj, a, k)))

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
                if m.__dict__.get("_forward_hooks"):  # Python on the module's values, each call
                    tr.fail(f"a {type(m).__name__} with forward hooks")
            return module_call(m, *a, **k)

        patches.append((Module, "__call__", call))
