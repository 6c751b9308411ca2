"""Adagrad: each parameter's step divided by the root of its summed squared gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from nanotorch.optim.optimizer import Optimizer, check_nonnegative


class Adagrad(Optimizer):
    """Adagrad as PyTorch computes it. At step ``t``, with ``g = grad`` (``-grad`` if
    maximize) ``+ weight_decay * p``::

        lr_t = lr / (1 + (t - 1) * lr_decay)
        sum += g * g
        p -= lr_t * g / (sqrt(sum) + eps)

    State per parameter: ``step`` and ``sum`` (shaped like ``p``, starting at
    ``initial_accumulator_value``), made when the optimizer is, as PyTorch's. The update is
    NumPy's on every backend (a few passes per parameter: no C kernel).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                    "maximize": maximize}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0, "sum": np.full(p.data.shape, group["initial_accumulator_value"],
                                                            dtype=p.data.dtype)}

    @staticmethod
    def _check(options: dict) -> None:
        check_nonnegative(options, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            for _, data, g, state in self._per_param(group, ()):
                state.setdefault("sum", np.full(data.shape, group["initial_accumulator_value"], data.dtype))
                lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
                state["sum"] += g * g
                data -= lr * (g / (np.sqrt(state["sum"]) + group["eps"]))
        return loss
