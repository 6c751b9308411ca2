"""Automatic differentiation: grad mode, ``Function`` (see ``function.py``), the backward
engine (``engine.py``) and ``gradcheck``."""

from nanotorch.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from nanotorch.autograd.gradcheck import gradcheck  # noqa: F401
