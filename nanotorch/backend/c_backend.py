"""The C backend: the NumPy backend's kernel table, with the hot kernels compiled (cffi).

Each method overriding a NumPy kernel checks its arguments in Python before any C call:
exact dtype float32 (``ffi.from_buffer`` does not look at dtypes), C-contiguity (inputs are
copied when they are not, e.g. broadcast gradients; arrays updated in place must already
be C-contiguous, aligned, writeable and must not overlap), every shared dimension, label
ranges. It allocates the outputs, calls ``lib.nt_*`` and checks the returned status.
Whatever the C kernels do not cover (float64, shapes outside the kernel's docstring, an
option not written in C) falls through to the NumPy method, per call, so the NumPy backend
stays the specification of every answer. ``take_rows`` is not overridden: NumPy's gather
is memory-bound already (19 us for a 64-image float32 MNIST batch). ``conv2d`` keeps its
``cols`` in a layout of its own (see ``conv2d_backward``).
"""

from __future__ import annotations

import atexit
import bisect
import math
import os

import numpy as np

import nanotorch._kernels as _kernels  # ModuleNotFoundError when not built
from nanotorch.backend.numpy_backend import NumpyBackend, check_pool_indices, pool_output_size
from nanotorch.threads import get_num_threads

_lib = _kernels.lib
atexit.register(_lib.nt_threads_shutdown)  # the kernels' thread pool (kernels/threads.c)
_fb = _kernels.ffi.from_buffer  # NOTE: module globals: the hot methods call these directly
_NULL = _kernels.ffi.NULL
_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)
_U64 = np.dtype(np.uint64)
_INTS = (int, np.integer)
_MIN, _MAX = np.minimum.reduce, np.maximum.reduce
_REALS = (float, int, np.floating, np.integer)
_STATUS = {_kernels.lib.NT_EINVAL: "invalid argument", _kernels.lib.NT_ENOMEM: "out of memory"}
SMALL_LINEAR_MACS = 300_000  # Linear products smaller than this run on NumPy (see _linear_args)
_POOL_MAX_SIZE = (2**63 - 1) // 64  # padded pooling input elements the C kernels take (pool.c)
ISAS = ("avx512", "avx2", "neon", "generic")  # the GEMM's instruction sets (kernels/gemm.c)
_REDUCTIONS = {"none": _kernels.lib.NT_REDUCE_NONE, "mean": _kernels.lib.NT_REDUCE_MEAN,
               "sum": _kernels.lib.NT_REDUCE_SUM}


def isa() -> str:
    """The instruction set the GEMM runs on (the widest this CPU has, or ``select_isa``'s)."""
    return _kernels.ffi.string(_lib.nt_isa_current()).decode()


def supported_isas() -> list[str]:
    """The instruction sets of ``ISAS`` this build and this CPU can run."""
    return [name for name in ISAS if _lib.nt_isa_supported(name.encode())]


def select_isa(name: str) -> None:
    """Run the GEMM (and so linear and conv) on instruction set ``name`` from now on; the
    ``NANOTORCH_ISA`` environment variable does this at import. Raises ValueError for a
    name not in ``ISAS`` or one this CPU (or build) cannot run."""
    if name not in ISAS:
        raise ValueError(f"NANOTORCH_ISA / select_isa: unknown instruction set {name!r}; "
                         f"choose one of {ISAS}")
    if _lib.nt_isa_select(name.encode()) != 0:
        raise ValueError(f"NANOTORCH_ISA / select_isa: this CPU cannot run the {name} kernels "
                         f"(it runs: {', '.join(supported_isas())})")


if os.environ.get("NANOTORCH_ISA", "").strip():
    select_isa(os.environ["NANOTORCH_ISA"].strip().lower())


def gemm_tuning() -> dict:
    """The cache sizes the C side read at run time and the GEMM blocking derived from them."""
    info = _kernels.ffi.new("int64_t[8]")
    _lib.nt_gemm_tuning(info)
    keys = ("l1d_bytes", "l2_bytes", "l3_bytes", "mr", "nr", "kc", "nc", "direct_b_bytes")
    return dict(zip(keys, (int(v) for v in info)))


def fma_peak_gflops(seconds: float = 0.2) -> float:
    """One core's float32 peak in GFLOP/s, measured now: the best of a few bursts of the GEMM
    instruction set's independent multiply-adds (``nt_fma_gflops``), ~``seconds`` in all."""
    sink = _kernels.ffi.new("float *")
    rounds, best = 1 << 16, 0.0
    while _lib.nt_fma_gflops(rounds, sink) * 1e9 * seconds / 10 > 2.0 * rounds * 192:
        rounds *= 2  # until one burst takes ~seconds / 10 (192 flops per round at most)
    for _ in range(10):
        best = max(best, _lib.nt_fma_gflops(rounds, sink))
    return best


