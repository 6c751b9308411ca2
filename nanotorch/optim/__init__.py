"""Optimizers and learning-rate schedulers (PyTorch's ``torch.optim``)."""

from nanotorch.optim import lr_scheduler
from nanotorch.optim.adadelta import Adadelta
from nanotorch.optim.adagrad import Adagrad
from nanotorch.optim.adam import Adam, AdamW
from nanotorch.optim.adamax import Adamax
from nanotorch.optim.asgd import ASGD
from nanotorch.optim.nadam import NAdam
from nanotorch.optim.optimizer import Optimizer
from nanotorch.optim.radam import RAdam
from nanotorch.optim.rmsprop import RMSprop
from nanotorch.optim.rprop import Rprop
from nanotorch.optim.sgd import SGD

__all__ = ["ASGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer", "RAdam", "RMSprop",
           "Rprop", "SGD", "lr_scheduler"]
