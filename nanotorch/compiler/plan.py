"""A ``Plan``: the traced step as one generated Python function, and the guards that say
when it still applies.

The tracer's entries become the body of ``replay(A)`` (``A``: the step's arguments). For
the seed MLP on the C backend (``criterion(model(x), y)``, backward, ``optimizer.step()``)::

    v0 = A[0].data
    v1 = A[1].data
    W2()  # Optimizer.zero_grad()
    if (s := L3(64, 784, 128, arg(v0, None, 'float[]'), P4, P5, P6, 1)): fail(...)
    if (s := L7(8192, P6, P8, 1)): fail('nt_relu_fwd_f32', s)
    matmul(v3, S9, out=v4)                  # the small Linear: NumPy's, into its buffer
    add(v4, S10, out=v4)
    ...
    if T11.grad is None: T11.grad = make(v9, False)
    else: E12(T11, v9, H)
    W13()  # SGD.step()
    return make(v5.copy(), False)

A kernel-level entry calls the kernel alone: ``L`` a C function of the compiled module,
``P`` pointers cast once from the traced run's arrays, ``S``/``v`` those arrays (globals:
the same memory at every replay, so nothing is allocated). An op-level entry calls the op's
own ``forward``/``backward`` (``F``/``B``, with contexts ``C`` of the plan's own) as the first
version did. ``T`` are tensors that live across steps, ``W`` calls made whole. ``source``
holds the text, for reading.

Guards: ``check()`` compares with their traced values the shape, dtype and ``requires_grad``
of every tensor the plan reads by identity (in a plan with kernel-level entries: which
array its ``.data`` is, and the kernels' thread count), and the plain attributes
(``training``, ``momentum``, ``p`` ...) and the parameters and buffers of every module the
step called, and that none of them has forward hooks, nor any of those tensors a hook on its
gradient (``register_hook``, ``register_post_accumulate_grad_hook``); the plan runs only
when all hold.
"""

from __future__ import annotations

import numpy as np

from nanotorch import backend
from nanotorch.autograd import engine, hooks
from nanotorch.backend import numpy_backend
from nanotorch.compiler import fusion, walker
from nanotorch.compiler.entries import CKernel, OpCall, WholeCall, kernel_failed
from nanotorch.compiler.memory import bounds
from nanotorch.compiler.optim_steps import FastStep
from nanotorch.compiler.tracer import Accumulate, InPlace, Tracer
from nanotorch.tensor import Tensor
from nanotorch.threads import get_num_threads

_PLAIN = (int, float, bool, str, type(None))


class Form:
    """One form of a plan's code: ``replay(A)``; for timing (benchmarks/test_bench_training.py)
    ``kernels(A)``, its kernels alone on the same buffers and batches, and ``glue(A)``, the
    replay without them (its Python: the replay overhead); ``source``, the text."""

    def __init__(self, source: str, namespace: dict) -> None:
        self.source = source
        exec(compile(source, "<nanotorch.compile plan>", "exec"), namespace)
        self.replay, self.kernels, self.glue = namespace["replay"], namespace["kernels"], namespace["glue"]


