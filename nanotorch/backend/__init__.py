"""Which backend runs the hot kernels, and the switch between them.

``NANOTORCH_BACKEND=auto|c|numpy`` picks one at import (``auto``, the default: C when the
compiled module loads, else NumPy). ``use(name)`` switches at run time and also works as
``with use("numpy"): ...``. ``current()`` is the backend in use; ``info()`` says why.
Operations store the backend on their graph node, so backward runs on the same one.
"""

from __future__ import annotations

import os
from pathlib import Path

from nanotorch.backend.numpy_backend import NumpyBackend

NAMES = ("auto", "c", "numpy")
# Written beside the package's modules by a failed build (build_kernels.py, setup.py): why the
# C kernels were not built, and how to get them.
NOT_BUILT = Path(__file__).resolve().parent.parent / "_kernels_not_built.txt"

_numpy = NumpyBackend()
_c = None  # the CBackend instance, once loaded
_c_error: str | None = None  # why the C backend could not load


class _State:
    """The backend in use (``Function.apply`` reads ``state.current``) and why it was chosen."""

    current = _numpy
    reason = "default"


state = _State()


def _load_c():
    """Load the C backend once; return it, or None with the reason kept in ``_c_error``."""
    global _c, _c_error
    if _c is None and _c_error is None:
        try:
            from nanotorch.backend.c_backend import CBackend
            _c = CBackend()
        except ValueError:  # a bad setting (NANOTORCH_ISA, NANOTORCH_NUM_THREADS): say so
            raise
        except Exception as exc:  # ImportError, OSError from a broken .so, ...
            if isinstance(exc, ModuleNotFoundError) and exc.name == "nanotorch._kernels":
                _c_error = not_built_reason()
            else:
                _c_error = f"{type(exc).__name__}: {exc}"
    return _c


def not_built_reason() -> str:
    """Why there is no compiled module: the failed build's note, or that no build ran."""
    try:
        first = NOT_BUILT.read_text().splitlines()[0]
    except (OSError, IndexError):
        return "not built: there is no nanotorch/_kernels*.so"
    return f"not built: {first.split(': ', 1)[-1].rstrip('.')}; details in {NOT_BUILT}"


def get(name: str):
    """The backend object called ``name`` ('c' or 'numpy'; 'auto' = C if it loads)."""
    if name not in NAMES:
        raise ValueError(f"unknown backend {name!r}; choose one of {NAMES}")
    if name == "numpy":
        return _numpy
    c = _load_c()
    if c is not None:
        return c
    if name == "c":
        raise RuntimeError(f"the C backend cannot be loaded ({_c_error}); build it with "
                           "`python build_kernels.py` or use the NumPy backend")
    return _numpy


class use:
    """Switch backend now; as ``with use(name):`` the previous one comes back on exit."""

    def __init__(self, name: str) -> None:
        backend = get(name)
        self.prev = (state.current, state.reason)
        state.current = backend
        state.reason = f"use({name!r})" if name != "auto" else _auto_reason()

    def __enter__(self):
        return state.current

    def __exit__(self, *exc) -> None:
        state.current, state.reason = self.prev


def current():
    """The backend in use."""
    return state.current


def available() -> list[str]:
    """Names of the backends that can run here."""
    return ["c", "numpy"] if _load_c() is not None else ["numpy"]


def _auto_reason() -> str:
    if _load_c() is not None:
        return "auto: the compiled C kernels loaded"
    return f"auto: C kernels unavailable ({_c_error})"


def info() -> dict:
    """What runs the kernels and why, plus the C build's details when it loaded."""
    details = {"backend": state.current.name, "reason": state.reason,
               "c_available": _load_c() is not None, "c_error": _c_error}
    if _c is not None:
        details.update(_c.build_info())
    return details


def _select_from_env() -> None:
    name = os.environ.get("NANOTORCH_BACKEND", "auto").strip().lower() or "auto"
    if name not in NAMES:
        raise ValueError(f"NANOTORCH_BACKEND={name!r} is not one of {NAMES}")
    state.current = get(name)
    state.reason = f"NANOTORCH_BACKEND={name}" if name != "auto" else _auto_reason()


_select_from_env()
