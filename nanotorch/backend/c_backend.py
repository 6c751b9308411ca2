"""The C backend: the NumPy backend's kernel table, with the hot kernels compiled (cffi).

Every method reads like its NumPy twin: decide whether C covers the call (float32 arrays of
the ranks the kernel takes; anything else falls through to the NumPy method, so the NumPy
backend stays the specification of every answer), allocate the outputs, and call the
kernel with ``_call`` on arguments made ready by ``_arg``. The user-facing rules (shapes,
label ranges, pooling windows) are checked once, in the op layer; here only the guards that
keep C inside its buffers remain: ``_arg`` gives C an array of the exact dtype, in C order,
of the shape whose sizes C is told, and the kernels re-check sizes and labels as the last
net. ``conv2d`` keeps its ``cols`` in a layout of its own (see ``conv2d_backward``).
"""

from __future__ import annotations

import atexit
import bisect
import math
import os

import numpy as np

import nanotorch._kernels as _kernels  # ModuleNotFoundError when not built
from nanotorch.backend.guards import check_pool_indices, pool_output_size
from nanotorch.backend.numpy_backend import NumpyBackend
from nanotorch.threads import get_num_threads

_lib = _kernels.lib
atexit.register(_lib.nt_threads_shutdown)  # the kernels' thread pool (kernels/threads.c)
_ffi = _kernels.ffi
_from_buffer, _NULL = _ffi.from_buffer, _ffi.NULL
_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)
_U8 = np.dtype(np.uint8)
# C type -> its dtype and cffi's parsed type (NOTE: from_buffer with a parsed type skips
# cffi's lookup of the type's text: ~40 ns a pointer)
_CTYPES = {ctype: (dtype, _ffi.typeof(ctype))
           for ctype, dtype in (("float[]", _F32), ("int64_t[]", _I64), ("uint8_t[]", _U8))}
_C_OF = {dtype: cdata_type for dtype, cdata_type in _CTYPES.values()}  # dtype -> cffi type
_FLOATS, _INT64S = _CTYPES["float[]"][1], _CTYPES["int64_t[]"][1]  # for direct calls
_BYTES = _ffi.typeof("char[]")  # any array as bytes (take_rows)
# take_rows: bytes a gather needs before C's two threads beat NumPy's one (two of take.c's
# NT_TAKE_PAR_MIN: on one thread the kernel and NumPy's take both wait on memory alike)
_TAKE_C_MIN_BYTES = 64 * 1024
_CARRAY_READ = 0x0001 | 0x0100  # NumPy's flag bits C_CONTIGUOUS | ALIGNED (ndarray.flags.num)
_INTS = (int, np.integer)
_REALS = (float, int, np.floating, np.integer)
_STATUS = {_lib.NT_EINVAL: "invalid argument", _lib.NT_ENOMEM: "out of memory"}
# The one speed rule of this backend: a Linear product of fewer multiply-adds than this runs
# on NumPy's BLAS, whose fixed cost per call is lower (`python -m nanotorch` states it). Where
# the two cross, forward+backward through this backend, 1 thread, AMD EPYC (AVX2), minima of
# 3,000: x[64,64] W[10,64] (40,960) 15.6 µs in C, 15.3 on NumPy; x[64,128] W[10,128] (81,920,
# the seed's second layer) 20.0 in C, 22.4 on NumPy; x[1,784] W[128,784] 54 against 163.
SMALL_LINEAR_MACS = 60_000
_POOL_MAX_SIZE = (2**63 - 1) // 64  # padded pooling input elements the C kernels take (pool.c)
_INT32_MAX = 2**31 - 1
# 3x3 convolutions (stride 1, padding <= 2) with at least this many input and output
# channels run as Winograd's F(2x2, 3x3) (kernels/winograd.c): its transforms cost about
# as much per pixel as im2col's copies, and its GEMMs do 4/9 of the multiply-adds.
_WINOGRAD_MIN_CHANNELS = 8
_TABLES_KEPT = 8  # optimizer pointer tables the backend keeps (see _tensor_table)
ISAS = ("avx512", "avx2", "neon", "generic")  # the GEMM's instruction sets (kernels/gemm.c)
_GELU = {"none": _lib.NT_GELU_NONE, "tanh": _lib.NT_GELU_TANH}
_REDUCTIONS = {"none": _lib.NT_REDUCE_NONE, "mean": _lib.NT_REDUCE_MEAN,
               "sum": _lib.NT_REDUCE_SUM}

def isa() -> str:
    """The instruction set the GEMM runs on (the widest this CPU has, AVX2 on AMD Zen 4, or
    ``select_isa``'s)."""
    return _ffi.string(_lib.nt_isa_current()).decode()


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
    info = _ffi.new("int64_t[8]")
    _lib.nt_gemm_tuning(info)
    keys = ("l1d_bytes", "l2_bytes", "l3_bytes", "mr", "nr", "kc", "nc", "mc")
    return dict(zip(keys, (int(v) for v in info)))


def fma_peak_gflops(seconds: float = 0.2) -> float:
    """One core's float32 peak in GFLOP/s, measured now: the best of a few bursts of the GEMM
    instruction set's independent multiply-adds (``nt_fma_gflops``), ~``seconds`` in all."""
    sink = _ffi.new("float *")
    rounds, best = 1 << 16, 0.0
    while _lib.nt_fma_gflops(rounds, sink) * 1e9 * seconds / 10 > 2.0 * rounds * 192:
        rounds *= 2  # until one burst takes ~seconds / 10 (192 flops per round at most)
    for _ in range(10):
        best = max(best, _lib.nt_fma_gflops(rounds, sink))
    return best



def _call(kernel: str, *args) -> None:
    """Call ``lib.<kernel>(*args)``; a non-zero status becomes a RuntimeError naming it."""
    status = getattr(_lib, kernel)(*args)
    if status:
        _fail(kernel, status)


