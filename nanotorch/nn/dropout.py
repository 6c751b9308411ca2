"""``Dropout``, ``Dropout1d``, ``Dropout2d`` and ``AlphaDropout``."""

from __future__ import annotations

from nanotorch.nn import functional as F
from nanotorch.nn.module import Module
from nanotorch.tensor import Tensor


class _DropoutBase(Module):
    """Keeps ``p`` (checked to be a probability) and ``inplace``."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutBase):
    """In training, zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)`` (the expectation is unchanged); in eval, the identity."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)


class Dropout2d(_DropoutBase):
    """In training, zero each whole channel of ``[N, C, H, W]`` with probability ``p`` and scale
    the rest by ``1 / (1 - p)`` (``functional.dropout2d``); in eval, the identity."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training)


class Dropout1d(_DropoutBase):
    """In training, zero each whole channel of ``[N, C, L]`` (or ``[C, L]``) with probability ``p``
    and scale the rest by ``1 / (1 - p)`` (``functional.dropout1d``); in eval, the identity."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training)


class AlphaDropout(_DropoutBase):
    """In training, dropout that keeps a SELU network's mean 0 and variance 1 (dropped elements
    go to SELU's negative limit, then an affine map restores the statistics:
    ``functional.alpha_dropout``); in eval, the identity."""

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)
