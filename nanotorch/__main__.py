"""``python -m nanotorch``: what runs the kernels here, and why.

Prints the version, Python and the CPU, the backend in use and the reason it was chosen, the
C build (module, compiler flags, GEMM instruction set, caches, threads) or why it is missing
and how to get it, NumPy's BLAS, and the dispatch: which ops call a backend kernel and which
kernels the backend in use runs in C. ``--version`` prints the version line only.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np

import nanotorch
from nanotorch import backend
from nanotorch.autograd.function import Function
from nanotorch.backend.numpy_backend import NumpyBackend


def numpy_blas() -> str:
    """NumPy's BLAS library, with its thread count when threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return ", ".join(f"{p['internal_api']} {p.get('version')} ({p['num_threads']} threads)"
                             for p in pools)
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except (TypeError, KeyError, ValueError):  # NumPy < 1.25 has no mode="dicts"
        return "see numpy.show_config()"


def cpu() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux) and its logical core count."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                        name)
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} logical cores"


def version() -> str:
    return (f"NanoTorch {nanotorch.__version__} (Python {platform.python_version()}, "
            f"NumPy {np.__version__}) from {os.path.dirname(nanotorch.__file__)}")


def caches(t: dict) -> str:
    """The cache sizes read at run time and the GEMM blocking derived from them."""
    def size(b: int) -> str:
        return "?" if not b else f"{b // 1024} KiB" if b < 2**20 else f"{b // 2**20} MiB"
    return (f"L1d {size(t['l1d_bytes'])}, L2 {size(t['l2_bytes'])}, L3 {size(t['l3_bytes'])} -> "
            f"GEMM tile {t['mr']}x{t['nr']}, MC {t['mc']}, KC {t['kc']}, NC {t['nc']}")


def report() -> str:
    info = backend.info()
    lines = [version(),
             f"Python:       {sys.version.split()[0]} ({sys.executable})",
             f"CPU:          {cpu()}",
             f"backend:      {info['backend']}  ({info['reason']})"]
    if info["c_available"]:
        lines += [f"C kernels:    {info['library']}",
                  f"  flags:      {info['cflags']}",
                  f"  GEMM ISA:   {info['isa']}  (NANOTORCH_ISA; other kernels: {info['simd']})",
                  f"  caches:     {caches(info['gemm_tuning'])}",
                  f"  threads:    {info['num_threads']} allowed (NANOTORCH_NUM_THREADS, "
                  "nanotorch.set_num_threads), the library's own pthread pool"]
    else:
        lines += [f"C kernels:    not available ({info['c_error']})", "  " + how_to_build()]
    lines.append(f"NumPy:        {np.__version__}, BLAS: {numpy_blas()}")
    return "\n".join(lines + dispatch())


def dispatch() -> list[str]:
    """Where each op runs: every op is NumPy code in ``nanotorch/ops``, except the ops that
    call a kernel (``uses_backend``); of those kernels, the ones the backend in use overrides
    run in C, the rest are the NumPy spec (``backend/numpy_backend.py``)."""
    ops, todo = [], [Function]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.uses_backend and cls.__module__.startswith("nanotorch.ops."):
            ops.append(cls.__name__)
    current = backend.current()
    kernels = [name for name, f in vars(NumpyBackend).items() if callable(f) and not name.startswith("_")]
    in_c = [k for k in kernels if type(current) is not NumpyBackend and k in type(current).__dict__]
    return [f"dispatch:     every op is NumPy code (nanotorch/ops), except {', '.join(sorted(ops))}: "
            "they call ctx.backend.<kernel>",
            f"  in C here:  {', '.join(in_c) or 'none'} (float32; other calls, and every other "
            "kernel, run the NumPy spec); optimizers call their step kernels the same way",
            *small_linear_rule(current)]


def small_linear_rule(current) -> list[str]:
    """The C backend's one speed rule (``CBackend.small_linear_macs``), when it is in use."""
    macs = getattr(current, "small_linear_macs", None)
    if macs is None:
        return []
    return [f"  speed rule: linear products under {macs:,} multiply-adds run on NumPy's BLAS "
            "(lower fixed cost per call; nanotorch.backend.c_backend.SMALL_LINEAR_MACS)"]


def how_to_build() -> str:
    """The failed build's advice (see build_kernels.py), or the command that builds the kernels."""
    try:
        advice = [line for line in backend.NOT_BUILT.read_text().splitlines() if line.startswith("To get")]
    except OSError:
        advice = []
    return advice[0] if advice else "build them: python build_kernels.py  (or pip install -e .)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nanotorch", description=(
        "What runs NanoTorch here: version, Python, CPU, backend and why, the C build, NumPy's BLAS."))
    parser.add_argument("--version", action="version", version=version())
    parser.parse_args(argv)
    print(report())


if __name__ == "__main__":
    main()
