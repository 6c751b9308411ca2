"""Every C kernel against its NumPy twin, on the workload shapes and one large shape.

Rows come in adjacent pairs (NumPy backend, then C backend) per kernel, shape and thread
count: one ``benchmark.group`` each. A kernel with a backward is timed forward+backward.
``extra_info`` records the backend, the thread count, the FLOPs of GEMM rows and whether
the row's output matched the NumPy backend's (computed once, outside the timing).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import BACKENDS, NUMPY, THREADS, agree, overrides, threads

import nanotorch as nt


@dataclass(frozen=True)
class Kernel:
    """One benchmarked call: ``run(backend, *make(rng))`` returns the outputs to compare."""

    name: str  # kernel family, e.g. "gemm NT" or "relu"
    shape: str  # human-readable shape
    methods: tuple[str, ...]  # backend methods it calls: C rows need C code for one of them
    make: Callable[[np.random.Generator], tuple]
    run: Callable
    flops: float = 0.0  # per call, for GFLOP/s
    threads: int = THREADS
    workload: bool = True  # a shape the training workloads use (else: the large shape)
    optional: bool = False  # drop the pair when C does not accelerate it (conv2d)

    @property
    def id(self) -> str:
        return f"{self.name}-{self.shape}-t{self.threads}".replace(" ", "_")


def _randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


# --------------------------------------------------------------------------- GEMM
def _gemm_cases() -> list[Kernel]:
    """The three layouts Linear uses at 64x784x128 (1 and 2 threads), and 1024^3."""
    def fwd(b, x, w, dy):
        return b.linear_forward(x, w, None)

    def dx(b, x, w, dy):
        return b.linear_backward(dy, x, w, True, False, False)[0]

    def dw(b, x, w, dy):
        return b.linear_backward(dy, x, w, False, True, False)[1]

    def make(n, k, m):
        return lambda rng: (_randn(rng, n, k), _randn(rng, m, k), _randn(rng, n, m))

    layouts = [("gemm NT fwd", "x[64,784]@W[128,784]^T", fwd), ("gemm NN dx", "dy[64,128]@W[128,784]", dx),
               ("gemm TN dW", "dy[64,128]^T@x[64,784]", dw)]
    flops = 2.0 * 64 * 784 * 128
    cases = [Kernel(name, shape, ("linear_forward", "linear_backward"), make(64, 784, 128), run,
                    flops=flops, threads=t)
             for t in sorted({1, THREADS}) for name, shape, run in layouts]
    cases += [Kernel("gemm NT fwd", "1024^3: x[1024,1024]@W[1024,1024]^T", ("linear_forward",),
                     make(1024, 1024, 1024), fwd, flops=2.0 * 1024**3, threads=t, workload=False)
              for t in sorted({1, THREADS})]
    return cases


def _linear_cases() -> list[Kernel]:
    """Linear forward+backward with bias and every gradient, as training calls it."""
    def run(b, x, w, bias, dy):
        return b.linear_forward(x, w, bias), b.linear_backward(dy, x, w, True, True, True)

    def make(n, k, m):
        return lambda rng: (_randn(rng, n, k), _randn(rng, m, k), _randn(rng, m), _randn(rng, n, m))

    shapes = [(64, 784, 128, True), (64, 128, 10, True), (512, 1024, 1024, True)]
    return [Kernel("linear fwd+bwd", f"x[{n},{k}] W[{m},{k}]", ("linear_forward", "linear_backward"),
                   make(n, k, m), run, flops=3 * 2.0 * n * k * m, workload=wl)
            for n, k, m, wl in shapes]


# ------------------------------------------------------------------ elementwise
def _relu_cases() -> list[Kernel]:
    def run(b, x, dy):
        y = b.relu_forward(x)
        return y, b.relu_backward(dy, y)

    def make(*shape):
        return lambda rng: (_randn(rng, *shape), _randn(rng, *shape))

    shapes = [((64, 128), True), ((512, 1024), True), ((2048, 4096), False)]
    return [Kernel("relu fwd+bwd", f"[{','.join(map(str, s))}]", ("relu_forward", "relu_backward"),
                   make(*s), run, workload=wl) for s, wl in shapes]


def _gelu_cases() -> list[Kernel]:
    """Exact GELU (the NumPy spec's vectorized erfc, in float64) and the tanh form."""
    def run(approximate):
        def fwd_bwd(b, x, dy):
            return b.gelu_forward(x, approximate), b.gelu_backward(dy, x, approximate)
        return fwd_bwd

    def make(*shape):
        return lambda rng: (_randn(rng, *shape), _randn(rng, *shape))

    return [Kernel(f"gelu{'' if a == 'none' else ' tanh'} fwd+bwd", f"[{','.join(map(str, s))}]",
                   ("gelu_forward", "gelu_backward"), make(*s), run(a))
            for a in ("none", "tanh") for s in ((64, 128), (512, 1024))]


def _batchnorm_cases() -> list[Kernel]:
    def run(b, x, gamma, beta, rmean, rvar, dy):
        y, mean, invstd = b.batch_norm_forward(x, gamma, beta, rmean, rvar, True, 0.1, 1e-5)
        return (y, mean, invstd), b.batch_norm_backward(dy, x, gamma, mean, invstd, True, True, True, True)

    def make(*shape):
        c = shape[1]
        return lambda rng: (_randn(rng, *shape) * 2 + 1, rng.random(c, dtype=np.float32) + 0.5,
                            _randn(rng, c), np.zeros(c, np.float32), np.ones(c, np.float32),
                            _randn(rng, *shape))

    shapes = [("batchnorm1d", (64, 128), True), ("batchnorm1d", (2048, 1024), False),
              ("batchnorm2d", (64, 16, 28, 28), True), ("batchnorm2d", (64, 32, 14, 14), True),
              ("batchnorm2d", (128, 64, 28, 28), False)]
    return [Kernel(f"{name} fwd+bwd", f"[{','.join(map(str, s))}]",
                   ("batch_norm_forward", "batch_norm_backward"), make(*s), run, workload=wl)
            for name, s, wl in shapes]


def _cross_entropy_cases() -> list[Kernel]:
    def run(b, logits, target):
        loss, probs = b.cross_entropy_forward(logits, target, "mean", 0.0, -100)
        return (loss, probs), b.cross_entropy_backward(np.ones((), np.float32), probs, target,
                                                       "mean", 0.0, -100)

    def make(n, c):
        return lambda rng: (_randn(rng, n, c) * 3, rng.integers(0, c, n).astype(np.int64))

    shapes = [(64, 10, True), (512, 10, True), (4096, 1000, False)]
    return [Kernel("softmax-CE fwd+bwd", f"logits[{n},{c}]",
                   ("cross_entropy_forward", "cross_entropy_backward"), make(n, c), run, workload=wl)
            for n, c, wl in shapes]


# ------------------------------------------------------------------- optimizers
SEED_MLP_PARAMS = [(128, 784), (128,), (10, 128), (10,)]
LARGE_PARAMS = [(4096, 1024)]


def _optimizer_cases() -> list[Kernel]:
    """The update of every parameter of the seed MLP (one multi-tensor call, as the
    optimizers make it; the C backend keeps its pointer tables), of its last layer alone
    (1,290 floats: one thread, the fixed cost of a call) and of one 4M tensor."""

    def sgd(momentum):
        def run(b, params, grads, bufs):
            b.sgd_multi_step(params, grads, bufs if momentum else None, lr=0.1,
                             momentum=momentum, dampening=0.0, nesterov=False, weight_decay=0.0,
                             maximize=False, first=[False] * len(params))
            return params
        return run

    def adam(b, params, grads, m, v):
        b.adam_multi_step(params, grads, m, v, None, steps=[10] * len(params), lr=1e-3,
                          beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, maximize=False)
        return params

    def make(shapes, n_state):
        def inputs(rng):
            params = [_randn(rng, *s) * 0.05 for s in shapes]
            grads = [_randn(rng, *s) * 0.01 for s in shapes]
            state = [[np.abs(_randn(rng, *s)) * 1e-4 for s in shapes] for _ in range(n_state)]
            return (params, grads, *state)
        return inputs

    cases = []
    for label, shapes, wl in (("seed-MLP params (101,770)", SEED_MLP_PARAMS, True),
                              ("[10,128]+[10] (1,290)", SEED_MLP_PARAMS[2:], False),
                              ("[4096,1024]", LARGE_PARAMS, False)):
        cases += [Kernel("sgd step", label, ("sgd_multi_step",), make(shapes, 1), sgd(0.0),
                         workload=wl),
                  Kernel("sgd step momentum 0.9", label, ("sgd_multi_step",), make(shapes, 1),
                         sgd(0.9), workload=wl),
                  Kernel("adam step", label, ("adam_multi_step",), make(shapes, 2), adam,
                         workload=wl)]
    return cases


# ----------------------------------------------------------------------- conv2d
def _conv_cases() -> list[Kernel]:
    """The CNN example's convolutions (benchmarked only when C accelerates conv2d)."""
    def run(b, x, w, bias, dy):
        y, cols = b.conv2d_forward(x, w, bias, (1, 1), (1, 1))
        return y, b.conv2d_backward(dy, cols, x.shape, w, (1, 1), (1, 1), True, True, True)

    def make(n, c, h, o):
        return lambda rng: (_randn(rng, n, c, h, h), _randn(rng, o, c, 3, 3) * 0.3, _randn(rng, o),
                            _randn(rng, n, o, h, h))

    shapes = [(64, 1, 28, 16), (64, 16, 14, 32)]
    return [Kernel("conv2d 3x3 fwd+bwd", f"x[{n},{c},{h},{h}] W[{o},{c},3,3]",
                   ("conv2d_forward", "conv2d_backward"), make(n, c, h, o), run,
                   flops=3 * 2.0 * n * h * h * o * c * 9, optional=True)
            for n, c, h, o in shapes]


# ----------------------------------------------------------------- batch gather
def _take_cases() -> list[Kernel]:
    """A shuffled DataLoader's batch: 64 rows of an MNIST-sized dataset (63,000 x 784), each
    call the next 64 of one permutation, so the rows come from memory as in an epoch."""
    def run(b, X, order, pos):
        s = int(pos[0])
        pos[0] = (s + 64) % (len(order) - 64)
        return b.take_rows(X, order[s:s + 64])

    def make(rng):
        return _randn(rng, 63000, 784), rng.permutation(63000), np.zeros(1, np.int64)

    return [Kernel("take rows", "X[63000,784][64 shuffled]", ("take_rows",), make, run)]


KERNELS = (_gemm_cases() + _linear_cases() + _relu_cases() + _gelu_cases() + _batchnorm_cases()
           + _cross_entropy_cases() + _optimizer_cases() + _conv_cases() + _take_cases())


def _wanted(kernel: Kernel) -> bool:
    """Optional kernels (conv2d) only when the C backend accelerates them."""
    return not kernel.optional or ("c" in BACKENDS and overrides(nt.backend.get("c"), kernel.methods))


BY_ID = {k.id: k for k in KERNELS if _wanted(k)}
PARAMS = [pytest.param(k, b, id=f"{k}-{b}") for k in BY_ID for b in BACKENDS]


@pytest.mark.parametrize(("case", "backend_name"), PARAMS)
def test_kernel(benchmark, case: str, backend_name: str) -> None:
    """Time one kernel call (forward+backward where there is one) on one backend."""
    kernel = BY_ID[case]
    backend = nt.backend.get(backend_name)
    if backend_name != "numpy" and not overrides(backend, kernel.methods):
        pytest.skip(f"{kernel.name}: the {backend_name} backend falls through to NumPy")
    inputs = kernel.make(np.random.default_rng(0))
    benchmark.group = f"kernel {kernel.name} {kernel.shape} threads={kernel.threads}"
    with threads(1):  # NOTE: one BLAS thread: no OpenBLAS thread left spinning into the timing
        ref = kernel.run(NUMPY, *copy.deepcopy(inputs))
    with threads(kernel.threads):
        out = kernel.run(backend, *copy.deepcopy(inputs))
        benchmark.extra_info.update(
            kind="kernel", kernel=kernel.name, shape=kernel.shape, threads=kernel.threads,
            system="nanotorch", backend=backend_name, workload=kernel.workload, flops=kernel.flops,
            matched=agree(out, ref), reference="numpy backend")
        benchmark(kernel.run, backend, *inputs)
