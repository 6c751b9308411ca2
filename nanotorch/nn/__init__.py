"""Neural-network layers, losses and ``functional`` (PyTorch's ``torch.nn``).

``Module`` is the base class; ``functional`` (``import nanotorch.nn.functional as F``)
has the same layers as functions, and ``init`` the weight initializations.
"""

from nanotorch.nn import functional, init, parallel  # noqa: F401
from nanotorch.nn.activation import (  # noqa: F401
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    Threshold,
)
from nanotorch.nn.attention import MultiheadAttention  # noqa: F401
from nanotorch.nn.container import (  # noqa: F401
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
    Unflatten,
)
from nanotorch.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Fold, Unfold  # noqa: F401
from nanotorch.nn.distance import CosineSimilarity, PairwiseDistance  # noqa: F401
from nanotorch.nn.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d  # noqa: F401
from nanotorch.nn.linear import Bilinear, Flatten, Identity, Linear  # noqa: F401
from nanotorch.nn.loss import (  # noqa: F401
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from nanotorch.nn.module import Module  # noqa: F401
from nanotorch.nn.normalization import (  # noqa: F401
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
    LocalResponseNorm,
    RMSNorm,
)
from nanotorch.nn.padding import (  # noqa: F401
    ConstantPad1d,
    ConstantPad2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad2d,
)
from nanotorch.nn.parameter import Parameter  # noqa: F401
from nanotorch.nn.pooling import (  # noqa: F401
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    MaxUnpool1d,
    MaxUnpool2d,
)
from nanotorch.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: F401
from nanotorch.nn.sparse import Embedding  # noqa: F401
from nanotorch.nn.transformer import (  # noqa: F401
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from nanotorch.nn.upsampling import PixelShuffle, PixelUnshuffle, Upsample  # noqa: F401