class Plan:
    """The replay function of one traced step, with its guards.

    ``forms``: ``"loop"``, the generated Python calling each kernel, and, on the C backend
    when two or more C kernels run back to back, ``"walker"``, where each such run is one
    call of the C plan walker (``walker.py``); ``form`` names the one ``replay`` runs (the
    walker unless ``NANOTORCH_COMPILE_WALKER=0``)."""

    def __init__(self, tr: Tracer, result: str) -> None:
        items, self.fused = fusion.fuse(tr, _items(tr), result) if fusion.enabled() else (_items(tr), [])
        fast_steps = [f"{name}.kernel()" for name, obj in tr.names.items() if isinstance(obj, FastStep)]
        names = tr.names
        namespace = {**names, "asarray": np.asarray, "ones_like": np.ones_like, "make": Tensor._make,
                     "matmul": np.matmul, "add": np.add, "maximum": np.maximum,
                     "multiply": np.multiply,
                     "cross_entropy_forward_into": numpy_backend.cross_entropy_forward_into,
                     "cross_entropy_backward_into": numpy_backend.cross_entropy_backward_into,
                     "greater": np.greater, "copyto": np.copyto, "fail": kernel_failed,
                     "nthreads": get_num_threads,
                     "arg": None if tr.c is None else tr.c._arg}
        checks = _guards(tr, namespace, lowered=bool(fast_steps) or any(i[0] in ("c", "k") for i in items))
        body, kernel_lines = _flatten(tr, items)
        kernel_lines += fast_steps
        self.n_kernels = len(kernel_lines)
        inputs = [e for e in tr.entries if isinstance(e, str) and e.endswith("].data")]
        namespace.update(tr.names)
        self._check_source = ("def check():\n    return (" + "\n            and ".join(checks or ["True"])
                              + ")\n")
        self.check = _exec(self._check_source, namespace)["check"]  # the guards: True while the plan applies
        self.forms = {"loop": Form(_source(body, inputs, list(tr.pointers.values()), kernel_lines, result),
                                   dict(namespace))}
        self.walker = None
        if tr.c is not None and any(i[0] == "c" for i in items):
            w = walker.Walker(tr.c)
            walked = walker.runs(items, w)
            if w.segments:
                keys = w.finish()
                body, kernel_lines = _flatten(tr, [("w", w.call(i[1])) if i[0] == "w" else i for i in walked])
                writes = [f"WI[{j}] = {tr.input_pointer(*key)}" for j, key in enumerate(keys)]
                self.forms["walker"] = Form(
                    _source(body, inputs, list(tr.pointers.values()) + writes, kernel_lines + fast_steps,
                            result), {**namespace, **w.names()})
                self.walker = w
        self.form = "walker" if self.walker is not None and walker.enabled() else "loop"
        self.use(self.form)
        calls = [e for e in tr.entries if isinstance(e, OpCall) and e.what not in ("seed", "sum")]
        self.n_ops = len(calls)
        self.n_lowered = sum(e.lowered and tr.lowering for e in calls)
        self.op_level = [e.what for e in calls if not (e.lowered and tr.lowering)]

    def use(self, form: str) -> None:
        """Replay in ``form`` (a key of ``forms``) from now on."""
        f = self.forms[form]
        self.form, self.replay, self.kernels, self.glue = form, f.replay, f.kernels, f.glue
        self.source = f"{f.source}\n\n{self._check_source}"

    def __repr__(self) -> str:
        walk = "" if self.walker is None else (
            f", C plan walker: {len(self.walker.segments)} call(s) for "
            f"{sum(len(n) for _, n in self.walker.segments)} kernels")
        return (f"<nanotorch.compile plan: {self.n_ops} forward/backward calls, "
                f"{self.n_lowered} kernel-level{walk}; replays the {self.form}>\n{self.source}")


def _exec(source: str, namespace: dict) -> dict:
    exec(compile(source, "<nanotorch.compile plan>", "exec"), namespace)
    return namespace


def _source(body: list[str], inputs: list[str], pointers: list[str], kernel_lines: list[str],
            result: str) -> str:
    """The text of ``replay``, ``kernels`` and ``glue`` (``pointers``: lines run after the
    inputs are read, before anything else)."""
    n = len(inputs)
    lines = body[:n] + pointers + body[n:]
    kernel_set = set(kernel_lines)
    glue = [line.replace("()  #", "(False)  #") if "kernel-level" in line else line
            for line in lines if line not in kernel_set]
    return ("def replay(A):\n" + "".join(f"    {line}\n" for line in lines)
            + f"    return {result}\n\n\n"
            + "def kernels(A):\n" + "".join(f"    {line}\n" for line in inputs + pointers + kernel_lines)
            + "    return None\n\n\n"
            + "def glue(A):\n" + "".join(f"    {line}\n" for line in glue)
            + f"    return {result}\n")


