"""The entries of a plan: what one recorded piece of the step becomes in the replay's code.

An ``OpCall`` is one op's ``forward`` or one node's ``backward`` of the traced run. It has
two forms:

- **op-level**: call the op's own ``forward(ctx, ...)``/``backward(ctx, grad)`` again (its
  checks, its allocations), as the first version of ``nanotorch.compile`` did;
- **kernel-level**: only the kernels it ran, on the traced run's own arrays: each C kernel
  (``CKernel``) is called on the cffi pointers made once at trace time; each NumPy kernel
  (``NpKernel``) writes into its traced output with ``out=``. Nothing is allocated.

An op call is kernel-level when every kernel it ran was recorded, every array they read is
memory the replay refills (``memory.Region``), and the op returned only what they wrote.
A ``forward`` is kernel-level only with its ``backward`` (an op-level backward would read
a context that the kernel-level forward never filled).
"""

from __future__ import annotations

import numpy as np

# Which arguments of each C kernel it writes (the non-const pointers of
# kernels/nanotorch_kernels.h); a kernel missing here is not replayed at kernel level.
WRITES = {
    "nt_linear_fwd_f32": {6}, "nt_linear_bwd_f32": {6, 7, 8},
    "nt_relu_fwd_f32": {2}, "nt_relu_bwd_f32": {3},
    "nt_batchnorm_fwd_f32": {6, 7, 11, 12, 13}, "nt_batchnorm_bwd_f32": {9, 10, 11},
    "nt_cross_entropy_fwd_f32": {7, 8}, "nt_cross_entropy_bwd_f32": {9},
    "nt_conv2d_fwd_f32": {14, 15}, "nt_conv2d_bwd_f32": {14, 15, 16},
    "nt_conv2d_wino_fwd_f32": {10, 11}, "nt_conv2d_wino_bwd_f32": {10, 11, 12},
    "nt_max_pool2d_fwd_f32": {11, 12}, "nt_max_pool2d_bwd_f32": {8},
    "nt_avg_pool2d_fwd_f32": {10}, "nt_avg_pool2d_bwd_f32": {11},
}


# What an "invalid argument" status means at replay, where the guards already fixed every
# shape: the one value check a kernel makes on data that changes from step to step.
_BAD_VALUES = {
    "nt_cross_entropy_fwd_f32": (IndexError, "cross_entropy: a target is out of bounds "
                                 "(expected 0 <= target < classes, or ignore_index)"),
}


def kernel_failed(kernel: str, status: int) -> None:
    """A C kernel of a kernel-level entry returned an error status (as ``c_backend._call``).
    The kernel wrote nothing; the entries before it in the plan did run."""
    if status == 1 and kernel in _BAD_VALUES:
        error, message = _BAD_VALUES[kernel]
        raise error(f"{message}; found by C kernel {kernel} in a compiled step")
    raise RuntimeError(f"C kernel {kernel} failed: status {status} "
                       "(1: invalid argument, 2: out of memory) in a compiled step")


class WholeCall:
    """A call replayed as a whole (``optimizer.step()``, ``scheduler.step()``): ``name`` is
    the plan's global bound to it; ``obj`` the optimizer, scheduler or module."""

    def __init__(self, name: str, obj, what: str) -> None:
        self.name, self.obj, self.what = name, obj, what


