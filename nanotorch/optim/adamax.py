"""Adamax: Adam with the infinity norm of past gradients in place of their root mean square."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from nanotorch.optim.adam import Adam
from nanotorch.optim.optimizer import Optimizer


class Adamax(Optimizer):
    """Adamax as PyTorch computes it. At step ``t``, with ``g = grad`` (``-grad`` if
    maximize) ``+ weight_decay * p``::

        m = b1 * m + (1 - b1) * g
        u = max(b2 * u, |g| + eps)
        p -= lr / (1 - b1**t) * m / u

    State per parameter: ``step``, ``exp_avg`` (m) and ``exp_inf`` (u), shaped like ``p``.
    The update is NumPy's on every backend.
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    _check = staticmethod(Adam._check)  # the same options: lr, eps, weight_decay >= 0, betas in [0, 1)

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            (beta1, beta2), eps = group["betas"], group["eps"]
            for _, data, g, state in self._per_param(group, ("exp_avg", "exp_inf")):
                m, u = state["exp_avg"], state["exp_inf"]
                m *= beta1
                m += (1 - beta1) * g
                np.maximum(beta2 * u, np.abs(g) + eps, out=u)
                data -= group["lr"] / (1 - beta1 ** state["step"]) * (m / u)
        return loss
