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
    """Sets grad mode to ``mode`` in a ``with`` block or a decorated function, then
    restores the previous mode."""

    mode = True

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
            global _enabled
            prev, _enabled = _enabled, mode
            try:
                return fn(*args, **kwargs)
            finally:
                _enabled = prev

        return wrapper


class _FixedGradMode(_GradMode):
    """A mode with no argument: ``with m():``, ``@m()``, or ``@m`` without parentheses."""

    def __new__(cls, fn: Callable | None = None):
        self = super().__new__(cls)
        return self if fn is None else self(fn)


class no_grad(_FixedGradMode):
    """Don't record operations: ``with no_grad(): ...`` or ``@no_grad()``."""

    mode = False


class enable_grad(_FixedGradMode):
    """Record operations again inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """Set grad mode now (``set_grad_enabled(False)``), or for a ``with`` block or a function."""

    def __init__(self, mode: bool) -> None:
        global _enabled
        self.mode = bool(mode)
        self.prev = _enabled
        _enabled = self.mode

    def __enter__(self) -> None:
        """The constructor already set the mode (and kept the previous one for ``__exit__``)."""

    def __call__(self, fn: Callable) -> Callable:
        global _enabled
        _enabled = self.prev  # as a decorator it must not change the mode now
        return super().__call__(fn)