class CKernel:
    """``lib.<name>(*args)``: ``args`` are ``("const", value)``, ``("ptr", cdata)`` (made
    at trace time, pointing into memory the plan keeps) or ``("input", var, ctype)`` (a
    step argument's array: its pointer is made at each replay)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.args: list[tuple] = []

    def lines(self, tr) -> list[str]:
        parts = []
        for arg in self.args:
            if arg[0] == "const":
                parts.append(repr(arg[1]))
            elif arg[0] == "ptr":
                parts.append(tr.name(arg[1], "P"))
            else:
                parts.append(tr.input_pointer(arg[1], arg[2]))
        fn = tr.name(getattr(tr.lib, self.name), "L")
        return [f"if (s := {fn}({', '.join(parts)})): fail({self.name!r}, s)"]


class NpKernel:
    """A NumPy backend method replayed with ``out=`` into its traced outputs (bitwise the
    same operations as the method: see ``CODE``)."""

    def __init__(self, method: str, args: tuple, outs: tuple) -> None:
        self.method, self.args, self.outs = method, args, outs
        self.exprs: dict[int, str] = {}  # id(array) -> its expression (inputs: their variable)

    def lines(self, tr) -> list[str]:
        if not hasattr(self, "_lines"):  # written once (a mask buffer is made for relu)
            self._lines = self._write(tr)
        return self._lines

    def _write(self, tr) -> list[str]:
        def e(a):
            return self.exprs.get(id(a)) or tr.name(a, "S")

        def t(a, view="T"):  # a view, transposed or ("bits") as integers of its size:
            ints = np.dtype(f"i{a.dtype.itemsize}")  # made once when the array is the plan's own
            if id(a) in self.exprs:
                return f"{self.exprs[id(a)]}." + ("T" if view == "T" else f"view({tr.name(ints, 'K')})")
            return tr.name(a.T if view == "T" else a.view(ints), "S")
        return CODE[self.method](e, t, self.args, self.outs)


def _linear_forward(e, t, args, outs):
    x, w, b = args
    (y,) = outs
    bias = [] if b is None else [f"add({e(y)}, {e(b)}, out={e(y)})"]
    return [f"matmul({e(x)}, {t(w)}, out={e(y)})"] + bias


def _linear_backward(e, t, args, outs):
    dy, x, w = args[:3]
    dx, dw, db = outs
    return (([f"matmul({e(dy)}, {e(w)}, out={e(dx)})"] if dx is not None else [])
            + ([f"matmul({t(dy)}, {e(x)}, out={e(dw)})"] if dw is not None else [])
            + ([f"add.reduce({e(dy)}, axis=0, out={e(db)})"] if db is not None else []))


def _relu_backward(e, t, args, outs):
    """``where(y > 0, dy, 0)`` bit for bit, over integers of ``dy``'s size: the mask as 0/1
    (``copyto`` casts it without the 32 KB buffer a ufunc casting its output takes), times
    ``dy``'s bit pattern (``dy``'s bits, or 0, which is +0.0).
    NOTE: measured on [64,128] (EPYC, min of 9 x 3,000, load ~5): 8.6 us, against 51 us for
    ``fill(0)`` then ``copyto(where=mask)`` (a random mask defeats copyto's loop)."""
    dy, y = args
    (dx,) = outs
    mask, bits = np.empty(y.shape, dtype=bool), np.empty(y.shape, dtype=f"i{dy.dtype.itemsize}")
    return [f"greater({e(y)}, 0, out={e(mask)})", f"copyto({e(bits)}, {e(mask)})",
            f"multiply({t(dy, 'bits')}, {e(bits)}, out={t(dx, 'bits')})"]


def _cross_entropy(kind: str):
    """The softmax cross-entropy's ``*_into`` function of numpy_backend.py, the method's own
    arithmetic, on the traced outputs (its options are the traced call's constants)."""
    def write(e, t, args, outs):
        arrays = ", ".join(e(a) for a in args[:3 if kind == "backward" else 2])
        options = ", ".join(repr(o) if type(o) in (str, int, float) else e(o) for o in args[-3:])
        return [f"cross_entropy_{kind}_into({arrays}, {options}, {', '.join(e(o) for o in outs)})"]
    return write


# method -> code writer; ``args``/``outs`` are the traced call's arrays. Each line does what
# numpy_backend.py's method does, into the traced output.
CODE = {
    "linear_forward": _linear_forward,
    "linear_backward": _linear_backward,
    "relu_forward": lambda e, t, args, outs: [f"maximum({e(args[0])}, 0, out={e(outs[0])})"],
    "relu_backward": _relu_backward,
    "sum_grads": lambda e, t, args, outs: [f"add({e(args[0])}, {e(args[1])}, out={e(outs[0])})"],
    "cross_entropy_forward": _cross_entropy("forward"),
    "cross_entropy_backward": _cross_entropy("backward"),
}
# The positional arguments of each method that are arrays it reads.
READS = {"linear_forward": (0, 1, 2), "linear_backward": (0, 1, 2), "relu_forward": (0,),
         "relu_backward": (0, 1), "sum_grads": (0, 1), "cross_entropy_forward": (0, 1),
         "cross_entropy_backward": (0, 1, 2)}


class OpCall:
    """One ``forward``/``backward`` call of the trace: its op-level lines, the kernels it
    ran, and the arrays it returned (``outs``: ``(variable, array)``)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.op_lines: list[str] = []
        self.kernels: list = []
        self.outs: list[tuple[str, np.ndarray]] = []
        self.written: list = []  # memory.Region objects its kernels wrote
        self.ok = True  # every kernel recorded, every read resolved
        self.lowered = False
        self.forward: OpCall | None = None  # for a backward: its forward's call

    def fail(self) -> None:
        self.ok = False
