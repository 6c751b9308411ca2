"""Automatic differentiation: grad mode (``grad_mode.py``), ``Function`` (``function.py``),
the backward engine (``engine.py``), ``grad`` (``gradients.py``), tensor hooks
(``hooks.py``) and ``gradcheck``."""

from nanotorch.autograd.function import Function  # noqa: F401
from nanotorch.autograd.grad_mode import (  # noqa: F401
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from nanotorch.autograd.gradcheck import gradcheck  # noqa: F401
from nanotorch.autograd.gradients import grad  # noqa: F401
