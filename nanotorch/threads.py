"""How many threads the C kernels may use: ``set_num_threads(n)`` and ``get_num_threads()``.

The default is ``NANOTORCH_NUM_THREADS`` when set, else the number of CPUs this process may
run on. The count is passed to every C kernel call as an argument (the kernels keep no
global state); a kernel uses fewer threads when its work is too small to pay for them, and
only one without OpenMP. NumPy's own BLAS threads are not affected (set
``OPENBLAS_NUM_THREADS`` or use threadpoolctl for those).
"""

from __future__ import annotations

import numbers
import os

ENV = "NANOTORCH_NUM_THREADS"


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _checked(n, source: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{source} must be a positive integer, got {n!r}")
    return int(n)


def _from_env() -> int:
    text = os.environ.get(ENV, "").strip()
    if not text:
        return _cpus()
    try:
        return _checked(int(text), ENV)
    except ValueError:
        raise ValueError(f"{ENV} must be a positive integer, got {text!r}") from None


_num_threads = _from_env()


def set_num_threads(n: int) -> None:
    """Let the C kernels use up to ``n`` threads (``n >= 1``), as ``torch.set_num_threads``."""
    global _num_threads
    _num_threads = _checked(n, "set_num_threads(n): n")


def get_num_threads() -> int:
    """The number of threads the C kernels may use."""
    return _num_threads
