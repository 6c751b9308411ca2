"""Transformer layers: ``TransformerEncoderLayer``, ``TransformerEncoder``, ``TransformerDecoderLayer``
and ``TransformerDecoder`` (PyTorch's module and parameter names, so a PyTorch model's
``state_dict`` loads unchanged), and ``generate_square_subsequent_mask``.

Every layer is attention and a two-layer MLP, each with a residual connection and a ``LayerNorm``:
after the residual sum (``norm_first=False``, the original "post-norm" Transformer) or on the
branch's input (``norm_first=True``, "pre-norm").
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from nanotorch.creation import full
from nanotorch.nn import functional as F
from nanotorch.nn.attention import MultiheadAttention
from nanotorch.nn.container import ModuleList
from nanotorch.nn.dropout import Dropout
from nanotorch.nn.linear import Linear
from nanotorch.nn.module import Module
from nanotorch.nn.normalization import LayerNorm
from nanotorch.tensor import Tensor

__all__ = ["TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer",
           "generate_square_subsequent_mask"]


def generate_square_subsequent_mask(sz: int, dtype=None) -> Tensor:
    """The causal mask ``[sz, sz]``: 0 on and below the diagonal, ``-inf`` above (position ``i`` may
    attend to positions ``0..i``). Also ``TransformerEncoder.generate_square_subsequent_mask``."""
    return full((sz, sz), float("-inf"), dtype=dtype).triu(1)


def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    if callable(activation):
        return activation
    if activation in ("relu", "gelu"):
        return F.relu if activation == "relu" else F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _clones(layer: Module, num_layers: int) -> ModuleList:
    """``num_layers`` independent copies of ``layer`` (each with its own parameters)."""
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class _LayerBase(Module):
    """What the encoder and decoder layers share: ``self_attn`` (and ``multihead_attn`` in a
    decoder layer), the feed-forward MLP ``linear2(dropout(activation(linear1(x))))``, and one
    ``norm{i}`` and ``dropout{i}`` per residual branch (2 in an encoder layer, 3 in a decoder
    layer), created in PyTorch's order so ``state_dict`` keys come in the same order."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, activation,
                 layer_norm_eps: float, batch_first: bool, norm_first: bool, bias: bool, dtype,
                 branches: int) -> None:
        super().__init__()

        def attention() -> MultiheadAttention:
            return MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                      dtype=dtype)

        self.self_attn = attention()
        if branches == 3:
            self.multihead_attn = attention()
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        for i in range(1, branches + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for i in range(1, branches + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.branches = branches
        self.activation = _activation(activation)

    def _sa_block(self, x: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor | None,
                  is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, f"dropout{self.branches}")(x)


class TransformerEncoderLayer(_LayerBase):
    """Self-attention, then a feed-forward MLP, each a residual branch::

        norm_first=False:  x = norm1(x + sa(x));         x = norm2(x + ff(x))
        norm_first=True:   x = x + sa(norm1(x));         x = x + ff(norm2(x))

    ``sa`` is ``self_attn`` (``MultiheadAttention(d_model, nhead)``) then ``dropout1``; ``ff`` is
    ``linear2(dropout(activation(linear1(x))))`` then ``dropout2``. ``activation``: ``"relu"``,
    ``"gelu"`` or a callable. ``forward(src[L, N, d_model], src_mask, src_key_padding_mask,
    is_causal)`` (``[N, L, d_model]`` when ``batch_first``); the masks are ``MultiheadAttention``'s.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, dtype=None) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                         norm_first, bias, dtype, branches=2)

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerDecoderLayer(_LayerBase):
    """Self-attention on the target, attention to the encoder's output ``memory``, then a
    feed-forward MLP, each a residual branch::

        norm_first=False:  x = norm1(x + sa(x)); x = norm2(x + mha(x, memory)); x = norm3(x + ff(x))
        norm_first=True:   x = x + sa(norm1(x)); x = x + mha(norm2(x), memory); x = x + ff(norm3(x))

    ``mha`` is ``multihead_attn`` (queries from ``x``, keys and values from ``memory``) then
    ``dropout2``; ``ff`` ends with ``dropout3``; otherwise as ``TransformerEncoderLayer``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, dtype=None) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                         norm_first, bias, dtype, branches=3)

    def _mha_block(self, x: Tensor, memory: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor | None,
                   is_causal: bool) -> Tensor:
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)[0]
        return self.dropout2(x)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (``layers``, each with its own parameters) applied
    in turn, then ``norm`` if given. ``forward(src, mask=None, src_key_padding_mask=None,
    is_causal=None)``: the masks go to every layer. NOTE: ``enable_nested_tensor`` and
    ``mask_check`` are accepted for PyTorch code; there are no nested tensors here."""

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn to the target, each attending to
    the same ``memory``, then ``norm`` if given. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=None, memory_is_causal=False)``: the masks go to every layer."""

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)
