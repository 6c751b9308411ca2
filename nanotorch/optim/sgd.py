"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from nanotorch import backend
from nanotorch.optim.optimizer import Optimizer, check_nonnegative


class SGD(Optimizer):
    """SGD as PyTorch computes it (the update is the backend's ``sgd_multi_step``).

    With ``g = grad (-grad if maximize) + weight_decay * p``: without momentum
    ``p -= lr * g``. With momentum the buffer starts as ``b = g`` and then follows
    ``b = momentum * b + (1 - dampening) * g``; the step is ``p -= lr * b``, or with
    Nesterov ``p -= lr * (g + momentum * b)``. State: ``momentum_buffer`` (like ``p``).
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    @staticmethod
    def _check(options: dict) -> None:
        check_nonnegative(options, "lr", "momentum", "weight_decay")
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``, if given."""
        loss = self._evaluate(closure)
        sgd_multi_step = backend.current().sgd_multi_step
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            params, grads, bufs, first = [], [], [], []
            for p, grad in self._gradients(group):
                params.append(p)
                grads.append(grad)
                buf = self.state[p].get("momentum_buffer") if momentum else None
                first.append(momentum != 0 and buf is None)
                if first[-1]:  # the kernel copies g into it
                    buf = self.state[p]["momentum_buffer"] = np.zeros(p.data.shape, dtype=p.data.dtype)
                bufs.append(buf)
            if params:  # one kernel call per group
                sgd_multi_step([p.data for p in params], grads, bufs if momentum else None,
                               lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                               weight_decay=weight_decay, maximize=maximize, first=first)
            for p in params:
                p._version[0] += 1
        return loss
