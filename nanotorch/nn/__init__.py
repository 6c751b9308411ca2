"""Neural-network layers, losses and ``functional`` (PyTorch's ``torch.nn``).

``Module`` is the base class; ``functional`` (``import nanotorch.nn.functional as F``)
has the same layers as functions, and ``init`` the weight initializations.
"""

from nanotorch.nn import functional, init, parallel  # noqa: F401
from nanotorch.nn.activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh  # noqa: F401
from nanotorch.nn.container import ModuleList, Sequential  # noqa: F401
from nanotorch.nn.conv import Conv1d, Conv2d  # noqa: F401
from nanotorch.nn.dropout import Dropout  # noqa: F401
from nanotorch.nn.linear import Flatten, Identity, Linear  # noqa: F401
from nanotorch.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss  # noqa: F401
from nanotorch.nn.module import Module  # noqa: F401
from nanotorch.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: F401
from nanotorch.nn.parameter import Parameter  # noqa: F401
from nanotorch.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: F401
from nanotorch.nn.sparse import Embedding  # noqa: F401
