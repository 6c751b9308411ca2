"""The C plan walker: runs of a plan's C kernel calls made by one C call (kernels/plan.c).

In the Python-loop form of a plan, every kernel-level C entry is one cffi call from the
generated ``replay``. Here a run of consecutive C entries becomes a *segment*: an array of
steps ``(thunk, offset)`` and the arguments of all its kernels, laid end to end in one
int64 array (a union per argument: a pointer, an integer or, through a float64 view of
the same array, a double). ``nt_plan_run`` calls each kernel's thunk (generated from the
header by build_kernels.py, one signature for all) in order and stops at the first
failure, returning its status and step, so that Python raises what the loop raises.

Pointers into the plan's own memory and the constants are written once, here (an
``nt_plan`` holds the tables). What changes from step to step, the step arguments'
pointers (``c_backend._arg``, as the loop does), the replay puts in ``WI`` (a C array of
pointers: one cheap store each) and ``nt_plan_run`` copies them into their argument slots
(``patches``). The optimizer step stays a call of its own (``FastStep``: it reads ``lr``,
Adam's counts ... live and checks the gradients first).

A run may carry, across its kernels, the Python lines a kernel-level entry puts around
itself: a ``.grad`` copied out of a buffer before the kernel that rewrites it moves to the
front of the run (nothing earlier in the run writes that buffer: one writer per buffer),
and ``.grad`` accumulation after a kernel moves to the end (nothing later in the run
writes what it reads or reads the ``.grad`` it sets) — unless both name the same tensor —
as does a tensor's in-place change by a number when no kernel reads or updates that tensor
(BatchNorm's ``num_batches_tracked += 1``).
Everything else (NumPy kernels, op-level entries, whole calls) ends a run.
"""

from __future__ import annotations

import os

import numpy as np

from nanotorch.compiler.entries import CKernel, kernel_failed

_INT_BITS = {"int64_t": 64, "int": 32}

ENV = "NANOTORCH_COMPILE_WALKER"  # "0": every plan replays as the Python loop


def enabled() -> bool:
    """Whether new plans use the walker (the environment variable ``NANOTORCH_COMPILE_WALKER``
    is not ``0``); read when a plan is built."""
    return os.environ.get(ENV, "1").strip() != "0"


class Thunks:
    """The C module's thunk table: kernel name -> (index, argument C types)."""

    def __init__(self, c) -> None:
        ffi, lib = c._ffi, c._lib
        count = ffi.new("int64_t *")
        self.table = lib.nt_plan_thunks(count)
        self.n = int(count[0])
        self.index: dict[str, tuple[int, list[str]]] = {}
        for i in range(self.n):
            entry = self.table[i]
            name = ffi.string(entry.name).decode()
            types = [a.cname if a.kind == "primitive" else "*" for a in ffi.typeof(getattr(lib, name)).args]
            if entry.fn != ffi.NULL and entry.arity == len(types):
                self.index[name] = (i, types)


_thunks: list = []  # the one Thunks of the loaded C module


def thunks(c) -> Thunks:
    if not _thunks:
        _thunks.append(Thunks(c))
    return _thunks[0]


