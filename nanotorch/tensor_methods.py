"""Tensor's methods that are ops, assembled onto ``Tensor``: ``x + y``, ``x.exp()``, ``x.sum()``,
``x.reshape(...)`` ... Each family is a mixin class in its own module, each method a call of an
op class in ``nanotorch.ops`` (where forward and backward are written out):

- ``tensor_conversion.py``: ``to``, ``float()`` ..., ``new_zeros`` ..., ``clone``, ``contiguous``;
- ``tensor_math.py``: the arithmetic operators (``x + y`` ...) and elementwise math (``exp``,
  ``clamp``, ``lerp`` ...), with their in-place forms (``exp_`` ...);
- ``tensor_logic.py``: comparisons (``==``, ``lt`` ...), logical and bitwise ops, ``isnan``,
  ``isclose``, ``any``/``all``;
- ``tensor_counting.py``: ``count_nonzero``, ``unique``, ``bincount``, ``histc``, ``histogram``;
- ``tensor_reductions.py``: ``sum``, ``mean``, ``var``, ``max`` ..., sorting (``sort``, ``topk``),
  cumulative ops (``cumsum`` ...), ``quantile``, ``softmax``;
- ``tensor_shape.py``: ``reshape``, ``view``, ``permute``, ``split``/``chunk``, ``diag``, ``flip`` ...;
- ``tensor_indexing.py``: ``x[i]``, ``gather``/``scatter``, ``index_*``, ``take``, ``masked_*``,
  ``nonzero``, ``where``;
- ``tensor_linalg.py``: ``@``, ``mm``, ``bmm``, ``dot``, ``addmm`` ..., ``det``, ``inverse`` ...;
- ``tensor_args.py``: the argument helpers several families share (``_dim``, ``_array`` ...).

This module holds the autograd glue, ``backward()`` (which runs the engine) and the gradient
hooks, and ``_apply_``, which runs an op method in place (``exp_``, ``scatter_`` ...); and it adds
every family to ``Tensor`` (``add_methods``), so a method is a plain attribute of the class.
The functions ``where``, ``split``, ``chunk``, ``tensordot`` and ``broadcast_shapes`` can be
imported from here too (``nanotorch.functions`` does).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

import numpy as np

from nanotorch.autograd.engine import run_backward
from nanotorch.autograd.gradients import as_tensors, check_create_graph, check_inputs, seed_gradient
from nanotorch.autograd.hooks import RemovableHandle, register_hook, register_post_accumulate_grad_hook
from nanotorch.tensor import Tensor, add_methods
from nanotorch.tensor_args import broadcast_shapes
from nanotorch.tensor_conversion import _ConversionMethods
from nanotorch.tensor_counting import _CountingMethods
from nanotorch.tensor_indexing import _IndexingMethods, where
from nanotorch.tensor_linalg import _LinalgMethods, tensordot
from nanotorch.tensor_logic import _LogicMethods
from nanotorch.tensor_math import _MathMethods
from nanotorch.tensor_reductions import _ReductionMethods
from nanotorch.tensor_shape import _ShapeMethods, chunk, split

__all__ = ["broadcast_shapes", "chunk", "split", "tensordot", "where"]


class _AutogradMethods:
    """Added to ``Tensor`` at the end of this module (``add_methods``), with the families."""

    def backward(self, gradient=None, retain_graph: builtins.bool | None = None,
                 create_graph: builtins.bool = False, inputs=None) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, into ``leaf.grad``;
        given ``inputs`` (a tensor or a sequence), into those tensors' ``.grad`` only (a
        non-leaf's too), and the rest of the graph does not run.

        Unlike PyTorch, a non-scalar output without ``gradient`` is seeded with ones (the
        seed README calls ``z.backward()`` on a vector), i.e. it backpropagates ``z.sum()``.
        ``retain_graph`` defaults to ``create_graph``, which must be False (see
        ``nanotorch.autograd.gradients``).
        """
        check_create_graph(create_graph, "backward")
        if inputs is not None:
            inputs = as_tensors(inputs, "inputs")
            check_inputs(inputs, "backward")
        seed = seed_gradient(self, gradient, implicit_any_shape=True)
        run_backward(self, seed, builtins.bool(retain_graph), inputs)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` each time the gradient w.r.t. this tensor is computed (by
        ``backward()`` or ``autograd.grad``), with all of its paths summed; a tensor it returns
        (same shape and dtype) replaces the gradient: for a leaf, before it is accumulated
        into ``.grad``; for a non-leaf, before it flows on. ``.remove()`` the returned handle
        to stop. The tensor must require grad."""
        return register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(self)`` in each backward once this leaf's ``.grad`` has received all
        of that backward's gradient (``hook`` returns None); ``.remove()`` the returned handle
        to stop. Used by ``DistributedDataParallel`` to start all-reduces during backward."""
        return register_post_accumulate_grad_hook(self, hook)

    # ------------------------------------------------------------ in place
    def _apply_(self, method: Callable, *args) -> Tensor:
        """``self = method(self, *args)`` in the same memory, by the rules of ``tensor_inplace.py``:
        recorded in the graph when ``self`` or a tensor in ``args`` requires grad, else written
        straight in (a result that ``self``'s dtype can't hold raises, as in PyTorch)."""
        if builtins.any(self._records(a) for a in (None, *args)):
            return self._record_inplace(lambda old, _: method(old, *args), None)
        result = method(self, *args).data
        if not np.can_cast(result.dtype, self.data.dtype, "same_kind"):  # PyTorch: a RuntimeError
            raise TypeError(f"result type {result.dtype} can't be cast to the desired output type "
                            f"{self.dtype} of an in-place operation")
        np.copyto(self.data, result, casting="same_kind")
        self._version[0] += 1
        return self


for family in (_AutogradMethods, _ConversionMethods, _MathMethods, _LogicMethods, _CountingMethods,
               _ReductionMethods, _ShapeMethods, _IndexingMethods, _LinalgMethods):
    add_methods(family)
