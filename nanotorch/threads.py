"""How many threads the C kernels may use: ``set_num_threads(n)`` and ``get_num_threads()``.

The default is ``NANOTORCH_NUM_THREADS`` when set, else the number of CPUs this process may
run on; either way a whole number from 1 to ``MAX_THREADS``, checked once, here. The count
is passed to every C kernel call; a kernel uses fewer threads when its work is too small to
pay for them. The threads are the C library's own pool (``kernels/threads.c``): no OpenMP,
no environment variables written. NumPy's own BLAS threads are not affected (set
``OPENBLAS_NUM_THREADS`` or use threadpoolctl for those).
"""

from __future__ import annotations

import numbers
import os

ENV = "NANOTORCH_NUM_THREADS"
MAX_THREADS = 256  # the C pool's size (NT_MAX_THREADS in kernels/nanotorch_kernels.h)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _checked(n, source: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= MAX_THREADS:
        raise ValueError(f"{source} must be a positive integer from 1 to {MAX_THREADS}, "
                         f"got {n!r}")
    return int(n)


def _from_env() -> int:
    text = os.environ[ENV].strip()
    try:
        n = int(text)
    except ValueError:
        n = text
    return _checked(n, ENV)


_num_threads = _from_env() if os.environ.get(ENV, "").strip() else min(_cpus(), MAX_THREADS)


def set_num_threads(n: int) -> None:
    """Let the C kernels use up to ``n`` threads (1 <= n <= ``MAX_THREADS``), as
    ``torch.set_num_threads``."""
    global _num_threads
    _num_threads = _checked(n, "set_num_threads(n): n")


def get_num_threads() -> int:
    """The number of threads the C kernels may use."""
    return _num_threads
