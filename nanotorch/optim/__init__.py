"""Optimizers and learning-rate schedulers (PyTorch's ``torch.optim``)."""

from nanotorch.optim import lr_scheduler
from nanotorch.optim.adagrad import Adagrad
from nanotorch.optim.adam import Adam, AdamW
from nanotorch.optim.optimizer import Optimizer
from nanotorch.optim.rmsprop import RMSprop
from nanotorch.optim.sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
