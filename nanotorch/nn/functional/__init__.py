"""``nanotorch.nn.functional``: the layers and losses as functions (PyTorch's ``torch.nn.functional``).

Each function checks its arguments, then calls one op (``nanotorch.ops``) or a few Tensor
methods. Usually imported as ``import nanotorch.nn.functional as F``. The functions live in
modules by family, and this package imports them all:

- ``activations``: ``relu``, ``sigmoid``, ``softmax``, ``gelu``, ``selu`` ...
- ``linear_layers``: ``linear``, ``bilinear``; ``embeddings``: ``embedding``, ``one_hot``
- ``conv``: ``conv1d``, ``conv2d``, their transposes, ``unfold``, ``fold``
- ``pooling``: max, average and adaptive pools, ``max_unpool1d/2d``
- ``normalization``: batch, layer, group, instance, RMS and local response norms, ``normalize``
- ``dropouts``: ``dropout``, ``dropout1d``, ``dropout2d``, ``alpha_dropout``
- ``padding``: ``pad``; ``resampling``: ``interpolate``, ``pixel_shuffle``, ``pixel_unshuffle``
- ``distance``: ``cosine_similarity``, ``pairwise_distance``
- ``losses`` (elementwise and likelihood losses), ``cross_entropy_losses`` (``cross_entropy``,
  ``nll_loss``), ``margin_losses`` (margin and embedding losses)
- ``scaled_dot_product_attention`` is ``nanotorch.nn.attention``'s.
"""

from __future__ import annotations

from nanotorch.nn.attention import scaled_dot_product_attention
from nanotorch.nn.functional.activations import (
    SELU_ALPHA,  # noqa: F401
    SELU_SCALE,  # noqa: F401
    celu,
    elu,
    gelu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softsign,
    tanh,
    threshold,
)
from nanotorch.nn.functional.conv import (
    CONV_PADDING_STRINGS,  # noqa: F401
    conv1d,
    conv2d,
    conv_padding,  # noqa: F401
    conv_transpose1d,
    conv_transpose2d,
    fold,
    unfold,
)
from nanotorch.nn.functional.cross_entropy_losses import cross_entropy, nll_loss
from nanotorch.nn.functional.distance import cosine_similarity, pairwise_distance
from nanotorch.nn.functional.dropouts import alpha_dropout, dropout, dropout1d, dropout2d
from nanotorch.nn.functional.embeddings import embedding, one_hot
from nanotorch.nn.functional.linear_layers import bilinear, linear
from nanotorch.nn.functional.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    gaussian_nll_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)
from nanotorch.nn.functional.margin_losses import (
    COSINE_EMBEDDING_EPS,  # noqa: F401
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from nanotorch.nn.functional.normalization import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    normalize,
    rms_norm,
)
from nanotorch.nn.functional.padding import PAD_MODES, pad  # noqa: F401
from nanotorch.nn.functional.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from nanotorch.nn.functional.resampling import (
    INTERPOLATE_MODES,  # noqa: F401
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
)

__all__ = [
    "avg_pool2d", "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d",
    "cross_entropy", "dropout", "l1_loss", "leaky_relu", "linear", "log_softmax", "max_pool2d",
    "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
    "adaptive_avg_pool2d", "conv1d", "elu", "embedding", "gelu", "hardtanh", "huber_loss", "kl_div",
    "layer_norm", "logsigmoid", "normalize", "one_hot", "pad", "relu6", "silu", "smooth_l1_loss", "softplus",
    "celu", "glu", "hardsigmoid", "hardswish", "mish", "prelu", "selu", "softmin", "softsign", "threshold",
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d", "cosine_similarity",
    "dropout2d", "group_norm", "instance_norm", "interpolate", "max_pool1d", "pairwise_distance",
    "cosine_embedding_loss", "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "multi_margin_loss", "multilabel_soft_margin_loss", "poisson_nll_loss", "soft_margin_loss",
    "triplet_margin_loss", "conv_transpose1d", "conv_transpose2d", "fold", "unfold",
    "alpha_dropout", "bilinear", "dropout1d", "local_response_norm", "pixel_shuffle", "pixel_unshuffle",
    "rms_norm", "scaled_dot_product_attention", "max_unpool1d", "max_unpool2d",
]
