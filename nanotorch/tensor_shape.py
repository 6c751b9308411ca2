"""Tensor's shape methods, added to ``Tensor`` by ``tensor_methods.py``: ``reshape``, ``view``,
``flatten``, ``permute``/``transpose``/``movedim``, ``squeeze``/``unsqueeze``/``expand``,
``narrow``/``select``/``unbind``, ``split``/``chunk``/``tensor_split``, ``diagonal``/``diag``
..., ``flip``/``roll``/``rot90``, ``repeat``/``tile``/``repeat_interleave``, ``tril``/``triu``;
and the functions ``split`` and ``chunk``. Each calls op classes of ``nanotorch.ops`` (``shape``,
``reorder``), or slices: the gradient flows back into place.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch.ops.indexing import TakeFn
from nanotorch.ops.reorder import DiagEmbedFn, DiagonalFn, FlipFn, RepeatFn, RollFn, TriangleFn
from nanotorch.ops.shape import ExpandFn, PermuteFn, ReshapeFn, SqueezeFn, UnsqueezeFn
from nanotorch.tensor import Tensor, _shape_arg
from nanotorch.tensor_args import _array, _dim, _dim_list, _dims


class _ShapeMethods:
    """Added to ``Tensor`` by ``tensor_methods.py`` (``add_methods``)."""

    # ------------------------------------------------------------------ shape
    def reshape(self, *args, shape=None) -> Tensor:
        """``reshape(2, 3)``, ``reshape((2, 3))`` or ``reshape(shape=(2, 3))``; -1 is inferred."""
        return ReshapeFn.apply(self, shape=_keyword_or_args("reshape", "shape", args, shape))

    def view(self, *shape) -> Tensor:
        if not self.data.flags.c_contiguous:
            raise RuntimeError("view() needs a contiguous tensor; use reshape() instead")
        return ReshapeFn.apply(self, shape=_shape_arg(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self.data.shape
        if not shape:
            return self.reshape(1)
        start, end = start_dim % len(shape), end_dim % len(shape)
        return self.reshape(*shape[:start], -1, *shape[end + 1:])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return PermuteFn.apply(self, axes=tuple(axes))

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    def permute(self, *args, dims=None) -> Tensor:
        """``permute(2, 0, 1)``, ``permute((2, 0, 1))`` or ``permute(dims=(2, 0, 1))``: dim ``i`` of
        the result is dim ``dims[i]`` of ``self`` (a view)."""
        dims = _keyword_or_args("permute", "dims", args, dims)
        return PermuteFn.apply(self, axes=tuple(d % self.ndim for d in dims))

    swapaxes = swapdims = transpose

    def movedim(self, source, destination) -> Tensor:
        """The dims ``source`` (an int or a sequence) moved to the positions ``destination``, the
        other dims keeping their order (a view)."""
        src, dst = (_dim_list(d, self.ndim) for d in (source, destination))
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: source {source} and destination {destination} must name "
                               "the same number of dims")
        for name, dims in (("source", src), ("destination", dst)):
            if len(set(dims)) != len(dims):
                raise RuntimeError(f"movedim: repeated dim in {name} ({dims})")
        order = [d for d in range(self.ndim) if d not in src]
        for d, s in sorted(zip(dst, src)):
            order.insert(d, s)
        return self.permute(order)

    moveaxis = movedim

    def narrow(self, dim: builtins.int, start, length: builtins.int) -> Tensor:
        """``length`` elements along ``dim`` from ``start`` (negative counts from the end): a view."""
        if self.ndim == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor")
        dim = _dim(dim, self.ndim)
        size, start = self.shape[dim], builtins.int(start)
        if not -size <= start <= size:
            raise IndexError(f"narrow: start {start} is out of range for a dim of size {size}")
        start += size if start < 0 else 0
        if length < 0 or start + length > size:
            raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                               f"({size}), or length is negative")
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    def select(self, dim: builtins.int, index: builtins.int) -> Tensor:
        """Element ``index`` along ``dim``, that dim removed (``x.select(1, 2)`` is ``x[:, 2]``)."""
        if self.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor")
        dim = _dim(dim, self.ndim)
        if not -self.shape[dim] <= index < self.shape[dim]:
            raise IndexError(f"select(): index {index} is out of range for a dim of size {self.shape[dim]}")
        return self[(slice(None),) * dim + (index,)]

    def unbind(self, dim: builtins.int = 0) -> tuple:
        """The slices along ``dim``, as a tuple of tensors with that dim removed."""
        if self.ndim == 0:
            raise IndexError("unbind() cannot be applied to a 0-dim tensor")
        dim = _dim(dim, self.ndim)
        return tuple(self.select(dim, i) for i in range(self.shape[dim]))

    def diagonal(self, offset: builtins.int = 0, dim1: builtins.int = 0, dim2: builtins.int = 1) -> Tensor:
        """``out[..., i] = self[i, i + offset]`` in the plane of ``dim1`` and ``dim2`` (the
        diagonal above the main one for ``offset > 0``, below for ``< 0``), as the last dim (a view)."""
        d1, d2 = _dim(dim1, self.ndim), _dim(dim2, self.ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return DiagonalFn.apply(self, offset=offset, dim1=d1, dim2=d2)

    def diag_embed(self, offset: builtins.int = 0, dim1: builtins.int = -2,
                   dim2: builtins.int = -1) -> Tensor:
        """A tensor with one more dim, zero but for ``self``'s last dim on the ``offset``-th
        diagonal of the plane of ``dim1`` and ``dim2``: ``out.diagonal(offset, dim1, dim2)`` is ``self``."""
        d1, d2 = _dim(dim1, self.ndim + 1), _dim(dim2, self.ndim + 1)
        if d1 == d2:
            raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
        if self.ndim == 0:
            raise RuntimeError("diag_embed: expected a tensor with at least 1 dim, got a 0-d tensor")
        return DiagEmbedFn.apply(self, offset=offset, dim1=d1, dim2=d2)

    def diag(self, diagonal: builtins.int = 0) -> Tensor:
        """1-D ``self``: the square matrix with ``self`` on its ``diagonal``-th diagonal; 2-D: that
        diagonal of ``self`` (a copy)."""
        if self.ndim not in (1, 2):
            raise RuntimeError(f"diag(): supports 1-D or 2-D tensors, got {self.ndim}-D")
        if self.ndim == 1:
            return self.diag_embed(diagonal, 0, 1)
        return self.diagonal(diagonal).clone()

    def diagflat(self, offset: builtins.int = 0) -> Tensor:
        """``diag`` of ``self`` flattened: the square matrix with its elements on the ``offset``-th
        diagonal."""
        return self.reshape(-1).diag_embed(offset, 0, 1)

    def trace(self) -> Tensor:
        """The sum of the main diagonal of a 2-D tensor (integers sum as int64)."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got a tensor with {self.ndim} dims")
        return self.diagonal().sum()

    def rot90(self, k: builtins.int = 1, dims=(0, 1)) -> Tensor:
        """Rotated by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards the
        second: ``k=1`` is ``flip(dims[1])`` then ``transpose(*dims)`` (``k`` negative turns back)."""
        if len(dims) != 2:
            raise RuntimeError(f"rot90: expected 2 rotation dims, got {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"rot90: expected a tensor with at least 2 dims, got {self.ndim}")
        d0, d1 = _dim(dims[0], self.ndim), _dim(dims[1], self.ndim)
        if d0 == d1:
            raise RuntimeError(f"rot90: expected rotation dims to be different, got {dims[0]} and {dims[1]}")
        k %= 4
        if k == 0:
            return self.clone()
        if k == 2:
            return self.flip(d0, d1)
        return self.flip(d1 if k == 1 else d0).transpose(d0, d1)

    def unflatten(self, dim: builtins.int, sizes) -> Tensor:
        """Dim ``dim`` split into dims of ``sizes`` (their product its size; one may be -1)."""
        dim = _dim(dim, self.ndim)
        sizes = tuple(sizes)
        known = builtins.int(np.prod([s for s in sizes if s != -1]))
        if not sizes or sizes.count(-1) > 1 or (known != self.shape[dim] if -1 not in sizes
                                                else known == 0 or self.shape[dim] % known):
            raise RuntimeError(f"unflatten: sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                               f"({self.shape[dim]})")
        return self.reshape(*self.shape[:dim], *sizes, *self.shape[dim + 1:])

    def tensor_split(self, indices_or_sections, dim: builtins.int = 0) -> tuple:
        """Views of ``self`` cut along ``dim``: into ``n`` nearly equal pieces when given an int ``n``
        (the first ``size % n`` one longer), or before each of the listed indices (clamped to the
        size, negative ones from the end)."""
        dim = _dim(dim, self.ndim)
        size = self.shape[dim]
        cuts = _array(indices_or_sections)
        if cuts.dtype.kind not in "iu" or cuts.ndim > 1:
            raise TypeError("tensor_split: expected an int, a list of ints or a 0-d or 1-D integer tensor")
        if cuts.ndim == 0:
            sections = builtins.int(cuts)
            if sections <= 0:
                raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {sections}")
            base, extra = divmod(size, sections)
            cuts = np.cumsum([base + 1] * extra + [base] * (sections - extra))[:-1]
        ends = [builtins.min(builtins.max(c + size if c < 0 else c, 0), size) for c in cuts.tolist()]
        lead = (slice(None),) * dim
        return tuple(self[lead + (slice(start, end),)] for start, end in zip([0, *ends], [*ends, size]))

    def broadcast_to(self, size) -> Tensor:
        """``expand(size)``: a view of ``self`` broadcast to ``size`` (-1 keeps a dim)."""
        return self.expand(*size)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dims swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices, "
                               f"got {self.ndim}-D")
        return self.transpose(-2, -1)

    mH = mT  # for real tensors, the conjugate transpose is the transpose

    @property
    def H(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The transpose of a matrix (2-D; a 0-d tensor is itself)."""
        if self.ndim not in (0, 2):
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors), got {self.ndim}-D; "
                               "for batches of matrices use tensor.mH")
        return self.t()

    def squeeze(self, dim=None) -> Tensor:
        return SqueezeFn.apply(self, dim=dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return UnsqueezeFn.apply(self, dim=dim)

    def expand(self, *shape) -> Tensor:
        return ExpandFn.apply(self, shape=_shape_arg(shape))

    def expand_as(self, other) -> Tensor:
        return self.expand(*other.shape)

    def view_as(self, other) -> Tensor:
        return self.view(*other.shape)

    def reshape_as(self, other) -> Tensor:
        return self.reshape(*other.shape)

    def split(self, split_size, dim: int = 0) -> list[Tensor]:
        return split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> list[Tensor]:
        return chunk(self, chunks, dim)

    def flip(self, *dims) -> Tensor:
        dims = _shape_arg(dims)
        if self.ndim == 0:
            _dims(dims, 0)  # only checks them: a 0-d tensor flipped is itself, as PyTorch
            return self.clone()
        return FlipFn.apply(self, dims=dims)

    def roll(self, shifts, dims=None) -> Tensor:
        """Shift by ``shifts`` along ``dims``, wrapping around (``dims=None``: the flat tensor)."""
        if dims is None:
            return RollFn.apply(self.flatten(), shifts=shifts, dims=0).view(self.shape)
        return RollFn.apply(self, shifts=shifts, dims=dims)

    def repeat(self, *repeats) -> Tensor:
        return RepeatFn.apply(self, repeats=_shape_arg(repeats))

    def tile(self, *dims) -> Tensor:
        """``repeat``, but fewer ``dims`` than the tensor has are padded with 1s in front."""
        dims = _shape_arg(dims)
        return self.repeat(*(1,) * (self.ndim - len(dims)), *dims)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None) -> Tensor:
        """Each element repeated along ``dim`` (the flattened tensor when None): ``[a, b]`` with
        ``repeats=2`` is ``[a, a, b, b]``; ``repeats`` is an int or an integer tensor of one
        count per element (or of one count). It is ``index_select`` at the repeated indices, so
        each element's gradient is the sum over its copies."""
        t = self.flatten() if dim is None else self
        dim = 0 if dim is None else _dim(dim, t.ndim)
        counts = _repeat_counts(repeats, t.shape[dim] if t.ndim else 1)
        index = np.repeat(np.arange(len(counts)), counts)
        if output_size is not None and output_size != len(index):
            raise RuntimeError(f"repeat_interleave: output_size={output_size}, but the repeats "
                               f"add up to {len(index)}")
        return TakeFn.apply(t, index, dim=dim)

    def tril(self, diagonal: builtins.int = 0) -> Tensor:
        return TriangleFn.apply(self, diagonal=diagonal, upper=False)

    def triu(self, diagonal: builtins.int = 0) -> Tensor:
        return TriangleFn.apply(self, diagonal=diagonal, upper=True)


def _keyword_or_args(op: str, name: str, args: tuple, keyword) -> tuple:
    """A shape-like argument given as ``f(2, 3)``, ``f((2, 3))`` or ``f(name=(2, 3))``."""
    if keyword is None:
        return _shape_arg(args)
    if args:
        raise TypeError(f"{op}() got {name} both as arguments and as {name}=")
    return tuple(keyword)


def _repeat_counts(repeats, size: builtins.int) -> np.ndarray:
    """``repeat_interleave``'s ``repeats`` (an int, or an integer tensor of 1 or ``size``
    counts, none negative) as ``size`` counts."""
    counts = np.asarray(repeats.data if isinstance(repeats, Tensor) else repeats)
    if counts.dtype.kind not in "iu":
        raise TypeError(f"repeat_interleave: repeats must be an int or an integer tensor, got {counts.dtype}")
    if counts.ndim > 1:
        raise RuntimeError(f"repeat_interleave: repeats must be 0-dim or 1-dim, got shape {counts.shape}")
    if counts.size not in (1, size):
        raise RuntimeError(f"repeat_interleave: {counts.size} repeats for a dim of size {size}; "
                           f"give one count or {size}")
    if (counts < 0).any():
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    return np.broadcast_to(counts.reshape(-1), (size,))


def split(t: Tensor, split_size, dim: int = 0) -> list[Tensor]:
    """Cut along ``dim`` into pieces of ``split_size`` (the last may be smaller) or of the
    listed sizes; each piece is a slice, so gradients flow back into place."""
    length = t.shape[dim]
    sizes = [split_size] * (-(-length // split_size)) if isinstance(split_size, builtins.int) \
        else list(split_size)
    if isinstance(split_size, builtins.int):
        sizes[-1] = length - split_size * (len(sizes) - 1)
    elif sum(sizes) != length:
        raise ValueError(f"split sizes {sizes} do not add up to {length} (dim {dim})")
    pieces, start = [], 0
    lead = (slice(None),) * (dim % t.ndim)
    for s in sizes:
        pieces.append(t[lead + (slice(start, start + s),)])
        start += s
    return pieces


def chunk(t: Tensor, chunks: int, dim: int = 0) -> list[Tensor]:
    """Split into ``chunks`` pieces of equal size (the last may be smaller)."""
    return split(t, -(-t.shape[dim] // chunks), dim)
