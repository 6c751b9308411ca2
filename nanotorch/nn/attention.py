"""Attention: ``scaled_dot_product_attention`` (also ``F.scaled_dot_product_attention``) and
``MultiheadAttention``.

Both are written with differentiable tensor ops (``matmul``, ``softmax``, ``masked_fill`` ...), so
autograd gives their gradients. ``MultiheadAttention`` has PyTorch's parameter names
(``in_proj_weight``, ``in_proj_bias``, ``out_proj``, ...), so a PyTorch model's ``state_dict``
loads unchanged.
"""

from __future__ import annotations

import math
import warnings

from nanotorch import _dtype
from nanotorch.creation import empty, ones, zeros
from nanotorch.functions import cat
from nanotorch.nn import functional as F
from nanotorch.nn import init
from nanotorch.nn.linear import Linear
from nanotorch.nn.module import Module
from nanotorch.nn.parameter import Parameter
from nanotorch.tensor import Tensor

__all__ = ["MultiheadAttention", "scaled_dot_product_attention"]


def _check_attention_inputs(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None) -> None:
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise RuntimeError("Expected query, key, and value to all be at least 2 dimensional, but got "
                           f"query.dim: {query.ndim} key.dim: {key.ndim} value.dim: {value.ndim} instead.")
    if not query.dtype == key.dtype == value.dtype or not _dtype.is_floating(query.dtype):
        raise RuntimeError("Expected query, key, and value to have the same floating dtype, but got "
                           f"query.dtype: {query.dtype} key.dtype: {key.dtype} value.dtype: {value.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"query and key must have the same embedding size (last dim), got query "
                           f"{tuple(query.shape)} and key {tuple(key.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"key and value must have the same sequence length (dim -2), got key "
                           f"{tuple(key.shape)} and value {tuple(value.shape)}")
    if attn_mask is not None and attn_mask.dtype not in (_dtype.bool, query.dtype):
        raise RuntimeError(f"Expected attn_mask dtype to be bool or to match query dtype, but got "
                           f"attn_mask.dtype: {attn_mask.dtype} and query.dtype: {query.dtype} instead.")


