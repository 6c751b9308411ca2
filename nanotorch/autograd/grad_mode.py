"""Whether operations record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``.

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
    inference = False  # inside ``inference_mode()``


state = _State()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward (in the calling thread)."""
    return state.enabled


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (in the calling thread)."""
    return state.inference


class _GradMode:
    """Sets grad mode to ``mode`` in a ``with`` block or a decorated function, then
    restores the previous mode. A decorated generator function runs each of its steps in
    ``mode`` and gives the caller its own mode back at every ``yield``, as PyTorch does."""

    mode = True

    def _enter(self):
        """Switch to this mode; return what ``_exit`` needs to restore the previous one."""
        prev, state.enabled = state.enabled, self.mode
        return prev

    def _exit(self, prev) -> None:
        state.enabled = prev

    def __enter__(self) -> None:
        self.prev = self._enter()

    def __exit__(self, *exc) -> None:
        self._exit(self.prev)

    def __call__(self, fn: Callable) -> Callable:
        enter, leave = self._enter, self._exit
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, enter, leave)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = enter()
            try:
                return fn(*args, **kwargs)
            finally:
                leave(prev)

        return wrapper


def _wrap_generator(fn: Callable, enter: Callable, leave: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        gen = fn(*args, **kwargs)
        step, value = gen.send, None
        while True:
            prev = enter()
            try:
                item = step(value)
            except StopIteration as stop:
                return stop.value
            finally:
                leave(prev)
            try:
                step, value = gen.send, (yield item)
            except GeneratorExit:
                prev = enter()
                try:
                    gen.close()
                finally:
                    leave(prev)
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


class inference_mode(_GradMode):
    """``no_grad`` for inference: ``with inference_mode():``, ``@inference_mode()`` or
    ``@inference_mode``; ``is_inference_mode_enabled()`` is True inside.
    ``inference_mode(False)`` turns it off, and turns grad mode on, as in PyTorch.

    Unlike PyTorch, tensors made inside are ordinary tensors: PyTorch marks them as
    inference tensors (which later autograd may not save, and which skip version counting
    for speed); here the mode only stops recording, exactly as ``no_grad`` does.
    """

    def __new__(cls, mode: bool | Callable = True):
        self = super().__new__(cls)
        if callable(mode):  # ``@inference_mode`` without parentheses
            self.inference = True
            return self(mode)
        return self

    def __init__(self, mode: bool = True) -> None:
        self.inference = bool(mode)

    def _enter(self):
        prev = state.enabled, state.inference
        state.enabled, state.inference = not self.inference, self.inference
        return prev

    def _exit(self, prev) -> None:
        state.enabled, state.inference = prev