def _fail(kernel: str, status: int) -> None:
    """Raise the RuntimeError for a kernel that returned a non-zero ``status``."""
    raise RuntimeError(f"C kernel {kernel} failed: {_STATUS.get(status, status)} (status {status})")


def _arg(a: np.ndarray | None, shape: tuple | None = None, ctype: str = "float[]",
         inplace: bool = False):
    """``a`` as a C kernel takes it: a ``ctype`` pointer to its data in C order (``NULL`` for
    ``None``). An input of another dtype or layout is copied; an array C updates in place
    (``inplace``) must already be one C can write (``_inplace``). Raises ValueError unless
    ``a.shape == shape`` (when given): the sizes C is told must be the array's."""
    if a is None:
        return _NULL
    if shape is not None and a.shape != shape:
        raise _shape_error(a, shape)
    dtype, cdata_type = _CTYPES[ctype]
    # NOTE: the common case in one test: NumPy's own dtype object (``is``, not ``==``) and
    # both flags from one read of the flag bits; anything else takes the checks below.
    if a.dtype is not dtype or a.flags.num & _CARRAY_READ != _CARRAY_READ:
        flags = a.flags
        if not (a.dtype == dtype and flags.c_contiguous and flags.aligned):
            if inplace:
                raise ValueError(f"C kernel argument updated in place must be C-contiguous {dtype}")
            a = _copy(a, dtype)
    return _from_buffer(cdata_type, a, inplace)


def _shape_error(a: np.ndarray, shape: tuple) -> ValueError:
    """The error for an array whose shape is not the one whose sizes C is told."""
    return ValueError(f"C kernel argument of shape {list(a.shape)}, expected {list(shape)}")


def _check_shapes(*pairs: tuple) -> None:
    """Raise ``_shape_error`` for the first ``(array, shape)`` pair whose array (``None``
    skipped) has another shape."""
    for a, shape in pairs:
        if a is not None and a.shape != shape:
            raise _shape_error(a, shape)


def _as_is(a, dtype: np.dtype = _F32) -> bool:
    """``a`` is an ndarray of NumPy's own ``dtype`` object that C reads as it is: C-contiguous
    and aligned, tested in one read of the flag bits (what ``_arg`` tests before copying)."""
    return type(a) is np.ndarray and a.dtype is dtype and a.flags.num & _CARRAY_READ == _CARRAY_READ


def _copy(a: np.ndarray, dtype: np.dtype = _F32) -> np.ndarray:
    """A copy of ``a`` that C reads as it is: ``dtype``, C-contiguous, aligned."""
    return np.array(a, dtype=dtype, order="C")


def _as_is_or_copy(a, dtype: np.dtype = _F32) -> np.ndarray:
    """``a`` when C reads it as it is (``_as_is``), else ``_copy(a, dtype)``."""
    return a if _as_is(a, dtype) else _copy(a, dtype)


def _out(shape, dtype: np.dtype = _F32) -> tuple:
    """A new output array and the pointer C writes it through: ``np.empty`` makes it
    C-contiguous and aligned, of NumPy's own ``dtype`` object, so it skips ``_arg``'s tests."""
    a = np.empty(shape, dtype)
    return a, _from_buffer(_C_OF[dtype], a, True)


def _f32(*arrays) -> bool:
    """Every array given (``None`` skipped) is a float32 ndarray: what the kernels take."""
    for a in arrays:  # NOTE: the common case first, by identity: NumPy's float32 dtype
        if not (type(a) is np.ndarray and a.dtype is _F32 or a is None
                or isinstance(a, np.ndarray) and a.dtype == _F32):
            return False
    return True


def _real(*values) -> bool:
    """Every value is a real number (not bool): what the C side takes as a double."""
    for v in values:  # NOTE: the common case first: a Python float
        if type(v) is not float and (not isinstance(v, _REALS) or isinstance(v, bool)):
            return False
    return True