class Walker:
    """The segments of one plan: ``args`` (int64, its float64 view ``reals``) and, per
    segment, its steps and kernel names."""

    def __init__(self, c) -> None:
        self.c, self.ffi, self.lib = c, c._ffi, c._lib
        self.thunks = thunks(c)
        self.slots: list = []  # (kind, value): kind "i", "d" or "p" (address), or "input"
        self.segments: list[tuple[np.ndarray, list[str]]] = []
        self.keep: list = []  # the pointers' cdata (they keep the plan's arrays alive)

    def slots_of(self, k: CKernel) -> list | None:
        """``k``'s argument slots, or None when the walker cannot call it (no thunk, an
        argument that does not fit its C type)."""
        entry = self.thunks.index.get(k.name)
        if entry is None or len(entry[1]) != len(k.args):
            return None
        slots = []
        for ctype, arg in zip(entry[1], k.args):
            if ctype == "*":
                if arg[0] == "input":
                    slots.append(("input", arg[1:]))
                elif arg[0] == "ptr" and isinstance(arg[1], self.ffi.CData):
                    slots.append(("p", arg[1]))
                else:
                    return None
            elif arg[0] != "const" or isinstance(arg[1], str) or arg[1] is None:
                return None
            elif ctype == "double" and isinstance(arg[1], (int, float)):
                slots.append(("d", float(arg[1])))
            elif ctype in _INT_BITS and type(arg[1]) in (int, bool):
                bits = _INT_BITS[ctype]
                if not -(1 << (bits - 1)) <= arg[1] < 1 << (bits - 1):
                    return None
                slots.append(("i", int(arg[1])))
            else:
                return None
        return slots

    def add(self, kernels: list[tuple[CKernel, list]]) -> int:
        """A segment of ``(kernel, its slots)``; returns its number."""
        steps = []
        for k, slots in kernels:
            steps += [self.thunks.index[k.name][0], len(self.slots)]
            self.slots += slots
        self.segments.append((np.array(steps, dtype=np.int64), [k.name for k, _ in kernels]))
        return len(self.segments) - 1

    def finish(self) -> list:
        """Write the constant slots, check every segment, and make the ``nt_plan``; returns
        the input pointers ``(variable, ctype)`` a replay sets, in the order of ``WI``."""
        n = len(self.slots)
        self.args = np.zeros(max(n, 1), dtype=np.int64)
        self.reals = self.args.view(np.float64)
        inputs: dict = {}
        for i, (kind, value) in enumerate(self.slots):
            if kind == "i":
                self.args[i] = value
            elif kind == "d":
                self.reals[i] = value
            elif kind == "p":
                self.keep.append(value)
                self.args[i] = int(self.ffi.cast("intptr_t", value))
            else:
                inputs.setdefault(value, []).append(i)
        keys = list(inputs)
        self.patches = np.array([[slot, j] for j, key in enumerate(keys) for slot in inputs[key]] or [[0, 0]],
                                dtype=np.int64).reshape(-1)
        n_patches = sum(len(v) for v in inputs.values())
        for steps, names in self.segments:  # what the C side checks again, step by step
            for j, name in enumerate(names):
                t, offset = int(steps[2 * j]), int(steps[2 * j + 1])
                if not (0 <= t < self.thunks.n and 0 <= offset <= n - self.thunks.table[t].arity
                        and self.thunks.index.get(name, (None,))[0] == t):
                    raise RuntimeError(f"nanotorch.compile: a malformed walker plan ({name})")
        if not all(0 <= s < n and 0 <= j < len(keys) for s, j in self.patches[:2 * n_patches].reshape(-1, 2)):
            raise RuntimeError("nanotorch.compile: a malformed walker plan (input pointers)")
        ffi = self.ffi
        self.inputs = ffi.new("void *[]", max(len(keys), 1))
        self.plan = ffi.new("nt_plan *")
        self._buffers = [ffi.from_buffer(a) for a in (self.args, self.patches)]
        self.plan.thunks, self.plan.n_thunks = self.thunks.table, self.thunks.n
        self.plan.args, self.plan.n_args = ffi.cast("nt_plan_arg *", self._buffers[0]), n
        self.plan.inputs, self.plan.n_inputs = self.inputs, len(keys)
        self.plan.patches, self.plan.n_patches = ffi.cast("int64_t *", self._buffers[1]), n_patches
        self._failed_at = ffi.new("int64_t *")
        self._steps_p = [ffi.cast("int64_t *", ffi.from_buffer(s)) for s, _ in self.segments]
        return keys

    def call(self, segment: int) -> str:
        """The replay's line that runs ``segment``, with the names it uses bound in ``names``."""
        steps, _ = self.segments[segment]
        return f"if (s := WALK(WP, WS{segment}, {len(steps) // 2}, WF)): walk_failed({segment}, s)"

    def names(self) -> dict:
        """The globals the walker's lines use."""
        out = {"WALK": self.lib.nt_plan_run, "WP": self.plan, "WF": self._failed_at, "WI": self.inputs,
               "walk_failed": self.failed}
        out.update({f"WS{i}": p for i, p in enumerate(self._steps_p)})
        return out

    def failed(self, segment: int, status: int) -> None:
        """A kernel of ``segment`` returned ``status``: the exception the loop raises."""
        names = self.segments[segment][1]
        at = int(self._failed_at[0])
        if status == self.lib.NT_EPLAN or not 0 <= at < len(names):
            raise RuntimeError(f"nanotorch.compile: the C plan walker refused step {at} of a plan "
                               "(a malformed plan: please report it)")
        kernel_failed(names[at], status)


def runs(items: list[tuple], w: Walker) -> list[tuple]:
    """``items`` (``plan._items``) with each run of two or more C kernels the walker can
    call, and the movable lines among them, replaced by the lines before the run, one
    ``("w", segment number)`` and the lines after it (see the module docstring)."""
    out: list[tuple] = []
    i = 0
    while i < len(items):
        kernels, end = _run_at(items, i, w)  # the run is items[i:end]
        pre, post = [], []
        if len(kernels) < 2:
            out.append(items[i])
            i += 1
            continue
        for item in items[i:end]:
            if item[0] == "pre":
                pre.append(item)
            elif item[0] in ("acc", "h"):
                post.append(item)
        out += [*pre, ("w", w.add(kernels)), *post]
        i = end
    return out


def _run_at(items: list[tuple], i: int, w: Walker) -> tuple[list, int]:
    """``(kernels, end)``: the C kernels (with their slots) of the run that starts at
    ``items[i]``, and where it ends (after its last kernel). A run goes on over movable lines
    (a ``pre`` line of a tensor no ``acc`` line before it in the run names, ``acc`` and ``h``
    lines once it has a kernel) and stops at anything else or a kernel the walker cannot call."""
    kernels, moved, end = [], set(), i
    for j in range(i, len(items)):
        kind = items[j][0]
        if kind == "c":
            slots = w.slots_of(items[j][1])
            if slots is None:
                break
            kernels.append((items[j][1], slots))
            end = j + 1
        elif kind == "pre" and items[j][2] not in moved and kernels:
            pass
        elif kind == "acc" and kernels:
            moved.add(items[j][2])
        elif kind != "h" or not kernels:
            break
    return kernels, end
