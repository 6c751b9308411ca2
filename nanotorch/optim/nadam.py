"""NAdam: Adam with Nesterov momentum (the step looks one momentum update ahead)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from nanotorch.optim.adam import Adam
from nanotorch.optim.optimizer import Optimizer, check_nonnegative


class NAdam(Optimizer):
    """NAdam as PyTorch computes it. At step ``t``, with ``g = grad`` (``-grad`` if
    maximize), plus ``weight_decay * p`` unless the decay is decoupled (then
    ``p *= 1 - lr * weight_decay`` first)::

        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))      (mu_{t+1} likewise)
        prod_t = mu_1 * ... * mu_t
        m = b1 * m + (1 - b1) * g            v = b2 * v + (1 - b2) * g**2
        denom = sqrt(v / (1 - b2**t)) + eps
        p -= lr * (1 - mu_t) / (1 - prod_t) * g / denom
        p -= lr * mu_{t+1} / (1 - prod_t * mu_{t+1}) * m / denom

    State per parameter: ``step``, ``mu_product`` (prod_t, a number), ``exp_avg`` (m) and
    ``exp_avg_sq`` (v), shaped like ``p``. The update is NumPy's on every backend.
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults)

    @staticmethod
    def _check(options: dict) -> None:
        Adam._check(options)  # lr, eps, weight_decay >= 0, betas in [0, 1)
        check_nonnegative(options, "momentum_decay")

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, (beta1, beta2) = group["lr"], group["betas"]
            for _, data, g, state in self._per_param(group, ("exp_avg", "exp_avg_sq")):
                state.setdefault("mu_product", 1.0)
                t = state["step"]
                mu, mu_next = (_momentum(beta1, group["momentum_decay"], k) for k in (t, t + 1))
                state["mu_product"] *= mu
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                denom = np.sqrt(v / (1 - beta2 ** t)) + group["eps"]
                data -= lr * (1 - mu) / (1 - state["mu_product"]) * (g / denom)
                data -= lr * mu_next / (1 - state["mu_product"] * mu_next) * (m / denom)
        return loss


def _momentum(beta1: float, momentum_decay: float, t: int) -> float:
    """NAdam's momentum at step ``t``: ``mu_t = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``."""
    return beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