def _repeat_kv_heads(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
    """Grouped-query attention: each of the ``Hkv`` key/value heads (dim -3) serves ``Hq / Hkv``
    consecutive query heads, so it is repeated that many times."""
    heads, kv_heads = query.shape[-3], key.shape[-3]
    if value.shape[-3] != kv_heads or heads % kv_heads:
        raise RuntimeError(f"Number of heads in key and value must divide the number of heads in query, got "
                           f"query {heads}, key {kv_heads} and value {value.shape[-3]} heads")
    repeats = heads // kv_heads
    return key.repeat_interleave(repeats, dim=-3), value.repeat_interleave(repeats, dim=-3)


def attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
              dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
              enable_gqa: bool = False) -> tuple[Tensor, Tensor]:
    """``scaled_dot_product_attention``, also returning the attention weights ``[..., L, S]``
    (after dropout): ``(output, weights)``."""
    _check_attention_inputs(query, key, value, attn_mask)
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        key, value = _repeat_kv_heads(query, key, value)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        attn_mask = ones(*scores.shape[-2:], dtype=_dtype.bool).tril()
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == _dtype.bool \
            else scores + attn_mask
    # A query that may see no key at all attends to nothing: weights 0, output 0 (as PyTorch).
    blind = (scores == float("-inf")).all(-1, keepdim=True)
    weights = scores.masked_fill(blind, 0.0).softmax(-1).masked_fill(blind, 0.0)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ value, weights


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key.T * scale + mask) @ value``: ``query[..., L, E], key[..., S, E],
    value[..., S, Ev] -> [..., L, Ev]`` (the leading dims broadcast).

    ``scale`` defaults to ``1 / sqrt(E)``. ``attn_mask`` (broadcast to ``[..., L, S]``): bool, True
    where a query may attend to a key, or float, added to the scores. ``is_causal``: query ``i``
    sees keys ``0..i`` only (no ``attn_mask`` then). ``dropout_p``: dropout on the weights (always
    applied, as PyTorch's function: pass ``0.0`` in eval). ``enable_gqa``: key and value may have
    fewer heads (dim -3) than query, a divisor of its count. A query whose keys are all masked
    gets output 0. The gradient is autograd's, through ``matmul`` and ``softmax``.
    """
    return attention(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)[0]


def _float_mask(mask: Tensor | None, name: str, dtype) -> Tensor | None:
    """``MultiheadAttention``'s masks as additive float masks: a bool ``True`` (not allowed) becomes
    ``-inf`` and ``False`` 0; a float mask is kept."""
    if mask is None or _dtype.is_floating(mask.dtype):
        return mask
    if mask.dtype != _dtype.bool:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return zeros(*mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))


class MultiheadAttention(Module):
    """``num_heads`` attention heads side by side::

        q, k, v = query @ W_q.T + b_q, key @ W_k.T + b_k, value @ W_v.T + b_v
        head_h = scaled_dot_product_attention(q_h, k_h, v_h)   (q_h: the h-th slice of head_dim)
        output = cat(head_1, ..., head_H) @ out_proj.weight.T + out_proj.bias

    Parameters: ``in_proj_weight[3E, E]`` (``W_q, W_k, W_v`` stacked; Xavier uniform) or, when
    ``kdim``/``vdim`` differ from ``embed_dim``, ``q_proj_weight[E, E]``, ``k_proj_weight[E, kdim]``
    and ``v_proj_weight[E, vdim]``; ``in_proj_bias[3E]`` (zeros) and ``out_proj`` (a ``Linear``,
    bias zeros) when ``bias``; ``bias_k``, ``bias_v [1, 1, E]`` (Xavier normal), an extra key and
    value, when ``add_bias_kv``. ``add_zero_attn`` appends an all-zero key and value.
    ``dropout`` drops attention weights in training.

    ``forward(query[L, N, E], key[S, N, kdim], value[S, N, vdim])`` (``[N, L, E]`` ... when
    ``batch_first``; unbatched ``[L, E]`` ...) returns ``(output[L, N, E], weights)`` with weights
    ``[N, L, S]`` averaged over heads (``[N, H, L, S]`` if not ``average_attn_weights``; ``None`` if
    not ``need_weights``). ``key_padding_mask[N, S]`` and ``attn_mask[L, S]`` or ``[N * H, L, S]``:
    bool, True where NOT allowed (the opposite of ``scaled_dot_product_attention``), or float,
    added. ``is_causal`` is a hint that ``attn_mask`` is the causal mask (which must be given).

    NOTE: a query whose keys are all masked gets output 0 and weights 0 (PyTorch gives 0 output
    when ``need_weights=False`` but NaN when ``need_weights=True``).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise AssertionError(f"embed_dim must be divisible by num_heads (got embed_dim={embed_dim}, "
                                 f"num_heads={num_heads})")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first, self.add_zero_attn = dropout, batch_first, add_zero_attn
        dtype = _dtype.to_dtype(dtype) or _dtype.DEFAULT_FLOAT

        def parameter(*shape: int) -> Parameter:
            return Parameter(empty(*shape, dtype=dtype))

        separate = not self._qkv_same_embed_dim
        self.register_parameter("in_proj_weight", None if separate else parameter(3 * embed_dim, embed_dim))
        for name, size in (("q", embed_dim), ("k", self.kdim), ("v", self.vdim)):
            self.register_parameter(f"{name}_proj_weight", parameter(embed_dim, size) if separate else None)
        self.register_parameter("in_proj_bias", parameter(3 * embed_dim) if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.register_parameter("bias_k", parameter(1, 1, embed_dim) if add_bias_kv else None)
        self.register_parameter("bias_v", parameter(1, 1, embed_dim) if add_bias_kv else None)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra)

    def _check_shapes(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                      attn_mask: Tensor | None) -> bool:
        """PyTorch's shape rules; returns whether the input is batched (3-D)."""
        if query.ndim not in (2, 3):
            raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                                 f"{query.ndim}-D query tensor")
        batched = query.ndim == 3
        kind = "batched (3-D)" if batched else "unbatched (2-D)"
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {query.ndim}-D but "
                                 f"found {key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
            raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                                 f"{query.ndim - 1}-D but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.ndim}-D tensor instead")
        if self._qkv_same_embed_dim and key.shape != value.shape:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if key.shape[:-1] != value.shape[:-1]:
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:-1])} do not match "
                                 f"value's {tuple(value.shape[:-1])}")
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but got "
                                 f"{query.shape[-1]}")
        return batched

    def _merged_mask(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, batch: int,
                     target: int, source: int, dtype) -> Tensor | None:
        """``attn_mask`` and ``key_padding_mask`` as one float mask that broadcasts to ``[N, H, L, S]``."""
        both = attn_mask is not None and key_padding_mask is not None
        if both and attn_mask.dtype != key_padding_mask.dtype:
            warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use same "
                          "type for both instead.", stacklevel=3)
        attn_mask = _float_mask(attn_mask, "attn_mask", dtype)
        key_padding_mask = _float_mask(key_padding_mask, "key_padding_mask", dtype)
        mask = None
        if attn_mask is not None:
            expected = (target, source) if attn_mask.ndim == 2 else (batch * self.num_heads, target, source)
            if tuple(attn_mask.shape) != expected:
                raise RuntimeError(f"The shape of the {attn_mask.ndim}D attn_mask is "
                                   f"{tuple(attn_mask.shape)}, but should be {expected}.")
            mask = attn_mask if attn_mask.ndim == 2 else attn_mask.reshape(batch, -1, target, source)
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (batch, source):
                raise AssertionError(f"expecting key_padding_mask shape of {(batch, source)}, but got "
                                     f"{tuple(key_padding_mask.shape)}")
            padding = key_padding_mask.reshape(batch, 1, 1, source)
            mask = padding if mask is None else mask + padding
        return mask

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The input projections ``q, k, v`` (each ``[*, E]``)."""
        if self._qkv_same_embed_dim:
            weights = self.in_proj_weight.chunk(3)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        return tuple(F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))

    def _split_heads(self, x: Tensor) -> Tensor:
        """``[T, N, E] -> [N, H, T, head_dim]``."""
        steps, batch = x.shape[:2]
        return x.reshape(steps, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        batched = self._check_shapes(query, key, value, key_padding_mask, attn_mask)
        if not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        (target, batch, embed), source = query.shape, key.shape[0]
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                               "module method `generate_square_subsequent_mask` to create this mask.")
        # As PyTorch: with no padding mask and no weights wanted, the hint replaces attn_mask.
        causal = is_causal and key_padding_mask is None and not need_weights
        mask = None if causal else self._merged_mask(attn_mask, key_padding_mask, batch, target, source,
                                                     query.dtype)
        q, k, v = self._project(query, key, value)
        if self.bias_k is not None:  # one more key and value, that every query may attend to
            k = cat([k, self.bias_k.expand(1, batch, embed)])
            v = cat([v, self.bias_v.expand(1, batch, embed)])
            mask = None if mask is None else F.pad(mask, (0, 1))
        q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)
        if self.add_zero_attn:
            k = cat([k, zeros(*k.shape[:2], 1, self.head_dim, dtype=k.dtype)], 2)
            v = cat([v, zeros(*v.shape[:2], 1, self.head_dim, dtype=v.dtype)], 2)
            mask = None if mask is None else F.pad(mask, (0, 1))
        dropout_p = self.dropout if self.training else 0.0
        out, weights = attention(q, k, v, mask, dropout_p, causal)
        out = self.out_proj(out.permute(2, 0, 1, 3).reshape(target, batch, embed))
        if not batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        weights = weights.mean(1) if average_attn_weights else weights
        return out, weights if batched else weights.squeeze(0)
