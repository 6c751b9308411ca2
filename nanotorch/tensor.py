"""``Tensor``: a NumPy array, plus what autograd needs to find its gradient.

``data`` is the array; ``grad`` a Tensor once backward has reached it; ``grad_fn`` the
graph node (a ``Function``) that made it, ``None`` for a leaf. This file is the core: the
fields, construction, attributes, conversion to Python values and the printout. The method
families are in their own modules and added to the class by ``add_methods``:

- ``tensor_methods.py``: every differentiable method, one line calling an op in ``nanotorch.ops``
  (where forward and backward are written out), written by family in ``tensor_math.py``,
  ``tensor_shape.py`` ... (``tensor_methods.py`` lists them), and ``backward()``;
- ``tensor_inplace.py``: in-place changes (``x += 1``, ``x[i] = v``, ``add_`` ...) and versions;
- ``tensor_promotion.py``: PyTorch's type promotion for binary ops.
"""

from __future__ import annotations

import builtins
import warnings
import weakref
from collections.abc import Iterator

import numpy as np

from nanotorch import _device, _dtype


class Tensor:
    """An n-dimensional array that can record the operations applied to it."""

    # ``_version`` is ``[data version, graph version]``, one list shared by a tensor and its
    # views: every in-place change bumps the first, one recorded in the graph both.
    # ``_base`` is the tensor whose memory this one views (``None`` if it owns its data).
    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_version", "_base", "__weakref__")
    __array_ufunc__ = None  # `ndarray + Tensor` then calls Tensor.__radd__ and gives a Tensor

    def __init__(self, data, dtype=None, requires_grad: builtins.bool = False) -> None:
        self.data = _as_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self._version = [0, 0]
        self._base = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: builtins.bool) -> Tensor:
        """Wrap an array that is already the right dtype (the fast path every op uses)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.grad_fn = None
        t.requires_grad = requires_grad
        t._version = [0, 0]
        t._base = None
        return t

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> builtins.bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None) -> tuple | int:
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return self.data.size

    def item(self) -> builtins.int | builtins.float | builtins.bool:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has {self.data.size}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.data

    def tolist(self) -> list | builtins.int | builtins.float | builtins.bool:
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> builtins.bool:
        return builtins.bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.data.item())

    # Hashed by identity, as ``object`` (``__eq__`` is elementwise): a dict keyed by tensors,
    # such as an optimizer's ``state``, then hashes in C, with no Python call.
    __hash__ = object.__hash__

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor as its number (as PyTorch)."""
        return format(self.data.item() if self.data.ndim == 0 else str(self), spec)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4,
                               floatmode="maxprec_equal")
        extras = []
        if self.data.dtype not in (_dtype.float32, _dtype.int64, _dtype.bool):
            extras.append(f"dtype=nanotorch.{self.data.dtype.name}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__.removesuffix('Fn')}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"


    def detach(self) -> Tensor:
        """The same data (shared memory) without a graph."""
        t = Tensor._make(self.data, False)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        """Make this tensor a leaf that does not require grad, in place (the graph that made
        it is no longer reachable from it). A view of another tensor can't be detached in
        place: use ``detach()``."""
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        if requires_grad and not _dtype.is_floating(self.data.dtype):
            raise RuntimeError(f"only floating point tensors can require grad, not {self.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad of leaf tensors")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is not None:
            self.grad_fn.retained_output = weakref.ref(self)

    def cpu(self) -> Tensor:
        return self

    @property
    def device(self) -> _device.device:
        """Always ``device(type='cpu')``: NanoTorch's one device."""
        return _device.CPU

    @property
    def is_cuda(self) -> builtins.bool:
        return False

    def cuda(self, *args, **kwargs) -> Tensor:
        """Raises: there is no GPU (see ``to``)."""
        _device.check("cuda", ".cuda()")


def _as_array(data, dtype) -> np.ndarray:
    """Data for a new tensor: float32 for floats (float64 only on request), int64 for ints."""
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
        data = [d.data if isinstance(d, Tensor) else d for d in data]
    dtype = _dtype.to_dtype(dtype)
    array = np.array(data, dtype=dtype, copy=True)
    if dtype is None and array.dtype != _dtype.default_dtype_for(array):
        array = array.astype(_dtype.default_dtype_for(array))
    return array


def _shape_arg(shape) -> tuple:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _index_arrays(index):
    """An index as NumPy takes it, read as PyTorch reads it: a tensor becomes its array,
    but a 0-d integer tensor an int (``x[i.argmax(), :, [0, 2]]`` is ``x[1, :, [0, 2]]``)
    and a uint8 tensor a mask (PyTorch's deprecated rule, with its warning). A list shorter
    than 32 that holds a list, tensor, array, slice, None or Ellipsis is a tuple of indices
    (``x[[1, [0, 2]]]`` is ``x[1, [0, 2]]``); other lists are index arrays."""
    if isinstance(index, list) and len(index) < 32 and any(
            i is None or i is Ellipsis or isinstance(i, (list, tuple, Tensor, np.ndarray, slice))
            for i in index):
        index = tuple(index)
    if isinstance(index, tuple):
        return tuple(_index_part(i) for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return _index_part(index)


def _index_part(i):
    """One part of an index (``_index_arrays``)."""
    if not isinstance(i, Tensor):
        return i
    a = i.data
    if a.dtype.kind in "iu" and a.ndim == 0:
        return int(a)
    if a.dtype == np.uint8:
        warnings.warn("indexing with dtype uint8 is deprecated, please use a dtype bool instead",
                      UserWarning, stacklevel=4)
        return a.astype(bool)
    return a


_CLASS_DEFAULTS = set(vars(type("_", (), {})))


def add_methods(source: type) -> None:
    """Put the methods written in ``source``'s class body onto ``Tensor``.

    The method families live in their own modules (``tensor_methods.py``: the op methods,
    written by family in ``tensor_math.py``, ``tensor_shape.py`` ...; ``tensor_inplace.py``:
    in-place changes and versions; ``tensor_promotion.py``: type promotion). They import the
    ops, and the ops import ``Tensor``; so rather than import them here (an import cycle),
    each of those three modules imports ``Tensor`` and adds its methods (``tensor_methods.py``
    those of its families) with this function when it is imported (``nanotorch/__init__.py``
    imports them).
    """
    for name, value in vars(source).items():
        # NOTE: a class body with ``__eq__`` gets ``__hash__ = None``; Tensor keeps its own.
        if name not in _CLASS_DEFAULTS and not (name == "__hash__" and value is None):
            setattr(Tensor, name, value)
