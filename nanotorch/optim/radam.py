"""RAdam: Adam whose adaptive step is switched on gradually, as its variance estimate firms up."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from nanotorch.optim.adam import Adam
from nanotorch.optim.optimizer import Optimizer


class RAdam(Optimizer):
    """RAdam as PyTorch computes it. At step ``t``, with ``g = grad`` (``-grad`` if
    maximize), plus ``weight_decay * p`` unless the decay is decoupled (then
    ``p *= 1 - lr * weight_decay`` first)::

        m = b1 * m + (1 - b1) * g            v = b2 * v + (1 - b2) * g**2
        rho_inf = 2 / (1 - b2) - 1           rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:  r = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                       p -= lr * m / (1 - b1**t) * r * sqrt(1 - b2**t) / (sqrt(v) + eps)
        else:          p -= lr * m / (1 - b1**t)          (plain momentum SGD)

    State per parameter: ``step``, ``exp_avg`` (m) and ``exp_avg_sq`` (v), shaped like
    ``p``. The update is NumPy's on every backend.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    _check = staticmethod(Adam._check)  # the same options: lr, eps, weight_decay >= 0, betas in [0, 1)

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, (beta1, beta2) = group["lr"], group["betas"]
            for _, data, g, state in self._per_param(group, ("exp_avg", "exp_avg_sq")):
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                step = m / (1 - beta1 ** t) * lr
                rect = _rectification(beta2, t)
                if rect is not None:
                    step = step * (math.sqrt(1 - beta2 ** t) / (np.sqrt(v) + group["eps"])) * rect
                data -= step
        return loss


def _rectification(beta2: float, t: int) -> float | None:
    """RAdam's ``r`` at step ``t``: how far the variance of the adaptive step is trusted;
    None while the estimate is too young (``rho_t <= 5``) to use the adaptive step at all."""
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
    if rho_t <= 5:
        return None
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
