"""``optimizer.step()`` in a kernel-level plan: one kernel call per parameter group, on
arrays bound once (on the C backend, on pointer tables made once).

After the traced step, every gradient the optimizer reads is a buffer of the plan (the
engine stored it as ``p.grad``), and the optimizer's state arrays exist: their pointers do
not change from step to step. A ``FastStep`` holds them (through ``c_backend._TensorTable``,
which checks them as the backend does) and, at each replay, reads what may change live:
``lr`` and the other options from ``param_groups`` (schedulers change them), Adam's step
counts (``state["step"]``, incremented as ``Adam.step`` does; a count that is not an int
>= 0 goes to the optimizer's own step, as eager's C check sends it to NumPy). Before any update it checks
that nothing moved: the optimizer's ``param_groups``, ``state``, groups and their ``params``
lists are the traced ones, each parameter's ``.grad`` is still the plan's buffer (or still
``None``), its ``.data`` and state arrays are the same arrays, the options are numbers.
Otherwise it calls the optimizer's own ``step()`` (the eager code: same numbers, slower).
The checks and the call are generated code with all of that bound (``FastStep.source``).
On the NumPy backend the call is the backend's ``adam_multi_step``/``sgd_multi_step`` on
the bound lists of arrays, the very code eager ``step()`` runs after its Python loop.
"""

from __future__ import annotations

import numpy as np

from nanotorch.backend.numpy_backend import FlatState
from nanotorch.compiler.entries import kernel_failed
from nanotorch.compiler.tracer import c_module
from nanotorch.optim.adam import Adam
from nanotorch.optim.sgd import SGD
from nanotorch.threads import get_num_threads

_REALS = (float, int)


class _Group:
    """One parameter group's tables: the updated params, their grads and state arrays
    (``native``: and their C pointer tables)."""

    def __init__(self, group: dict, params: list, grads: list, states: list, names: tuple,
                 native: bool) -> None:
        self.group, self.params, self.grads = group, params, grads
        self.datas = [p.data for p in params]
        self.states = states
        self.names = names  # the state arrays the kernel updates, in its order
        self.columns = [[s[name] for s in states] for name in names]
        self.skipped = [p for p in group["params"] if all(p is not q for q in params)]
        self.n = len(params)
        self.table = None  # the C pointer tables (native only; None also when refused)
        if not native:
            return
        c = c_module()  # loaded: the step was traced on the C backend
        self.table = c._TensorTable.build((self.datas, *self.columns))
        self.keep = [c._ffi.from_buffer("float[]", g) for g in grads]
        self.grads_p = c._ffi.new("float *[]", self.keep)
        self.steps = c._ffi.new("int64_t[]", [s.get("step", 1) for s in states])  # Adam's counts
        self.first = c._ffi.new("uint8_t[]", self.n)  # zeros: every buffer exists by now


