"""The seed's module path for optimizers: ``from nanotorch.optimizer import SGD``.

They live in :mod:`nanotorch.optim` (PyTorch's layout).
"""

from nanotorch.optim import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Adam", "AdamW", "Optimizer", "RMSprop", "SGD"]
