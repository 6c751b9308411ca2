"""Ops as a user calls them, against plain NumPy code doing the same arithmetic.

Each group has a NumPy row (the arithmetic written directly in NumPy, no framework) and a C
row (nanotorch's public API on the C backend: ``F.linear`` forward+backward, ``F.relu``,
``F.cross_entropy`` forward+backward), at 1 and ``THREADS`` threads. The C row's
``extra_info["overhead_us"]`` is its Python overhead: the API's median time minus that of
the backend kernel calls the op makes, timed alone just before.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
from conftest import BACKENDS, THREADS, agree, threads

import nanotorch as nt
import nanotorch.nn.functional as F


def _median_time(fn: Callable[[], object], calls: int = 200) -> float:
    fn()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _linear(n: int, k: int, m: int):
    rng = np.random.default_rng(0)
    xa, wa = rng.standard_normal((n, k), dtype=np.float32), rng.standard_normal((m, k), dtype=np.float32)
    ba, ga = rng.standard_normal(m, dtype=np.float32), rng.standard_normal((n, m), dtype=np.float32)
    x, w = nt.tensor(xa, requires_grad=True), nt.tensor(wa, requires_grad=True)
    b, g = nt.tensor(ba, requires_grad=True), nt.tensor(ga)

    def plain():
        y = xa @ wa.T + ba
        return y, ga @ wa, ga.T @ xa, ga.sum(0)

    def api():
        x.grad = w.grad = b.grad = None
        y = F.linear(x, w, b)
        y.backward(g)
        return y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()

    def kernels(backend):
        return (backend.linear_forward(xa, wa, ba),
                *backend.linear_backward(ga, xa, wa, True, True, True))
    return plain, api, kernels


def _relu(n: int, c: int):
    xa = np.random.default_rng(0).standard_normal((n, c), dtype=np.float32)
    x = nt.tensor(xa)

    def plain():
        return np.maximum(xa, 0)

    def api():
        return F.relu(x).numpy()

    def kernels(backend):
        return backend.relu_forward(xa)
    return plain, api, kernels


def _cross_entropy(n: int, c: int):
    rng = np.random.default_rng(0)
    la, ta = (rng.standard_normal((n, c), dtype=np.float32) * 3), rng.integers(0, c, n)
    logits, target = nt.tensor(la, requires_grad=True), nt.tensor(ta)

    def plain():
        z = la - la.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = (np.log(s[:, 0]) - z[np.arange(n), ta]).mean()
        d = e / s
        d[np.arange(n), ta] -= 1
        return loss, d / n

    def api():
        logits.grad = None
        loss = F.cross_entropy(logits, target)
        loss.backward()
        return loss.item(), logits.grad.numpy()

    def kernels(backend):
        loss, probs = backend.cross_entropy_forward(la, ta, "mean", 0.0, -100)
        return loss, backend.cross_entropy_backward(np.ones((), np.float32), probs, ta, "mean",
                                                    0.0, -100)
    return plain, api, kernels


CASES = {  # name: (shape text, builder, a seed-MLP size?)
    "api F.linear fwd+bwd 64x784x128": ("x[64,784] W[128,784]", lambda: _linear(64, 784, 128), True),
    "api F.linear fwd+bwd 512x1024x1024": ("x[512,1024] W[1024,1024]",
                                           lambda: _linear(512, 1024, 1024), False),
    "api F.relu fwd 64x128": ("[64,128]", lambda: _relu(64, 128), True),
    "api F.relu fwd 512x1024": ("[512,1024]", lambda: _relu(512, 1024), False),
    "api F.cross_entropy fwd+bwd 64x10": ("logits[64,10]", lambda: _cross_entropy(64, 10), True),
    "api F.cross_entropy fwd+bwd 1024x1000": ("logits[1024,1000]", lambda: _cross_entropy(1024, 1000), False),
}
PARAMS = [pytest.param(name, t, b, id=f"{name}-t{t}-{b}".replace(" ", "_"))
          for name in CASES for t in sorted({1, THREADS}) for b in BACKENDS]


@pytest.mark.parametrize(("case", "nthreads", "backend_name"), PARAMS)
def test_api(benchmark, case: str, nthreads: int, backend_name: str) -> None:
    shape, build, seed = CASES[case]
    plain, api, kernels = build()
    benchmark.group = f"api {case} threads={nthreads}"
    info = dict(kind="kernel", kernel=case.rsplit(" ", 1)[0], shape=shape, threads=nthreads,
                system="nanotorch" if backend_name == "c" else "numpy", backend=backend_name,
                workload=seed, flops=0.0, reference="plain NumPy code")
    with threads(nthreads):
        if backend_name == "numpy":  # the row of plain NumPy code, no framework
            info.update(matched=True)
            benchmark.extra_info.update(info)
            benchmark(plain)
            return
        with nt.backend.use("c") as c:
            with threads(1):
                ref = plain()
            info.update(matched=agree(api(), ref, rtol=1e-3, atol=1e-5),
                        kernel_us=round(_median_time(lambda: kernels(c)) * 1e6, 1))
            benchmark.extra_info.update(info)
            benchmark(api)
            benchmark.extra_info["overhead_us"] = round(
                benchmark.stats.stats.median * 1e6 - info["kernel_us"], 1)
