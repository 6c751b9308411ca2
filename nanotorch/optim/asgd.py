"""ASGD: SGD with a decaying step size that also keeps a running average of the parameters."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable

import numpy as np

from nanotorch.optim.optimizer import Optimizer, check_nonnegative


class ASGD(Optimizer):
    """Averaged SGD as PyTorch computes it. At step ``t``, with ``g = grad`` (``-grad`` if
    maximize) ``+ weight_decay * p``, and ``eta`` and ``mu`` as the previous step left them
    (``lr`` and 1 at first)::

        p = p * (1 - lambd * eta) - eta * g
        ax = ax + mu * (p - ax)              (ax = p while mu is 1)
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)              (averaging starts after step t0)

    ``ax`` is the averaged parameter (read it from ``optimizer.state[p]["ax"]``). State per
    parameter: ``step``, ``eta`` and ``mu`` (numbers), ``ax`` (shaped like ``p``). The
    update is NumPy's on every backend.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults)

    @staticmethod
    def _check(options: dict) -> None:
        check_nonnegative(options, "lr", "weight_decay")
        for name in ("lambd", "alpha", "t0"):  # any values, as in PyTorch, but numbers
            if isinstance(options[name], bool) or not isinstance(options[name], numbers.Real):
                raise TypeError(f"{name} must be a number, not {options[name]!r}")

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lambd = group["lr"], group["lambd"]
            for _, data, g, state in self._per_param(group, ("ax",)):
                state.setdefault("eta", float(lr))
                state.setdefault("mu", 1.0)
                eta, mu, ax = state["eta"], state["mu"], state["ax"]
                data *= 1 - lambd * eta
                data -= eta * g
                if mu != 1:
                    ax += mu * (data - ax)
                else:
                    np.copyto(ax, data)
                state["eta"] = lr / (1 + lambd * lr * state["step"]) ** group["alpha"]
                state["mu"] = 1 / max(1, state["step"] - group["t0"])
        return loss
