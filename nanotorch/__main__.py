"""``python -m nanotorch``: what runs the kernels here, and why.

Prints the version, the backend in use and the reason it was chosen, the C build (module,
compiler flags, GEMM instruction set, caches, threads) or why it is missing, and NumPy's BLAS.
"""

from __future__ import annotations

import numpy as np

import nanotorch
from nanotorch import backend


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


def caches(t: dict) -> str:
    """The cache sizes read at run time and the GEMM blocking derived from them."""
    def size(b: int) -> str:
        return "?" if not b else f"{b // 1024} KiB" if b < 2**20 else f"{b // 2**20} MiB"
    return (f"L1d {size(t['l1d_bytes'])}, L2 {size(t['l2_bytes'])}, L3 {size(t['l3_bytes'])} -> "
            f"GEMM tile {t['mr']}x{t['nr']}, KC {t['kc']}, NC {t['nc']}")


def report() -> str:
    info = backend.info()
    lines = [f"NanoTorch {nanotorch.__version__}",
             f"backend:      {info['backend']}  ({info['reason']})"]
    if info["c_available"]:
        lines += [f"C kernels:    {info['library']}",
                  f"  flags:      {info['cflags']}",
                  f"  GEMM ISA:   {info['isa']}  (NANOTORCH_ISA; other kernels: {info['simd']})",
                  f"  caches:     {caches(info['gemm_tuning'])}",
                  f"  threads:    {info['num_threads']} allowed (NANOTORCH_NUM_THREADS, "
                  "nanotorch.set_num_threads), the library's own pthread pool"]
    else:
        lines += [f"C kernels:    not available ({info['c_error']})",
                  "  build them: python build_kernels.py  (or pip install -e .)"]
    lines.append(f"NumPy:        {np.__version__}, BLAS: {numpy_blas()}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