def _flatten(tr: Tracer, items: list) -> tuple[list[str], list[str]]:
    """The lines of ``items`` (see ``_items``) and, among them, the kernels' lines."""
    lines, kernel_lines = [], []
    for item in items:
        kind, what = item[0], item[1]
        new = what.lines(tr) if kind == "c" else [what] if isinstance(what, str) else what
        lines += new
        if kind in ("c", "k", "w"):
            kernel_lines += new
    return lines, kernel_lines


def _fast_accumulates(tr: Tracer) -> dict[int, str]:
    """id(static array) -> tensor for the ``.grad += g`` entries a replay does inline: the
    traced run stored the plan's own buffer as the first ``.grad`` (and only once)."""
    accs = [e for e in tr.entries if isinstance(e, Accumulate)]
    count: dict[int, int] = {}
    for e in accs:
        count[id(e.array)] = count.get(id(e.array), 0) + 1
    fast = {}
    for e in accs:
        if _step_input(tr, e):
            continue
        region = tr.mem.find(*bounds(e.array)) if tr.lowering and e.as_is else None
        if (region is not None and region.kind == "static" and region.array is e.array
                and count[id(e.array)] == 1):
            fast[id(e.array)] = e.tensor
    return fast


def _items(tr: Tracer) -> list[tuple]:
    """The body of ``replay``, entry by entry in its final form: ``("line", text)``;
    ``("c", CKernel)`` and ``("k", lines)`` (a NumPy kernel's) of kernel-level entries;
    ``("pre", text, tensor)``, a ``.grad`` copied out of a buffer before a kernel writes it;
    ``("acc", lines, tensor)``, ``.grad`` accumulation or an in-place change of a tensor no
    kernel reads; ``("h", text)``, the backward's start."""
    fast = _fast_accumulates(tr)
    grads = {id(tr.names[e.tensor]): e.array for e in tr.entries
             if isinstance(e, Accumulate) and id(e.array) in fast}
    items: list[tuple] = []
    for e in tr.entries:
        if isinstance(e, str):
            items.append(("h" if e.startswith("H = ") else "line", e))
        elif isinstance(e, WholeCall):
            items.append(("line", _whole_call(tr, e, grads)))
        elif isinstance(e, Accumulate):
            items.append(("acc", _accumulate(tr, e, fast), e.tensor))
        elif isinstance(e, InPlace):  # movable past kernels if it reads no memory they write
            region = tr.mem.find(*bounds(e.array)) if isinstance(e.array, np.ndarray) else None
            untouched = e.constant and region is not None and region.kind == "live" \
                and not region.readers and not region.updated
            items.append(("acc", [e.line], e.tensor) if untouched else ("line", e.line))
        elif e.lowered and tr.lowering:
            items += _kernel_level(tr, e, fast)
        else:
            items += [("line", line) for line in e.op_lines]
            for var, a in e.outs:  # copied into the traced array where a kernel reads it
                region = tr.mem.find(*bounds(a)) if tr.lowering and isinstance(a, np.ndarray) else None
                if region is not None and region.kind == "dynamic" and region.copy and region.array is a:
                    items.append(("line", f"copyto({tr.name(a, 'S')}, {var})"))
    return items


def _whole_call(tr: Tracer, e: WholeCall, grads: dict) -> str:
    """``optimizer.step()`` kernel-level when it can be (``FastStep``), else the call."""
    step = None
    if grads and e.what.endswith(".step()"):
        step = FastStep.build(e.obj, tr.names[e.name], grads, backend.state.current)
    if step is None:
        return f"{e.name}()  # {e.what}"
    return f"{tr.name(step, 'O')}.run()  # {e.what}, kernel-level"