def _counts(values) -> bool:
    """Every value is an integer >= 1 (a step count, which C takes as an int64)."""
    for v in values:
        if not (isinstance(v, _INTS) and v >= 1):
            return False
    return True


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays may share memory (cheap when both own their data)."""
    if a.base is None and b.base is None:
        return a is b
    return np.may_share_memory(a, b)


def _writable(a: np.ndarray) -> bool:
    """``a`` is an array C can update in place: float32 and a ``carray`` (NumPy's flag for
    C-contiguous, aligned and writeable)."""
    return (a.dtype is _F32 or a.dtype == _F32) and a.flags.carray


def _inplace(*arrays) -> bool:
    """Arrays a kernel writes in place (``None`` skipped) are ones it can (``_writable``),
    pairwise disjoint (the kernels declare them ``restrict``)."""
    given = []
    for a in arrays:
        if a is None:
            continue
        if not _writable(a):
            return False
        for b in given:
            if _overlap(a, b):
                return False
        given.append(a)
    return True


class _TensorTable:
    """The C pointers of the arrays a multi-tensor optimizer step updates in place.

    ``columns`` are ``(params, state, ...)``: lists with one array per parameter, each
    state array shaped like its parameter (a whole state column may be ``None``). Built
    once the arrays pass every check (float32, the param's shape, C-contiguous, aligned,
    writeable, no two sharing memory); it holds the arrays through cffi's ``from_buffer``
    objects, so a pointer never outlives its array, and an array replaced by another
    (another ``id``) gives another key, hence a new table. ``unchanged()`` repeats the
    cheap checks an array can fail in place (``a.shape = ...``, ``a.dtype = ...``,
    ``a.flags.writeable = False``) before each use; ``grads()`` checks the gradients,
    new arrays at every step.
    """

    __slots__ = ("arrays", "shapes", "array_shapes", "sizes", "pointers", "starts", "ends", "ids",
                 "_keep")

    @classmethod
    def build(cls, columns: tuple) -> _TensorTable | None:
        params = columns[0]
        shapes = [p.shape if isinstance(p, np.ndarray) else None for p in params]
        arrays, bounds = [], []
        for column in columns:
            if column is None:
                continue
            if len(column) != len(params):
                return None
            for a, shape in zip(column, shapes):
                if not (isinstance(a, np.ndarray) and a.shape == shape and _writable(a)):
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
        table.arrays, table.shapes = arrays, shapes
        table.array_shapes = [a.shape for a in arrays]
        table.ids = {id(a) for a in arrays}
        table.starts, table.ends = [b[0] for b in bounds], [b[1] for b in bounds]
        table.sizes = _ffi.new("int64_t[]", [p.size for p in params])
        keep = [_ffi.from_buffer("float[]", a, require_writable=True) for a in arrays]
        table.pointers, n, at = [], len(params), 0
        for column in columns:  # one float *[] per column (NULL for a missing state)
            table.pointers.append(_ffi.NULL if column is None
                                  else _ffi.new("float *[]", keep[at:at + n]))
            at += 0 if column is None else n
        table._keep = keep
        return table

    def unchanged(self) -> bool:
        """Every array still is float32, shaped as its parameter, contiguous, writeable."""
        for a, shape in zip(self.arrays, self.array_shapes):
            # NOTE: NumPy's own float32 dtype object first (``is``), as ``_arg`` does
            if not ((a.dtype is _F32 or a.dtype == _F32) and a.shape == shape and a.flags.carray):
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
        param's shape. A gradient that may share memory with an array the step writes is
        copied first (``_arg`` copies one that is not C-contiguous)."""
        held = []
        for g, shape in zip(grads, self.shapes, strict=True):
            if not (isinstance(g, np.ndarray) and (g.dtype is _F32 or g.dtype == _F32)
                    and g.shape == shape):
                return None
            if id(g) in self.ids or (g.base is not None and self._overlaps(g)):
                g = g.copy()
            held.append(_arg(g))
        return _ffi.new("float *[]", held), held


def _bn_dims(x: np.ndarray) -> tuple[int, int, int]:
    """``x[N, C, *]`` as ``(N, C, prod(*))``."""
    return x.shape[0], x.shape[1], math.prod(x.shape[2:])


def _pair(v, low: int) -> bool:
    """``v`` is a pair of integers ``>= low`` (a stride, padding or window of the kernels)."""
    return isinstance(v, tuple) and len(v) == 2 and all(isinstance(i, _INTS) and i >= low for i in v)


def _conv_dims(x_shape: tuple, w: np.ndarray, stride, padding) -> tuple | None:
    """The 11 sizes the conv kernels take, ``(N, C, H, W, O, kh, kw, sh, sw, ph, pw)``, or
    ``None`` when C does not cover the call (not 4-D, or a window that does not fit)."""
    if not (w.ndim == 4 and len(x_shape) == 4 and _pair(stride, 1) and _pair(padding, 0)):
        return None
    n, c, h, wd = (int(v) for v in x_shape)
    o, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = (int(v) for v in stride), (int(v) for v in padding)
    if kh > h + 2 * ph or kw > wd + 2 * pw or min(o, c, h, wd, kh, kw) < 1 or n < 0:
        return None
    return n, c, h, wd, o, kh, kw, sh, sw, ph, pw


def _winograd_tiles(dims: tuple) -> int | None:
    """Tiles per image of ``nt_conv2d_wino_*`` for the conv ``dims`` (``_conv_dims``), or
    None when the call is not theirs: ``ceil(Ho/2) * ceil(Wo/2)``."""
    n, c, h, w, o, kh, kw, sh, sw, ph, pw = dims
    if not (kh == kw == 3 and sh == sw == 1 and ph <= 2 and pw <= 2
            and min(c, o) >= _WINOGRAD_MIN_CHANNELS):
        return None
    return (h + 2 * ph - 1) // 2 * ((w + 2 * pw - 1) // 2)


def _pool_dims(x_shape, kernel, stride, padding) -> tuple | None:
    """``(sizes, (Ho, Wo))`` with the 10 sizes the pooling kernels take, or ``None`` when C
    does not cover the call. Raises when the windows do not fit (``pool_output_size``)."""
    if not (isinstance(x_shape, tuple) and len(x_shape) == 4
            and all(isinstance(v, _INTS) for v in x_shape) and _pair(kernel, 1)
            and _pair(stride, 1) and _pair(padding, 0)):
        return None
    out = pool_output_size(x_shape, kernel, stride, padding)
    dims = tuple(int(v) for v in (*x_shape, *kernel, *stride, *padding))
    n, c, h, w, _, _, _, _, ph, pw = dims
    if n * c * (h + 2 * ph) * (w + 2 * pw) > _POOL_MAX_SIZE:  # absurd padding: NumPy's turn
        return None
    return dims, out