class FastStep:
    """``optimizer.step()`` of an ``SGD`` or ``Adam`` (not a subclass with its own ``step``)
    on the C backend or (``native=False``) the NumPy backend ``be``; ``build`` returns None
    when the traced state does not allow it.

    Its code is generated (``source``) with the traced objects bound as constants:
    ``run(kernels=True)`` checks, then updates (``run(False)``: all but the kernel calls, for
    timing); ``ready()``, the checks alone; ``kernel()``, the kernel calls alone."""

    def __init__(self, opt, slow, groups: list[_Group], be, native: bool) -> None:
        self.opt, self.groups = opt, groups
        self.adam = isinstance(opt, Adam)
        ns = {"OPT": opt, "PG": opt.param_groups, "ST": opt.state, "slow": slow, "R": _REALS,
              "PAIR": (tuple, list), "fail": kernel_failed, "nthreads": get_num_threads}
        if native:
            c = c_module()
            ns.update(NULL=c._ffi.NULL, ADAM=c._lib.nt_adam_multi_step_f32, SGD=c._lib.nt_sgd_multi_step_f32)
        else:
            ns.update(ADAM=be.adam_multi_step, SGD=be.sgd_multi_step)
        checks = ["OPT.param_groups is PG", f"len(PG) == {len(groups)}", "OPT.state is ST"]
        options, counts, calls, versions = [], [], [], []
        for i, g in enumerate(groups):
            ns[f"G{i}"], ns[f"GP{i}"] = g.group, g.group["params"]
            checks += [f"PG[{i}] is G{i}", f"G{i}['params'] is GP{i}",
                       f"len(GP{i}) == {len(g.group['params'])}"]
            for j, (p, grad, data, state) in enumerate(zip(g.params, g.grads, g.datas, g.states)):
                ns.update({f"P{i}_{j}": p, f"g{i}_{j}": grad, f"d{i}_{j}": data, f"S{i}_{j}": state})
                checks.append(f"(x := P{i}_{j}.grad) is not None and x.data is g{i}_{j} "
                              f"and P{i}_{j}.data is d{i}_{j}")
                for k, name in enumerate(g.names):
                    ns[f"s{i}_{j}_{k}"] = g.columns[k][j]
                    checks.append(f"S{i}_{j}.get({name!r}) is s{i}_{j}_{k}")
                if self.adam:  # a count the C kernel takes as eager's does: an int, >= 1 once incremented
                    checks.append(f"type(c := S{i}_{j}.get('step')) is int and c >= 0")
                    kernel_count = f"C{i}[{j}] = " if native else ""
                    counts.append(f"{kernel_count}S{i}_{j}['step'] = S{i}_{j}['step'] + 1")
                versions.append(f"P{i}_{j}._version[0] += 1")
            for j, p in enumerate(g.skipped):
                ns[f"K{i}_{j}"] = p
                checks.append(f"K{i}_{j}.grad is None")
            bufs = [f"B{i}_{k}" for k in range(len(g.names))]
            if native:
                t = g.table
                ns.update({f"N{i}": t.sizes, f"D{i}": t.pointers[0], f"Gr{i}": g.grads_p, f"C{i}": g.steps,
                           f"F{i}": g.first})
                ns.update(zip(bufs, t.pointers[1:]))
            else:  # the lists eager's step() hands the NumPy backend, and their flat layout
                ns.update({f"D{i}": g.datas, f"Gr{i}": g.grads, f"F{i}": [False] * g.n,
                           f"FL{i}": FlatState.make(g.datas, g.columns)})
                ns.update(zip(bufs, g.columns))
            if self.adam:
                options += [(f"lr{i}", f"G{i}['lr']"), (f"eps{i}", f"G{i}['eps']"),
                            (f"wd{i}", f"G{i}['weight_decay']"), (f"b1_{i}", f"bt{i}[0]"),
                            (f"b2_{i}", f"bt{i}[1]")]
                checks += [f"type(bt{i} := G{i}['betas']) in PAIR and len(bt{i}) == 2",
                           f"G{i}['amsgrad'] == {len(g.names) == 3}"]
            else:
                options += [(f"{v}{i}", f"G{i}[{k!r}]") for v, k in
                            (("lr", "lr"), ("mo", "momentum"), ("da", "dampening"), ("wd", "weight_decay"))]
                checks.append(f"bool(G{i}['momentum']) is {bool(g.names)}")
            calls.append(_call(i, g, bufs, self.adam, native))
        chain = checks + [f"type({v} := {e}) in R" for v, e in options]
        cond = "(" + "\n            and ".join(chain) + ")"
        pre = [f"bt{i} = G{i}['betas']" for i in range(len(groups)) if self.adam]
        self.source = (
            f"def ready():\n    return {cond}\n\n\n"
            f"def run(kernels=True):\n    if not {cond}:\n        return slow()\n"
            + "".join(f"    {line}\n" for line in counts)
            + "    if kernels:\n" + "".join(f"        {line}\n" for line in calls)
            + "".join(f"    {line}\n" for line in versions) + "    return None\n\n\n"
            "def kernel():\n"
            + "".join(f"    {line}\n" for line in pre + [f"{v} = {e}" for v, e in options] + calls)
            + "    return None\n")
        exec(compile(self.source, "<nanotorch.compile optimizer step>", "exec"), ns)
        self.run, self.ready, self.kernel = ns["run"], ns["ready"], ns["kernel"]

    @classmethod
    def build(cls, opt, slow, grads: dict, be) -> FastStep | None:
        """``grads``: id(param) -> the plan buffer stored as its ``.grad``; ``be``: the
        backend the step was traced on."""
        step = type(opt).step
        native = be.name == "c"
        if native and c_module() is None or step is not SGD.step and step is not Adam.step:
            return None
        groups = []
        for group in opt.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params or not all(id(p) in grads and p.grad.data is grads[id(p)] for p in params):
                return None
            states = [opt.state[p] for p in params]
            if step is Adam.step:
                names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
            else:
                names = ("momentum_buffer",) if group["momentum"] else ()
            if not all(isinstance(s.get(name), np.ndarray) for s in states for name in names):
                return None
            g = _Group(group, params, [grads[id(p)] for p in params], states, names, native)
            if native and g.table is None:  # an array C cannot update in place
                return None
            groups.append(g)
        return cls(opt, slow, groups, be, native)


def _call(i: int, g: _Group, bufs: list[str], adam: bool, native: bool) -> str:
    """The kernel call of group ``i``: the C multi-tensor kernel (its status checked), or
    the NumPy backend's ``*_multi_step`` with the arguments eager's ``step()`` passes."""
    if native:
        flag = f"1 if G{i}[{{!r}}] else 0".format
        if adam:
            call = (f"ADAM({g.n}, N{i}, D{i}, Gr{i}, {bufs[0]}, {bufs[1]}, "
                    f"{bufs[2] if len(bufs) > 2 else 'NULL'}, C{i}, lr{i}, b1_{i}, b2_{i}, eps{i}, "
                    f"wd{i}, {flag('decoupled_weight_decay')}, {flag('maximize')}, nthreads())")
        else:
            call = (f"SGD({g.n}, N{i}, D{i}, Gr{i}, {bufs[0] if bufs else 'NULL'}, lr{i}, mo{i}, da{i}, "
                    f"{flag('nesterov')}, wd{i}, {flag('maximize')}, F{i}, nthreads())")
        name = "nt_adam_multi_step_f32" if adam else "nt_sgd_multi_step_f32"
        return f"if (s := {call}): fail({name!r}, s)"
    if adam:
        steps = ", ".join(f"S{i}_{j}['step']" for j in range(g.n))
        return (f"ADAM(D{i}, Gr{i}, {bufs[0]}, {bufs[1]}, {bufs[2] if len(bufs) > 2 else None}, "
                f"steps=[{steps}], lr=lr{i}, beta1=b1_{i}, beta2=b2_{i}, eps=eps{i}, weight_decay=wd{i}, "
                f"decoupled=G{i}['decoupled_weight_decay'], maximize=G{i}['maximize'], flat=FL{i})")
    return (f"SGD(D{i}, Gr{i}, {bufs[0] if bufs else None}, lr=lr{i}, momentum=mo{i}, dampening=da{i}, "
            f"nesterov=G{i}['nesterov'], weight_decay=wd{i}, maximize=G{i}['maximize'], first=F{i}, "
            f"flat=FL{i})")