def _f32(*arrays) -> bool:
    """Every array given (``None`` skipped) is a float32 ndarray."""
    for a in arrays:  # NOTE: a plain loop: this runs before every kernel call
        if a is not None and not (isinstance(a, np.ndarray)
                                  and (a.dtype is _F32 or a.dtype == _F32)):
            return False
    return True


def _vector(a, n: int) -> bool:
    """``a`` is ``None`` or has shape ``[n]``."""
    return a is None or a.shape == (n,)


def _vectors(n: int, *arrays) -> bool:
    """Every array given (``None`` skipped) has shape ``[n]``."""
    for a in arrays:
        if a is not None and a.shape != (n,):
            return False
    return True


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays may share memory (cheap when both own their data)."""
    if a.base is None and b.base is None:  # NOTE: the usual case for parameters and states
        return a is b
    return np.may_share_memory(a, b)


def _inplace(*arrays) -> bool:
    """Arrays a kernel writes in place (``None`` skipped): C-contiguous, aligned, writeable,
    pairwise disjoint (the kernels declare them ``restrict``)."""
    given = [a for a in arrays if a is not None]
    for i, a in enumerate(given):
        flags = a.flags
        if not (flags.c_contiguous and flags.aligned and flags.writeable):
            return False
        if any(_overlap(a, b) for b in given[i + 1:]):
            return False
    return True


def _contiguous(a: np.ndarray | None) -> np.ndarray | None:
    """A C-contiguous, aligned array with ``a``'s values (``a`` itself when it is one)."""
    if a is None:
        return a
    flags = a.flags
    if flags.carray or (flags.c_contiguous and flags.aligned):  # NOTE: carray: one lookup
        return a
    return np.array(a, order="C")


def _inplace_pair(a: np.ndarray, b: np.ndarray) -> bool:
    """``_inplace(a, b)`` for two arrays, without its loops (~1 us less per call)."""
    return a.flags.carray and b.flags.carray and not _overlap(a, b)


def _p(a: np.ndarray | None):
    """``float *`` to ``a``'s data (``NULL`` for ``None``); ``a`` is float32, C-contiguous."""
    return _NULL if a is None else _fb("float[]", a)


def _check(status: int, kernel: str) -> None:
    """A non-zero status of ``kernel`` as a RuntimeError."""
    if status:
        raise RuntimeError(f"C kernel {kernel} failed: {_STATUS.get(status, status)} "
                           f"(status {status})")


def _real(*values) -> bool:
    """Every value is a real number (not bool): what the C side takes as a double."""
    for v in values:  # NOTE: concrete types: an isinstance on numbers.Real costs ~0.4 us
        if not isinstance(v, _REALS) or isinstance(v, bool):
            return False
    return True


class _TensorTable:
    """The C pointers of the arrays a multi-tensor optimizer step updates in place.

    ``columns`` are ``(params, state, ...)``: lists with one array per parameter, each
    state array shaped like its parameter (a whole state column may be ``None``). Built
    once the arrays pass every check (float32, the param's shape, C-contiguous, aligned,
    writeable, no two sharing memory); it holds the arrays through cffi's ``from_buffer``
    objects, so a pointer never outlives its array, and an array replaced by another
    (another ``id``) gives another cache key, hence a new table. ``unchanged()`` repeats
    the cheap checks an array can fail in place (``a.shape = ...``, ``a.dtype = ...``,
    ``a.flags.writeable = False``) before each use; ``grads()`` checks the gradients,
    new arrays at every step.
    """

    __slots__ = ("arrays", "shapes", "sizes", "pointers", "starts", "ends", "ids", "_keep",
                 "ffi")

    @classmethod
    def build(cls, ffi, columns: tuple) -> _TensorTable | None:
        params = columns[0]
        shapes = [p.shape if isinstance(p, np.ndarray) else None for p in params]
        arrays, bounds = [], []
        for column in columns:
            if column is None:
                continue
            if len(column) != len(params):
                return None
            for a, shape in zip(column, shapes):
                if not (isinstance(a, np.ndarray) and _writable_f32(a, shape)):
                    return None
                arrays.append(a)
                if a.size:
                    start = a.__array_interface__["data"][0]
                    bounds.append((start, start + a.nbytes))
        bounds.sort()
        for (_, end), (start, _) in zip(bounds, bounds[1:]):
            if start < end:  # two of the arrays share memory
                return None
        table = cls()
        table.ffi, table.arrays, table.shapes = ffi, arrays, shapes
        table.ids = {id(a) for a in arrays}
        table.starts, table.ends = [b[0] for b in bounds], [b[1] for b in bounds]
        table.sizes = ffi.new("int64_t[]", [p.size for p in params])
        keep = [ffi.from_buffer("float[]", a, require_writable=True) for a in arrays]
        table.pointers, n, at = [], len(params), 0
        for column in columns:  # one float *[] per column (None for a missing state)
            table.pointers.append(None if column is None else ffi.new("float *[]", keep[at:at + n]))
            at += 0 if column is None else n
        table._keep = keep
        return table

    def unchanged(self) -> bool:
        """Every array still is float32, shaped as its parameter, contiguous, writeable."""
        shapes, n = self.shapes, len(self.shapes)
        for i, a in enumerate(self.arrays):
            if not _writable_f32(a, shapes[i % n]):
                return False
        return True

    def _overlaps(self, g: np.ndarray) -> bool:
        """Whether ``g``'s memory meets one of the table's arrays (they are disjoint and
        sorted by address, so one bisection finds the candidates)."""
        if not g.size:
            return False
        lo, hi = np.lib.array_utils.byte_bounds(g)
        i = bisect.bisect_right(self.starts, lo) - 1
        return (i >= 0 and self.ends[i] > lo) or (i + 1 < len(self.starts)
                                                 and self.starts[i + 1] < hi)

    def grads(self, grads: list) -> tuple | None:
        """``(float *[], held)``: pointers to ``grads`` and the cffi objects that hold them
        (keep it until the C call returns), or ``None`` when one is not float32 of its
        param's shape. A gradient that is not C-contiguous and aligned, or that may share
        memory with an array the step writes, is copied first."""
        held = []
        for g, shape in zip(grads, self.shapes, strict=True):
            if not (isinstance(g, np.ndarray) and g.dtype == _F32 and g.shape == shape):
                return None
            flags = g.flags
            if not (flags.c_contiguous and flags.aligned) or id(g) in self.ids or (
                    g.base is not None and self._overlaps(g)):
                g = g.copy()
            held.append(self.ffi.from_buffer("float[]", g))
        return self.ffi.new("float *[]", held), held


