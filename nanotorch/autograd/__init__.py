"""Automatic differentiation: grad mode, ``Function`` (see ``function.py``), the backward
engine (``engine.py``) and ``gradcheck``."""

from nanotorch.autograd.grad_mode import (  # noqa: F401
    enable_grad, is_grad_enabled, no_grad, set_grad_enabled)
