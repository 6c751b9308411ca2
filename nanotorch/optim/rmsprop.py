"""RMSprop: steps divided by a running root-mean-square of the gradient."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nanotorch import backend
from nanotorch.optim.optimizer import Optimizer, check_nonnegative


class RMSprop(Optimizer):
    """RMSprop as PyTorch computes it (the update is the backend's ``rmsprop_step``).

    With ``g = grad`` (``-grad`` if maximize) ``+ weight_decay * p``::

        v = alpha * v + (1 - alpha) * g**2
        avg = sqrt(v) + eps      (centered: gbar = alpha * gbar + (1 - alpha) * g,
                                  avg = sqrt(v - gbar**2) + eps)
        p -= lr * g / avg        (momentum: b = momentum * b + g / avg, p -= lr * b)

    State per parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (b) when
    momentum > 0, ``grad_avg`` (gbar) when centered; the buffers are shaped like ``p``.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    @staticmethod
    def _check(options: dict) -> None:
        check_nonnegative(options, "lr", "alpha", "eps", "weight_decay", "momentum")

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        rmsprop_step = backend.current().rmsprop_step
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            maximize = group["maximize"]
            buffers = ("square_avg",) + ("momentum_buffer",) * (momentum > 0) + ("grad_avg",) * centered
            params, arrays, grads = self._gradients(group)
            for p, data, grad in zip(params, arrays, grads):
                state = self._param_state(p, buffers)
                state["step"] += 1
                rmsprop_step(data, grad, state["square_avg"],
                             state["momentum_buffer"] if momentum > 0 else None,
                             state["grad_avg"] if centered else None, lr=lr, alpha=alpha, eps=eps,
                             weight_decay=weight_decay, momentum=momentum, maximize=maximize)
                p._version[0] += 1
        return loss
