"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nanotorch import backend
from nanotorch.optim.optimizer import Optimizer, _zeros_for, check_nonnegative


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
            params, arrays, grads = self._gradients(group)
            if not params:
                continue
            momentum = group["momentum"]
            bufs, first = self._momentum_buffers(params) if momentum else (None, [False] * len(params))
            sgd_multi_step(arrays, grads, bufs, lr=group["lr"], momentum=momentum,
                           dampening=group["dampening"], nesterov=group["nesterov"],
                           weight_decay=group["weight_decay"], maximize=group["maximize"],
                           first=first)  # one kernel call per group
            for p in params:
                p._version[0] += 1
        return loss

    def _momentum_buffers(self, params: list) -> tuple[list, list[bool]]:
        """Each param's momentum buffer, and whether it starts now (new zeros, made by
        ``_zeros_for``: the kernel copies ``g`` into it)."""
        states = [self.state[p] for p in params]
        first = [s.get("momentum_buffer") is None for s in states]
        if any(first):
            new = [p for p, f in zip(params, first) if f]
            for s, zeros in zip([s for s, f in zip(states, first) if f], _zeros_for(new)):
                s["momentum_buffer"] = zeros
        return [s["momentum_buffer"] for s in states], first
