"""Quick GEMM timing for tuning: the C backend against NumPy's BLAS, one shape at a time.

    PYTHONPATH=. python benchmarks/gemm_quick.py                   # every shape, 1 and 2 threads
    PYTHONPATH=. python benchmarks/gemm_quick.py --shapes nt,big --threads 1 --rounds 5
    PYTHONPATH=. python benchmarks/gemm_quick.py --shapes nt,nn,tn --threads 1 --base ../main-build

Each (system, thread count) runs in a fresh process of its own, the systems alternating
round after round (each round starting with the next one), so neither OpenBLAS's spinning
threads nor one system's warm caches touch the other's timing. A process times each shape
``--calls`` times with ``time.perf_counter_ns`` after a warm-up and prints the median and
the minimum; this script prints, per shape and thread count, the median over rounds of
those medians, the smallest minimum, NumPy / C (the ratio of medians) and the load average (``os.getloadavg``)
before each round: on a shared machine, read the minima and the load with the medians.
``--clock thread`` times the calling thread's CPU time instead of the wall clock, for a busy
machine (1 thread only: a second thread's time is not counted). With ``--base DIR`` the C
backend of another checkout (its kernels built in place, e.g. a ``git worktree`` of main)
runs too, as a third system in its own processes: an A/B of a kernel change, both builds
timed in the same rounds.
Shapes: Linear's three products at 64x784x128 (``nt`` forward x @ W^T, ``nn`` dx = dy @ W,
``tn`` dW = dy^T @ x), ``big`` 1024^3 x @ W^T, ``lin`` Linear forward+backward at
x[512,1024] W[1024,1024], ``lin64`` at x[64,784] W[128,784] and ``lin10`` at x[64,128]
W[10,128] (the seed MLP's two layers; the C backend's linear methods, which leave products
under ``c_backend.SMALL_LINEAR_MACS`` to NumPy), ``lin1`` at x[1,784] W[128,784] (one
sample through the first layer: the GEMM's dot-product path).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ("nt", "nn", "tn", "big", "lin", "lin64", "lin10", "lin1")


def cases(system: str) -> dict[str, Callable[[], object]]:
    """The timed call of each shape for ``system`` (``c``: the C backend, ``numpy``: NumPy)."""
    rng = np.random.default_rng(0)

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32)

    x, w, dy = r(64, 784), r(128, 784), r(64, 128)
    xb, wb = r(1024, 1024), r(1024, 1024)
    xl, wl, bl, dyl = r(512, 1024), r(1024, 1024), r(1024), r(512, 1024)
    layers = {"lin": (xl, wl, bl, dyl), "lin64": (x, w, r(128), dy),
              "lin10": (r(64, 128), r(10, 128), r(10), r(64, 10)),
              "lin1": (r(1, 784), w, r(128), r(1, 128))}
    if system == "numpy":
        return {"nt": lambda: x @ w.T, "nn": lambda: dy @ w, "tn": lambda: dy.T @ x,
                "big": lambda: xb @ wb.T,
                **{name: (lambda x, w, b, g: lambda: (x @ w.T + b, g @ w, g.T @ x, g.sum(0)))(*t)
                   for name, t in layers.items()}}
    from nanotorch.backend.c_backend import CBackend
    b = CBackend()
    return {"nt": lambda: b.linear_forward(x, w, None),
            "nn": lambda: b.linear_backward(dy, x, w, True, False, False),
            "tn": lambda: b.linear_backward(dy, x, w, False, True, False),
            "big": lambda: b.linear_forward(xb, wb, None),
            **{name: (lambda x, w, bias, g: lambda: (b.linear_forward(x, w, bias),
                                                     b.linear_backward(g, x, w, True, True, True)))(*t)
               for name, t in layers.items()}}


def child(system: str, threads: int, shapes: list[str], calls: int, clock: str) -> None:
    """Time ``shapes`` in this process; print one JSON line of {shape: [median, min]} in us.
    ``clock`` ``thread``: the CPU time of this thread (``time.thread_time_ns``) instead of
    the wall clock, which a busy shared machine moves (time on other cores, such as a second
    thread's, is not counted: meant for 1 thread)."""
    now = time.thread_time_ns if clock == "thread" else time.perf_counter_ns
    if system == "c":
        import nanotorch as nt
        nt.set_num_threads(threads)
    fns, out = cases(system), {}
    for shape in shapes:
        fn = fns[shape]
        n = max(3, calls // 20) if shape in ("big", "lin") else calls
        for _ in range(3):
            fn()
        times = []
        for _ in range(n):
            t0 = now()
            fn()
            times.append(now() - t0)
        out[shape] = [statistics.median(times) / 1e3, min(times) / 1e3]
    print(json.dumps(out))


def run(system: str, threads: int, shapes: list[str], calls: int, clock: str,
        root: Path = ROOT) -> dict:
    """One child process timing ``system`` with the nanotorch found at ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root), "OPENBLAS_NUM_THREADS": str(threads),
           "NANOTORCH_BACKEND": "c"}
    done = subprocess.run([sys.executable, __file__, "--child", system, "--threads", str(threads),
                           "--shapes", ",".join(shapes), "--calls", str(calls),
                           "--clock", clock],
                          capture_output=True, text=True, env=env, check=True, cwd=root)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated: " + ",".join(SHAPES))
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per system")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per small shape")
    parser.add_argument("--base", type=Path, help="another checkout whose C backend runs too (A/B)")
    parser.add_argument("--clock", choices=("wall", "thread"), default="wall",
                        help="wall clock, or the calling thread's CPU time (for 1 thread on a "
                             "busy machine)")
    parser.add_argument("--child", choices=("c", "numpy"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.base and not (args.base / "nanotorch").is_dir():
        parser.error(f"--base {args.base}: no nanotorch package there")
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = set(shapes) - set(SHAPES)
    if unknown:
        parser.error(f"unknown shapes {sorted(unknown)}; choose from {', '.join(SHAPES)}")
    if args.child:
        child(args.child, int(args.threads), shapes, args.calls, args.clock)
        return
    roots = {"numpy": ROOT, "c": ROOT, **({"base": args.base.resolve()} if args.base else {})}
    for threads in (int(t) for t in args.threads.split(",")):
        got: dict[str, list[dict]] = {system: [] for system in roots}
        loads = []
        systems = list(roots.items())
        for r in range(args.rounds):
            loads.append(os.getloadavg()[0])
            # each round starts with the next system: at 2 threads, whichever process ran
            # right after NumPy's was slower (medians 104 -> 127 us for the same build)
            for system, root in systems[r % len(systems):] + systems[:r % len(systems)]:
                kind = "numpy" if system == "numpy" else "c"
                got[system].append(run(kind, threads, shapes, args.calls, args.clock, root))
        print(f"{threads} thread(s), load average before each round: "
              + " ".join(f"{x:.2f}" for x in loads))
        for shape in shapes:
            med = {s: statistics.median(r[shape][0] for r in got[s]) for s in got}
            best = {s: min(r[shape][1] for r in got[s]) for s in got}
            line = f"  {shape:5s}" + "".join(f" {s} {med[s]:9.1f} us (min {best[s]:9.1f})" for s in got)
            print(line + "".join(f"   numpy/{s} {med['numpy'] / med[s]:5.2f}x (of minima "
                                 f"{best['numpy'] / best[s]:5.2f}x)" for s in got if s != "numpy"))


if __name__ == "__main__":
    main()
