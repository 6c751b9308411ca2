"""Whether operations record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

The mode is per thread, as in PyTorch: ``state.enabled`` lives in a ``threading.local``,
so a ``no_grad()`` block in one thread leaves the others recording, and every new thread
starts with grad mode on. ``Function.apply`` reads it once per op (one attribute lookup).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable


class _State(threading.local):
    enabled = True  # the class attribute is every thread's starting value


state = _State()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward (in the calling thread)."""
    return state.enabled


class _GradMode:
    """Sets grad mode to ``mode`` in a ``with`` block or a decorated function, then
    restores the previous mode. A decorated generator function runs each of its steps in
    ``mode`` and gives the caller its own mode back at every ``yield``, as PyTorch does."""

    mode = True

    def __enter__(self) -> None:
        self.prev, state.enabled = state.enabled, self.mode

    def __exit__(self, *exc) -> None:
        state.enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, mode)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev, state.enabled = state.enabled, mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev

        return wrapper


def _wrap_generator(fn: Callable, mode: bool) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        gen = fn(*args, **kwargs)
        step, value = gen.send, None
        while True:
            prev, state.enabled = state.enabled, mode
            try:
                item = step(value)
            except StopIteration as stop:
                return stop.value
            finally:
                state.enabled = prev
            try:
                step, value = gen.send, (yield item)
            except GeneratorExit:
                prev, state.enabled = state.enabled, mode
                try:
                    gen.close()
                finally:
                    state.enabled = prev
                raise
            except BaseException as exc:  # thrown into us: pass it on to fn's generator
                step, value = gen.throw, exc

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
        self.mode = bool(mode)
        self.prev, state.enabled = state.enabled, self.mode

    def __enter__(self) -> None:
        """The constructor already set the mode (and kept the previous one for ``__exit__``)."""

    def __call__(self, fn: Callable) -> Callable:
        state.enabled = self.prev  # as a decorator it must not change the mode now
        return super().__call__(fn)
