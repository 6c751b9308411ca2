"""Class indices as vectors: ``embedding`` (rows of a table) and ``one_hot``."""

from __future__ import annotations

import numpy as np

from nanotorch.ops.indexing import TakeFn
from nanotorch.tensor import Tensor


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight[num_embeddings, dim]`` at the integer indices ``input[*]`` -> ``[*, dim]``;
    row ``padding_idx`` gets no gradient."""
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D [num_embeddings, embedding_dim], got {weight.shape}")
    if padding_idx is not None:
        if not -weight.shape[0] <= padding_idx < weight.shape[0]:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for "
                             f"{weight.shape[0]} rows")
        padding_idx %= weight.shape[0]
    index = input.data if isinstance(input, Tensor) else np.asarray(input)
    return TakeFn.apply(weight, index, dim=0, padding_idx=padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``[*]`` class indices -> ``[*, num_classes]`` int64 of 0s and a 1 at each index
    (``num_classes=-1``: the largest index + 1)."""
    labels = tensor.data
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got {labels.dtype}")
    if num_classes == -1:
        if labels.size == 0:
            raise ValueError("one_hot: can not infer the number of classes from an empty tensor")
        num_classes = int(labels.max()) + 1
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got "
                         f"{labels.min()} to {labels.max()}")
    return Tensor._make((labels[..., None] == np.arange(num_classes)).astype(np.int64), False)
