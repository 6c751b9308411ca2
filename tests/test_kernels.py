"""The C kernels against the NumPy backend (the specification), and the checks around them.

Every kernel is compared with ``NumpyBackend`` over shapes chosen to hit the GEMM's tile
and block edges (1, odd, primes, MR/NR/KC multiples +-1) and over awkward values (zeros,
huge logits, ReLU ties at 0, NaN). Bad arguments must be refused in Python before any C
call: ``lib`` is replaced by a recorder to prove the kernel was not reached. Skipped when
the C kernels are not built.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nanotorch import backend, threads
from nanotorch.backend.numpy_backend import NumpyBackend

if "c" not in backend.available():
    pytest.skip(f"C kernels not built ({backend.info()['c_error']})", allow_module_level=True)

from nanotorch.backend import c_backend  # noqa: E402  (only importable when built)

C = backend.get("c")
NP = NumpyBackend()
EPS = float(np.finfo(np.float32).eps)
SIZES = [1, 2, 3, 5, 7, 8, 9, 11, 12, 13, 16, 17, 24, 25, 31, 32, 33, 47, 64, 97, 128, 129, 385]
# NANOTORCH_TEST_EXAMPLES: fewer examples per property for slow runs (valgrind's memcheck).
SETTINGS = settings(max_examples=int(os.environ.get("NANOTORCH_TEST_EXAMPLES", "40")),
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def rand(rng: np.random.Generator, *shape, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def nthreads(request):
    """Run once on one thread and once on two (the C side splits big products)."""
    before = threads.get_num_threads()
    threads.set_num_threads(request.param)
    yield request.param
    threads.set_num_threads(before)


class Recorder:
    """Stands in for ``lib``: records the name of every kernel called, then calls it."""

    def __init__(self, lib) -> None:
        self._lib, self.calls = lib, []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self._lib, name)


@pytest.fixture(autouse=True)
def c_for_every_linear(monkeypatch):
    """Tiny Linear products normally go to NumPy (faster there); the tests want C for all."""
    monkeypatch.setattr(c_backend, "SMALL_LINEAR_MACS", 0)


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    rec = Recorder(C.lib)
    monkeypatch.setattr(C, "lib", rec)
    monkeypatch.setattr(c_backend, "_lib", rec)  # what the hottest methods call
    return rec


def assert_product_close(got, want, bound_abs, k: int) -> None:
    """A float32 product over k terms: |got - want| <= 2 (k + 2) eps * (|a| @ |b|) + tiny."""
    tol = 2 * (k + 2) * EPS * bound_abs + 1e-30
    err = np.abs(got.astype(np.float64) - want)
    assert err.shape == tol.shape and np.all(err <= tol), \
        f"max error {err.max():.3g} exceeds tolerance {tol.flat[np.argmax(err - tol)]:.3g}"


# ------------------------------------------------------------------------------- GEMM
def gemm(a, b, m, n, k, trans_a=False, trans_b=False, bias=None, flags=0, nthreads=1, c=None):
    """Call nt_gemm_f32 on stored arrays a, b (their row strides are lda/ldb); c[m, n] is
    written inside a wider NaN-filled array, to catch stores outside it."""
    ffi = C.ffi
    store = np.full((m, n + 3), np.nan, dtype=np.float32)
    if c is not None:
        store[:, :n] = c
    status = C.lib.nt_gemm_f32(m, n, k, ffi.from_buffer("float[]", a), a.shape[1], int(trans_a),
                               ffi.from_buffer("float[]", b), b.shape[1], int(trans_b),
                               ffi.from_buffer("float[]", store), n + 3,
                               ffi.NULL if bias is None else ffi.from_buffer("float[]", bias),
                               flags, nthreads)
    assert status == 0
    assert np.isnan(store[:, n:]).all(), "wrote outside c[:, :n]"
    return store[:, :n]


def check_gemm(rng, m, n, k, trans_a, trans_b, pad_a=0, pad_b=0, bias=False, relu=False,
               accumulate=False, row_bias=False, nthreads=1):
    a = rand(rng, *((k, m + pad_a) if trans_a else (m, k + pad_a)))
    b = rand(rng, *((n, k + pad_b) if trans_b else (k, n + pad_b)))
    opa = (a[:, :m].T if trans_a else a[:, :k]).astype(np.float64)
    opb = (b[:, :k].T if trans_b else b[:, :n]).astype(np.float64)
    c0 = rand(rng, m, n) if accumulate else None
    bv = rand(rng, m if row_bias else n) if bias else None
    lib = C.lib
    flags = ((lib.NT_GEMM_RELU if relu else 0) | (lib.NT_GEMM_ACCUMULATE if accumulate else 0)
             | (lib.NT_GEMM_ROW_BIAS if row_bias else 0))
    got = gemm(a, b, m, n, k, trans_a, trans_b, bv, flags, nthreads, c0)
    want, bound = opa @ opb, np.abs(opa) @ np.abs(opb)
    for extra in (c0, None if bv is None else (bv[:, None] if row_bias else bv)):
        if extra is not None:
            want, bound = want + extra, bound + np.abs(extra)
    if relu:
        want = np.maximum(want, 0)
    assert_product_close(got, want, bound, k)


@SETTINGS
@given(m=st.sampled_from(SIZES), n=st.sampled_from(SIZES), k=st.sampled_from(SIZES),
       trans_a=st.booleans(), trans_b=st.booleans(), bias=st.booleans(), relu=st.booleans(),
       accumulate=st.booleans(), row_bias=st.booleans(), nthreads=st.sampled_from([1, 2]),
       seed=st.integers(0, 2**16))
def test_gemm_matches_float64(m, n, k, trans_a, trans_b, bias, relu, accumulate, row_bias,
                              nthreads, seed):
    check_gemm(np.random.default_rng(seed), m, n, k, trans_a, trans_b, bias=bias, relu=relu,
               accumulate=accumulate, row_bias=row_bias, nthreads=nthreads)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m, n, k, pad_a, pad_b", [
    (40, 1100, 800, 0, 0),     # more than one KC block of k
    (13, 70, 1000, 24, 0),     # lda = 1024: the 4 KB stride that makes a be packed
    (30, 1000, 70, 0, 24),     # ldb = 1024 (or k + 24)
    (7, 600, 900, 5, 3),       # few rows: b read in place across several KC blocks
    (64, 784, 784, 0, 0),      # k split into balanced blocks (not KC + KC + a thin rest)
    (64, 784, 128, 1, 1),      # the MLP's shapes, with odd strides
    (20, 100, 1500, 1, 0),     # few columns: a read in place across several of its longer k blocks
    (90, 70, 300, 0, 3),       # few row panels: b read in place, its narrow last panel copied
    (97, 70, 300, 0, 3),       # one panel more than that: b packed
    (1, 130, 784, 3, 1),       # one row (a Linear layer on one sample): x @ W^T by dot products
    (7, 33, 600, 0, 2),        # few rows, long k: dot products, the last k steps past a vector
    (70, 10, 520, 2, 0),       # ten columns, long k: dot products
    (70, 10, 100, 2, 3),       # ten columns, short k: packed, b's narrow panel transposed in registers
    (8, 100, 300, 1, 0),       # 8 rows on AVX2: two row panels of 4 (not 6 + 2), a read in place
    (19, 700, 64, 0, 1),       # 19 rows on AVX2: 6 + 6 + 4 + 3, a packed
    (64, 128, 10, 0, 0),       # k = 10 (the MLP's dx2): tiles without the prefetch of c
    (64, 10, 130, 0, 1),       # ten columns, b row-major: its panel copied element by element
])
def test_gemm_blocks_and_strides(trans_a, trans_b, m, n, k, pad_a, pad_b, nthreads):
    check_gemm(np.random.default_rng(m * n + k), m, n, k, trans_a, trans_b, pad_a, pad_b,
               bias=True, relu=True, nthreads=nthreads)


@pytest.mark.parametrize("m, n, k", [(1, 9, 21), (3, 5, 7), (8, 13, 515), (40, 11, 600),
                                     (2, 1500, 1100)])
@pytest.mark.parametrize("row_bias", [False, True])
def test_gemm_dot_path_epilogue(m, n, k, row_bias, nthreads):
    """x @ W^T with few rows or few columns (dot products, nothing packed): every epilogue
    option, blocks cut at both edges, k not a multiple of the vector width; 2 x 1500 x 1100
    is large enough to be split over threads."""
    check_gemm(np.random.default_rng(m + n + k), m, n, k, False, True, pad_a=1, pad_b=3,
               bias=True, relu=True, accumulate=True, row_bias=row_bias, nthreads=nthreads)


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("row_bias", [False, True])
def test_gemm_over_empty_k_is_the_epilogue(accumulate, row_bias):
    rng = np.random.default_rng(0)
    lib = C.lib
    a, b, c0, bias = rand(rng, 3, 1), rand(rng, 1, 4), rand(rng, 3, 4), rand(rng, 3 if row_bias else 4)
    flags = (lib.NT_GEMM_ACCUMULATE if accumulate else 0) | (lib.NT_GEMM_ROW_BIAS if row_bias else 0)
    want = (c0 if accumulate else np.zeros((3, 4))) + (bias[:, None] if row_bias else bias)
    np.testing.assert_allclose(gemm(a, b, 3, 4, 0, bias=bias, flags=flags, c=c0), want, rtol=1e-6)
    np.testing.assert_allclose(gemm(a, b, 3, 4, 0, bias=bias, flags=flags | lib.NT_GEMM_RELU, c=c0),
                               np.maximum(want, 0), rtol=1e-6)
    assert gemm(a, b, 0, 4, 1).shape == (0, 4)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_over_several_row_and_k_blocks(trans_a, trans_b, nthreads):
    """More rows than one packed A block (MC) and more k than one KC block, with the last
    row panel, column panel and k block all short, whatever blocking this CPU chose."""
    t = c_backend.gemm_tuning()
    m, n, k = 2 * t["mc"] + t["mr"] // 2 + 1, 2 * t["nr"] + 3, t["kc"] + 9
    check_gemm(np.random.default_rng(m), m, n, k, trans_a, trans_b, pad_a=2, pad_b=1,
               bias=True, relu=True, accumulate=True, row_bias=trans_a, nthreads=nthreads)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("rows", ["few", "block"])
def test_gemm_over_several_column_blocks(trans_a, trans_b, rows, nthreads):
    """More columns than one packed B block (NC), the last one short: with few rows (column
    stripes per thread) and with a whole A block (threads sharing each packed B block)."""
    t = c_backend.gemm_tuning()
    m, n, k = (t["mr"] + 1 if rows == "few" else t["mc"] + 1), t["nc"] + t["nr"] + 3, 20
    check_gemm(np.random.default_rng(n), m, n, k, trans_a, trans_b, pad_a=1, pad_b=1,
               bias=True, relu=True, accumulate=True, nthreads=nthreads)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_threads_sharing_packed_b(trans_a, trans_b):
    """A product with a whole A block (MC rows) and more than 8 column tiles: the threads
    share each packed B block and split the rows; the same bits as one thread, and right."""
    t = c_backend.gemm_tuning()
    m, n, k = t["mc"] + t["mr"] + 1, 9 * t["nr"] + 5, t["kc"] + 9
    check_gemm(np.random.default_rng(k), m, n, k, trans_a, trans_b, pad_a=1, pad_b=2,
               bias=True, relu=True, accumulate=True, row_bias=trans_b, nthreads=2)
    rng = np.random.default_rng(2)
    a = rand(rng, *((k, m) if trans_a else (m, k)))
    b = rand(rng, *((n, k) if trans_b else (k, n)))
    np.testing.assert_array_equal(gemm(a, b, m, n, k, trans_a, trans_b, nthreads=1),
                                  gemm(a, b, m, n, k, trans_a, trans_b, nthreads=2))


def test_gemm_threads_agree():
    """The 2-thread split gives the same bits as one thread (the same sums per element), on
    every ISA; also where 2 threads' column stripes read a in place (at most 8 tiles wide)
    and 1 thread's whole width packs it: the k blocks must not follow the stripe; and for a
    weight gradient (dy^T @ x, split by rows: the seed's dW, 128x784 from k = 64)."""
    def run():
        t = c_backend.gemm_tuning()
        out = []
        for m, n, k, trans_a in ((200, 500, 300, False), (50, 12 * t["nr"], t["kc"] + t["kc"] // 2, False),
                                 (128, 784, 64, True)):
            rng = np.random.default_rng(n + k)
            a, b = rand(rng, *((k, m) if trans_a else (m, k))), rand(rng, k, n)
            want = (a.T if trans_a else a).astype(np.float64) @ b
            out.append((gemm(a, b, m, n, k, trans_a, nthreads=1),
                        gemm(a, b, m, n, k, trans_a, nthreads=2), want))
        return out

    for isa, results in _on_every_isa(run).items():
        for one, two, want in results:
            np.testing.assert_array_equal(one, two, err_msg=isa)
            np.testing.assert_allclose(two, want, rtol=1e-4, atol=1e-4, err_msg=isa)


def test_gemm_c_level_checks_refuse_bad_sizes():
    """Even called directly, the kernel refuses sizes that would index out of bounds."""
    ffi, lib = C.ffi, C.lib
    a = np.zeros((4, 4), np.float32)
    p = ffi.from_buffer("float[]", a)
    assert lib.nt_gemm_f32(-1, 4, 4, p, 4, 0, p, 4, 0, p, 4, ffi.NULL, 0, 1) == lib.NT_EINVAL
    assert lib.nt_gemm_f32(4, 4, 4, p, 3, 0, p, 4, 0, p, 4, ffi.NULL, 0, 1) == lib.NT_EINVAL
    assert lib.nt_gemm_f32(4, 4, 4, p, 4, 0, p, 4, 0, p, 4, ffi.NULL, 0, 0) == lib.NT_EINVAL
    assert lib.nt_gemm_f32(4, 4, 4, ffi.NULL, 4, 0, p, 4, 0, p, 4, ffi.NULL, 0, 1) == lib.NT_EINVAL


def test_gemm_flushes_subnormals_inside_only():
    """FTZ/DAZ is on inside the GEMM (documented in the header) and off again after it."""
    tiny = np.full((1, 1), 1e-20, np.float32)
    assert gemm(tiny, tiny, 1, 1, 1)[0, 0] == 0.0  # 1e-40 is subnormal: flushed
    assert np.float32(1e-20) * np.float32(1e-20) > 0  # NumPy still sees subnormals


@pytest.fixture(params=c_backend.ISAS)
def isa(request):
    """Each GEMM instruction set this CPU runs (the others skip), restored afterwards."""
    if request.param not in c_backend.supported_isas():
        pytest.skip(f"this CPU does not run the {request.param} GEMM")
    before = c_backend.isa()
    c_backend.select_isa(request.param)
    yield request.param
    c_backend.select_isa(before)


@pytest.mark.parametrize("nthreads", [1, 2])
def test_gemm_every_isa_matches_float64(isa, nthreads):
    """Every compiled micro-kernel this CPU runs, over its tile and block edges."""
    assert c_backend.isa() == isa
    rng = np.random.default_rng(7)
    for m, n, k in [(1, 1, 1), (7, 13, 5), (25, 49, 17), (64, 784, 128), (97, 130, 785)]:
        for trans_a in (False, True):
            for trans_b in (False, True):
                check_gemm(rng, m, n, k, trans_a, trans_b, pad_a=1, bias=True, relu=True,
                           accumulate=True, nthreads=nthreads)


def _is_amd_family_19h() -> bool:
    """/proc/cpuinfo names an AMD CPU of family 19h (Zen 3, Zen 4); False where unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    fields = dict(line.split(":", 1) for line in text.splitlines()[:30] if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"


def test_default_isa_is_the_widest_the_cpu_runs_but_avx2_on_zen4():
    runnable = c_backend.supported_isas()
    assert "generic" in runnable
    widest = runnable[0]
    if widest == "avx512" and _is_amd_family_19h():  # Zen 4 splits 512-bit vectors in two
        widest = "avx2"
    assert subprocess_isa({}) == widest  # what a fresh process picks


def subprocess_isa(env: dict) -> str:
    """The ISA a fresh process with ``env`` added runs its GEMM on (its error text if none)."""
    code = "from nanotorch.backend import c_backend; print(c_backend.isa())"
    base = {k: v for k, v in os.environ.items() if k != "NANOTORCH_ISA"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**base, "NANOTORCH_BACKEND": "c", **env}, timeout=120)
    return done.stdout.strip() if done.returncode == 0 else done.stderr


def test_nanotorch_isa_forces_a_path_and_refuses_what_the_cpu_lacks():
    for name in c_backend.supported_isas():
        assert subprocess_isa({"NANOTORCH_ISA": name}) == name
    for name in set(c_backend.ISAS) - set(c_backend.supported_isas()):  # e.g. avx512 on Zen 3
        err = subprocess_isa({"NANOTORCH_ISA": name})
        assert f"cannot run the {name} kernels" in err and "build_kernels" not in err
    err = subprocess_isa({"NANOTORCH_ISA": "sse9"})
    assert "unknown instruction set 'sse9'" in err
    with pytest.raises(ValueError, match="unknown instruction set"):
        c_backend.select_isa("avx3")


def test_gemm_tuning_comes_from_the_caches():
    t = c_backend.gemm_tuning()
    large_l2 = t["l2_bytes"] >= 2 * 1024 * 1024  # the B micro-panel may live in L2 (gemm.c)
    assert t["mr"] >= 1 and t["nr"] >= 1 and 128 <= t["kc"] <= (512 if large_l2 else 384)
    assert t["kc"] % 8 == 0 and t["nc"] >= 512 and t["nc"] % t["nr"] == 0
    assert t["mc"] >= 8 * t["mr"] and t["mc"] % t["mr"] == 0
    if large_l2:  # a B micro-panel in 1/32 of L2, the A block (mc x kc floats) in a quarter
        assert t["nr"] * t["kc"] * 4 <= t["l2_bytes"] // 32 or t["kc"] == 128
        assert t["mc"] * t["kc"] * 4 <= t["l2_bytes"] // 4 or t["mc"] == 8 * t["mr"]
    else:
        if t["l1d_bytes"]:  # known: a B micro-panel fits in 3/4 of L1, or kc is 128
            assert t["nr"] * t["kc"] * 4 <= t["l1d_bytes"] * 3 // 4 or t["kc"] == 128
        if t["l2_bytes"]:  # the A block fits in half of L2, or it is 8 panels
            assert t["mc"] * t["kc"] * 4 <= t["l2_bytes"] // 2 or t["mc"] == 8 * t["mr"]


# ----------------------------------------------------------------------------- linear
@SETTINGS
@given(n=st.sampled_from(SIZES), k=st.sampled_from(SIZES), m=st.sampled_from(SIZES),
       has_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_linear_matches_numpy(n, k, m, has_bias, seed):
    rng = np.random.default_rng(seed)
    x, w, dy = rand(rng, n, k), rand(rng, m, k), rand(rng, n, m)
    b = rand(rng, m) if has_bias else None
    ax, aw, ady = np.abs(x), np.abs(w), np.abs(dy)
    bound = ax @ aw.T + (0 if b is None else np.abs(b))
    assert_product_close(C.linear_forward(x, w, b), NP.linear_forward(x, w, b), bound, k)
    got, want = C.linear_backward(dy, x, w, True, True, True), NP.linear_backward(dy, x, w, True,
                                                                                  True, True)
    for g, ref, bnd, terms in zip(got, want, (ady @ aw, ady.T @ ax, ady.sum(0)), (m, n, n)):
        assert g.dtype == np.float32
        assert_product_close(g, ref, bnd, terms)


@pytest.mark.parametrize("needs", [(True, False, False), (False, True, False),
                                   (False, False, True), (False, False, False)])
def test_linear_backward_only_what_is_asked(needs):
    rng = np.random.default_rng(0)
    x, w, dy = rand(rng, 5, 3), rand(rng, 4, 3), rand(rng, 5, 4)
    for got, want in zip(C.linear_backward(dy, x, w, *needs), NP.linear_backward(dy, x, w, *needs)):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n, k, m", [(64, 784, 128), (61, 97, 89), (7, 385, 400)])
def test_linear_backward_on_two_threads_equals_one(n, k, m):
    """With 2 threads, dx and dw (each >= 1 MFLOP here) run side by side, one per thread; the
    results are bit for bit those of one thread (each product's sums in the same order)."""
    rng = np.random.default_rng(n)
    x, w, dy = rand(rng, n, k), rand(rng, m, k), rand(rng, n, m)
    before, got = threads.get_num_threads(), {}
    try:
        for nt in (1, 2):
            threads.set_num_threads(nt)
            got[nt] = C.linear_backward(dy, x, w, True, True, True)
    finally:
        threads.set_num_threads(before)
    for one, two in zip(got[1], got[2]):
        np.testing.assert_array_equal(two, one)
    want = NP.linear_backward(dy, x, w, True, True, True)
    for g, ref, bnd, terms in zip(got[2], want, (np.abs(dy) @ np.abs(w), np.abs(dy).T @ np.abs(x),
                                                 np.abs(dy).sum(0)), (m, n, n)):
        assert_product_close(g, ref, bnd, terms)


def test_linear_accepts_broadcast_and_transposed_inputs(recorder):
    """Non-contiguous inputs (a broadcast gradient, a transposed view) are copied for C."""
    rng = np.random.default_rng(0)
    x, w = rand(rng, 7, 6).T.copy().T, rand(rng, 6, 5).T  # x: [7, 6] F-order; w: [5, 6] view
    dy = np.broadcast_to(np.float32(0.5), (7, 5))
    np.testing.assert_allclose(C.linear_forward(x, w, None), NP.linear_forward(x, w, None),
                               rtol=1e-5, atol=1e-5)
    for got, want in zip(C.linear_backward(dy, x, w, True, True, True),
                         NP.linear_backward(dy, x, w, True, True, True)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert recorder.calls == ["nt_linear_fwd_f32", "nt_linear_bwd_f32"]


def test_linear_refuses_mismatched_sizes_before_c(recorder):
    """The sizes C is told must be the arrays' (the op layer words the user's error)."""
    x, w = np.zeros((4, 3), np.float32), np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match=r"shape \[5, 2\], expected \[5, 3\]"):
        C.linear_forward(x, w, None)
    with pytest.raises(ValueError, match=r"shape \[4\], expected \[5\]"):
        C.linear_forward(x, np.zeros((5, 3), np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"shape \[4, 4\], expected \[4, 5\]"):
        C.linear_backward(np.zeros((4, 4), np.float32), x, np.zeros((5, 3), np.float32),
                          True, True, True)
    assert recorder.calls == []


def test_tiny_linear_runs_on_numpy(recorder, monkeypatch):
    monkeypatch.setattr(c_backend, "SMALL_LINEAR_MACS", 300_000)
    rng = np.random.default_rng(0)
    x, w, dy = rand(rng, 64, 128), rand(rng, 10, 128), rand(rng, 64, 10)
    np.testing.assert_array_equal(C.linear_forward(x, w, None), NP.linear_forward(x, w, None))
    C.linear_backward(dy, x, w, True, True, True)
    assert recorder.calls == []
    C.linear_forward(rand(rng, 64, 784), rand(rng, 128, 784), None)
    assert recorder.calls == ["nt_linear_fwd_f32"]


def test_float64_and_nd_fall_through_to_numpy(recorder):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    np.testing.assert_array_equal(C.linear_forward(x, w, None), NP.linear_forward(x, w, None))
    np.testing.assert_array_equal(C.relu_forward(x), NP.relu_forward(x))
    x3 = rand(rng, 2, 4, 3)
    np.testing.assert_array_equal(C.linear_forward(x3, w.astype(np.float32), None),
                                  NP.linear_forward(x3, w.astype(np.float32), None))
    assert C.relu_forward(x).dtype == np.float64
    assert recorder.calls == []


def test_failed_status_raises_naming_the_kernel(monkeypatch):
    class Failing:
        def __getattr__(self, name):
            return lambda *args: 2

    monkeypatch.setattr(C, "lib", Failing())
    monkeypatch.setattr(c_backend, "_lib", Failing())
    with pytest.raises(RuntimeError, match="nt_relu_fwd_f32.*out of memory"):
        C.relu_forward(np.zeros(3, np.float32))


def _unaligned_f32(values) -> np.ndarray:
    """A float32 array whose data starts one byte past an aligned address."""
    raw = np.zeros(np.asarray(values).size * 4 + 1, np.uint8)[1:]
    a = raw.view(np.float32)
    a[...] = values
    assert not a.flags.aligned
    return a


@pytest.mark.parametrize("make", [
    lambda v: v.reshape(2, 4)[:, ::2],           # not contiguous
    lambda v: v.astype(np.float64),               # another dtype
    lambda v: v.astype(">f4"),                    # float32 in the other byte order: equal
    lambda v: np.asfortranarray(v.reshape(2, 4)),  # Fortran order
    _unaligned_f32,                               # not aligned
], ids=["strided", "float64", "byteswapped", "fortran", "unaligned"])
def test_arg_copies_what_c_cannot_read_as_is(make):
    """``_arg``'s fast path takes only C-contiguous, aligned arrays of NumPy's own float32
    dtype; everything else is copied into one (the values C reads are the array's), and an
    array C would write in place is refused with the same message as before."""
    a = make(np.arange(8, dtype=np.float32))
    p = c_backend._arg(a)
    got = np.frombuffer(C.ffi.buffer(p, a.size * 4), np.float32)
    np.testing.assert_array_equal(got, np.asarray(a, np.float32).ravel())
    assert int(C.ffi.cast("uintptr_t", p)) != a.__array_interface__["data"][0]
    with pytest.raises(ValueError, match="updated in place must be C-contiguous float32"):
        c_backend._arg(a, inplace=True)
    with pytest.raises(ValueError, match=r"argument of shape .*, expected \[9\]"):
        c_backend._arg(a, (9,))


@pytest.mark.parametrize("make", [
    lambda v: v.reshape(2, 4)[:, ::2],
    lambda v: v.astype(np.float64),
    lambda v: v.astype(">f4"),
    lambda v: np.asfortranarray(v.reshape(2, 4)),
    _unaligned_f32,
], ids=["strided", "float64", "byteswapped", "fortran", "unaligned"])
def test_relu_takes_any_array_c_cannot_read_as_is(make, recorder):
    """relu's methods test their arrays inline (no ``_arg``): every kind ``_arg`` copies gives
    NumPy's answer, in C for float32 (a C-ordered copy) and on NumPy for float64."""
    values = np.array([-2.0, 0.5, 0.0, -0.0, 3.0, np.nan, -1.0, 7.0], np.float32)
    x, dy = make(values), make(np.arange(8, dtype=np.float32) + 1)
    y = make(NP.relu_forward(values))  # a saved output of the same kind
    np.testing.assert_array_equal(C.relu_forward(x), NP.relu_forward(np.asarray(x)))
    np.testing.assert_array_equal(C.relu_backward(dy, y),
                                  NP.relu_backward(np.asarray(dy), np.asarray(y)))
    in_c = np.asarray(x).dtype == np.float32
    assert recorder.calls == (["nt_relu_fwd_f32", "nt_relu_bwd_f32"] if in_c else [])


def test_relu_backward_refuses_a_gradient_of_another_shape():
    y = C.relu_forward(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"gradient of shape \[2, 4\] for an output of shape \[4, 2\]"):
        C.relu_backward(np.ones((2, 4), np.float32), y)


def test_arg_fast_path_points_at_the_array_and_checks_its_shape():
    a = np.zeros((3, 4), np.float32)
    p = c_backend._arg(a, (3, 4), inplace=True)
    assert int(C.ffi.cast("uintptr_t", p)) == a.__array_interface__["data"][0]
    with pytest.raises(ValueError, match=r"C kernel argument of shape \[3, 4\], expected \[4, 3\]"):
        c_backend._arg(a, (4, 3))
    a.flags.writeable = False  # read: fine; written in place: cffi refuses
    assert int(C.ffi.cast("uintptr_t", c_backend._arg(a))) == a.__array_interface__["data"][0]
    with pytest.raises(ValueError, match="read-only"):
        c_backend._arg(a, inplace=True)
    labels = np.arange(5)[::2]  # int64, not contiguous: copied for an int64_t[] argument
    p = c_backend._arg(labels, (3,), "int64_t[]")
    assert list(C.ffi.unpack(C.ffi.cast("int64_t *", p), 3)) == [0, 2, 4]


def _on_every_isa(run) -> dict:
    """``run()``'s result on every instruction set this CPU runs (``select_isa``)."""
    before = c_backend.isa()
    try:
        results = {}
        for name in c_backend.supported_isas():
            c_backend.select_isa(name)
            results[name] = run()
    finally:
        c_backend.select_isa(before)
    return results


def test_small_kernels_give_the_same_bits_on_every_isa():
    """relu and batch norm run an AVX2 copy of their loops on an avx2/avx512 ISA and the
    baseline loops on the others (NANOTORCH_ISA=generic): the same results, to the bit."""
    rng = np.random.default_rng(3)
    x, dy = rand(rng, 33, 129, scale=3.0), rand(rng, 33, 129)
    x[0, :10] = RELU_VALUES
    x4, dy4 = rand(rng, 5, 3, 7, 9), rand(rng, 5, 3, 7, 9)
    gamma, beta = rand(rng, 129) + 2, rand(rng, 129)

    def run():
        y = C.relu_forward(x)
        out = [y, C.relu_backward(dy, y)]
        for a, g, b, d in ((x, gamma, beta, dy), (x4, gamma[:3], beta[:3], dy4)):
            rm, rv = np.zeros(a.shape[1], np.float32), np.ones(a.shape[1], np.float32)
            y, mean, invstd = C.batch_norm_forward(a, g, b, rm, rv, True, 0.1, 1e-5)
            out += [y, mean, invstd, rm, rv]
            out += C.batch_norm_backward(d, a, g, mean, invstd, True, True, True, True)
        return out

    results = _on_every_isa(run)
    first = next(iter(results.values()))
    for name, got in results.items():
        for a, b in zip(got, first, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy: inf - inf, NaN rows
@pytest.mark.parametrize("c", [1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 15, 16, 17, 31, 32, 33, 1030])
def test_cross_entropy_agrees_on_every_isa_and_with_numpy(c):
    """Cross-entropy's loops run 8 lanes wide with FMA on an avx2/avx512 ISA (a row ends
    with a vector overlapping the one before it) and 4 lanes on the baseline: every row
    width, shorter and longer than a vector, and row counts that are no multiple of 4 or 8
    agree with NumPy and across the ISAs to float32 rounding, with label smoothing, ignored
    rows, per-row losses, and rows of NaN, +-inf, huge and large logits among ordinary ones."""
    rng = np.random.default_rng(c)
    for n in (1, 5, 13, 70):
        logits, labels = rand(rng, n, c, scale=5.0), rng.integers(0, c, n)
        labels[rng.random(n) < 0.3] = -100
        labels[n // 2] = -100
        if n >= 13:
            logits[1, c // 2] = np.nan
            logits[4, 0] = -np.inf
            logits[9, c - 1] = np.inf
            logits[10] *= 1e30
            logits[12, c // 2] = 60.0  # its row's probabilities are ~(0, .., 1, .., 0)

        def run(be=C, logits=logits, labels=labels):
            out = []
            for reduction, smoothing in (("none", 0.1), ("sum", 0.0), ("mean", 0.1)):
                loss, probs = be.cross_entropy_forward(logits, labels, reduction, smoothing, -100)
                dloss = np.ones(loss.shape, np.float32) if loss.ndim else np.float32(1.0)
                out += [loss, probs, be.cross_entropy_backward(dloss, probs, labels, reduction,
                                                               smoothing, -100)]
            return out

        want = run(NP)
        for name, got in _on_every_isa(run).items():
            for a, b in zip(got, want, strict=True):
                np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6, err_msg=f"{name} n={n}")


# ------------------------------------------------------------------------------- relu
RELU_VALUES = np.array([0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45, 3e38],
                       dtype=np.float32)


@pytest.mark.parametrize("shape", [(), (0,), (10,), (3, 7), (2, 3, 5, 7), (300_001,)])
def test_relu_matches_numpy_bit_for_bit(shape, nthreads):
    rng = np.random.default_rng(0)
    x = rng.choice(RELU_VALUES, size=shape).astype(np.float32)
    dy = rand(rng, *shape)
    y_c, y_np = C.relu_forward(x), NP.relu_forward(x)
    np.testing.assert_array_equal(y_c, y_np)
    np.testing.assert_array_equal(np.signbit(y_c), np.signbit(y_np))  # -0 becomes +0
    np.testing.assert_array_equal(C.relu_backward(dy, y_np), NP.relu_backward(dy, y_np))


def test_relu_non_contiguous_and_broadcast():
    rng = np.random.default_rng(0)
    x = rand(rng, 6, 8)[:, ::2]
    dy = np.broadcast_to(np.float32(2.0), x.shape)
    np.testing.assert_array_equal(C.relu_forward(x), NP.relu_forward(x))
    np.testing.assert_array_equal(C.relu_backward(dy, x), NP.relu_backward(dy, x))


# ------------------------------------------------------------------------------- gelu
GELU_VALUES = np.array([0.0, -0.0, 1e-30, -1e-30, 0.5, -0.7518, -3.0, 5.0, -9.0, -13.5, 30.0,
                        -30.0, 1e20, -1e20, np.inf, -np.inf, np.nan], dtype=np.float32)


def gelu_input(rng, shape) -> np.ndarray:
    """Normal values, with awkward ones (tails, +-0, +-inf, NaN, huge) mixed in."""
    x = np.asarray(rand(rng, *shape, scale=3.0))
    mask = np.asarray(rng.random(shape) < 0.2)
    x[mask] = rng.choice(GELU_VALUES, size=int(mask.sum()))
    return x


def assert_gelu_close(got, want, x, dy=None, atol: float = 1e-35) -> None:
    """C (float32 arithmetic) against the float64-computed spec: within 8 (1 + x^2) eps
    relative (rounding x / sqrt 2 in float32 moves Phi's tail by ~x^2 ulp: the function's own
    condition number), plus 4 eps |dy| absolute (gelu' crosses 0 at x = -0.75), plus ``atol``
    (results near float32's underflow). NaN exactly where the spec has NaN."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    g, w, xx = got[ok].astype(np.float64), want[ok].astype(np.float64), x[ok].astype(np.float64)
    scale = np.abs(dy[ok]) if dy is not None else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        tol = 8 * (1 + xx * xx) * EPS * np.abs(w) + 4 * EPS * scale + atol
        close = (g == w) | (np.abs(g - w) <= tol)
    assert close.all(), (x[ok][~close][:5], got[ok][~close][:5], want[ok][~close][:5])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(), (0,), (1,), (3,), (5,), (9,), (3, 7), (2, 3, 5, 7), (100_003,)])
def test_gelu_matches_numpy(shape, approximate, nthreads):
    rng = np.random.default_rng(0)
    x, dy = gelu_input(rng, shape), np.asarray(rand(rng, *shape))
    y = C.gelu_forward(x, approximate)
    assert y.shape == x.shape and y.dtype == np.float32
    assert_gelu_close(y, NP.gelu_forward(x, approximate), x)
    dx = C.gelu_backward(dy, x, approximate)
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert_gelu_close(dx, NP.gelu_backward(dy, x, approximate), x, dy)


def test_gelu_limits():
    """gelu(+inf) = inf, gelu(-inf) = NaN (-inf * 0, as PyTorch), far tails 0 and x."""
    x = np.array([np.inf, -np.inf, 1e20, -1e20, 30.0, -30.0], np.float32)
    for b in (NP, C):
        for approximate in ("none", "tanh"):
            y = b.gelu_forward(x, approximate)
            np.testing.assert_array_equal(y[[0, 2, 4]], x[[0, 2, 4]])
            assert np.isnan(y[1]) and not np.isnan(y[2:]).any()
            np.testing.assert_array_equal(y[[3, 5]], 0.0)
            dx = b.gelu_backward(np.ones_like(x), x, approximate)
            np.testing.assert_array_equal(dx[2:], [1, 0, 1, 0])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_spec_is_exact_to_float32(approximate):
    """The NumPy spec in float32 against the formula in float64 with math.erfc / math.exp:
    within float32's rounding (its erfc polynomial's relative error, below 6e-9, shows only
    as 6e-9 Phi absolute in gelu', near its zero at x = -0.75)."""
    x = np.concatenate([np.linspace(-13, 8, 20_001), [0.0, 1e-30, -1e-30]]).astype(np.float32)
    c = math.sqrt(2 / math.pi)
    for v, y, dx in zip(x.astype(np.float64), NP.gelu_forward(x, approximate),
                        NP.gelu_backward(np.ones_like(x), x, approximate)):
        if approximate == "tanh":  # (1 + tanh u) / 2 = 1 / (1 + e^-2u), exact in the tail too
            cdf = 1 / (1 + math.exp(-2 * c * (v + 0.044715 * v ** 3)))
            slope = cdf + v * 2 * cdf * (1 - cdf) * c * (1 + 0.134145 * v * v)
        else:
            cdf = math.erfc(-v / math.sqrt(2)) / 2
            slope = cdf + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi)
        assert abs(y - v * cdf) <= 1.5 * EPS * abs(v * cdf) + 1e-44, (v, y, v * cdf)
        assert abs(dx - slope) <= 1.5 * EPS * abs(slope) + 6e-9 * cdf + 1e-44, (v, dx, slope)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_pytorch(torch, approximate):
    """Against F.gelu in float64. PyTorch computes 1 + erf(x / sqrt 2) and 1 + tanh(u),
    which lose the negative tail to cancellation (float32: from x ~ -4; float64: values
    below ~1e-13): our kernels do not, hence the absolute tolerance."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rand(rng, 1000, scale=4.0), np.linspace(-12, 12, 2001, dtype=np.float32)])
    dy = rand(rng, x.size)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    yt = torch.nn.functional.gelu(xt, approximate=approximate)
    yt.backward(torch.tensor(dy.astype(np.float64)))
    want_y, want_dx = yt.detach().numpy(), xt.grad.numpy()
    for b in (NP, C):
        assert_gelu_close(b.gelu_forward(x, approximate), want_y, x, atol=1e-12)
        assert_gelu_close(b.gelu_backward(dy, x, approximate), want_dx, x, dy, atol=1e-12)


def test_gelu_falls_through_and_refuses_before_c(recorder):
    rng = np.random.default_rng(0)
    x64 = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(C.gelu_forward(x64, "none"), NP.gelu_forward(x64, "none"))
    np.testing.assert_array_equal(C.gelu_backward(x64, x64, "tanh"), NP.gelu_backward(x64, x64, "tanh"))
    assert C.gelu_forward(x64, "none").dtype == np.float64
    assert recorder.calls == []
    x = rand(rng, 3, 4)
    with pytest.raises(ValueError, match="shape"):
        C.gelu_backward(rand(rng, 3, 5), x, "none")  # dy's size is not x's: never reaches C
    assert recorder.calls == []
    strided, dy = rand(rng, 6, 8)[:, ::2], np.broadcast_to(np.float32(2.0), (6, 4))
    assert_gelu_close(C.gelu_backward(dy, strided, "none"), NP.gelu_backward(dy, strided, "none"),
                      strided, dy)
    assert recorder.calls == ["nt_gelu_bwd_f32"]


def test_gelu_c_level_checks_refuse_bad_arguments():
    ffi, lib = C.ffi, C.lib
    px = ffi.from_buffer("float[]", np.zeros(8, np.float32))
    assert lib.nt_gelu_fwd_f32(8, px, lib.NT_GELU_TANH, px, 1) == lib.NT_OK
    assert lib.nt_gelu_fwd_f32(-1, px, lib.NT_GELU_NONE, px, 1) == lib.NT_EINVAL
    assert lib.nt_gelu_fwd_f32(8, px, 2, px, 1) == lib.NT_EINVAL
    assert lib.nt_gelu_fwd_f32(8, px, lib.NT_GELU_NONE, px, 0) == lib.NT_EINVAL
    assert lib.nt_gelu_fwd_f32(8, ffi.NULL, lib.NT_GELU_NONE, px, 1) == lib.NT_EINVAL
    assert lib.nt_gelu_bwd_f32(8, px, px, -1, px, 1) == lib.NT_EINVAL
    assert lib.nt_gelu_bwd_f32(8, ffi.NULL, px, lib.NT_GELU_NONE, px, 1) == lib.NT_EINVAL
    assert lib.nt_gelu_bwd_f32(0, ffi.NULL, ffi.NULL, lib.NT_GELU_NONE, ffi.NULL, 1) == lib.NT_OK


# -------------------------------------------------------------------------- batchnorm
@SETTINGS
@given(shape=st.sampled_from([(2, 1), (64, 128), (7, 13), (1, 5), (3, 4, 5, 5), (2, 3, 1, 1),
                              (5, 2, 7, 3), (2, 8, 33, 35)]),
       training=st.booleans(), affine=st.booleans(), track=st.booleans(),
       momentum=st.sampled_from([0.1, 0.0, 1.0]), seed=st.integers(0, 2**16))
def test_batch_norm_matches_numpy(shape, training, affine, track, momentum, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x, dy = rand(rng, *shape, scale=3.0) + 5.0, rand(rng, *shape)
    gamma, beta = (rand(rng, c), rand(rng, c)) if affine else (None, None)
    track = track or not training
    stats_c = (rand(rng, c), np.abs(rand(rng, c)) + 0.5) if track else (None, None)
    stats_np = tuple(None if s is None else s.copy() for s in stats_c)
    got = C.batch_norm_forward(x, gamma, beta, *stats_c, training, momentum, 1e-5)
    want = NP.batch_norm_forward(x, gamma, beta, *stats_np, training, momentum, 1e-5)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)
    for g, w in zip(stats_c, stats_np):
        if g is not None:
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    _, mean, invstd = want
    got = C.batch_norm_backward(dy, x, gamma, mean, invstd, training, True, True, True)
    want = NP.batch_norm_backward(dy, x, gamma, mean, invstd, training, True, True, True)
    scale = np.sqrt(x.size / c)  # sums over M values per channel
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("shape", [(40, 70), (70, 600), (33, 32)])
def test_batch_norm_row_blocks_and_channel_chunks(shape):
    """[N, C] sums run in float over blocks of 32 rows and chunks of channels (32 in
    registers while 32 rows fit in L1, else 512): a partial last block and chunk, the
    wide chunks (C = 600), and exactly one chunk, against the NumPy backend."""
    rng = np.random.default_rng(11)
    c = shape[1]
    x, dy = rand(rng, *shape, scale=3.0) + 5.0, rand(rng, *shape)
    gamma, beta = rand(rng, c), rand(rng, c)
    got = C.batch_norm_forward(x, gamma, beta, None, None, True, 0.1, 1e-5)
    want = NP.batch_norm_forward(x, gamma, beta, None, None, True, 0.1, 1e-5)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)
    _, mean, invstd = want
    got = C.batch_norm_backward(dy, x, gamma, mean, invstd, True, True, True, True)
    want = NP.batch_norm_backward(dy, x, gamma, mean, invstd, True, True, True, True)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * np.sqrt(shape[0]))


def test_batch_norm_needs_and_threads(nthreads):
    rng = np.random.default_rng(0)
    x, dy, gamma = rand(rng, 16, 32, 30, 30), rand(rng, 16, 32, 30, 30), rand(rng, 32)
    _, mean, invstd = NP.batch_norm_forward(x, gamma, None, None, None, True, 0.1, 1e-5)
    got = C.batch_norm_backward(dy, x, gamma, mean, invstd, True, False, True, False)
    want = NP.batch_norm_backward(dy, x, gamma, mean, invstd, True, False, True, False)
    assert got[0] is None and got[2] is None
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-2)


def test_batch_norm_running_stats_not_contiguous_fall_through(recorder):
    rng = np.random.default_rng(0)
    x = rand(rng, 8, 3)
    rm, rv = np.zeros(6, np.float32)[::2], np.ones(6, np.float32)[::2]
    want_rm = rm.copy()
    C.batch_norm_forward(x, None, None, rm, rv, True, 0.1, 1e-5)
    NP.batch_norm_forward(x, None, None, want_rm, np.ones(3, np.float32), True, 0.1, 1e-5)
    np.testing.assert_allclose(rm, want_rm, rtol=1e-6)
    assert recorder.calls == []


# ----------------------------------------------------------------------------- conv2d
@SETTINGS
@given(n=st.sampled_from([1, 2, 5]), c=st.sampled_from([1, 3, 16]), h=st.sampled_from([1, 5, 14]),
       w=st.sampled_from([1, 4, 9]), o=st.sampled_from([1, 7, 33]), kh=st.sampled_from([1, 2, 3]),
       kw=st.sampled_from([1, 3, 5]), stride=st.sampled_from([(1, 1), (2, 2), (1, 3)]),
       padding=st.sampled_from([(0, 0), (1, 1), (2, 0)]), has_bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_conv2d_matches_numpy(n, c, h, w, o, kh, kw, stride, padding, has_bias, seed):
    if kh > h + 2 * padding[0] or kw > w + 2 * padding[1]:
        return
    rng = np.random.default_rng(seed)
    x, wt = rand(rng, n, c, h, w), rand(rng, o, c, kh, kw)
    b = rand(rng, o) if has_bias else None
    y, cols = C.conv2d_forward(x, wt, b, stride, padding)
    y_np, cols_np = NP.conv2d_forward(x, wt, b, stride, padding)
    k = c * kh * kw
    if cols.ndim == 3:  # im2col's columns; 1-D: Winograd's transform (test_conv2d_winograd_*)
        np.testing.assert_array_equal(cols.transpose(0, 2, 1).reshape(cols_np.shape), cols_np)
    bound = (np.abs(cols_np) @ np.abs(wt.reshape(o, -1)).T).reshape(y_np.shape[0], *y_np.shape[2:], o)
    assert_product_close(y, y_np, bound.transpose(0, 3, 1, 2) + (0 if b is None else
                                                               np.abs(b)[:, None, None]), k)
    dy = rand(rng, *y_np.shape)
    got = C.conv2d_backward(dy, cols, x.shape, wt, stride, padding, True, True, True)
    want = NP.conv2d_backward(dy, cols_np, x.shape, wt, stride, padding, True, True, True)
    for g, ref in zip(got, want):
        assert g.shape == ref.shape and g.dtype == np.float32
        np.testing.assert_allclose(g, ref, rtol=1e-4, atol=1e-4 * np.sqrt(dy.size / o + k))
    # without the weight's gradient no cols are needed (ConvTranspose2dFn's forward): the same dx, db
    for be, full in ((C, got), (NP, want)):
        dx, dw, db = be.conv2d_backward(dy, None, x.shape, wt, stride, padding, True, False, True)
        assert dw is None
        np.testing.assert_array_equal(dx, full[0])
        np.testing.assert_array_equal(db, full[2])


def test_conv2d_backward_without_cols_only_without_the_weight_gradient():
    rng = np.random.default_rng(0)
    x, wt = rand(rng, 2, 3, 5, 5), rand(rng, 4, 3, 3, 3)
    dy = rand(rng, 2, 4, 3, 3)
    for be in (C, NP):
        with pytest.raises(ValueError, match="needs the forward's cols"):
            be.conv2d_backward(dy, None, x.shape, wt, (1, 1), (0, 0), True, True, False)
    ffi, lib = C.ffi, C.lib
    f = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    dw = np.zeros_like(wt)
    # the kernel itself refuses a weight gradient without cols, and writes nothing
    assert lib.nt_conv2d_bwd_f32(2, 3, 5, 5, 4, 3, 3, 1, 1, 0, 0, f(dy), ffi.NULL, f(wt), ffi.NULL,
                                 f(dw), ffi.NULL, 1) == lib.NT_EINVAL
    assert not dw.any()


@pytest.mark.parametrize("n, c, h, w, kh, kw, stride, padding", [
    (1, 1, 7, 5, 3, 3, (1, 1), (1, 1)),   # N=1, C=1; stride 1, Wo == W: im2col_plane
    (3, 5, 5, 9, 5, 5, (1, 1), (2, 2)),
    (2, 3, 6, 11, 1, 1, (1, 1), (0, 0)),
    (2, 3, 9, 7, 3, 5, (1, 1), (1, 2)),
    (2, 1, 3, 4, 5, 1, (1, 1), (2, 0)),   # kernel taller than x: rows wholly in the padding
    (2, 3, 7, 9, 3, 3, (1, 1), (0, 0)),   # Wo != W: the row-by-row copy
    (2, 3, 7, 9, 3, 3, (2, 2), (1, 1)),   # stride 2: the row-by-row copy
    (1, 2, 8, 5, 3, 3, (2, 1), (2, 1)),   # stride (2, 1), Wo == W: the row-by-row copy
])
def test_conv2d_cols_and_grads_every_path(n, c, h, w, kh, kw, stride, padding, nthreads):
    """conv.c's im2col copies a whole tap plane at once when the stride is 1 and Wo == W
    (then zeroes the columns over the padding, which the long copy filled from the
    neighbouring row): its cols must be NumPy's exactly, including rows and columns wholly
    in the padding, and the conv's outputs and gradients NumPy's."""
    rng = np.random.default_rng(h * w + kh)
    x, wt = rand(rng, n, c, h, w), rand(rng, 4, c, kh, kw)
    x[:, :, 0, :] = np.inf  # an edge row and column of inf: must stay out of the padding's taps
    x[:, :, :, -1] = -np.inf
    with np.errstate(invalid="ignore"):  # inf * 0 in the products: only cols are compared here
        y, cols = C.conv2d_forward(x, wt, None, stride, padding)
        y_np, cols_np = NP.conv2d_forward(x, wt, None, stride, padding)
    np.testing.assert_array_equal(cols.transpose(0, 2, 1).reshape(cols_np.shape), cols_np)
    x = rand(rng, n, c, h, w)
    y, cols = C.conv2d_forward(x, wt, None, stride, padding)
    y_np, cols_np = NP.conv2d_forward(x, wt, None, stride, padding)
    np.testing.assert_allclose(y, y_np, rtol=1e-5, atol=1e-5)
    dy = rand(rng, *y.shape)
    got = C.conv2d_backward(dy, cols, x.shape, wt, stride, padding, True, True, True)
    want = NP.conv2d_backward(dy, cols_np, x.shape, wt, stride, padding, True, True, True)
    for g, ref in zip(got, want):
        np.testing.assert_allclose(g, ref, rtol=1e-4, atol=1e-4)


def test_conv2d_threads_and_needs(nthreads):
    rng = np.random.default_rng(0)
    x, wt, dy = rand(rng, 8, 4, 12, 12), rand(rng, 6, 4, 3, 3), rand(rng, 8, 6, 12, 12)
    y, cols = C.conv2d_forward(x, wt, None, (1, 1), (1, 1))
    dx, dw, db = C.conv2d_backward(dy, cols, x.shape, wt, (1, 1), (1, 1), False, True, False)
    assert dx is None and db is None
    want = NP.conv2d_backward(dy, NP.conv2d_forward(x, wt, None, (1, 1), (1, 1))[1], x.shape, wt,
                              (1, 1), (1, 1), False, True, False)[1]
    np.testing.assert_allclose(dw, want, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("x_shape, o", [((64, 1, 28, 28), 32), ((16, 32, 14, 14), 64)])
def test_conv2d_weight_gradient_of_the_cnn_example(x_shape, o, nthreads):
    """The CNN example's convolutions (the first one's dx not needed), whose dW conv.c sums
    as dW2^T [K, O] per thread and transposes at the end: NumPy's dW and db."""
    rng = np.random.default_rng(x_shape[1])
    x, wt = rand(rng, *x_shape), rand(rng, o, x_shape[1], 3, 3)
    y, cols = C.conv2d_forward(x, wt, None, (1, 1), (1, 1))
    dy = rand(rng, *y.shape)
    got = C.conv2d_backward(dy, cols, x.shape, wt, (1, 1), (1, 1), False, True, True)
    want = NP.conv2d_backward(dy, NP.conv2d_forward(x, wt, None, (1, 1), (1, 1))[1], x.shape, wt,
                              (1, 1), (1, 1), False, True, True)
    assert got[0] is None
    for g, ref in zip(got[1:], want[1:]):
        np.testing.assert_allclose(g, ref, rtol=1e-4, atol=2e-3)


WINOGRAD_CASES = [  # n, c, h, w, o, padding: every padding 0..2 per side, odd and even sides
    (2, 8, 14, 14, 16, (1, 1)),   # the CNN example's second conv, smaller
    (3, 9, 5, 7, 8, (1, 1)),      # odd sides: half-empty last tiles
    (2, 8, 6, 9, 11, (0, 0)),
    (1, 10, 4, 5, 8, (2, 1)),
    (5, 8, 9, 13, 9, (2, 2)),
    (2, 8, 1, 3, 8, (1, 0)),      # one row, one output column
    (1, 8, 3, 3, 8, (0, 0)),      # one output pixel
    (9, 12, 7, 6, 10, (0, 2)),    # blocks of images of unequal length on 2 threads
    (2, 8, 5, 1, 8, (1, 1)),      # one output column: rows written one by one
    (2, 8, 6, 2, 9, (1, 1)),      # two output columns
]


def winograd_bound(bound: np.ndarray) -> np.ndarray:
    """The error bound of a Winograd sum from the direct sum's ``|a| @ |b|``: the transforms
    mix a whole patch (4x4 inputs, or a 2x2 tile of dy) before the products, so each result
    carries the rounding of its plane's largest terms: the bound's maximum over the last
    two axes (the 3x3 taps of dw, the pixels of y and dx)."""
    return np.broadcast_to(bound.max(axis=(-2, -1), keepdims=True), bound.shape)


@pytest.mark.parametrize("n, c, h, w, o, padding", WINOGRAD_CASES)
def test_conv2d_winograd_matches_numpy(n, c, h, w, o, padding, nthreads, recorder):
    """3x3, stride 1, >= 8 channels in and out: winograd.c's F(2x2, 3x3). Outputs and the
    three gradients are NumPy's within the error bound of the sums (the transforms' adds and
    halvings are a few roundings more per term); dx, dw, db each on their own too."""
    rng = np.random.default_rng(n * 100 + h * 10 + w)
    x, wt, b = rand(rng, n, c, h, w), rand(rng, o, c, 3, 3), rand(rng, o)
    y, v = C.conv2d_forward(x, wt, b, (1, 1), padding)
    y_np, cols_np = NP.conv2d_forward(x, wt, b, (1, 1), padding)
    assert recorder.calls == ["nt_conv2d_wino_fwd_f32"] and v.ndim == 1 and y.shape == y_np.shape
    bound = NP.conv2d_forward(np.abs(x), np.abs(wt), np.abs(b), (1, 1), padding)[0]
    assert_product_close(y, y_np, winograd_bound(bound), 4 * 9 * c)
    dy = rand(rng, *y.shape)
    want = NP.conv2d_backward(dy, cols_np, x.shape, wt, (1, 1), padding, True, True, True)
    got = C.conv2d_backward(dy, v, x.shape, wt, (1, 1), padding, True, True, True)
    assert recorder.calls[1:] == ["nt_conv2d_wino_bwd_f32"]
    # dx[n, c] sums dy over o and the 9 taps; dw[o, c] over n and the output pixels; db too
    dx_bound = NP.conv2d_backward(np.abs(dy), NP.conv2d_forward(np.abs(x), np.abs(wt), None, (1, 1),
                                                                padding)[1],
                                  x.shape, np.abs(wt), (1, 1), padding, True, True, True)
    for g, ref, bound, k in zip(got, want, dx_bound, (9 * o, y[:, 0].size, y[:, 0].size)):
        assert g.shape == ref.shape and g.dtype == np.float32
        assert_product_close(g, ref, bound if bound.ndim == 1 else winograd_bound(bound), 4 * k)
    for need in ((True, False, False), (False, True, False), (False, False, True)):
        alone = C.conv2d_backward(dy, v, x.shape, wt, (1, 1), padding, *need)
        for g, full, wanted in zip(alone, got, need):
            assert (g is None) != wanted
            if wanted:
                np.testing.assert_array_equal(g, full)


@pytest.mark.parametrize("n, c, h, w, o, padding", [
    (2, 32, 14, 14, 64, (1, 1)),   # the CNN example's conv2 (8x8 transposes, no channel tail)
    (3, 13, 17, 10, 21, (1, 1)),   # channel tails after a block of 8, odd sides
    (1, 16, 9, 16, 24, (0, 2)),    # unequal paddings, columns in 8-wide blocks and a tail
])
def test_conv2d_winograd_matches_torch(n, c, h, w, o, padding, nthreads, torch, recorder):
    """The Winograd kernels (channels-innermost tiles) against PyTorch's float64 conv2d and
    its autograd: y, dx, dw, db within the bound of the Winograd sums."""
    rng = np.random.default_rng(c * 100 + o)
    x, wt, b = rand(rng, n, c, h, w), rand(rng, o, c, 3, 3), rand(rng, o)
    y, v = C.conv2d_forward(x, wt, b, (1, 1), padding)
    dy = rand(rng, *y.shape)
    got = C.conv2d_backward(dy, v, x.shape, wt, (1, 1), padding, True, True, True)
    assert recorder.calls == ["nt_conv2d_wino_fwd_f32", "nt_conv2d_wino_bwd_f32"]
    tx, tw, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, wt, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, padding=padding)
    ty.backward(torch.tensor(dy, dtype=torch.float64))
    y_bound = NP.conv2d_forward(np.abs(x), np.abs(wt), np.abs(b), (1, 1), padding)[0]
    assert_product_close(y, ty.detach().numpy(), winograd_bound(y_bound), 4 * 9 * c)
    bounds = NP.conv2d_backward(np.abs(dy), NP.conv2d_forward(np.abs(x), np.abs(wt), None, (1, 1),
                                                              padding)[1],
                                x.shape, np.abs(wt), (1, 1), padding, True, True, True)
    for g, ref, bound, k in zip(got, (tx.grad, tw.grad, tb.grad), bounds,
                                (9 * o, y[:, 0].size, y[:, 0].size)):
        assert g.shape == tuple(ref.shape) and g.dtype == np.float32
        assert_product_close(g, ref.numpy(), bound if bound.ndim == 1 else winograd_bound(bound),
                             4 * k)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_conv2d_winograd_non_finite_inputs_stay_in_their_windows(bad):
    """An inf or NaN in x: exactly the outputs whose windows read it are non-finite (the
    transforms mix a whole 4x4 patch, but the zeros of A^T keep it from the others), though
    inf - inf may make NaN of NumPy's inf."""
    rng = np.random.default_rng(5)
    for _ in range(30):
        h, w = (int(v) for v in rng.integers(3, 12, 2))
        padding = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        x, wt = rand(rng, 2, 8, h, w), rand(rng, 8, 8, 3, 3)
        x[tuple(int(rng.integers(0, size)) for size in x.shape)] = bad
        with np.errstate(invalid="ignore", over="ignore"):
            y, v = C.conv2d_forward(x, wt, None, (1, 1), padding)
            want = NP.conv2d_forward(x, wt, None, (1, 1), padding)[0]
        assert v.ndim == 1
        np.testing.assert_array_equal(np.isfinite(y), np.isfinite(want))
        assert np.isfinite(want).sum() < want.size


def test_conv2d_winograd_only_where_it_pays(recorder):
    """Fewer than 8 channels in or out, another window or a stride: im2col (conv.c)."""
    rng = np.random.default_rng(3)
    for c, o, k, stride, padding in [(7, 8, 3, 1, 1), (8, 7, 3, 1, 1), (8, 8, 5, 1, 1),
                                     (8, 8, 3, 2, 1), (8, 8, 3, 1, 3)]:
        x, wt = rand(rng, 2, c, 9, 9), rand(rng, o, c, k, k)
        recorder.calls.clear()
        y, cols = C.conv2d_forward(x, wt, None, (stride, stride), (padding, padding))
        assert recorder.calls == ["nt_conv2d_fwd_f32"] and cols.ndim == 3


def test_conv2d_winograd_float64_grad_and_foreign_saved_tensor():
    """The backward of a Winograd forward takes a float64 dy (converted, as ``_arg`` does);
    a 1-D saved tensor that does not fit the call is refused before C."""
    rng = np.random.default_rng(4)
    x, wt = rand(rng, 2, 8, 6, 6), rand(rng, 8, 8, 3, 3)
    y, v = C.conv2d_forward(x, wt, None, (1, 1), (1, 1))
    dy = rand(rng, *y.shape)
    grads = (C.conv2d_backward(d, v, x.shape, wt, (1, 1), (1, 1), True, True, True)
             for d in (dy.astype(np.float64), dy))
    for g, ref in zip(*grads):
        np.testing.assert_array_equal(g, ref)
    with pytest.raises(ValueError, match=r"shape \[\d+\], expected"):
        C.conv2d_backward(dy, v[:-1], x.shape, wt, (1, 1), (1, 1), True, True, True)
    with pytest.raises(ValueError, match="Winograd"):
        C.conv2d_backward(dy, v, x.shape, wt, (1, 1), (3, 3), True, True, True)


def test_conv2d_winograd_kernel_refuses_bad_sizes():
    """The C entry points' own checks (Python never sends these): padding above 2, a
    window larger than the padded input, negative or zero sizes, a missing pointer."""
    ffi, lib = C.ffi, C.lib
    x, y = np.zeros(2 * 8 * 4 * 4, np.float32), np.zeros(2 * 8 * 4 * 4, np.float32)
    wt, v = np.zeros(8 * 8 * 9, np.float32), np.zeros(16 * 8 * 2 * 9, np.float32)
    px, pw, py, pv = (ffi.from_buffer("float[]", a) for a in (x, wt, y, v))
    null = ffi.NULL
    assert lib.nt_conv2d_wino_fwd_f32(2, 8, 4, 4, 8, 1, 1, px, pw, null, py, pv, 1) == 0
    for sizes in [(2, 8, 4, 4, 8, 3, 1), (2, 8, 1, 4, 8, 0, 1), (-1, 8, 4, 4, 8, 1, 1),
                  (2, 0, 4, 4, 8, 1, 1)]:
        assert lib.nt_conv2d_wino_fwd_f32(*sizes, px, pw, null, py, pv, 1) == lib.NT_EINVAL
        assert lib.nt_conv2d_wino_bwd_f32(*sizes, py, pv, pw, px, null, null, 1) == lib.NT_EINVAL
    assert lib.nt_conv2d_wino_fwd_f32(2, 8, 4, 4, 8, 1, 1, px, pw, null, null, pv, 1) == lib.NT_EINVAL
    assert lib.nt_conv2d_wino_bwd_f32(2, 8, 4, 4, 8, 1, 1, py, null, pw, null, pw, null, 1) == lib.NT_EINVAL


def test_conv2d_numpy_layout_cols_and_float64_fall_through(recorder):
    rng = np.random.default_rng(0)
    x, wt = rand(rng, 2, 3, 5, 5), rand(rng, 4, 3, 3, 3)
    y, cols_np = NP.conv2d_forward(x, wt, None, (1, 1), (0, 0))
    dy = rand(rng, *y.shape)
    for got, want in zip(C.conv2d_backward(dy, cols_np, x.shape, wt, (1, 1), (0, 0), True, True, True),
                         NP.conv2d_backward(dy, cols_np, x.shape, wt, (1, 1), (0, 0), True, True, True)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    y64, _ = C.conv2d_forward(x.astype(np.float64), wt.astype(np.float64), None, (1, 1), (0, 0))
    assert y64.dtype == np.float64
    # NumPy's conv runs its GEMMs on the backend's linear kernels: C's when they apply
    assert "nt_conv2d_bwd_f32" not in recorder.calls and "nt_conv2d_fwd_f32" not in recorder.calls


def test_conv2d_refuses_bad_shapes_before_c(recorder):
    """The sizes C is told must be the arrays'; a window that does not fit is NumPy's to
    refuse (the op layer words the user's errors: test_error_messages.py)."""
    x, wt = np.zeros((2, 3, 5, 5), np.float32), np.zeros((4, 2, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"shape \[4, 2, 3, 3\], expected \[4, 3, 3, 3\]"):
        C.conv2d_forward(x, wt, None, (1, 1), (0, 0))
    with pytest.raises(ValueError, match="window shape"):
        C.conv2d_forward(x, np.zeros((4, 3, 9, 9), np.float32), None, (1, 1), (1, 1))
    good = np.zeros((4, 3, 3, 3), np.float32)
    _, cols = NP.conv2d_forward(x, good, None, (1, 1), (0, 0))
    with pytest.raises(ValueError, match=r"shape \[2, 4, 2, 2\], expected \[2, 4, 3, 3\]"):
        C.conv2d_backward(np.zeros((2, 4, 2, 2), np.float32), cols.reshape(2, 9, 27).transpose(0, 2, 1),
                          x.shape, good, (1, 1), (0, 0), True, True, True)
    assert recorder.calls == []


# ---------------------------------------------------------------------------- pooling
def pool_input(rng, shape, ties: bool, specials: bool) -> np.ndarray:
    """Normal values, or few distinct ones (ties in most windows); maybe some NaN and -inf."""
    x = rng.integers(-2, 3, shape).astype(np.float32) if ties else rand(rng, *shape)
    if specials and x.size:
        x.flat[rng.integers(0, x.size, max(1, x.size // 20))] = -np.inf
        x.flat[rng.integers(0, x.size, max(1, x.size // 40))] = np.nan
    return x


def reference_max_pool(x, kernel, stride, padding):
    """Window by window in Python: PyTorch's rule (the first max in row-major order, a NaN
    counts as the max, the search starts at the window's first input)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y, index = np.zeros((n, c, ho, wo), x.dtype), np.zeros((n, c, ho, wo), np.int64)
    for i in range(ho):
        for j in range(wo):
            rows = range(max(i * sh - ph, 0), min(i * sh - ph + kh, h))
            cols = range(max(j * sw - pw, 0), min(j * sw - pw + kw, w))
            for p in np.ndindex(n, c):
                best, arg = -np.inf, rows[0] * w + cols[0]
                for r in rows:
                    for s in cols:
                        v = x[p][r, s]
                        if v > best or (np.isnan(v) and not np.isnan(best)):
                            best, arg = v, r * w + s
                y[p][i, j], index[p][i, j] = best, arg
    return y, index


@st.composite
def pool_geometry(draw):
    """``(shape, kernel, stride, padding)`` PyTorch accepts: padding at most half the kernel,
    at least one window; strides below (overlapping windows), at and above the kernel."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 9))
    w = draw(st.integers(max(1, kw - 2 * pw), 12))
    n, c = draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from([1, 2, 5]))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    return (n, c, h, w), (kh, kw), stride, (ph, pw)


@SETTINGS
@given(geometry=pool_geometry(), ties=st.booleans(), specials=st.booleans(),
       seed=st.integers(0, 2**16))
def test_max_pool_matches_numpy_bit_for_bit(geometry, ties, specials, seed):
    """Overlapping windows (stride < kernel), gaps (stride > kernel), padding, ties, NaN, -inf:
    the same maxima, the same indices (the same first max) and the same scattered gradient."""
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    x = pool_input(rng, shape, ties, specials)
    h, w = shape[2:]
    y, index = C.max_pool2d_forward(x, kernel, stride, padding)
    y_np, index_np = NP.max_pool2d_forward(x, kernel, stride, padding)
    assert y.dtype == np.float32 and index.dtype == np.int64
    np.testing.assert_array_equal(y, y_np)
    np.testing.assert_array_equal(index, index_np)
    assert ((0 <= index) & (index < h * w)).all()
    dy = pool_input(rng, y.shape, ties, False)  # ties in dy: sums of equal terms, in order
    np.testing.assert_array_equal(C.max_pool2d_backward(dy, index, x.shape),
                                  NP.max_pool2d_backward(dy, index_np, x.shape))


def fused_relu_pool(x, kernel, stride, padding, dy, nthreads=1):
    """pool.c's fused kernels (a compiled step's ReLU -> MaxPool2d, nanotorch/compiler/
    fusion.py) on float32 ``x``: ``(y, indices, dx)``, each kernel's status checked."""
    ffi, lib = C.ffi, C.lib
    n, c, h, w = x.shape
    (ho, wo), sizes = dy.shape[2:], (*x.shape, *kernel, *stride, *padding)
    y, index, dx = np.empty(dy.shape, np.float32), np.empty(dy.shape, np.int64), np.empty_like(x)
    f, i64 = (lambda a: ffi.from_buffer("float[]", a)), (lambda a: ffi.from_buffer("int64_t[]", a))
    assert lib.nt_max_pool2d_relu_fwd_f32(*sizes, f(x), f(y), i64(index), nthreads) == lib.NT_OK
    assert lib.nt_max_pool2d_relu_bwd_f32(n, c, h, w, ho, wo, f(dy), i64(index), f(y), f(dx),
                                          nthreads) == lib.NT_OK
    return y, index, dx


@SETTINGS
@given(geometry=pool_geometry(), ties=st.booleans(), specials=st.booleans(),
       seed=st.integers(0, 2**16))
def test_fused_relu_max_pool_is_relu_then_pool_bit_for_bit(geometry, ties, specials, seed):
    """max_pool(relu(x)) in one kernel, and its gradient: the bits of the ReLU kernel
    followed by the pooling kernel (and their backwards), which are the NumPy backend's:
    overlapping windows, gaps, padding, ties (zeros where relu clips), NaN, -inf, -0."""
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    x = pool_input(rng, shape, ties, specials)
    x.reshape(-1)[::7] = -0.0
    r = NP.relu_forward(x)
    want_y, want_index = NP.max_pool2d_forward(r, kernel, stride, padding)
    dy = pool_input(rng, want_y.shape, ties, False)
    want_dx = NP.relu_backward(NP.max_pool2d_backward(dy, want_index, shape), r)
    for nthreads in (1, 2):
        y, index, dx = fused_relu_pool(x, kernel, stride, padding, dy, nthreads)
        np.testing.assert_array_equal(y.view(np.int32), want_y.view(np.int32))  # +0, not -0
        np.testing.assert_array_equal(index, want_index)
        np.testing.assert_array_equal(dx.view(np.int32), want_dx.view(np.int32))
        c_r = C.relu_forward(x)
        np.testing.assert_array_equal(dx, C.relu_backward(C.max_pool2d_backward(dy, index, shape), c_r))


@pytest.mark.parametrize("ties", [False, True])
def test_fused_relu_max_pool_2x2_rows_of_every_length(ties):
    """The fused forward on pool.c's 2x2 stride-2 path (four outputs per step, overlapping
    or padded row ends): rows of 1 to 10 outputs; windows of negatives, where relu ties
    them at 0 and the first wins."""
    rng = np.random.default_rng(11 + ties)
    for h, w in [(2, 2), (3, 5), (4, 7), (2, 8), (5, 9), (6, 15), (4, 16), (3, 19), (2, 20), (28, 28)]:
        x = pool_input(rng, (2, 3, h, w), ties=ties, specials=True)
        x[1, 2] = -np.inf
        x[0, 1] = -np.abs(x[0, 1]) - 1  # a plane of negatives only
        r = NP.relu_forward(x)
        want_y, want_index = NP.max_pool2d_forward(r, (2, 2), (2, 2), (0, 0))
        dy = rand(rng, *want_y.shape)
        y, index, dx = fused_relu_pool(x, (2, 2), (2, 2), (0, 0), dy)
        np.testing.assert_array_equal(y.view(np.int32), want_y.view(np.int32))
        np.testing.assert_array_equal(index, want_index)
        want_dx = NP.relu_backward(NP.max_pool2d_backward(dy, want_index, x.shape), r)
        np.testing.assert_array_equal(dx, want_dx)


def test_fused_relu_max_pool_refuses_what_the_pool_refuses():
    """The fused kernels check what the plain ones check (sizes, NULL, each index against
    its plane), and the backward needs the forward's output."""
    ffi, lib = C.ffi, C.lib
    x, dy = np.ones((1, 2, 4, 4), np.float32), np.ones((1, 2, 2, 2), np.float32)
    y, dx, index = np.ones_like(dy), np.empty_like(x), np.zeros(dy.shape, np.int64)
    f, i64 = (lambda a: ffi.from_buffer("float[]", a)), (lambda a: ffi.from_buffer("int64_t[]", a))
    fwd, bwd = lib.nt_max_pool2d_relu_fwd_f32, lib.nt_max_pool2d_relu_bwd_f32
    assert fwd(1, 2, 4, 4, 2, 2, 2, 2, 2, 0, f(x), f(y), i64(index), 1) == lib.NT_EINVAL  # padding
    assert fwd(1, 2, 4, 4, 5, 2, 2, 2, 0, 0, f(x), f(y), i64(index), 1) == lib.NT_EINVAL  # window
    assert fwd(1, 2, 4, 4, 2, 2, 2, 2, 0, 0, ffi.NULL, f(y), i64(index), 1) == lib.NT_EINVAL
    assert bwd(1, 2, 4, 4, 2, 2, f(dy), i64(index), ffi.NULL, f(dx), 1) == lib.NT_EINVAL
    for bad in (-1, 16):
        index[0, 1, 1, 1] = bad
        assert bwd(1, 2, 4, 4, 2, 2, f(dy), i64(index), f(y), f(dx), 1) == lib.NT_EINVAL
    index[0, 1, 1, 1] = 15
    assert bwd(1, 2, 4, 4, 2, 2, f(dy), i64(index), f(y), f(dx), 1) == lib.NT_OK
    assert dx[0, 0, 0, 0] == 4 and dx[0, 1, 3, 3] == 1 and dx.sum() == 8


@SETTINGS
@given(geometry=pool_geometry(), specials=st.booleans(), seed=st.integers(0, 2**16))
def test_avg_pool_matches_numpy_bit_for_bit(geometry, specials, seed):
    """Both backends sum in the same order (tap by tap), so even the rounding agrees."""
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    x = pool_input(rng, shape, False, specials)
    y = C.avg_pool2d_forward(x, kernel, stride, padding)
    np.testing.assert_array_equal(y, NP.avg_pool2d_forward(x, kernel, stride, padding))
    dy = rand(rng, *y.shape)
    np.testing.assert_array_equal(C.avg_pool2d_backward(dy, x.shape, kernel, stride, padding),
                                  NP.avg_pool2d_backward(dy, x.shape, kernel, stride, padding))


@pytest.mark.parametrize("kernel, stride, padding", [((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1)),
                                                     ((3, 2), (2, 1), (1, 1)), ((4, 4), (3, 3), (2, 0))])
def test_max_pool_spec_is_pytorchs_rule(kernel, stride, padding):
    """The NumPy specification against a window-by-window loop: ties, -inf windows, NaN."""
    rng = np.random.default_rng(sum(kernel) + sum(stride))
    x = pool_input(rng, (2, 3, 7, 6), ties=True, specials=True)
    x[0, 0] = -np.inf  # windows of -inf only, padded or not: the first input, never the padding
    want_y, want_index = reference_max_pool(x, kernel, stride, padding)
    for b in (NP, C):
        y, index = b.max_pool2d_forward(x, kernel, stride, padding)
        np.testing.assert_array_equal(y, want_y)
        np.testing.assert_array_equal(index, want_index)


def test_max_pool_indices_are_pytorchs(torch):
    rng = np.random.default_rng(3)
    x = pool_input(rng, (2, 4, 9, 8), ties=True, specials=False)
    for kernel, stride, padding in [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 1), (1, 1))]:
        want = torch.nn.functional.max_pool2d(torch.from_numpy(x), kernel, stride, padding,
                                              return_indices=True)
        for b in (NP, C):
            y, index = b.max_pool2d_forward(x, kernel, stride, padding)
            np.testing.assert_array_equal(y, want[0].numpy())
            np.testing.assert_array_equal(index, want[1].numpy())


@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_2x2_rows_of_every_length(ties, nthreads):
    """pool.c's 2x2 stride-2 path (four outputs per step; a row's last ones by a step that
    overlaps the one before, or on a padded copy in rows of fewer than four outputs):
    rows of 1 to 10 outputs, odd widths (a column no window reads), NaN, -inf, ties, planes
    of -inf only; the same maxima and indices as the NumPy backend and the Python loop."""
    rng = np.random.default_rng(7 + ties)
    for h, w in [(2, 2), (3, 5), (4, 7), (2, 8), (5, 9), (6, 15), (4, 16), (3, 19), (2, 20)]:
        x = pool_input(rng, (2, 3, h, w), ties=ties, specials=True)
        x[1, 2] = -np.inf
        y, index = C.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
        want_y, want_index = reference_max_pool(x, (2, 2), (2, 2), (0, 0))
        np.testing.assert_array_equal(y, want_y)
        np.testing.assert_array_equal(index, want_index)
        np.testing.assert_array_equal(index, NP.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))[1])


def test_max_pool_offsets_past_int32_go_to_numpy(recorder, monkeypatch):
    """pool.c keeps a window's offsets u*W + v in int32: the kernel refuses planes where they
    would pass INT32_MAX, and the backend gives those to NumPy (shown with the limit lowered:
    such a plane is gigabytes)."""
    ffi, lib = C.ffi, C.lib
    px = ffi.from_buffer("float[]", np.zeros(1, np.float32))
    pi = ffi.from_buffer("int64_t[]", np.zeros(1, np.int64))
    assert lib.nt_max_pool2d_fwd_f32(0, 1, 3, 2**30, 3, 1, 1, 1, 0, 0, px, px, pi, 1) == lib.NT_EINVAL
    assert lib.nt_max_pool2d_fwd_f32(0, 1, 3, 2**29, 3, 1, 1, 1, 0, 0, px, px, pi, 1) == lib.NT_OK
    recorder.calls.clear()
    x = pool_input(np.random.default_rng(0), (2, 3, 6, 8), ties=True, specials=True)
    monkeypatch.setattr(c_backend, "_INT32_MAX", 2 * 8 + 1)  # (kh - 1)*W + kw - 1 = 18 passes it
    for got, want in zip(C.max_pool2d_forward(x, (3, 3), (1, 1), (1, 1)),
                         NP.max_pool2d_forward(x, (3, 3), (1, 1), (1, 1))):
        np.testing.assert_array_equal(got, want)
    assert recorder.calls == []
    C.max_pool2d_forward(x, (2, 3), (1, 1), (1, 1))  # 1*8 + 2 = 10: C's
    assert recorder.calls == ["nt_max_pool2d_fwd_f32"]


@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((64, 16, 28, 28), (2, 2), (2, 2), (0, 0)),   # the CNN example's two pools
    ((64, 32, 14, 14), (2, 2), (2, 2), (0, 0)),
    ((9, 15, 23, 29), (3, 3), (2, 2), (1, 1)),    # 135 planes: an uneven split
])
def test_pooling_threads_agree(shape, kernel, stride, padding, nthreads):
    rng = np.random.default_rng(0)
    x = pool_input(rng, shape, ties=True, specials=False)
    y, index = C.max_pool2d_forward(x, kernel, stride, padding)
    y_np, index_np = NP.max_pool2d_forward(x, kernel, stride, padding)
    np.testing.assert_array_equal(y, y_np)
    np.testing.assert_array_equal(index, index_np)
    dy = rand(rng, *y.shape)
    np.testing.assert_array_equal(C.max_pool2d_backward(dy, index, shape),
                                  NP.max_pool2d_backward(dy, index, shape))
    np.testing.assert_array_equal(C.avg_pool2d_forward(x, kernel, stride, padding),
                                  NP.avg_pool2d_forward(x, kernel, stride, padding))
    np.testing.assert_array_equal(C.avg_pool2d_backward(dy, shape, kernel, stride, padding),
                                  NP.avg_pool2d_backward(dy, shape, kernel, stride, padding))


def test_pooling_empty_batch_and_views(recorder):
    rng = np.random.default_rng(0)
    empty = np.zeros((0, 3, 5, 5), np.float32)
    y, index = C.max_pool2d_forward(empty, (2, 2), (2, 2), (1, 1))
    assert y.shape == index.shape == (0, 3, 3, 3)
    assert C.max_pool2d_backward(y, index, empty.shape).shape == empty.shape
    assert C.avg_pool2d_backward(y, empty.shape, (2, 2), (2, 2), (1, 1)).shape == empty.shape
    x = rand(rng, 2, 3, 8, 10).transpose(0, 1, 3, 2)  # not C-contiguous: copied for C
    y, index = C.max_pool2d_forward(x, (3, 2), (2, 2), (1, 0))
    np.testing.assert_array_equal(y, NP.max_pool2d_forward(x, (3, 2), (2, 2), (1, 0))[0])
    dy = np.broadcast_to(np.float32(1.0), y.shape)  # a broadcast gradient, as from .sum()
    np.testing.assert_array_equal(C.max_pool2d_backward(dy, index.astype(np.int32), x.shape),
                                  NP.max_pool2d_backward(dy, index, x.shape))
    np.testing.assert_array_equal(C.avg_pool2d_backward(dy, x.shape, (3, 2), (2, 2), (1, 0)),
                                  NP.avg_pool2d_backward(dy, x.shape, (3, 2), (2, 2), (1, 0)))
    assert "nt_max_pool2d_bwd_f32" in recorder.calls and "nt_avg_pool2d_bwd_f32" in recorder.calls


def test_pooling_float64_falls_through_to_numpy(recorder):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6))
    y, index = C.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    assert y.dtype == np.float64
    C.max_pool2d_backward(np.ones_like(y), index, x.shape)
    C.avg_pool2d_backward(C.avg_pool2d_forward(x, (3, 3), (1, 1), (1, 1)), x.shape, (3, 3),
                          (1, 1), (1, 1))
    assert recorder.calls == []


@pytest.mark.parametrize("bad", [-1, 16, 2**40, -2**63])
def test_max_pool_backward_refuses_indices_out_of_range_before_c(bad, recorder):
    x_shape, dy = (2, 3, 4, 4), np.ones((2, 3, 2, 2), np.float32)
    index = np.zeros(dy.shape, np.int64)
    index[1, 2, 1, 0] = bad
    for b in (C, NP):
        with pytest.raises(IndexError, match=f"index {bad} is out of range"):
            b.max_pool2d_backward(dy, index, x_shape)
    assert recorder.calls == []


def test_pooling_refuses_bad_arguments_before_c(recorder):
    x, dy = np.zeros((2, 3, 4, 4), np.float32), np.ones((2, 3, 2, 2), np.float32)
    index = np.zeros(dy.shape, np.int64)
    with pytest.raises(ValueError, match="do not match"):  # indices of another shape
        C.max_pool2d_backward(dy, index[:, :, :1], x.shape)
    with pytest.raises(ValueError, match="do not match"):  # dy of another batch
        C.max_pool2d_backward(dy[:1], index[:1], x.shape)
    with pytest.raises(TypeError, match="integer"):
        C.max_pool2d_backward(dy, index.astype(np.float32), x.shape)
    with pytest.raises(ValueError, match="padding at most half"):
        C.max_pool2d_forward(x, (2, 2), (1, 1), (2, 0))
    with pytest.raises(ValueError, match="do not fit"):
        C.avg_pool2d_forward(x, (7, 2), (1, 1), (1, 0))
    with pytest.raises(ValueError, match=r"shape \[2, 3, 2, 2\], expected \[2, 3, 3, 3\]"):
        C.avg_pool2d_backward(dy, x.shape, (2, 2), (1, 1), (0, 0))
    assert recorder.calls == []


def test_max_pool_backward_c_level_check_never_writes_out_of_bounds():
    """Called directly with a bad index, the kernel skips it and says so: every write stays
    inside dx (checked with NaN guard cells on both sides)."""
    ffi, lib = C.ffi, C.lib
    dy = np.ones((1, 2, 2, 2), np.float32)
    store = np.full(2 + 2 * 16 + 2, np.nan, np.float32)  # dx[1, 2, 4, 4] between guard cells
    dx = store[2:-2]
    for bad in (-1, 16, 1000):
        index = np.zeros(dy.shape, np.int64)
        index[0, 1, 0, 1] = bad
        assert lib.nt_max_pool2d_bwd_f32(1, 2, 4, 4, 2, 2, ffi.from_buffer("float[]", dy),
                                         ffi.from_buffer("int64_t[]", index),
                                         ffi.from_buffer("float[]", dx), 1) == lib.NT_EINVAL
        assert np.isnan(store[:2]).all() and np.isnan(store[-2:]).all()


def test_pooling_c_level_checks_refuse_bad_sizes():
    ffi, lib = C.ffi, C.lib
    x = np.zeros(64, np.float32)
    px, pi = ffi.from_buffer("float[]", x), ffi.from_buffer("int64_t[]", np.zeros(64, np.int64))
    ok = (1, 1, 8, 8, 2, 2, 2, 2, 1, 1)
    assert lib.nt_max_pool2d_fwd_f32(*ok, px, px, pi, 1) == lib.NT_OK
    for sizes in [(1, 1, 8, 8, 2, 2, 2, 2, 2, 1),    # padding over half the kernel
                  (1, 1, 8, 8, 11, 2, 1, 1, 1, 0),   # kernel larger than the padded input
                  (1, 0, 8, 8, 2, 2, 2, 2, 0, 0),    # no channel
                  (1, 1, 8, 8, 2, 2, 0, 2, 0, 0),    # stride 0
                  (-1, 1, 8, 8, 2, 2, 2, 2, 0, 0),
                  (2**62, 2**62, 8, 8, 2, 2, 2, 2, 0, 0)]:  # sizes whose product overflows
        assert lib.nt_max_pool2d_fwd_f32(*sizes, px, px, pi, 1) == lib.NT_EINVAL, sizes
        assert lib.nt_avg_pool2d_fwd_f32(*sizes, px, px, 1) == lib.NT_EINVAL, sizes
        assert lib.nt_avg_pool2d_bwd_f32(*sizes, px, px, 1) == lib.NT_EINVAL, sizes
    assert lib.nt_max_pool2d_fwd_f32(*ok, px, px, pi, 0) == lib.NT_EINVAL
    assert lib.nt_max_pool2d_fwd_f32(*ok, ffi.NULL, px, pi, 1) == lib.NT_EINVAL
    assert lib.nt_max_pool2d_bwd_f32(1, 1, 8, 8, 0, 4, px, pi, px, 1) == lib.NT_EINVAL


# ---------------------------------------------------------------------- cross-entropy
@SETTINGS
@given(n=st.sampled_from([1, 2, 7, 64, 130, 517]), c=st.sampled_from([1, 2, 10, 33, 1000]),
       reduction=st.sampled_from(["mean", "sum", "none"]),
       smoothing=st.sampled_from([0.0, 0.1, 1.0]), scale=st.sampled_from([0.0, 1.0, 30.0, 1e30]),
       ignore=st.sampled_from([-100, 0, 3]), seed=st.integers(0, 2**16))
def test_cross_entropy_matches_numpy(n, c, reduction, smoothing, scale, ignore, seed):
    rng = np.random.default_rng(seed)
    logits = rand(rng, n, c, scale=scale)
    target = rng.integers(0, c, n)
    target[rng.random(n) < 0.2] = ignore
    loss_c, probs_c = C.cross_entropy_forward(logits, target, reduction, smoothing, ignore)
    loss_np, probs_np = NP.cross_entropy_forward(logits, target, reduction, smoothing, ignore)
    assert loss_c.shape == loss_np.shape and loss_c.dtype == np.float32
    np.testing.assert_allclose(loss_c, loss_np, rtol=2e-5, atol=2e-5 * max(1, np.log(c)))
    np.testing.assert_allclose(probs_c, probs_np, rtol=2e-5, atol=1e-7)
    dloss = rand(rng, *loss_np.shape)
    np.testing.assert_allclose(
        C.cross_entropy_backward(dloss, probs_np, target, reduction, smoothing, ignore),
        NP.cross_entropy_backward(dloss, probs_np, target, reduction, smoothing, ignore),
        rtol=1e-5, atol=1e-7)


def test_cross_entropy_rows_split_between_threads_give_one_threads_answer():
    """Two threads take whole blocks of 64 rows each ([517,10]: 320 + 197): every row's
    probabilities and gradient are the same bits as on one thread, the summed loss the same
    to float rounding (the two shares' sums are added, not every row in turn)."""
    rng = np.random.default_rng(11)
    logits, target = rand(rng, 517, 10, scale=3.0), rng.integers(0, 10, 517)
    target[::7] = -100
    before = threads.get_num_threads()
    out = {}
    try:
        for nt in (1, 2):
            threads.set_num_threads(nt)
            loss, probs = C.cross_entropy_forward(logits, target, "mean", 0.1, -100)
            rows, _ = C.cross_entropy_forward(logits, target, "none", 0.1, -100)
            dlogits = C.cross_entropy_backward(np.ones(517, np.float32), probs, target, "none",
                                               0.1, -100)
            out[nt] = loss, probs, rows, dlogits
    finally:
        threads.set_num_threads(before)
    for one, two in zip(out[1][1:], out[2][1:]):
        np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(out[1][0], out[2][0], rtol=1e-6)


def test_cross_entropy_log_of_row_sums_is_accurate():
    """The forward's vector log (nt_vlogf) over row sums from 1 to C: with the target the
    row's max, the loss is ln(sum_j e^(l_j - max)); against float64 within a few ulp."""
    rng = np.random.default_rng(5)
    for c in (1, 2, 3, 10, 1000):
        logits = -rng.exponential(rng.choice([0.01, 1.0, 20.0], size=(203, 1)), size=(203, c))
        logits = logits.astype(np.float32)
        logits[:, 0] = 0.0
        loss, _ = C.cross_entropy_forward(logits, np.zeros(203, np.int64), "none", 0.0, -100)
        want = np.log(np.exp(logits.astype(np.float64)).sum(axis=1))
        np.testing.assert_allclose(loss, want, rtol=4 * EPS, atol=4 * EPS)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy: -inf * 0 in ignored rows
def test_cross_entropy_extreme_logits_match_numpy():
    """The C forward's own expf: -inf, NaN, huge spreads and underflow (a probability below
    float32's smallest normal may come out 0), in both backward paths."""
    logits = np.array([[0, -np.inf, 1, 2], [np.nan, 0, 1, 2], [-200, 0, -90, -87.5],
                       [1e30, -1e30, 0, 5], [88, 0, -88, 1]], np.float32)
    target = np.array([0, 1, 1, 3, -100])
    for reduction in ("none", "mean", "sum"):
        loss_c, probs_c = C.cross_entropy_forward(logits, target, reduction, 0.1, -100)
        loss_np, probs_np = NP.cross_entropy_forward(logits, target, reduction, 0.1, -100)
        np.testing.assert_allclose(loss_c, loss_np, rtol=2e-5, atol=2e-5)
        np.testing.assert_allclose(probs_c, probs_np, rtol=2e-5, atol=1e-7)
        for dloss in (np.ones(loss_np.shape, np.float32), np.full(loss_np.shape, -np.inf,
                                                                   np.float32)):
            np.testing.assert_allclose(
                C.cross_entropy_backward(dloss, probs_np, target, reduction, 0.1, -100),
                NP.cross_entropy_backward(dloss, probs_np, target, reduction, 0.1, -100),
                rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dloss", [1.5, np.float32(1.5), np.array(1.5, np.float32)])
@pytest.mark.parametrize("smoothing", [0.1, np.float32(0.1), 0])
def test_cross_entropy_backward_takes_scalars_in_c(dloss, smoothing, recorder):
    """The backward's scalar arguments as callers give them (a Python float, a NumPy
    scalar, a 0-d array) run in C, with NumPy's answer; int32 labels too."""
    rng = np.random.default_rng(3)
    probs = C.cross_entropy_forward(rand(rng, 6, 4), np.arange(6) % 4, "mean", 0.1, -100)[1]
    target = (np.arange(6) % 4).astype(np.int32)
    np.testing.assert_allclose(
        C.cross_entropy_backward(dloss, probs, target, "mean", smoothing, -100),
        NP.cross_entropy_backward(np.asarray(dloss), probs, target, "mean", smoothing, -100),
        rtol=1e-6, atol=1e-7)
    assert recorder.calls == ["nt_cross_entropy_fwd_f32", "nt_cross_entropy_bwd_f32"]


@pytest.mark.parametrize("value", [True, "0.1", None, 1j])
def test_cross_entropy_label_smoothing_c_does_not_take_goes_to_numpy(value, recorder):
    """A label smoothing that is not a real number (a bool, text, None, complex) is never
    handed to C as a double: the NumPy method gets the call."""
    probs = np.full((2, 3), 1 / 3, np.float32)
    try:
        C.cross_entropy_backward(np.float32(1), probs, np.array([0, 1]), "mean", value, -100)
    except Exception:  # the NumPy method's own complaint, if any
        pass
    assert recorder.calls == []


@pytest.mark.parametrize("bad", [5, -1, 7])
def test_cross_entropy_kernel_refuses_labels_out_of_range(bad, recorder):
    """The op layer words the user's error (test_error_messages.py); C re-checks every label before
    it reads one, as the last net: a status, not a read outside the row."""
    logits, target = np.zeros((3, 5), np.float32), np.array([0, bad, 1])
    with pytest.raises(RuntimeError, match="nt_cross_entropy_fwd_f32 failed: invalid argument"):
        C.cross_entropy_forward(logits, target, "mean", 0.0, -100)
    with pytest.raises(RuntimeError, match="nt_cross_entropy_bwd_f32 failed: invalid argument"):
        C.cross_entropy_backward(np.array(1, np.float32), logits, target, "mean", 0.0, -100)
    assert recorder.calls == ["nt_cross_entropy_fwd_f32", "nt_cross_entropy_bwd_f32"]


def test_cross_entropy_c_level_check_refuses_bad_labels():
    ffi, lib = C.ffi, C.lib
    logits = np.zeros((2, 3), np.float32)
    target = np.array([0, 3], np.int64)
    out = np.zeros(2, np.float32)
    assert lib.nt_cross_entropy_fwd_f32(
        2, 3, ffi.from_buffer("float[]", logits), ffi.from_buffer("int64_t[]", target),
        lib.NT_REDUCE_NONE, 0.0, -100, ffi.from_buffer("float[]", out),
        ffi.from_buffer("float[]", logits), 1) == lib.NT_EINVAL


def test_cross_entropy_arrays_c_cannot_read_as_is_are_copied(recorder):
    """The methods' direct path takes only arrays C reads as they are; Fortran-ordered logits
    and probs, a strided int64 target and a byteswapped dloss are copied, then run in C with
    NumPy's answer; a target of another shape is refused before C."""
    rng = np.random.default_rng(5)
    logits = np.asfortranarray(rand(rng, 6, 4))
    target = (np.arange(12) % 4)[::2]
    want_loss, want_probs = NP.cross_entropy_forward(logits, target, "mean", 0.0, -100)
    loss, probs = C.cross_entropy_forward(logits, target, "mean", 0.0, -100)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-6)
    np.testing.assert_allclose(probs, want_probs, rtol=1e-6, atol=1e-7)
    dloss = np.array(2.0, ">f4")
    np.testing.assert_allclose(
        C.cross_entropy_backward(dloss, np.asfortranarray(probs), target, "mean", 0.0, -100),
        NP.cross_entropy_backward(np.array(2.0, np.float32), probs, target, "mean", 0.0, -100),
        rtol=1e-6, atol=1e-7)
    assert recorder.calls == ["nt_cross_entropy_fwd_f32", "nt_cross_entropy_bwd_f32"]
    with pytest.raises(ValueError, match=r"argument of shape \[5\], expected \[6\]"):
        C.cross_entropy_forward(logits, target[:5], "mean", 0.0, -100)
    with pytest.raises(ValueError, match=r"argument of shape \[5\], expected \[6\]"):
        C.cross_entropy_backward(dloss, probs, target[:5], "mean", 0.0, -100)


def test_cross_entropy_int32_targets_are_converted():
    rng = np.random.default_rng(0)
    logits, target = rand(rng, 4, 3), np.array([0, 2, 1, 2], np.int32)
    np.testing.assert_allclose(C.cross_entropy_forward(logits, target, "sum", 0.0, -100)[0],
                               NP.cross_entropy_forward(logits, target, "sum", 0.0, -100)[0],
                               rtol=1e-6)


# -------------------------------------------------------------------------- optimizers
OPTIM_SIZES = [200_003, 0, 1, 17, (3, 5)]  # one big enough for two threads, odd, empty


def sgd_multi(b, params, grads, bufs, first=False, **options):
    options = {"lr": 0.05, "momentum": 0.0, "dampening": 0.0, "nesterov": False,
               "weight_decay": 0.0, "maximize": False, **options}
    b.sgd_multi_step(params, grads, bufs, first=[first] * len(params), **options)


def adam_multi(b, params, grads, m, v, vmax=None, step=1, **options):
    options = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
               "decoupled": False, "maximize": False, **options}
    b.adam_multi_step(params, grads, m, v, vmax, steps=[step] * len(params), **options)


def shaped(rng, scale=1.0):
    return [rand(rng, *(s if isinstance(s, tuple) else (s,)), scale=scale) for s in OPTIM_SIZES]


@pytest.mark.parametrize("momentum, dampening, nesterov", [(0.0, 0.0, False), (0.9, 0.0, False),
                                                           (0.9, 0.3, False), (0.9, 0.0, True)])
@pytest.mark.parametrize("weight_decay, maximize", [(0.0, False), (0.01, True)])
def test_sgd_multi_step_matches_numpy(momentum, dampening, nesterov, weight_decay, maximize,
                                      nthreads, recorder):
    rng = np.random.default_rng(0)
    grads = [shaped(rng) for _ in range(4)]
    start = shaped(rng)
    results = []
    for b in (C, NP):
        params = [p.copy() for p in start]
        bufs = [np.zeros_like(p) for p in params] if momentum else None
        for t, g in enumerate(grads):
            sgd_multi(b, params, g, bufs, first=t == 0, momentum=momentum,
                      dampening=dampening, nesterov=nesterov, weight_decay=weight_decay,
                      maximize=maximize)
        results.append(params + (bufs or []))
    assert recorder.calls == ["nt_sgd_multi_step_f32"] * len(grads)  # one call per step
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay, maximize", [(0.0, False), (0.1, True)])
def test_adam_multi_step_matches_numpy(decoupled, amsgrad, weight_decay, maximize, nthreads,
                                       recorder):
    rng = np.random.default_rng(1)
    grads = [shaped(rng, scale=t + 1) for t in range(4)]
    start = shaped(rng)
    results = []
    for b in (C, NP):
        params = [p.copy() for p in start]
        m, v, vmax = ([np.zeros_like(p) for p in params] for _ in range(3))
        for t, g in enumerate(grads):
            adam_multi(b, params, g, m, v, vmax if amsgrad else None, step=t + 1,
                       weight_decay=weight_decay, decoupled=decoupled, maximize=maximize)
        results.append(params + m + v + (vmax if amsgrad else []))
    assert recorder.calls == ["nt_adam_multi_step_f32"] * len(grads)
    for got, want in zip(*results):  # NOTE: atol: params of size ~1 moved by steps of ~1e-2
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_sgd_multi_step_first_is_per_tensor(recorder):
    """first[i] seeds only tensor i's buffer with g; the others follow the momentum rule."""
    rng = np.random.default_rng(2)
    start, grads = shaped(rng), shaped(rng)
    first = [i % 2 == 0 for i in range(len(start))]
    results = []
    for b in (C, NP):
        params = [p.copy() for p in start]
        bufs = [np.full_like(p, 0.5) for p in params]
        b.sgd_multi_step(params, grads, bufs, lr=0.1, momentum=0.9, dampening=0.0,
                         nesterov=False, weight_decay=0.0, maximize=False, first=first)
        results.append(params + bufs)
    assert recorder.calls == ["nt_sgd_multi_step_f32"]
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    seeded, followed = results[0][len(start)], results[0][len(start) + 1]
    np.testing.assert_allclose(seeded, grads[0], rtol=1e-6)
    np.testing.assert_allclose(followed, 0.9 * 0.5 + grads[1], rtol=1e-6)


def test_adam_multi_step_steps_are_per_tensor(nthreads, recorder):
    """steps[i] sets only tensor i's bias corrections: tensors at different step counts
    (one skipped steps without a gradient) are updated in one call, as NumPy does."""
    rng = np.random.default_rng(6)
    start, grads = shaped(rng), shaped(rng)
    steps = [1 + 3 * (i % 3) for i in range(len(start))]
    results = []
    for b in (C, NP):
        params = [p.copy() for p in start]
        m, v = [np.full_like(p, 0.1) for p in params], [np.full_like(p, 0.2) for p in params]
        b.adam_multi_step(params, grads, m, v, None, steps=steps, lr=1e-2, beta1=0.9,
                          beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False,
                          maximize=False)
        results.append(params + m + v)
    assert recorder.calls == ["nt_adam_multi_step_f32"]
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for i in range(2):  # by hand: p -= lr/(1 - b1^t) m / (sqrt(v)/sqrt(1 - b2^t) + eps)
        t, g = steps[i], grads[i].astype(np.float64)
        m, v = 0.9 * 0.1 + 0.1 * g, 0.999 * 0.2 + 0.001 * g * g
        want = start[i] - 1e-2 / (1 - 0.9 ** t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999 ** t) + 1e-8)
        np.testing.assert_allclose(results[0][i], want, rtol=1e-5, atol=1e-6)


def test_adam_multi_step_refuses_a_step_below_one(recorder):
    """The kernel returns a status for steps[t] < 1 (bias correction 1 - b1^0 = 0) and
    writes nothing; both backends raise ValueError naming the step counts."""
    lib, ffi = C.lib, c_backend._ffi
    p, g, m, v = (np.ones(4, np.float32) for _ in range(4))
    ptr = [ffi.new("float *[]", [ffi.from_buffer("float[]", a)]) for a in (p, g, m, v)]
    sizes = ffi.new("int64_t[]", [4])
    for steps in ([0], [-3]):
        assert lib.nt_adam_multi_step_f32(1, sizes, ptr[0], ptr[1], ptr[2], ptr[3], ffi.NULL,
                                          ffi.new("int64_t[]", steps), 1e-3, 0.9, 0.999, 1e-8,
                                          0.0, 0, 0, 1) == lib.NT_EINVAL
    assert lib.nt_adam_multi_step_f32(1, sizes, ptr[0], ptr[1], ptr[2], ptr[3], ffi.NULL,
                                      ffi.NULL, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0, 0, 1) == lib.NT_EINVAL
    assert all(np.array_equal(a, np.ones(4)) for a in (p, m, v))
    assert lib.nt_adam_multi_step_f32(1, sizes, ptr[0], ptr[1], ptr[2], ptr[3], ffi.NULL,
                                      ffi.new("int64_t[]", [1]), 1e-3, 0.9, 0.999, 1e-8, 0.0,
                                      0, 0, 1) == lib.NT_OK
    assert not np.array_equal(p, np.ones(4))  # the same call with step 1 updates
    recorder.calls.clear()
    for b in (C, NP):
        for steps in ([0], [1, 1]):
            with pytest.raises(ValueError, match="step count"):
                b.adam_multi_step([p], [g], [m], [v], None, steps=steps, lr=1e-3, beta1=0.9,
                                  beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False,
                                  maximize=False)
    assert recorder.calls == []


def test_multi_step_reuses_its_pointers_and_rebuilds_for_new_arrays():
    """The backend keeps one pointer table per set of arrays: new gradients reuse it, a
    replaced parameter gets a new one."""
    rng = np.random.default_rng(3)
    params, grads = [rand(rng, 5), rand(rng, 3, 2)], [rand(rng, 5), rand(rng, 3, 2)]
    bufs = [np.zeros(5, np.float32), np.zeros((3, 2), np.float32)]
    sgd_multi(C, params, grads, bufs, momentum=0.9, first=True)
    table = C._tables[tuple(map(id, params + bufs))]
    sgd_multi(C, params, [g.copy() for g in grads], bufs, momentum=0.9)
    assert C._tables[tuple(map(id, params + bufs))] is table  # new gradients, same table
    params[1] = params[1].copy()  # a parameter replaced: another table, for the new array
    want = params[1] - 0.05 * (0.9 * bufs[1] + grads[1])
    sgd_multi(C, params, grads, bufs, momentum=0.9)
    assert C._tables[tuple(map(id, params + bufs))] is not table
    np.testing.assert_allclose(params[1], want, rtol=1e-6)


def test_multi_step_keeps_a_bounded_number_of_tables():
    rng = np.random.default_rng(3)
    for _ in range(3 * c_backend._TABLES_KEPT):
        sgd_multi(C, [rand(rng, 4)], [rand(rng, 4)], None)
    assert len(C._tables) == c_backend._TABLES_KEPT


def test_multi_step_refuses_arrays_changed_in_place(recorder):
    """A cached array whose dtype, shape or flags changed in place goes to NumPy."""
    rng = np.random.default_rng(4)
    params, grads = [rand(rng, 8)], [rand(rng, 8)]
    sgd_multi(C, params, grads, None)
    assert recorder.calls == ["nt_sgd_multi_step_f32"]
    params[0].shape = (2, 4)  # same array, another shape: refused (the grad no longer fits)
    with pytest.raises(ValueError):
        sgd_multi(C, params, grads, None)
    params[0].shape = (8,)
    params[0].flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        sgd_multi(C, params, grads, None)
    params[0].flags.writeable = True
    params[0].dtype = np.int32  # reinterpreted in place: NumPy refuses to update ints
    with pytest.raises(TypeError):
        sgd_multi(C, params, grads, None)
    assert recorder.calls == ["nt_sgd_multi_step_f32"]


def test_optimizer_in_place_arrays_must_be_contiguous_and_disjoint(recorder):
    """A strided parameter, aliased states or overlapping parameters fall through to NumPy,
    never to C."""
    rng = np.random.default_rng(0)
    base = rand(rng, 20)
    param, grad = base[::2], rand(rng, 10)
    want = param.copy()
    sgd_multi(C, [param], [grad], None, first=True)
    sgd_multi(NP, [want], [grad], None, first=True)
    np.testing.assert_array_equal(param, want)
    p, state = rand(rng, 10), np.zeros(10, np.float32)
    with np.errstate(invalid="ignore"):  # NumPy on aliased moments: nonsense, but no crash
        adam_multi(C, [p], [rand(rng, 10)], [state], [state])
    whole = rand(rng, 12)
    sgd_multi(C, [whole[:8], whole[4:]], [rand(rng, 8), rand(rng, 8)], None)  # overlapping
    sgd_multi(C, [rand(rng, 4)], [rand(rng, 4).astype(np.float64)], None)  # float64 grad
    with pytest.raises(ValueError):  # a buffer of another shape: NumPy's broadcasting error
        sgd_multi(C, [rand(rng, 4)], [rand(rng, 4)], [np.zeros(5, np.float32)], momentum=0.9)
    assert recorder.calls == []


def test_grad_aliasing_an_updated_array_is_copied():
    """A gradient that is (a view of) an array the step writes acts with its values at the
    call: C copies it first (the NumPy loop would see the earlier tensors' updates)."""
    rng = np.random.default_rng(0)
    start = [rand(rng, 11), rand(rng, 6)], [rand(rng, 11), rand(rng, 6)]  # params, bufs
    params, bufs = ([a.copy() for a in arrays] for arrays in start)
    sgd_multi(C, params, [params[0], bufs[0][3:9]], bufs, momentum=0.5)
    want_p, want_b = ([a.copy() for a in arrays] for arrays in start)
    sgd_multi(NP, want_p, [want_p[0].copy(), want_b[0][3:9].copy()], want_b, momentum=0.5)
    for got, want in zip(params + bufs, want_p + want_b):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_adam_flushes_decayed_moments_to_zero():
    """A gradient that stays 0 decays exp_avg geometrically; in C it reaches exact 0 at the
    bottom of the normal range instead of lingering among subnormals."""
    p, g = np.ones(1, np.float32), np.zeros(1, np.float32)
    m, v = np.full(1, 2e-38, np.float32), np.zeros(1, np.float32)
    adam_multi(C, [p], [g], [m], [v], lr=1e-3, beta1=0.5)
    assert m[0] == 0.0  # 1e-38 is subnormal
    assert np.float32(2e-38) * np.float32(0.5) > 0  # NumPy unaffected after the call


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("weight_decay, maximize", [(0.0, False), (0.1, True)])
def test_rmsprop_matches_numpy(centered, momentum, weight_decay, maximize):
    rng = np.random.default_rng(2)
    size = 1001
    grads = [rand(rng, size) for _ in range(4)]
    results = []
    for b in (C, NP):
        state = [np.linspace(-1, 1, size, dtype=np.float32)] + [np.zeros(size, np.float32)
                                                               for _ in range(3)]
        param, square_avg, buf, grad_avg = state
        for g in grads:
            b.rmsprop_step(param, g, square_avg, buf if momentum else None,
                           grad_avg if centered else None, lr=1e-2, alpha=0.99, eps=1e-8,
                           weight_decay=weight_decay, momentum=momentum, maximize=maximize)
        results.append(state)
    for got, want in zip(*results):  # NOTE: centered: sqrt(v - gbar^2) amplifies rounding
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------- a whole model, 40 steps
def mlp_losses(b, optimizer: str, steps: int = 20) -> list[float]:
    """A 784-128-10 MLP built from the backend's kernels: forward, backward and update."""
    rng = np.random.default_rng(42)
    w1, b1 = rand(rng, 128, 784, scale=0.05), np.zeros(128, np.float32)
    w2, b2 = rand(rng, 10, 128, scale=0.1), np.zeros(10, np.float32)
    params = [w1, b1, w2, b2]
    state = [[np.zeros_like(p) for _ in range(2)] for p in params]
    xs = [rand(rng, 64, 784) for _ in range(steps)]
    data = [(x, np.argmax(x[:, :10], axis=1)) for x in xs]  # a learnable rule
    losses = []
    for t, (x, y) in enumerate(data):
        h = b.relu_forward(b.linear_forward(x, w1, b1))
        loss, probs = b.cross_entropy_forward(b.linear_forward(h, w2, b2), y, "mean", 0.0, -100)
        losses.append(float(loss))
        dlogits = b.cross_entropy_backward(np.float32(1.0), probs, y, "mean", 0.0, -100)
        dh, dw2, db2 = b.linear_backward(dlogits, h, w2, True, True, True)
        _, dw1, db1 = b.linear_backward(b.relu_backward(dh, h), x, w1, False, True, True)
        grads = [dw1, db1, dw2, db2]
        if optimizer == "sgd":
            sgd_multi(b, params, grads, [s[0] for s in state], first=t == 0,
                      momentum=0.9, weight_decay=1e-4)
        else:
            adam_multi(b, params, grads, [s[0] for s in state], [s[1] for s in state],
                       step=t + 1, lr=1e-3)
    return losses


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_mlp_training_matches_numpy(optimizer):
    got, want = mlp_losses(C, optimizer), mlp_losses(NP, optimizer)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert want[-1] < want[0]  # it learned something: the comparison is not vacuous


# ------------------------------------------------------------------------ build info
def test_build_info_reports_the_build():
    info = C.build_info()
    assert "-O" in info["cflags"]
    assert info["isa"] in ("avx512", "avx2", "neon", "generic")
    assert info["simd"] in ("avx512", "avx2", "vec128", "scalar")
    assert info["num_threads"] == threads.get_num_threads()


def test_set_num_threads_checks_its_argument():
    before = threads.get_num_threads()
    for bad in (0, -1, 1.5, "2", True, 2**31, threads.MAX_THREADS + 1):
        with pytest.raises(ValueError, match="positive integer from 1 to"):
            threads.set_num_threads(bad)
    assert threads.get_num_threads() == before  # nothing changed
    threads.set_num_threads(threads.MAX_THREADS)  # the largest count works in every kernel
    try:
        x = rand(np.random.default_rng(0), 300, 400)
        np.testing.assert_array_equal(C.relu_forward(x), NP.relu_forward(x))
        assert C.linear_forward(x, x, None).shape == (300, 300)
    finally:
        threads.set_num_threads(before)


# ------------------------------------------------------------------------- batch gather
def take_raw(a: np.ndarray, index: np.ndarray, out: np.ndarray, nthreads: int = 2) -> int:
    """nt_take_rows on C-contiguous a, int64 index, into out (rows of a's row size)."""
    ffi = C.ffi
    return C.lib.nt_take_rows(a.shape[0], a.itemsize * math.prod(a.shape[1:]),
                              ffi.from_buffer("char[]", a), index.size,
                              ffi.from_buffer("int64_t[]", index), ffi.from_buffer("char[]", out, True),
                              nthreads)


@pytest.mark.parametrize(("shape", "dtype"), [((3000, 784), np.float32), ((700, 1, 28, 28), np.float32),
                                              ((5000, 30), np.float64), ((4000, 17), np.uint8),
                                              ((900, 80), np.bool_), ((9000,), np.int64)])
def test_take_rows_is_numpy_take(shape, dtype, nthreads, recorder):
    """Every dtype and row shape a DataLoader batches: the same rows as ``np.take`` (repeats
    and the first and last row included), through the kernel when the batch is big enough
    to share and two threads are allowed, else through NumPy."""
    rng = np.random.default_rng(1)
    a = (rng.standard_normal(shape) * 50).astype(dtype)
    index = np.concatenate([[0, shape[0] - 1, 5, 5], rng.integers(0, shape[0], 500)]).astype(np.int64)
    got = C.take_rows(a, index)
    np.testing.assert_array_equal(got, a.take(index, axis=0))
    assert got.dtype == a.dtype and got.shape == (index.size,) + shape[1:]
    big = index.size * a.itemsize * math.prod(shape[1:]) >= c_backend._TAKE_C_MIN_BYTES
    assert recorder.calls == (["nt_take_rows"] if big and nthreads > 1 else [])


@pytest.mark.parametrize("nt", [1, 2, 3])
def test_take_rows_kernel_copies_rows_on_any_thread_count(nt):
    """The raw kernel, small and large, on 1-3 threads: byte-exact rows, and nothing written
    past the output (a guard row after it keeps its bytes)."""
    rng = np.random.default_rng(2)
    for rows, cols, n in ((10, 3, 4), (2000, 784, 300), (1, 1, 1)):
        a = rng.standard_normal((rows, cols)).astype(np.float32)
        index = rng.integers(0, rows, n).astype(np.int64)
        store = np.full((n + 1, cols), 7.0, np.float32)
        assert take_raw(a, index, store[:n], nt) == C.lib.NT_OK
        np.testing.assert_array_equal(store[:n], a[index])
        assert np.all(store[n] == 7.0)


def test_take_rows_kernel_refuses_an_index_outside_and_writes_nothing():
    """An index < 0 or >= rows anywhere (first, middle, last) is NT_EINVAL before any copy,
    so the output keeps what it held; bad sizes and NULL pointers are refused too."""
    a = np.arange(40, dtype=np.float32).reshape(10, 4)
    for bad in ([10, 1, 2], [1, -1, 2], [1, 2, 2**40], [0] * 50 + [11]):
        index = np.array(bad, np.int64)
        out = np.full((index.size, 4), -3.0, np.float32)
        assert take_raw(a, index, out) == C.lib.NT_EINVAL
        assert np.all(out == -3.0)
    ffi, lib, p = C.ffi, C.lib, C.ffi.from_buffer("char[]", a)
    i = ffi.from_buffer("int64_t[]", np.zeros(2, np.int64))
    assert lib.nt_take_rows(-1, 16, p, 2, i, p, 1) == lib.NT_EINVAL
    assert lib.nt_take_rows(10, -16, p, 2, i, p, 1) == lib.NT_EINVAL
    assert lib.nt_take_rows(10, 16, p, 2, i, p, 0) == lib.NT_EINVAL
    assert lib.nt_take_rows(10, 16, ffi.NULL, 2, i, p, 1) == lib.NT_EINVAL
    assert lib.nt_take_rows(10, 16, p, 2, ffi.NULL, p, 1) == lib.NT_EINVAL
    assert lib.nt_take_rows(2**40, 2**40, p, 2, i, p, 1) == lib.NT_EINVAL  # offsets overflow
    assert lib.nt_take_rows(10, 16, ffi.NULL, 0, ffi.NULL, ffi.NULL, 1) == lib.NT_OK


def test_take_rows_leaves_negative_and_outside_indices_to_numpy():
    """A batch big enough for C with a negative index gets NumPy's rows (counted from the
    end); one past the end raises NumPy's IndexError; other layouts and index dtypes give
    ``take``'s result too."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3000, 784)).astype(np.float32)
    index = rng.integers(0, 3000, 100)
    index[7] = -2
    np.testing.assert_array_equal(C.take_rows(a, index), a.take(index, axis=0))
    index[7] = 3000
    with pytest.raises(IndexError):
        C.take_rows(a, index)
    index[7] = 1
    fortran = np.asfortranarray(a)
    np.testing.assert_array_equal(C.take_rows(fortran, index), a.take(index, axis=0))
    np.testing.assert_array_equal(C.take_rows(a, index.astype(np.int32)), a.take(index, axis=0))


def test_take_rows_reads_a_read_only_dataset():
    """A dataset NumPy made from bytes (``np.frombuffer``, as file loaders do) is read-only:
    C reads it as it is and the batch it returns is writeable."""
    rng = np.random.default_rng(4)
    values = rng.standard_normal((3000, 784)).astype(np.float32)
    a = np.frombuffer(values.tobytes(), np.float32).reshape(3000, 784)
    index = rng.integers(0, 3000, 64)
    got = C.take_rows(a, index)
    assert not a.flags.writeable and got.flags.writeable
    np.testing.assert_array_equal(got, values[index])
