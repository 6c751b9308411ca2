"""``optimizer.step()`` in a kernel-level plan: one C call per parameter group, on pointer
tables made once.

After the traced step, every gradient the optimizer reads is a buffer of the plan (the
engine stored it as ``p.grad``), and the optimizer's state arrays exist: their pointers do
not change from step to step. A ``FastStep`` holds them (through ``c_backend._TensorTable``,
which checks them as the backend does) and, at each replay, reads what may change live:
``lr`` and the other options from ``param_groups`` (schedulers change them), Adam's step
counts (incremented as ``Adam.step`` does). Before any update it checks that nothing moved:
each parameter's ``.grad`` is still the plan's buffer (or still ``None``), its ``.data`` and
state arrays are the same arrays, the options are numbers. Otherwise it calls the
optimizer's own ``step()`` (the eager code: same numbers, slower).
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
        self.null = c._ffi.NULL

    def unchanged(self) -> bool:
        for p, d, g in zip(self.params, self.datas, self.grads):
            grad = p.grad
            if grad is None or grad.data is not g or p.data is not d:
                return False
        for column, name in zip(self.columns, self.names):
            for s, a in zip(self.states, column):
                if s.get(name) is not a:
                    return False
        return all(p.grad is None for p in self.skipped)


class FastStep:
    """``optimizer.step()`` of an ``SGD`` or ``Adam`` (not a subclass with its own ``step``)
    on the C backend; ``build`` returns None when the traced state does not allow it."""

    def __init__(self, opt, slow, groups: list[_Group]) -> None:
        self.opt, self.slow, self.groups, self.lib = opt, slow, groups, c_module()._lib
        self.adam = isinstance(opt, Adam)

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

    def _ready(self) -> bool:
        for g in self.groups:
            group = g.group
            if not g.unchanged():
                return False
            if self.adam:
                options = (group["lr"], *group["betas"], group["eps"], group["weight_decay"])
                amsgrad = group["amsgrad"]
                if amsgrad != (len(g.names) == 3):
                    return False
            else:
                options = (group["lr"], group["momentum"], group["dampening"], group["weight_decay"])
                if bool(group["momentum"]) != bool(g.names):
                    return False
            if not all(type(v) in _REALS for v in options):
                return False
        return True

    def __call__(self, run_kernels: bool = True) -> None:
        if not self._ready():
            return self.slow()
        for g in self.groups:
            if self.adam:
                for i, s in enumerate(g.states):
                    s["step"] += 1
                    g.steps[i] = s["step"]
            if run_kernels:
                self._kernel(g)
            for p in g.params:
                p._version[0] += 1
        return None

    def kernel(self) -> None:
        """The kernel calls alone (for timing: benchmarks/test_bench_training.py)."""
        for g in self.groups:
            self._kernel(g)

    def _kernel(self, g: _Group) -> None:
        group, table = g.group, g.table
        if self.adam:
            beta1, beta2 = group["betas"]
            status = self.lib.nt_adam_multi_step_f32(
                g.n, table.sizes, table.pointers[0], g.grads_p, table.pointers[1], table.pointers[2],
                table.pointers[3] if len(table.pointers) > 3 else g.null, g.steps,
                float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                float(group["weight_decay"]), int(bool(group["decoupled_weight_decay"])),
                int(bool(group["maximize"])), get_num_threads())
        else:
            status = self.lib.nt_sgd_multi_step_f32(
                g.n, table.sizes, table.pointers[0], g.grads_p,
                table.pointers[1] if len(table.pointers) > 1 else g.null,
                float(group["lr"]), float(group["momentum"]), float(group["dampening"]),
                int(bool(group["nesterov"])), float(group["weight_decay"]),
                int(bool(group["maximize"])), g.first, get_num_threads())
        if status:
            kernel_failed("nt_adam_multi_step_f32" if self.adam else "nt_sgd_multi_step_f32", status)
