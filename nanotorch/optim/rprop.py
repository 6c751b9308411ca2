"""Rprop: each coordinate moves by its own step size, grown or shrunk by the gradient's sign."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable

import numpy as np

from nanotorch.optim.optimizer import Optimizer, check_nonnegative


class Rprop(Optimizer):
    """Rprop as PyTorch computes it. With ``g = grad`` (``-grad`` if maximize) and ``prev``
    the previous step's ``g``, per coordinate::

        if g * prev > 0:  size = min(size * eta_plus, step_size_max)
        if g * prev < 0:  size = max(size * eta_minus, step_size_min); g = 0   (skip this step)
        p -= sign(g) * size
        prev = g

    ``size`` starts at ``lr``. State per parameter: ``step``, ``prev`` and ``step_size``,
    shaped like ``p``. The update is NumPy's on every backend.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "maximize": maximize}
        super().__init__(params, defaults)

    @staticmethod
    def _check(options: dict) -> None:
        check_nonnegative(options, "lr")
        _pair(options, "step_sizes")  # no bounds, as in PyTorch (where min > max, sizes become max)
        eta_minus, eta_plus = _pair(options, "etas")
        if not 0 < eta_minus < 1 < eta_plus:
            raise ValueError(f"Invalid eta values: {eta_minus}, {eta_plus} "
                             "(need 0 < eta_minus < 1 < eta_plus)")

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            (eta_minus, eta_plus), (size_min, size_max) = group["etas"], group["step_sizes"]
            for _, data, g, state in self._per_param(group, ("prev",)):
                state.setdefault("step_size", np.full_like(data, group["lr"]))
                agreement = np.sign(g * state["prev"])
                factor = np.ones_like(data)
                factor[agreement > 0] = eta_plus
                factor[agreement < 0] = eta_minus
                size = state["step_size"]
                np.clip(size * factor, size_min, size_max, out=size)
                g = np.where(agreement < 0, 0, g)
                data -= np.sign(g) * size
                np.copyto(state["prev"], g)
        return loss


def _pair(options: dict, name: str) -> tuple:
    """The option ``name``, checked to be a pair of real numbers."""
    value = options[name]
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"{name} must be a pair of numbers, not {value!r}")
    return tuple(value)
