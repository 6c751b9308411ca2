"""Whether operations record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

The flag is process-wide (PyTorch keeps one per thread); ``Function.apply`` reads it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

_enabled = True


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward."""
    return _enabled


class _GradMode:
    """Context manager and decorator that sets grad mode to a fixed value."""

    mode = True

    def __init__(self, mode: bool | None = None) -> None:
        if mode is not None:
            self.mode = mode

    def __enter__(self) -> None:
        global _enabled
        self.prev = _enabled
        _enabled = self.mode

    def __exit__(self, *exc) -> None:
        global _enabled
        _enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(mode):
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Don't record operations: ``with no_grad(): ...`` or ``@no_grad()``."""

    mode = False


class enable_grad(_GradMode):
    """Record operations again inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """Set grad mode now (``set_grad_enabled(False)``), or for a ``with`` block or a function."""

    def __init__(self, mode: bool) -> None:
        global _enabled
        self.mode = bool(mode)
        self.prev = _enabled
        _enabled = self.mode

    def __call__(self, fn: Callable) -> Callable:
        global _enabled
        _enabled = self.prev  # as a decorator it must not change the mode now
        return super().__call__(fn)