def _writable_f32(a: np.ndarray, shape: tuple) -> bool:
    """``a`` is float32 of ``shape``, C-contiguous, aligned and writeable."""
    if a.dtype != _F32 or a.shape != shape:
        return False
    flags = a.flags
    return flags.c_contiguous and flags.aligned and flags.writeable


class CBackend(NumpyBackend):
    """The kernels in ``kernels/*.c``; anything else is the NumPy backend's."""

    name = "c"

    def __init__(self) -> None:
        self.ffi = _kernels.ffi
        self.lib = _kernels.lib

    # ------------------------------------------------------------------- plumbing
    def _ptr(self, a: np.ndarray | None, ctype: str = "float[]"):
        return self.ffi.NULL if a is None else self.ffi.from_buffer(ctype, a)

    def _run(self, kernel: str, *args) -> None:
        """Call ``lib.<kernel>(*args)``; a non-zero status becomes a RuntimeError. (The
        hottest methods call ``_lib`` and ``_check`` directly: one lookup less.)"""
        _check(getattr(self.lib, kernel)(*args), kernel)

    def build_info(self) -> dict:
        """The compiled module: its file, compiler flags, GEMM instruction set and blocking,
        SIMD width of the other kernels, and the threads the kernels may use."""
        text = self.ffi.string(self.lib.nt_build_info()).decode()
        fields = dict(item.split("=", 1) for item in text.split(";"))
        flags = fields.get("flags", "unknown")
        return {"library": _kernels.__file__, "cflags": flags,
                "isa": isa(), "gemm_tuning": gemm_tuning(),
                "simd": fields.get("simd", "unknown"), "num_threads": get_num_threads()}

    # ----------------------------------------------------------------- linear
    @staticmethod
    def _linear_args(x, w, b, dy=None) -> bool:
        """True when C should take these; raises on a shape mismatch of 2-D float32 arrays."""
        if not (_f32(x, w, b, dy) and x.ndim == 2 and w.ndim == 2 and (b is None or b.ndim == 1)
                and (dy is None or dy.ndim == 2)):
            return False
        (n, k), (m, wk) = x.shape, w.shape
        if wk != k:
            raise ValueError(f"linear: x is {list(x.shape)} but w is {list(w.shape)}: "
                             "x[N, K] needs w[M, K]")
        if b is not None and b.shape[0] != m:
            raise ValueError(f"linear: b has shape {list(b.shape)}, expected [{m}]")
        if dy is not None and dy.shape != (n, m):
            raise ValueError(f"linear_backward: dy is {list(dy.shape)}, expected [{n}, {m}] "
                             f"for x {list(x.shape)} and w {list(w.shape)}")
        # NOTE: below SMALL_LINEAR_MACS the fixed costs (checks, call, blocking) make C slower
        # than NumPy's BLAS (64x128 -> 10 forward + backward: 13.7 us in C, 8.8 in NumPy).
        return n * k * m >= SMALL_LINEAR_MACS

    def linear_forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        if not self._linear_args(x, w, b):
            return super().linear_forward(x, w, b)
        (n, k), m = x.shape, w.shape[0]
        x, w, b = _contiguous(x), _contiguous(w), _contiguous(b)
        y = np.empty((n, m), dtype=_F32)
        _check(_lib.nt_linear_fwd_f32(n, k, m, _fb("float[]", x), _fb("float[]", w), _p(b),
                                      _fb("float[]", y), 0, get_num_threads()),  # 0: no ReLU
               "nt_linear_fwd_f32")
        return y

    def linear_backward(self, dy: np.ndarray, x: np.ndarray, w: np.ndarray,
                        need_dx: bool, need_dw: bool, need_db: bool):
        if not self._linear_args(x, w, None, dy):
            return super().linear_backward(dy, x, w, need_dx, need_dw, need_db)
        (n, k), m = x.shape, w.shape[0]
        dy, x, w = _contiguous(dy), _contiguous(x), _contiguous(w)
        dx = np.empty((n, k), dtype=_F32) if need_dx else None
        dw = np.empty((m, k), dtype=_F32) if need_dw else None
        db = np.empty(m, dtype=_F32) if need_db else None
        _check(_lib.nt_linear_bwd_f32(n, k, m, _fb("float[]", dy), _fb("float[]", x),
                                      _fb("float[]", w), _p(dx), _p(dw), _p(db),
                                      get_num_threads()), "nt_linear_bwd_f32")
        return dx, dw, db

    # ------------------------------------------------------------------- relu
    # NOTE: relu, batchnorm and cross-entropy run on small arrays, where each Python step of
    # the call (~20-150 ns) counts: they test dtype identity first (``is _F32``, then ``==``),
    # inline ``_contiguous`` (``flags.carray``: one lookup in the usual case) and test the
    # status before calling ``_check``.  Every check of the general path is still made.
    def relu_forward(self, x: np.ndarray) -> np.ndarray:
        if not (isinstance(x, np.ndarray) and (x.dtype is _F32 or x.dtype == _F32)):
            return super().relu_forward(x)
        flags = x.flags
        if not (flags.carray or (flags.c_contiguous and flags.aligned)):
            x = np.array(x, order="C")
        y = np.empty(x.shape, dtype=_F32)
        status = _lib.nt_relu_fwd_f32(x.size, _fb("float[]", x), _fb("float[]", y),
                                      get_num_threads())
        if status:
            _check(status, "nt_relu_fwd_f32")
        return y

    def relu_backward(self, dy: np.ndarray, y: np.ndarray) -> np.ndarray:
        if not (_f32(dy, y) and dy.shape == y.shape):
            return super().relu_backward(dy, y)
        flags = dy.flags
        if not (flags.carray or (flags.c_contiguous and flags.aligned)):
            dy = np.array(dy, order="C")
        flags = y.flags
        if not (flags.carray or (flags.c_contiguous and flags.aligned)):
            y = np.array(y, order="C")
        dx = np.empty(y.shape, dtype=_F32)
        status = _lib.nt_relu_bwd_f32(y.size, _fb("float[]", dy), _fb("float[]", y),
                                      _fb("float[]", dx), get_num_threads())
        if status:
            _check(status, "nt_relu_bwd_f32")
        return dx

    # -------------------------------------------------------------- batchnorm
    @staticmethod
    def _bn_dims(x: np.ndarray) -> tuple[int, int, int]:
        """``x[N, C, *]`` as ``(N, C, prod(*))``."""
        shape = x.shape
        if len(shape) == 2:  # NOTE: BatchNorm1d: math.prod of () costs ~0.1 us
            return shape[0], shape[1], 1
        return shape[0], shape[1], math.prod(shape[2:])

    def batch_norm_forward(self, x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
                           running_mean: np.ndarray | None, running_var: np.ndarray | None,
                           training: bool, momentum: float, eps: float):
        c = x.shape[1] if isinstance(x, np.ndarray) and x.ndim >= 2 else -1
        if not (c >= 0 and _f32(x, gamma, beta, running_mean, running_var)
                and _real(momentum, eps) and _vectors(c, gamma, beta, running_mean, running_var)
                and (running_mean is None) == (running_var is None)
                and (training or running_mean is not None)
                and (running_mean is None or _inplace_pair(running_mean, running_var))):
            return super().batch_norm_forward(x, gamma, beta, running_mean, running_var,
                                              training, momentum, eps)
        n, c, hw = self._bn_dims(x)
        x, gamma, beta = _contiguous(x), _contiguous(gamma), _contiguous(beta)
        y = np.empty(x.shape, dtype=_F32)
        mean, invstd = np.empty(c, dtype=_F32), np.empty(c, dtype=_F32)
        status = _lib.nt_batchnorm_fwd_f32(
            n, c, hw, _fb("float[]", x), _p(gamma), _p(beta), _p(running_mean),
            _p(running_var), 1 if training else 0, float(momentum), float(eps),
            _fb("float[]", y), _fb("float[]", mean), _fb("float[]", invstd), get_num_threads())
        if status:
            _check(status, "nt_batchnorm_fwd_f32")
        return y, mean, invstd

    def batch_norm_backward(self, dy: np.ndarray, x: np.ndarray, gamma: np.ndarray | None,
                            mean: np.ndarray, invstd: np.ndarray, training: bool,
                            need_dx: bool, need_dgamma: bool, need_dbeta: bool):
        c = x.shape[1] if isinstance(x, np.ndarray) and x.ndim >= 2 else -1
        if not (c >= 0 and _f32(dy, x, gamma, mean, invstd) and dy.shape == x.shape
                and _vectors(c, gamma, mean, invstd)):
            return super().batch_norm_backward(dy, x, gamma, mean, invstd, training,
                                               need_dx, need_dgamma, need_dbeta)
        n, c, hw = self._bn_dims(x)
        dy, x = _contiguous(dy), _contiguous(x)
        gamma, mean, invstd = _contiguous(gamma), _contiguous(mean), _contiguous(invstd)
        dx = np.empty(x.shape, dtype=_F32) if need_dx else None
        dgamma = np.empty(c, dtype=_F32) if need_dgamma else None
        dbeta = np.empty(c, dtype=_F32) if need_dbeta else None
        status = _lib.nt_batchnorm_bwd_f32(
            n, c, hw, _fb("float[]", dy), _fb("float[]", x), _p(gamma), _fb("float[]", mean),
            _fb("float[]", invstd), 1 if training else 0, _p(dx), _p(dgamma), _p(dbeta),
            get_num_threads())
        if status:
            _check(status, "nt_batchnorm_bwd_f32")
        return dx, dgamma, dbeta

    # ------------------------------------------------------ softmax + cross-entropy
    @staticmethod
    def _targets(target, n: int, c: int, ignore_index) -> np.ndarray | None:
        """``target`` as C-contiguous int64 ``[n]`` after checking every label, or ``None``
        when it is not an integer vector of length ``n`` (NumPy's turn)."""
        if not (isinstance(target, np.ndarray) and target.shape == (n,)
                and (target.dtype is _I64 or target.dtype.kind in "iu")
                and isinstance(ignore_index, _INTS)):
            return None
        if target.dtype is not _I64:
            target = target.astype(_I64)
        flags = target.flags
        if not (flags.carray or (flags.c_contiguous and flags.aligned)):
            target = np.array(target, order="C")
        # NOTE: one reduction decides the usual case (every label a class): viewed as
        # uint64, a negative label is >= 2**63, so max < c means 0 <= every label < c. The
        # exact test with ignore_index runs only when one is outside [0, c). C checks
        # them again.
        if n and not _MAX(target.view(_U64)) < c:
            bad = ((target < 0) | (target >= c)) & (target != ignore_index)
            if bad.any():
                raise IndexError(f"cross_entropy: target {target[bad][0]} is out of range for "
                                 f"{c} classes (expected 0 <= target < {c}, or "
                                 f"ignore_index={ignore_index})")
        return target

    def cross_entropy_forward(self, logits: np.ndarray, target: np.ndarray, reduction: str,
                              label_smoothing: float, ignore_index: int):
        ok = (isinstance(logits, np.ndarray) and (logits.dtype is _F32 or logits.dtype == _F32)
              and logits.ndim == 2 and logits.shape[1] >= 1 and reduction in _REDUCTIONS
              and (type(label_smoothing) is float or _real(label_smoothing)))
        t = self._targets(target, *logits.shape, ignore_index) if ok else None
        if t is None:
            return super().cross_entropy_forward(logits, target, reduction, label_smoothing,
                                                 ignore_index)
        n, c = logits.shape
        flags = logits.flags
        if not (flags.carray or (flags.c_contiguous and flags.aligned)):
            logits = np.array(logits, order="C")
        loss = np.empty(n if reduction == "none" else (), dtype=_F32)  # (): 4 bytes
        probs = np.empty((n, c), dtype=_F32)
        status = _lib.nt_cross_entropy_fwd_f32(n, c, _fb("float[]", logits),
                                               _fb("int64_t[]", t), _REDUCTIONS[reduction],
                                               float(label_smoothing), int(ignore_index),
                                               _fb("float[]", loss), _fb("float[]", probs))
        if status:
            _check(status, "nt_cross_entropy_fwd_f32")
        return loss, probs

    def cross_entropy_backward(self, dloss: np.ndarray, probs: np.ndarray, target: np.ndarray,
                               reduction: str, label_smoothing: float, ignore_index: int):
        if type(dloss) is not np.ndarray and isinstance(dloss, np.generic):
            dloss = np.asarray(dloss)
        ok = (isinstance(probs, np.ndarray) and (probs.dtype is _F32 or probs.dtype == _F32)
              and probs.ndim == 2 and probs.shape[1] >= 1 and isinstance(dloss, np.ndarray)
              and (dloss.dtype is _F32 or dloss.dtype.kind == "f") and reduction in _REDUCTIONS
              and (type(label_smoothing) is float or _real(label_smoothing)))
        t = self._targets(target, *probs.shape, ignore_index) if ok else None
        per_row = ok and dloss.shape == (probs.shape[0],)
        if t is None or not (per_row or dloss.shape == ()):
            return super().cross_entropy_backward(dloss, probs, target, reduction,
                                                  label_smoothing, ignore_index)
        n, c = probs.shape
        if dloss.dtype is not _F32:
            dloss = dloss.astype(_F32)
        dloss, probs = _contiguous(dloss), _contiguous(probs)
        dlogits = np.empty((n, c), dtype=_F32)
        status = _lib.nt_cross_entropy_bwd_f32(n, c, _fb("float[]", dloss), 1 if per_row else 0,
                                               _fb("float[]", probs), _fb("int64_t[]", t),
                                               _REDUCTIONS[reduction], float(label_smoothing),
                                               int(ignore_index), _fb("float[]", dlogits))
        if status:
            _check(status, "nt_cross_entropy_bwd_f32")
        return dlogits

    # ------------------------------------------------------------------ conv2d
    @staticmethod
    def _pair(v, low: int) -> bool:
        return (isinstance(v, tuple) and len(v) == 2
                and all(isinstance(i, _INTS) and i >= low for i in v))

    def _conv_dims(self, x_shape, w, stride, padding) -> tuple | None:
        """``(sizes, (Ho, Wo))`` with the 11 sizes the C kernels take, or ``None`` when C does
        not cover the call. Raises when the channels differ or the kernel does not fit."""
        if not (_f32(w) and w.ndim == 4 and len(x_shape) == 4 and self._pair(stride, 1)
                and self._pair(padding, 0)):
            return None
        n, c, h, wd = (int(v) for v in x_shape)
        o, wc, kh, kw = w.shape
        (sh, sw), (ph, pw) = (int(v) for v in stride), (int(v) for v in padding)
        if wc != c:
            raise ValueError(f"conv2d: x has {c} channels but w is {list(w.shape)}")
        if kh > h + 2 * ph or kw > wd + 2 * pw or min(o, c, h, wd, kh, kw) < 1 or n < 0:
            raise ValueError(f"conv2d: kernel {kh}x{kw} does not fit x {list(x_shape)} "
                             f"padded by {padding}")
        out = ((h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1)
        return (n, c, h, wd, o, kh, kw, sh, sw, ph, pw), out

    def conv2d_forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                       stride: tuple[int, int], padding: tuple[int, int]):
        found = self._conv_dims(x.shape, w, stride, padding) if _f32(x, b) else None
        if found is None or not _vector(b, w.shape[0]):
            return super().conv2d_forward(x, w, b, stride, padding)
        dims, (ho, wo) = found
        n, c, _, _, o, kh, kw = dims[:7]
        x, w, b = _contiguous(x), _contiguous(w), _contiguous(b)
        y = np.empty((n, o, ho, wo), dtype=_F32)
        cols = np.empty((n, c * kh * kw, ho * wo), dtype=_F32)  # NOTE: see conv2d_backward
        self._run("nt_conv2d_fwd_f32", *dims, self._ptr(x), self._ptr(w), self._ptr(b),
                  self._ptr(y), self._ptr(cols), get_num_threads())
        return y, cols

    def conv2d_backward(self, dy: np.ndarray, cols: np.ndarray, x_shape: tuple, w: np.ndarray,
                        stride: tuple[int, int], padding: tuple[int, int],
                        need_dx: bool, need_dw: bool, need_db: bool):
        """As NumPy's, but ``cols`` from this backend's forward is ``[N, C*kh*kw, Ho*Wo]``:
        NumPy's ``[N*Ho*Wo, C*kh*kw]`` transposed per image (the layout the C GEMMs read
        without transposing). NumPy-layout ``cols`` (2-D) go to NumPy's backward."""
        found = self._conv_dims(x_shape, w, stride, padding) if _f32(dy, cols) else None
        if found is None or cols.ndim != 3:
            if cols.ndim == 3:
                cols = cols.transpose(0, 2, 1).reshape(-1, cols.shape[1])
            return super().conv2d_backward(dy, cols, x_shape, w, stride, padding,
                                           need_dx, need_dw, need_db)
        dims, (ho, wo) = found
        n, c, h, wd, o, kh, kw = dims[:7]
        if dy.shape != (n, o, ho, wo) or cols.shape != (n, c * kh * kw, ho * wo):
            raise ValueError(f"conv2d_backward: dy {list(dy.shape)} and cols {list(cols.shape)} "
                             f"do not match x {list(x_shape)} and w {list(w.shape)}")
        if n == 0:  # NOTE: nothing to sum; the kernel would still size its scratch by H*W
            return (np.empty((0, c, h, wd), dtype=_F32) if need_dx else None,
                    np.zeros(w.shape, dtype=_F32) if need_dw else None,
                    np.zeros(o, dtype=_F32) if need_db else None)
        dy, cols, w = _contiguous(dy), _contiguous(cols), _contiguous(w)
        dx = np.empty((n, c, h, wd), dtype=_F32) if need_dx else None
        dw = np.empty(w.shape, dtype=_F32) if need_dw else None
        db = np.empty(o, dtype=_F32) if need_db else None
        self._run("nt_conv2d_bwd_f32", *dims, self._ptr(dy), self._ptr(cols), self._ptr(w),
                  self._ptr(dx), self._ptr(dw), self._ptr(db), get_num_threads())
        return dx, dw, db

    # ----------------------------------------------------------------- pooling
    def _pool_dims(self, x_shape, kernel, stride, padding) -> tuple | None:
        """``(sizes, (Ho, Wo))`` with the 10 sizes the C kernels take, or ``None`` when C does
        not cover the call. Raises when the windows do not fit (``pool_output_size``)."""
        if not (isinstance(x_shape, tuple) and len(x_shape) == 4
                and all(isinstance(v, _INTS) for v in x_shape) and self._pair(kernel, 1)
                and self._pair(stride, 1) and self._pair(padding, 0)):
            return None
        out = pool_output_size(x_shape, kernel, stride, padding)
        dims = tuple(int(v) for v in (*x_shape, *kernel, *stride, *padding))
        n, c, h, w, _, _, _, _, ph, pw = dims
        if n * c * (h + 2 * ph) * (w + 2 * pw) > _POOL_MAX_SIZE:  # absurd padding: NumPy's turn
            return None
        return dims, out

    def max_pool2d_forward(self, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                           padding: tuple[int, int]):
        found = self._pool_dims(x.shape, kernel, stride, padding) if _f32(x) else None
        if found is None:
            return super().max_pool2d_forward(x, kernel, stride, padding)
        dims, (ho, wo) = found
        x = _contiguous(x)
        y = np.empty((*x.shape[:2], ho, wo), dtype=_F32)
        indices = np.empty(y.shape, dtype=_I64)
        self._run("nt_max_pool2d_fwd_f32", *dims, self._ptr(x), self._ptr(y),
                  self._ptr(indices, "int64_t[]"), get_num_threads())
        return y, indices

    def max_pool2d_backward(self, dy: np.ndarray, indices: np.ndarray, x_shape: tuple) -> np.ndarray:
        if not (_f32(dy) and isinstance(x_shape, tuple) and len(x_shape) == 4
                and all(isinstance(v, _INTS) and v >= 1 for v in x_shape[1:])
                and dy.ndim == 4 and min(dy.shape[2:]) >= 1):
            return super().max_pool2d_backward(dy, indices, x_shape)
        check_pool_indices(indices, dy.shape, x_shape)  # NOTE: C checks the range again
        n, c, h, w = (int(v) for v in x_shape)
        dy, indices = _contiguous(dy), _contiguous(indices.astype(_I64, copy=False))
        dx = np.empty((n, c, h, w), dtype=_F32)
        self._run("nt_max_pool2d_bwd_f32", n, c, h, w, *dy.shape[2:], self._ptr(dy),
                  self._ptr(indices, "int64_t[]"), self._ptr(dx), get_num_threads())
        return dx

    def avg_pool2d_forward(self, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                           padding: tuple[int, int]) -> np.ndarray:
        found = self._pool_dims(x.shape, kernel, stride, padding) if _f32(x) else None
        if found is None:
            return super().avg_pool2d_forward(x, kernel, stride, padding)
        dims, (ho, wo) = found
        x = _contiguous(x)
        y = np.empty((*x.shape[:2], ho, wo), dtype=_F32)
        self._run("nt_avg_pool2d_fwd_f32", *dims, self._ptr(x), self._ptr(y), get_num_threads())
        return y

    def avg_pool2d_backward(self, dy: np.ndarray, x_shape: tuple, kernel: tuple[int, int],
                            stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
        found = self._pool_dims(x_shape, kernel, stride, padding) if _f32(dy) else None
        if found is None:
            return super().avg_pool2d_backward(dy, x_shape, kernel, stride, padding)
        dims, (ho, wo) = found
        if dy.shape != (*dims[:2], ho, wo):
            raise ValueError(f"avg_pool2d_backward: dy is {list(dy.shape)}, expected "
                             f"{[*dims[:2], ho, wo]} for x {list(x_shape)}")
        dy = _contiguous(dy)
        dx = np.empty(dims[:4], dtype=_F32)
        self._run("nt_avg_pool2d_bwd_f32", *dims, self._ptr(dy), self._ptr(dx), get_num_threads())
        return dx

    # --------------------------------------------------------- optimizer updates
    def _step_args(self, param, grad, *state) -> np.ndarray | None:
        """``grad`` ready for C (contiguous, not overlapping the state), or ``None`` when the
        arrays are not float32 of one shape that C can update in place."""
        if not _f32(param, grad, *state) or grad.shape != param.shape:
            return None
        for s in state:
            if s is not None and s.shape != param.shape:
                return None
        if not _inplace(param, *state):
            return None
        for s in (param, *state):
            if s is not None and _overlap(grad, s):
                return grad.copy()
        return _contiguous(grad)

    def _tensor_table(self, cache: dict | None, columns: tuple) -> _TensorTable | None:
        """The validated pointers of ``columns`` (``(params, state, ...)``, lists of arrays
        updated in place; a state may be ``None``), from ``cache`` when it holds them, or
        ``None`` when C cannot update these arrays (NumPy's turn)."""
        key = tuple([id(a) for column in columns if column is not None for a in column])
        table = cache.get(key) if cache is not None else None
        if table is None:
            table = _TensorTable.build(self.ffi, columns)
            if table is not None and cache is not None:
                if len(cache) >= 2:  # NOTE: at most two live sets per group (see SGD.step)
                    cache.clear()
                cache[key] = table
        elif not table.unchanged():
            return None
        return table

    def sgd_multi_step(self, params: list[np.ndarray], grads: list[np.ndarray],
                       bufs: list[np.ndarray] | None, *, lr: float, momentum: float,
                       dampening: float, nesterov: bool, weight_decay: float, maximize: bool,
                       first: bool, cache: dict | None = None) -> None:
        table = None
        if (_real(lr, momentum, dampening, weight_decay) and len(grads) == len(params)
                and (bufs is not None or not momentum)):
            table = self._tensor_table(cache, (params, bufs if momentum else None))
        found = table.grads(grads) if table is not None else None
        if found is None:
            return super().sgd_multi_step(params, grads, bufs, lr=lr, momentum=momentum,
                                          dampening=dampening, nesterov=nesterov,
                                          weight_decay=weight_decay, maximize=maximize,
                                          first=first)
        ptrs = table.pointers
        self._run("nt_sgd_multi_step_f32", len(params), table.sizes, ptrs[0], found[0],
                  ptrs[1] if momentum else self.ffi.NULL, float(lr), float(momentum),
                  float(dampening), int(bool(nesterov)), float(weight_decay),
                  int(bool(maximize)), int(bool(first)), get_num_threads())

    def adam_multi_step(self, params: list[np.ndarray], grads: list[np.ndarray],
                        exp_avgs: list[np.ndarray], exp_avg_sqs: list[np.ndarray],
                        max_exp_avg_sqs: list[np.ndarray] | None, *, step: int, lr: float,
                        beta1: float, beta2: float, eps: float, weight_decay: float,
                        decoupled: bool, maximize: bool, cache: dict | None = None) -> None:
        table = None
        if (_real(lr, beta1, beta2, eps, weight_decay) and isinstance(step, _INTS)
                and step >= 1 and len(grads) == len(params)
                and exp_avgs is not None and exp_avg_sqs is not None):
            table = self._tensor_table(cache, (params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs))
        found = table.grads(grads) if table is not None else None
        if found is None:
            return super().adam_multi_step(params, grads, exp_avgs, exp_avg_sqs,
                                           max_exp_avg_sqs, step=step, lr=lr, beta1=beta1,
                                           beta2=beta2, eps=eps, weight_decay=weight_decay,
                                           decoupled=decoupled, maximize=maximize)
        ptrs = table.pointers
        self._run("nt_adam_multi_step_f32", len(params), table.sizes, ptrs[0], found[0], ptrs[1],
                  ptrs[2], ptrs[3] if max_exp_avg_sqs is not None else self.ffi.NULL,
                  int(step), float(lr), float(beta1), float(beta2), float(eps),
                  float(weight_decay), int(bool(decoupled)), int(bool(maximize)),
                  get_num_threads())

    def rmsprop_step(self, param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray,
                     buf: np.ndarray | None, grad_avg: np.ndarray | None, *, lr: float,
                     alpha: float, eps: float, weight_decay: float, momentum: float,
                     maximize: bool) -> None:
        g = self._step_args(param, grad, square_avg, buf, grad_avg)
        if (g is None or square_avg is None or (momentum > 0 and buf is None)
                or not _real(lr, alpha, eps, weight_decay, momentum)):
            return super().rmsprop_step(param, grad, square_avg, buf, grad_avg, lr=lr,
                                        alpha=alpha, eps=eps, weight_decay=weight_decay,
                                        momentum=momentum, maximize=maximize)
        self._run("nt_rmsprop_step_f32", param.size, self._ptr(param), self._ptr(g),
                  self._ptr(square_avg), self._ptr(buf if momentum > 0 else None),
                  self._ptr(grad_avg), float(lr), float(alpha), float(eps),
                  float(weight_decay), float(momentum), int(bool(maximize)), get_num_threads())
