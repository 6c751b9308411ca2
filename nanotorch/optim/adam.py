"""Adam and AdamW: per-coordinate steps scaled by running moments of the gradient."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable

from nanotorch import backend
from nanotorch.optim.optimizer import Optimizer, check_nonnegative


class Adam(Optimizer):
    """Adam as PyTorch computes it (the update is the backend's ``adam_multi_step``).

    At step ``t``, with ``g = grad`` (``-grad`` if maximize), plus ``weight_decay * p``
    unless the decay is decoupled (AdamW: ``p *= 1 - lr * weight_decay`` instead)::

        m = b1 * m + (1 - b1) * g            v = b2 * v + (1 - b2) * g**2
        (amsgrad: v_max = max(v_max, v), used in place of v)
        p -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)

    State per parameter: ``step`` (its own ``t``: a parameter without a gradient skips the
    step, so counts may differ within a group; one kernel call per group takes them all),
    ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq``; the buffers
    are shaped like the parameter.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    @staticmethod
    def _check(options: dict) -> None:
        check_nonnegative(options, "lr", "eps", "weight_decay")
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), not {betas!r}")
        for i, beta in enumerate(betas):
            if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta!r} (must be in [0, 1))")

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        adam_multi_step = backend.current().adam_multi_step
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else ("exp_avg", "exp_avg_sq")
            params, arrays, grads = self._gradients(group)
            if not params:
                continue
            steps, exp_avgs, exp_avg_sqs, max_exp_avg_sqs = [], [], [], []
            for state in self._param_states(params, buffers):
                state["step"] += 1
                steps.append(state["step"])
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                if amsgrad:
                    max_exp_avg_sqs.append(state["max_exp_avg_sq"])
            # one kernel call per group, each parameter at its own step count
            adam_multi_step(arrays, grads, exp_avgs, exp_avg_sqs,
                            max_exp_avg_sqs if amsgrad else None,
                            steps=steps, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                            weight_decay=weight_decay, decoupled=decoupled, maximize=maximize)
            for p in params:
                p._version[0] += 1
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the Adam
    step, instead of adding ``weight_decay * p`` to the gradient); default decay 1e-2."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
