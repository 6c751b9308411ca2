"""``optimizer.step()`` in a kernel-level plan: one C call per parameter group, on pointer
tables made once.

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
"""

from __future__ import annotations

import numpy as np

from nanotorch.compiler.entries import kernel_failed
from nanotorch.compiler.tracer import c_module
from nanotorch.optim.adam import Adam
from nanotorch.optim.sgd import SGD
from nanotorch.threads import get_num_threads

_REALS = (float, int)


class _Group:
    """One parameter group's tables: the updated params, their grads and state arrays."""

    def __init__(self, group: dict, params: list, grads: list, states: list, names: tuple) -> None:
        self.group, self.params, self.grads = group, params, grads
        self.datas = [p.data for p in params]
        self.states = states
        self.names = names  # the state arrays the kernel updates, in its order
        self.columns = [[s[name] for s in states] for name in names]
        self.skipped = [p for p in group["params"] if all(p is not q for q in params)]
        c = c_module()  # loaded: the step was traced on the C backend
        self.table = c._TensorTable.build((self.datas, *self.columns))
        self.keep = [c._ffi.from_buffer("float[]", g) for g in grads]
        self.grads_p = c._ffi.new("float *[]", self.keep)
        self.n = len(params)
        self.steps = c._ffi.new("int64_t[]", [s.get("step", 1) for s in states])  # Adam's counts
        self.first = c._ffi.new("uint8_t[]", self.n)  # zeros: every buffer exists by now


class FastStep:
    """``optimizer.step()`` of an ``SGD`` or ``Adam`` (not a subclass with its own ``step``)
    on the C backend; ``build`` returns None when the traced state does not allow it.

    Its code is generated (``source``) with the traced objects bound as constants:
    ``run(kernels=True)`` checks, then updates (``run(False)``: all but the kernel calls, for
    timing); ``ready()``, the checks alone; ``kernel()``, the kernel calls alone."""

    def __init__(self, opt, slow, groups: list[_Group]) -> None:
        self.opt, self.groups = opt, groups
        self.adam = isinstance(opt, Adam)
        c = c_module()
        ns = {"OPT": opt, "PG": opt.param_groups, "ST": opt.state, "slow": slow, "R": _REALS,
              "PAIR": (tuple, list), "fail": kernel_failed, "nthreads": get_num_threads,
              "NULL": c._ffi.NULL, "ADAM": c._lib.nt_adam_multi_step_f32,
              "SGD": c._lib.nt_sgd_multi_step_f32}
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
                    counts.append(f"C{i}[{j}] = S{i}_{j}['step'] = S{i}_{j}['step'] + 1")
                versions.append(f"P{i}_{j}._version[0] += 1")
            for j, p in enumerate(g.skipped):
                ns[f"K{i}_{j}"] = p
                checks.append(f"K{i}_{j}.grad is None")
            t = g.table
            ns.update({f"N{i}": t.sizes, f"D{i}": t.pointers[0], f"Gr{i}": g.grads_p, f"C{i}": g.steps,
                       f"F{i}": g.first})
            bufs = [f"B{i}_{k}" for k in range(len(g.names))]
            ns.update(zip(bufs, t.pointers[1:]))
            flag = f"1 if G{i}[{{!r}}] else 0".format
            if self.adam:
                options += [(f"lr{i}", f"G{i}['lr']"), (f"eps{i}", f"G{i}['eps']"),
                            (f"wd{i}", f"G{i}['weight_decay']"), (f"b1_{i}", f"bt{i}[0]"),
                            (f"b2_{i}", f"bt{i}[1]")]
                checks += [f"type(bt{i} := G{i}['betas']) in PAIR and len(bt{i}) == 2",
                           f"G{i}['amsgrad'] == {len(g.names) == 3}"]
                call = (f"ADAM({g.n}, N{i}, D{i}, Gr{i}, {bufs[0]}, {bufs[1]}, "
                        f"{bufs[2] if len(bufs) > 2 else 'NULL'}, C{i}, lr{i}, b1_{i}, b2_{i}, eps{i}, "
                        f"wd{i}, {flag('decoupled_weight_decay')}, {flag('maximize')}, nthreads())")
            else:
                options += [(f"{v}{i}", f"G{i}[{k!r}]") for v, k in
                            (("lr", "lr"), ("mo", "momentum"), ("da", "dampening"), ("wd", "weight_decay"))]
                checks.append(f"bool(G{i}['momentum']) is {bool(g.names)}")
                call = (f"SGD({g.n}, N{i}, D{i}, Gr{i}, {bufs[0] if bufs else 'NULL'}, lr{i}, mo{i}, da{i}, "
                        f"{flag('nesterov')}, wd{i}, {flag('maximize')}, F{i}, nthreads())")
            name = "nt_adam_multi_step_f32" if self.adam else "nt_sgd_multi_step_f32"
            calls.append(f"if (s := {call}): fail({name!r}, s)")
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
    def build(cls, opt, slow, grads: dict) -> FastStep | None:
        """``grads``: id(param) -> the plan buffer stored as its ``.grad``."""
        step = type(opt).step
        if c_module() is None or step is not SGD.step and step is not Adam.step:
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
            g = _Group(group, params, [grads[id(p)] for p in params], states, names)
            if g.table is None:
                return None
            groups.append(g)
        return cls(opt, slow, groups)
