"""In-place changes and the version counter, added to ``Tensor``: ``x += y``, ``x[i] = v``,
``add_``, ``copy_``, ``fill_`` ...

With grad mode on and either side requiring grad, an in-place change is recorded
(``_record_inplace``); otherwise it just changes the memory. A leaf that requires grad may
change only under ``no_grad()`` (optimizers do). Every change bumps the version counter, so a
pending backward that saved the old values raises instead of using them.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotorch.autograd import grad_mode
from nanotorch.ops.arithmetic import AddFn, DivFn, MulFn, SubFn
from nanotorch.ops.shape import SetItemFn, _locate
from nanotorch.tensor import Tensor, _index_arrays, add_methods

_INPLACE_OPS = {np.add: AddFn.apply, np.subtract: SubFn.apply,
                np.multiply: MulFn.apply, np.true_divide: DivFn.apply}


class _InPlace:
    """Added to ``Tensor`` at the end of this module (``add_methods``)."""

    def _inplace(self, ufunc, other) -> Tensor:
        """``self = ufunc(self, other)`` in the same memory (``ufunc``: ``np.add`` ...)."""
        if self._records(other):
            return self._record_inplace(_INPLACE_OPS[ufunc], other)
        ufunc(self.data, other.data if isinstance(other, Tensor) else other, out=self.data,
              casting="same_kind")
        self._version[0] += 1
        return self

    def _records(self, other) -> builtins.bool:
        """Whether an in-place change of ``self`` by ``other`` goes into the graph: in grad
        mode, when either requires grad and ``self`` is a float tensor (an integer or bool
        tensor can't require grad: a value written into it leaves the graph, as in PyTorch)."""
        return grad_mode.state.enabled and self.data.dtype.kind == "f" and (
            self.requires_grad or isinstance(other, Tensor) and other.requires_grad)

    def _record_inplace(self, op, other) -> Tensor:
        """Compute ``op(self, other)`` out of place, write it into ``self``'s memory, and make
        ``self`` that result in the graph; nodes that used the old value keep a copy of it."""
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf tensor that requires grad is being used in an in-place "
                               "operation; wrap it in `with nanotorch.no_grad():`")
        if self._base is not None:
            raise RuntimeError("an in-place change to a view of another tensor can't be recorded "
                               "for backward (the other tensor's graph would miss it); use an "
                               "out-of-place operation, or clone() the view first")
        old = Tensor._make(self.data.copy(), self.requires_grad)
        old.grad_fn = self.grad_fn
        result = op(old, old if other is self else other)
        np.copyto(self.data, result.data, casting="same_kind")
        if old.grad_fn is not None and old.grad_fn.retained_output is not None:
            result.grad_fn.retained_output = old.grad_fn.retained_output  # retain_grad() follows
            old.grad_fn.retained_output = None
        self.grad_fn, self.requires_grad = result.grad_fn, True
        self._version[0] += 1
        self._version[1] += 1
        return self

    def __iadd__(self, other) -> Tensor:
        return self._inplace(np.add, other)

    def __isub__(self, other) -> Tensor:
        return self._inplace(np.subtract, other)

    def __imul__(self, other) -> Tensor:
        return self._inplace(np.multiply, other)

    def __itruediv__(self, other) -> Tensor:
        return self._inplace(np.true_divide, other)

    def add_(self, other, alpha: float = 1) -> Tensor:
        return self._inplace(np.add, other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha: float = 1) -> Tensor:
        return self._inplace(np.subtract, other if alpha == 1 else other * alpha)

    def mul_(self, other) -> Tensor:
        return self._inplace(np.multiply, other)

    def div_(self, other) -> Tensor:
        return self._inplace(np.true_divide, other)

    def copy_(self, src) -> Tensor:
        self[...] = src
        return self

    def fill_(self, value) -> Tensor:
        self[...] = value
        return self

    def __setitem__(self, index, value) -> None:
        index = _index_arrays(index)
        if self._records(value):
            self._record_inplace(lambda old, v: SetItemFn.apply(old, v, index=index), value)
            return
        view, rest = _locate(self.data, index)
        view[rest] = value.data if isinstance(value, Tensor) else value
        self._version[0] += 1

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_diagonal_(self, fill_value, wrap: builtins.bool = False) -> Tensor:
        """``fill_value`` on the main diagonal (``x[i, i, ...]``; all dims of one size beyond 2-D).
        A tall matrix with ``wrap`` starts again every ``columns + 1`` rows (NumPy's ``fill_diagonal``)."""
        if self.ndim < 2:
            raise RuntimeError(f"fill_diagonal_: the tensor needs at least 2 dims, got {self.ndim}")
        if self.ndim > 2 and len(set(self.shape)) > 1:
            raise RuntimeError(f"fill_diagonal_: all dims must have the same size, got shape {self.shape}")
        step = 1 + builtins.sum(np.cumprod(self.shape[:0:-1]))  # one step along every dim, in the flat order
        flat = np.arange(0, self.data.size, step)
        self[np.unravel_index(flat if wrap else flat[:min(self.shape)], self.shape)] = fill_value
        return self

    def _view_(self, view: Tensor) -> Tensor:
        """``self`` becomes ``view``, a view of itself (``squeeze_``, ``t_`` ...): the same memory in
        a new shape, and in the graph the view's node. A leaf that requires grad can't (in grad mode)."""
        if grad_mode.state.enabled and self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf tensor that requires grad is being used in an in-place "
                               "operation; wrap it in `with nanotorch.no_grad():`")
        self.data = view.data
        if view.grad_fn is not None:
            self.grad_fn = view.grad_fn
        self._version[0] += 1
        return self

    def squeeze_(self, dim=None) -> Tensor:
        return self._view_(self.squeeze(dim))

    def unsqueeze_(self, dim: builtins.int) -> Tensor:
        return self._view_(self.unsqueeze(dim))

    def t_(self) -> Tensor:
        return self._view_(self.t())

    def transpose_(self, dim0: builtins.int, dim1: builtins.int) -> Tensor:
        return self._view_(self.transpose(dim0, dim1))


add_methods(_InPlace)