def _step_input(tr: Tracer, e: Accumulate) -> bool:
    """The ``.grad`` is a step argument's (``A[0]``, a new tensor every call), not an object
    the plan holds (a parameter)."""
    return e.tensor not in tr.names


def _accumulate(tr: Tracer, e: Accumulate, fast: dict) -> list[str]:
    accumulate = tr.name(engine._accumulate_leaf, "E")
    if _step_input(tr, e):  # a copy: the caller may keep this input's .grad past the next step
        return [f"{accumulate}({e.tensor}, {e.var}.copy(), H)  # .grad += gradient"]
    if id(e.array) in fast:  # what the engine does with a first gradient, inline
        return [f"if {e.tensor}.grad is None: {e.tensor}.grad = make({e.var}, False)",
                f"else: {accumulate}({e.tensor}, {e.var}, H)"]
    return [f"{accumulate}({e.tensor}, {e.var}, H)  # .grad += gradient"]


def _kernel_level(tr: Tracer, e: OpCall, fast: dict) -> list[tuple]:
    """An op call's kernels; first, a ``.grad`` that still holds a buffer they write gets
    a copy (gradient accumulation without ``zero_grad``)."""
    items: list[tuple] = []
    for region in e.written:
        t = fast.get(id(region.array))
        if t is not None:
            s = tr.var_of.get(id(region.array)) or tr.name(region.array, "S")
            items.append(("pre", f"if {t}.grad is not None and {t}.grad.data is {s}: "
                                 f"{t}.grad.data = {s}.copy()", t))
    items += [("c", k) if isinstance(k, CKernel) else ("k", k.lines(tr)) for k in e.kernels]
    for var, a in e.outs:
        tr.names[var] = a
    return items


def _guards(tr: Tracer, namespace: dict, lowered: bool) -> list[str]:
    """The conditions of ``check()``, each true of the traced state."""
    names = tr.names

    def same(expr: str, value) -> str:
        if value is None or type(value) is bool:
            return f"{expr} is {value}"
        if type(value) in _PLAIN and (type(value) is not float or value == value):
            return f"{expr} == {value!r}"
        return f"{expr} == {tr.name(value, 'K')}"

    checks = []
    hookable = []  # tensors on which a hook may be registered since (register_hook ...)
    for t in {id(t): t for t in tr.live}.values():
        n = next(k for k, v in names.items() if v is t)
        data = (f"{n}.data is {tr.name(t.data, 'D')}" if lowered
                else f"{n}.data.shape == {t.data.shape!r} and {same(f'{n}.data.dtype', t.data.dtype)}")
        checks.append(f"{data} and {n}.requires_grad is {t.requires_grad}")
        if t.requires_grad:
            hookable.append(n)
    if hookable:  # a hook added since: run eagerly (one dict test while there is none)
        namespace["GH"], namespace["PH"] = hooks.grad_hooks, hooks.post_accumulate_hooks
        checks.append(f"(not (GH or PH) or not any(id(t) in GH or id(t) in PH "
                      f"for t in ({', '.join(hookable)},)))")
    if lowered and any(isinstance(k, CKernel) for e in tr.entries if isinstance(e, OpCall)
                       for k in e.kernels):
        checks.append(f"nthreads() == {get_num_threads()}")
    for i, m in enumerate(tr.modules):
        namespace[f"M{i}"] = m.__dict__
        checks.append(f"not M{i}.get('_forward_hooks')")  # a hook added since: run eagerly
        checks += [same(f"M{i}.get({k!r})", v) for k, v in m.__dict__.items() if type(v) in _PLAIN]
        for k in ("_parameters", "_buffers"):
            d = m.__dict__.get(k)
            if isinstance(d, dict):
                checks.append(f"len(M{i}[{k!r}]) == {len(d)}")
                checks += [f"M{i}[{k!r}].get({key!r}) is {'None' if v is None else tr.name(v, 'Q')}"
                           for key, v in d.items()]
    return checks
