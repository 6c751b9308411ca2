"""Adadelta: steps scaled by the ratio of running RMS values of past steps and of gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from nanotorch.optim.optimizer import Optimizer, check_nonnegative


class Adadelta(Optimizer):
    """Adadelta as PyTorch computes it. With ``g = grad`` (``-grad`` if maximize)
    ``+ weight_decay * p``::

        v = rho * v + (1 - rho) * g**2
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta**2
        p -= lr * delta

    State per parameter: ``step``, ``square_avg`` (v) and ``acc_delta`` (u), shaped like
    ``p``. The update is NumPy's on every backend.
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    @staticmethod
    def _check(options: dict) -> None:
        check_nonnegative(options, "lr", "rho", "eps", "weight_decay")
        if options["rho"] > 1:
            raise ValueError(f"Invalid rho: {options['rho']} (must be in [0, 1])")

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            rho, eps = group["rho"], group["eps"]
            for _, data, g, state in self._per_param(group, ("square_avg", "acc_delta")):
                v, u = state["square_avg"], state["acc_delta"]
                v *= rho
                v += (1 - rho) * g * g
                delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
                u *= rho
                u += (1 - rho) * delta * delta
                data -= group["lr"] * delta
        return loss
