"""``pad``: constant, reflect, replicate and circular padding of the last dims."""

from __future__ import annotations

import numpy as np

from nanotorch.ops.reorder import PadFn
from nanotorch.tensor import Tensor

PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last dims: ``pad = (left, right)`` for the last dim, then ``(top, bottom)`` for the
    one before, and so on; negative amounts crop. ``mode``: ``"constant"`` fills with ``value``
    (0 by default); ``"reflect"`` mirrors the input about its edge (``[a b c]`` -> ``c b [a b c] b a``),
    ``"replicate"`` repeats the edge (``a a [a b c] c c``), ``"circular"`` wraps around
    (``b c [a b c] a b``). The last three pick input elements by index (``_pad_index``), so the
    gradient adds up where an element is copied."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not one of {PAD_MODES}")
    pad = tuple(int(p) for p in pad)
    if mode == "constant":
        return PadFn.apply(input, pad=pad, value=0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument.')
    dims = len(pad) // 2
    if len(pad) % 2 or dims not in (1, 2, 3) or input.ndim not in (dims + 1, dims + 2):
        raise NotImplementedError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of an input with one or "
                                  f"two more (batch, channels), got pad {pad} for input of shape "
                                  f"{tuple(input.shape)}")
    for i in range(dims):
        dim = input.ndim - 1 - i
        index = _pad_index(mode, input.shape[dim], pad[2 * i], pad[2 * i + 1], dim)
        input = input.index_select(dim, Tensor._make(index, False))
    return input


def _pad_index(mode: str, size: int, before: int, after: int, dim: int) -> np.ndarray:
    """The input position each output position of a dim of ``size`` copies, padded by ``before``
    and ``after`` (negative: cropped) with ``mode``'s rule."""
    limit = size - 1 if mode == "reflect" else size
    if mode != "replicate" and max(before, after) > limit:
        raise ValueError(f"pad: {mode} padding ({before}, {after}) at dimension {dim} must be at most "
                         f"{limit} for a dim of size {size}")
    if size == 0 or size + before + after < 1:
        raise ValueError(f"pad: padding ({before}, {after}) leaves nothing of dimension {dim} (size {size})")
    i = np.arange(-before, size + after)
    if mode == "reflect":
        i = np.abs(i)
        return np.where(i > size - 1, 2 * (size - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    start, stop = max(-before, 0), size - max(-after, 0)  # circular wraps within what a crop keeps
    return start + (i - start) % (stop - start)