class CBackend(NumpyBackend):
    """The kernels in ``kernels/*.c``; anything else is the NumPy backend's."""

    name = "c"

    def __init__(self) -> None:
        self.ffi = _ffi
        self.lib = _lib
        self._tables: dict[tuple, _TensorTable] = {}  # optimizer pointer tables (_tensor_table)

    @property
    def small_linear_macs(self) -> int:
        """Linear products of fewer multiply-adds run on NumPy (``SMALL_LINEAR_MACS``)."""
        return SMALL_LINEAR_MACS

    def build_info(self) -> dict:
        """The compiled module: its file, compiler flags, GEMM instruction set and blocking,
        SIMD width of the other kernels, and the threads the kernels may use."""
        text = _ffi.string(_lib.nt_build_info()).decode()
        fields = dict(item.split("=", 1) for item in text.split(";"))
        return {"library": _kernels.__file__, "cflags": fields.get("flags", "unknown"),
                "isa": isa(), "gemm_tuning": gemm_tuning(),
                "simd": fields.get("simd", "unknown"), "num_threads": get_num_threads()}

    # ----------------------------------------------------------------- linear
    @staticmethod
    def _linear_in_c(x, w, b, dy=None) -> bool:
        """C takes 2-D float32 products of at least ``SMALL_LINEAR_MACS`` multiply-adds."""
        return (_f32(x, w, b, dy) and x.ndim == 2 and w.ndim == 2
                and x.shape[0] * x.shape[1] * w.shape[0] >= SMALL_LINEAR_MACS)

    # NOTE: the seed MLP's second layer (x[64,128] W[10,128]) is ~8 us of kernels, fwd+bwd,
    # so the common case (arrays C reads as they are, ``_as_is``; shapes that agree) calls
    # its kernel directly, as relu does: fwd+bwd 15.6 -> 13.7 us (NumPy 11.5; EPYC Zen 4,
    # 2 threads). Other float32 arrays are checked, copied and sent round again.
    def linear_forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        if not (_as_is(x) and _as_is(w) and x.ndim == 2 and w.ndim == 2
                and x.shape[1] == w.shape[1] and (b is None or _as_is(b) and b.shape == w.shape[:1])
                and x.shape[0] * x.shape[1] * w.shape[0] >= SMALL_LINEAR_MACS):
            if not self._linear_in_c(x, w, b):
                return super().linear_forward(x, w, b)
            (n, k), m = x.shape, w.shape[0]
            _check_shapes((w, (m, k)), (b, (m,)))
            return self.linear_forward(_as_is_or_copy(x), _as_is_or_copy(w),
                                       None if b is None else _as_is_or_copy(b))
        (n, k), m = x.shape, w.shape[0]
        y = np.empty((n, m), _F32)
        status = _lib.nt_linear_fwd_f32(
            n, k, m, _from_buffer(_FLOATS, x, False), _from_buffer(_FLOATS, w, False),
            _NULL if b is None else _from_buffer(_FLOATS, b, False),
            _from_buffer(_FLOATS, y, True), get_num_threads())
        if status:
            _fail("nt_linear_fwd_f32", status)
        return y

    def linear_backward(self, dy: np.ndarray, x: np.ndarray, w: np.ndarray,
                        need_dx: bool, need_dw: bool, need_db: bool):
        if not (_as_is(dy) and _as_is(x) and _as_is(w) and x.ndim == 2 and w.ndim == 2
                and dy.shape == (x.shape[0], w.shape[0]) and x.shape[1] == w.shape[1]
                and x.shape[0] * x.shape[1] * w.shape[0] >= SMALL_LINEAR_MACS):
            if not self._linear_in_c(x, w, None, dy):
                return super().linear_backward(dy, x, w, need_dx, need_dw, need_db)
            (n, k), m = x.shape, w.shape[0]
            _check_shapes((dy, (n, m)), (w, (m, k)))
            return self.linear_backward(_as_is_or_copy(dy), _as_is_or_copy(x), _as_is_or_copy(w),
                                        need_dx, need_dw, need_db)
        (n, k), m = x.shape, w.shape[0]
        dx = np.empty((n, k), _F32) if need_dx else None
        dw = np.empty((m, k), _F32) if need_dw else None
        db = np.empty(m, _F32) if need_db else None
        status = _lib.nt_linear_bwd_f32(
            n, k, m, _from_buffer(_FLOATS, dy, False), _from_buffer(_FLOATS, x, False),
            _from_buffer(_FLOATS, w, False),
            _NULL if dx is None else _from_buffer(_FLOATS, dx, True),
            _NULL if dw is None else _from_buffer(_FLOATS, dw, True),
            _NULL if db is None else _from_buffer(_FLOATS, db, True), get_num_threads())
        if status:
            _fail("nt_linear_bwd_f32", status)
        return dx, dw, db

    # ------------------------------------------------------------------- relu
    # NOTE: relu is the smallest kernel of a step (x[64,128]: 1.1 us in C), so arrays C reads
    # as they are (``_as_is``, tested inline: 0.2 us less) go to the kernel without ``_out``/
    # ``_arg``/``_call``: fwd+bwd 7.1 -> 5.6 us (NumPy 18 us; EPYC, 1 thread, min of 9 x 3,000).
    # Other float32 arrays are copied first (``_copy``), other dtypes left to NumPy.
    def relu_forward(self, x: np.ndarray) -> np.ndarray:
        if not (type(x) is np.ndarray and x.dtype is _F32
                and x.flags.num & _CARRAY_READ == _CARRAY_READ):
            return self.relu_forward(_copy(x)) if _f32(x) else super().relu_forward(x)
        y = np.empty(x.shape, _F32)
        status = _lib.nt_relu_fwd_f32(x.size, _from_buffer(_FLOATS, x, False),
                                      _from_buffer(_FLOATS, y, True), get_num_threads())
        if status:
            _fail("nt_relu_fwd_f32", status)
        return y

    def relu_backward(self, dy: np.ndarray, y: np.ndarray) -> np.ndarray:
        if not (type(dy) is np.ndarray and dy.dtype is _F32
                and dy.flags.num & _CARRAY_READ == _CARRAY_READ and type(y) is np.ndarray
                and y.dtype is _F32 and y.flags.num & _CARRAY_READ == _CARRAY_READ
                and dy.shape == y.shape):
            if not _f32(dy, y):
                return super().relu_backward(dy, y)
            if dy.shape != y.shape:
                raise ValueError(f"relu backward: gradient of shape {list(dy.shape)} for an output "
                                 f"of shape {list(y.shape)}")
            return self.relu_backward(_as_is_or_copy(dy), _as_is_or_copy(y))
        dx = np.empty(y.shape, _F32)
        status = _lib.nt_relu_bwd_f32(y.size, _from_buffer(_FLOATS, dy, False),
                                      _from_buffer(_FLOATS, y, False),
                                      _from_buffer(_FLOATS, dx, True), get_num_threads())
        if status:
            _fail("nt_relu_bwd_f32", status)
        return dx

    # ------------------------------------------------------------------- gelu
    def gelu_forward(self, x: np.ndarray, approximate: str) -> np.ndarray:
        if not (_f32(x) and approximate in _GELU):
            return super().gelu_forward(x, approximate)
        y, y_p = _out(x.shape)
        _call("nt_gelu_fwd_f32", x.size, _arg(x), _GELU[approximate], y_p, get_num_threads())
        return y

    def gelu_backward(self, dy: np.ndarray, x: np.ndarray, approximate: str) -> np.ndarray:
        if not (_f32(dy, x) and approximate in _GELU):
            return super().gelu_backward(dy, x, approximate)
        dx, dx_p = _out(x.shape)
        _call("nt_gelu_bwd_f32", x.size, _arg(dy, x.shape), _arg(x), _GELU[approximate], dx_p,
              get_num_threads())
        return dx

    # -------------------------------------------------------------- batchnorm
    def batch_norm_forward(self, x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
                           running_mean: np.ndarray | None, running_var: np.ndarray | None,
                           training: bool, momentum: float, eps: float):
        if not (_f32(x, gamma, beta) and x.ndim >= 2 and _real(momentum, eps)
                and (running_mean is None) == (running_var is None)
                and (training or running_mean is not None) and _inplace(running_mean, running_var)):
            return super().batch_norm_forward(x, gamma, beta, running_mean, running_var,
                                              training, momentum, eps)
        n, c, hw = _bn_dims(x)
        y = np.empty(x.shape, dtype=_F32)
        mean, invstd = np.empty(c, dtype=_F32), np.empty(c, dtype=_F32)
        _call("nt_batchnorm_fwd_f32", n, c, hw, _arg(x), _arg(gamma, (c,)), _arg(beta, (c,)),
              _arg(running_mean, (c,), inplace=True), _arg(running_var, (c,), inplace=True),
              int(training), float(momentum), float(eps), _arg(y), _arg(mean), _arg(invstd),
              get_num_threads())
        return y, mean, invstd

    def batch_norm_backward(self, dy: np.ndarray, x: np.ndarray, gamma: np.ndarray | None,
                            mean: np.ndarray, invstd: np.ndarray, training: bool,
                            need_dx: bool, need_dgamma: bool, need_dbeta: bool):
        if not (_f32(dy, x, gamma, mean, invstd) and x.ndim >= 2):
            return super().batch_norm_backward(dy, x, gamma, mean, invstd, training,
                                               need_dx, need_dgamma, need_dbeta)
        n, c, hw = _bn_dims(x)
        dx = np.empty(x.shape, dtype=_F32) if need_dx else None
        dgamma = np.empty(c, dtype=_F32) if need_dgamma else None
        dbeta = np.empty(c, dtype=_F32) if need_dbeta else None
        _call("nt_batchnorm_bwd_f32", n, c, hw, _arg(dy, x.shape), _arg(x), _arg(gamma, (c,)),
              _arg(mean, (c,)), _arg(invstd, (c,)), int(training), _arg(dx), _arg(dgamma),
              _arg(dbeta), get_num_threads())
        return dx, dgamma, dbeta

    # ------------------------------------------------------ softmax + cross-entropy
    @staticmethod
    def _cross_entropy_in_c(a, target, reduction, label_smoothing, ignore_index) -> bool:
        """C takes float32 ``[N, C>=1]`` with integer labels ``[N]`` (C checks their range)."""
        # NOTE: the common types first (float32 by identity, a Python float and int): the
        # general tests only when those fail (~0.3 µs a call less, forward and backward)
        return ((type(a) is np.ndarray and a.dtype is _F32 or _f32(a)) and a.ndim == 2
                and a.shape[1] >= 1 and isinstance(target, np.ndarray)
                and (target.dtype is _I64 or target.dtype.kind in "iu") and reduction in _REDUCTIONS
                and (type(label_smoothing) is float or _real(label_smoothing))
                and (type(ignore_index) is int or isinstance(ignore_index, _INTS)))

    # NOTE: as relu's, the common call (arrays C reads as they are, ``_as_is``; a Python float
    # and int) goes to the kernel without ``_out``/``_arg``/``_call``: forward 5.2 -> 3.9 us on
    # logits[64,10] (EPYC, 1 thread, min of 9 x 3,000). Any other is first made so (``_copy``,
    # ``float``, ``int``) or left to NumPy. ``_as_is`` is written out, the arrays' flag bits
    # tested in one ``&``: ~0.1 us less a call (Xeon, logits[64,10], min of 9 x 30,000:
    # forward 2.49 -> 2.41 us, backward 2.13 -> 2.02).
    def cross_entropy_forward(self, logits: np.ndarray, target: np.ndarray, reduction: str,
                              label_smoothing: float, ignore_index: int):
        if not (type(logits) is np.ndarray and type(target) is np.ndarray
                and logits.dtype is _F32 and target.dtype is _I64
                and logits.flags.num & target.flags.num & _CARRAY_READ == _CARRAY_READ
                and logits.ndim == 2 and target.shape == logits.shape[:1] and logits.shape[1] >= 1
                and type(label_smoothing) is float and type(ignore_index) is int
                and reduction in _REDUCTIONS):
            if not self._cross_entropy_in_c(logits, target, reduction, label_smoothing, ignore_index):
                return super().cross_entropy_forward(logits, target, reduction, label_smoothing,
                                                     ignore_index)
            if target.shape != logits.shape[:1]:
                raise _shape_error(target, logits.shape[:1])
            return self.cross_entropy_forward(_as_is_or_copy(logits), _as_is_or_copy(target, _I64), reduction,
                                              float(label_smoothing), int(ignore_index))
        n, c = logits.shape
        loss = np.empty(n if reduction == "none" else (), _F32)
        probs = np.empty((n, c), _F32)
        status = _lib.nt_cross_entropy_fwd_f32(
            n, c, _from_buffer(_FLOATS, logits, False), _from_buffer(_INT64S, target, False),
            _REDUCTIONS[reduction], label_smoothing, ignore_index,
            _from_buffer(_FLOATS, loss, True), _from_buffer(_FLOATS, probs, True),
            get_num_threads())
        if status:
            _fail("nt_cross_entropy_fwd_f32", status)
        return loss, probs

    def cross_entropy_backward(self, dloss: np.ndarray, probs: np.ndarray, target: np.ndarray,
                               reduction: str, label_smoothing: float, ignore_index: int):
        if not (type(probs) is np.ndarray and type(target) is np.ndarray
                and type(dloss) is np.ndarray and probs.dtype is _F32 and target.dtype is _I64
                and dloss.dtype is _F32
                and probs.flags.num & target.flags.num & dloss.flags.num & _CARRAY_READ == _CARRAY_READ
                and probs.ndim == 2 and target.shape == probs.shape[:1]
                and dloss.shape in ((), target.shape)
                and probs.shape[1] >= 1 and type(label_smoothing) is float
                and type(ignore_index) is int and reduction in _REDUCTIONS):
            if type(dloss) is not np.ndarray:
                dloss = np.asarray(dloss)
            n = probs.shape[0] if isinstance(probs, np.ndarray) else -1
            if not (self._cross_entropy_in_c(probs, target, reduction, label_smoothing, ignore_index)
                    and dloss.dtype.kind == "f" and dloss.shape in ((), (n,))):
                return super().cross_entropy_backward(dloss, probs, target, reduction,
                                                      label_smoothing, ignore_index)
            if target.shape != (n,):
                raise _shape_error(target, (n,))
            return self.cross_entropy_backward(
                _as_is_or_copy(dloss), _as_is_or_copy(probs), _as_is_or_copy(target, _I64),
                reduction, float(label_smoothing), int(ignore_index))
        n, c = probs.shape
        dlogits = np.empty((n, c), _F32)
        status = _lib.nt_cross_entropy_bwd_f32(
            n, c, _from_buffer(_FLOATS, dloss, False), int(dloss.ndim == 1),
            _from_buffer(_FLOATS, probs, False), _from_buffer(_INT64S, target, False),
            _REDUCTIONS[reduction], label_smoothing, ignore_index,
            _from_buffer(_FLOATS, dlogits, True), get_num_threads())
        if status:
            _fail("nt_cross_entropy_bwd_f32", status)
        return dlogits

    # ------------------------------------------------------------------ conv2d
    def conv2d_forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                       stride: tuple[int, int], padding: tuple[int, int]):
        dims = _conv_dims(x.shape, w, stride, padding) if _f32(x, w, b) else None
        if dims is None:
            return super().conv2d_forward(x, w, b, stride, padding)
        n, c, h, wd, o, kh, kw, sh, sw, ph, pw = dims
        ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
        y = np.empty((n, o, ho, wo), dtype=_F32)
        tiles = _winograd_tiles(dims)
        if tiles is not None:  # saves v, the input's transform (1-D: winograd.c's layout)
            v = np.empty(16 * c * n * tiles, dtype=_F32)
            _call("nt_conv2d_wino_fwd_f32", n, c, h, wd, o, ph, pw, _arg(x), _arg(w, (o, c, 3, 3)),
                  _arg(b, (o,)), _arg(y), _arg(v), get_num_threads())
            return y, v
        cols = np.empty((n, c * kh * kw, ho * wo), dtype=_F32)  # the layout: conv2d_backward
        _call("nt_conv2d_fwd_f32", *dims, _arg(x), _arg(w, (o, c, kh, kw)), _arg(b, (o,)),
              _arg(y), _arg(cols), get_num_threads())
        return y, cols

    def conv2d_backward(self, dy: np.ndarray, cols: np.ndarray, x_shape: tuple, w: np.ndarray,
                        stride: tuple[int, int], padding: tuple[int, int],
                        need_dx: bool, need_dw: bool, need_db: bool):
        """As NumPy's, but ``cols`` from this backend's forward is ``[N, C*kh*kw, Ho*Wo]``:
        NumPy's ``[N*Ho*Wo, C*kh*kw]`` transposed per image (the layout the C GEMMs read
        without transposing), or, 1-D, the Winograd forward's transform of the input.
        NumPy-layout ``cols`` (2-D) go to NumPy's backward; ``cols`` may be None when
        ``need_dw`` is False (only the weight's gradient reads it)."""
        if cols is None:
            if need_dw:
                raise ValueError("conv2d_backward: the weight's gradient needs the forward's cols")
        elif cols.ndim == 1:
            return self._winograd_backward(dy, cols, x_shape, w, stride, padding,
                                           need_dx, need_dw, need_db)
        dims = _conv_dims(x_shape, w, stride, padding) if _f32(dy, cols, w) else None
        if dims is None or cols is not None and cols.ndim != 3:
            if cols is not None and cols.ndim == 3:
                cols = cols.transpose(0, 2, 1).reshape(-1, cols.shape[1])
            return super().conv2d_backward(dy, cols, x_shape, w, stride, padding,
                                           need_dx, need_dw, need_db)
        n, c, h, wd, o, kh, kw, sh, sw, ph, pw = dims
        ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
        if n == 0:  # nothing to sum (the kernel would still size its scratch by H*W)
            return (np.empty((0, c, h, wd), dtype=_F32) if need_dx else None,
                    np.zeros(w.shape, dtype=_F32) if need_dw else None,
                    np.zeros(o, dtype=_F32) if need_db else None)
        dx = np.empty((n, c, h, wd), dtype=_F32) if need_dx else None
        dw = np.empty(w.shape, dtype=_F32) if need_dw else None
        db = np.empty(o, dtype=_F32) if need_db else None
        _call("nt_conv2d_bwd_f32", *dims, _arg(dy, (n, o, ho, wo)),
              _arg(cols, (n, c * kh * kw, ho * wo)), _arg(w, (o, c, kh, kw)), _arg(dx), _arg(dw),
              _arg(db), get_num_threads())
        return dx, dw, db

    @staticmethod
    def _winograd_backward(dy, v, x_shape, w, stride, padding, need_dx, need_dw, need_db):
        """``conv2d_backward`` from the Winograd forward's ``v`` (float32, as the forward)."""
        dims = _conv_dims(x_shape, w, stride, padding) if _f32(v, w) else None
        tiles = None if dims is None else _winograd_tiles(dims)
        if tiles is None:
            raise ValueError("conv2d_backward: a 1-D saved tensor is the C Winograd forward's; "
                             f"this call (input {x_shape}, weight {w.shape}) is not one")
        n, c, h, wd, o, _, _, _, _, ph, pw = dims
        dx = np.empty((n, c, h, wd), dtype=_F32) if need_dx else None
        dw = np.empty(w.shape, dtype=_F32) if need_dw else None
        db = np.empty(o, dtype=_F32) if need_db else None
        _call("nt_conv2d_wino_bwd_f32", n, c, h, wd, o, ph, pw, _arg(dy, (n, o, h + 2 * ph - 2,
                                                                      wd + 2 * pw - 2)),
              _arg(v, (16 * c * n * tiles,)), _arg(w, (o, c, 3, 3)), _arg(dx), _arg(dw), _arg(db),
              get_num_threads())
        return dx, dw, db

    # ----------------------------------------------------------------- pooling
    def max_pool2d_forward(self, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                           padding: tuple[int, int]):
        found = _pool_dims(x.shape, kernel, stride, padding) if _f32(x) else None
        if found is None or (kernel[0] - 1) * x.shape[3] + kernel[1] - 1 > _INT32_MAX:
            return super().max_pool2d_forward(x, kernel, stride, padding)  # (offsets: pool.c)
        dims, (ho, wo) = found
        y = np.empty((*x.shape[:2], ho, wo), dtype=_F32)
        indices = np.empty(y.shape, dtype=_I64)
        _call("nt_max_pool2d_fwd_f32", *dims, _arg(x), _arg(y), _arg(indices, ctype="int64_t[]"),
              get_num_threads())
        return y, indices

    def max_pool2d_backward(self, dy: np.ndarray, indices: np.ndarray, x_shape: tuple) -> np.ndarray:
        if not (_f32(dy) and isinstance(x_shape, tuple) and len(x_shape) == 4
                and all(isinstance(v, _INTS) and v >= 1 for v in x_shape[1:])
                and dy.ndim == 4 and min(dy.shape[2:]) >= 1):
            return super().max_pool2d_backward(dy, indices, x_shape)
        check_pool_indices(indices, dy.shape, x_shape)
        n, c, h, w = (int(v) for v in x_shape)
        dx = np.empty((n, c, h, w), dtype=_F32)
        _call("nt_max_pool2d_bwd_f32", n, c, h, w, *dy.shape[2:], _arg(dy),
              _arg(indices, dy.shape, "int64_t[]"), _arg(dx), get_num_threads())
        return dx

    def avg_pool2d_forward(self, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                           padding: tuple[int, int]) -> np.ndarray:
        found = _pool_dims(x.shape, kernel, stride, padding) if _f32(x) else None
        if found is None:
            return super().avg_pool2d_forward(x, kernel, stride, padding)
        dims, (ho, wo) = found
        y = np.empty((*x.shape[:2], ho, wo), dtype=_F32)
        _call("nt_avg_pool2d_fwd_f32", *dims, _arg(x), _arg(y), get_num_threads())
        return y

    def avg_pool2d_backward(self, dy: np.ndarray, x_shape: tuple, kernel: tuple[int, int],
                            stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
        found = _pool_dims(x_shape, kernel, stride, padding) if _f32(dy) else None
        if found is None:
            return super().avg_pool2d_backward(dy, x_shape, kernel, stride, padding)
        dims, (ho, wo) = found
        dx = np.empty(dims[:4], dtype=_F32)
        _call("nt_avg_pool2d_bwd_f32", *dims, _arg(dy, (*dims[:2], ho, wo)), _arg(dx),
              get_num_threads())
        return dx

    # ------------------------------------------------------------- batch gather
    def take_rows(self, a: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Whole rows of C-contiguous ``a`` (any numeric dtype) copied by C on two threads,
        when every ``index`` (int64) is in ``[0, len(a))`` and the batch is large enough to
        share (``_TAKE_C_MIN_BYTES``); anything else goes to NumPy (as fast on one thread),
        which also wraps negative indices and raises for one out of range."""
        nthreads = get_num_threads()
        if not (type(a) is np.ndarray and a.ndim >= 1 and not a.dtype.hasobject
                and a.flags.num & _CARRAY_READ == _CARRAY_READ and type(index) is np.ndarray
                and index.dtype is _I64 and index.ndim == 1
                and index.flags.num & _CARRAY_READ == _CARRAY_READ and nthreads > 1):
            return super().take_rows(a, index)
        row_bytes = a.itemsize * math.prod(a.shape[1:])
        if index.size * row_bytes < _TAKE_C_MIN_BYTES:
            return super().take_rows(a, index)
        out = np.empty(index.shape + a.shape[1:], a.dtype)
        status = _lib.nt_take_rows(a.shape[0], row_bytes, _from_buffer(_BYTES, a, False),
                                   index.size, _from_buffer(_INT64S, index, False),
                                   _from_buffer(_BYTES, out, True), nthreads)
        if status:  # an index outside [0, len(a)): nothing was copied
            return super().take_rows(a, index)
        return out

    # --------------------------------------------------------- optimizer updates
    def _tensor_table(self, columns: tuple) -> _TensorTable | None:
        """The validated pointers of ``columns`` (``(params, state, ...)``, lists of arrays
        updated in place; a state may be ``None``), or ``None`` when C cannot update these
        arrays (NumPy's turn). The backend keeps the tables of the last ``_TABLES_KEPT``
        sets of arrays (an optimizer step reuses its arrays, so one table serves every
        step); a kept table holds its arrays, so their ids stay theirs."""
        key = ()
        for column in columns:
            if column is not None:
                key += tuple(map(id, column))
        table = self._tables.pop(key, None)
        if table is None:
            table = _TensorTable.build(columns)
        elif not table.unchanged():
            return None
        if table is not None:
            if len(self._tables) >= _TABLES_KEPT:
                del self._tables[next(iter(self._tables))]  # the least recently used
            self._tables[key] = table
        return table

    def sgd_multi_step(self, params: list[np.ndarray], grads: list[np.ndarray],
                       bufs: list[np.ndarray] | None, *, lr: float, momentum: float,
                       dampening: float, nesterov: bool, weight_decay: float, maximize: bool,
                       first: list[bool]) -> None:
        table = None
        if (_real(lr, momentum, dampening, weight_decay) and len(grads) == len(params)
                and (bufs is not None or not momentum)):
            table = self._tensor_table((params, bufs if momentum else None))
        found = table.grads(grads) if table is not None else None
        if found is None:
            return super().sgd_multi_step(params, grads, bufs, lr=lr, momentum=momentum,
                                          dampening=dampening, nesterov=nesterov,
                                          weight_decay=weight_decay, maximize=maximize,
                                          first=first)
        params_p, bufs_p = table.pointers
        if len(first) != len(params):
            raise ValueError(f"sgd_multi_step: {len(first)} first-step flags for {len(params)} params")
        # NOTE: NULL when no buffer starts now (every step but the first): a flag array made
        # per call was a fifth of the call's time at the seed MLP's last layer (1,290 floats)
        first_p = _ffi.new("uint8_t[]", [1 if f else 0 for f in first]) if any(first) else _ffi.NULL
        _call("nt_sgd_multi_step_f32", len(params), table.sizes, params_p, found[0], bufs_p,
              float(lr), float(momentum), float(dampening), int(bool(nesterov)),
              float(weight_decay), int(bool(maximize)), first_p, get_num_threads())

    def adam_multi_step(self, params: list[np.ndarray], grads: list[np.ndarray],
                        exp_avgs: list[np.ndarray], exp_avg_sqs: list[np.ndarray],
                        max_exp_avg_sqs: list[np.ndarray] | None, *, steps: list[int],
                        lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                        decoupled: bool, maximize: bool) -> None:
        table = None
        if (_real(lr, beta1, beta2, eps, weight_decay) and len(steps) == len(params)
                and _counts(steps) and len(grads) == len(params)
                and exp_avgs is not None and exp_avg_sqs is not None):
            table = self._tensor_table((params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs))
        found = table.grads(grads) if table is not None else None
        if found is None:
            return super().adam_multi_step(params, grads, exp_avgs, exp_avg_sqs,
                                           max_exp_avg_sqs, steps=steps, lr=lr, beta1=beta1,
                                           beta2=beta2, eps=eps, weight_decay=weight_decay,
                                           decoupled=decoupled, maximize=maximize)
        params_p, exp_avgs_p, exp_avg_sqs_p, max_exp_avg_sqs_p = table.pointers
        _call("nt_adam_multi_step_f32", len(params), table.sizes, params_p, found[0], exp_avgs_p,
              exp_avg_sqs_p, max_exp_avg_sqs_p,
              _ffi.new("int64_t[]", steps), float(lr),
              float(beta1), float(beta2), float(eps), float(weight_decay), int(bool(decoupled)),
              int(bool(maximize)), get_num_threads())

    def rmsprop_step(self, param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray,
                     buf: np.ndarray | None, grad_avg: np.ndarray | None, *, lr: float,
                     alpha: float, eps: float, weight_decay: float, momentum: float,
                     maximize: bool) -> None:
        buf = buf if momentum > 0 else None
        state = (param, square_avg, buf, grad_avg)
        if not (_f32(grad) and square_avg is not None and (momentum <= 0 or buf is not None)
                and _real(lr, alpha, eps, weight_decay, momentum) and _inplace(*state)
                and all(s is None or s.shape == param.shape for s in state)):
            return super().rmsprop_step(param, grad, square_avg, buf, grad_avg, lr=lr,
                                        alpha=alpha, eps=eps, weight_decay=weight_decay,
                                        momentum=momentum, maximize=maximize)
        if any(s is not None and _overlap(grad, s) for s in state):
            grad = grad.copy()  # the kernel reads grad while it writes the state (restrict)
        _call("nt_rmsprop_step_f32", param.size, _arg(param, inplace=True),
              _arg(grad, param.shape), _arg(square_avg, inplace=True),
              _arg(buf, inplace=True), _arg(grad_avg, inplace=True), float(lr), float(alpha),
              float(eps), float(weight_decay), float(momentum), int(bool(maximize)),
              get_num_threads())
