"""Hooks the backward engine calls: on gradients (``register_hook``) and after accumulation.

- ``Tensor.register_hook(hook)`` stores ``hook`` in ``grad_hooks`` under the place the
  tensor's gradient arrives: a leaf's own id, or, for a non-leaf, its ``grad_fn``'s (so a
  hook registered before an in-place change sees the gradient of the value it was
  registered on, as in PyTorch). The engine calls ``hook(grad)`` with the tensor's complete
  gradient (summed over every path) each time it is computed, by ``backward()`` or
  ``autograd.grad``; a returned tensor replaces it: before it is accumulated into a leaf's
  ``.grad``, before it flows on through a non-leaf's ``grad_fn``.
- ``Tensor.register_post_accumulate_grad_hook(hook)`` stores ``hook`` in
  ``post_accumulate_hooks``; the engine runs it, in every backward, after the last of that
  backward's contributions has been added into the leaf's ``.grad``. DistributedDataParallel
  starts a gradient all-reduce there while the rest of backward goes on.

Both tables are keyed by id (a hook must not keep its tensor or node alive); an entry goes
when its key's object is collected.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np

from nanotorch.tensor import Tensor

# id(leaf tensor) or id(non-leaf's grad_fn) -> hooks registered with ``register_hook``.
grad_hooks: dict[int, list[Callable]] = {}
# id(leaf) -> hooks registered with ``register_post_accumulate_grad_hook``.
post_accumulate_hooks: dict[int, list[Callable]] = {}


class RemovableHandle:
    """Returned by the ``register_*hook`` methods; ``remove()`` unregisters the hook (a
    second ``remove()`` does nothing)."""

    def __init__(self, table: dict, key: int, hook: Callable) -> None:
        self._table, self._key, self._hook = table, key, hook

    def remove(self) -> None:
        hooks = self._table.get(self._key)
        if hooks is not None and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks:
                del self._table[self._key]


def _register(table: dict, owner, hook: Callable) -> RemovableHandle:
    """Add ``hook`` to ``owner``'s list in ``table``; the list goes when ``owner`` does."""
    if not callable(hook):
        raise TypeError(f"hook must be callable, got {type(hook).__name__}")
    key = id(owner)
    if key not in table:
        table[key] = []
        weakref.finalize(owner, table.pop, key, None)
    table[key].append(hook)
    return RemovableHandle(table, key, hook)


def register_hook(tensor, hook: Callable) -> RemovableHandle:
    """Call ``hook(grad)`` each time the gradient w.r.t. ``tensor`` is computed; a tensor it
    returns replaces that gradient."""
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    return _register(grad_hooks, tensor.grad_fn or tensor, hook)


def run_grad_hooks(key: int, grad: np.ndarray) -> np.ndarray:
    """``grad`` passed through the ``register_hook`` hooks under ``key``, in registration
    order: each gets the previous one's result, as a tensor, and may return a replacement of
    the same shape and dtype (or None)."""
    for hook in tuple(grad_hooks.get(key, ())):
        out = hook(Tensor._make(grad, False))
        if out is None:
            continue
        name = getattr(hook, "__name__", type(hook).__name__)
        if not isinstance(out, Tensor):
            raise TypeError(f"hook '{name}' returned a {type(out).__name__}; a hook returns a tensor or None")
        if out.data.shape != grad.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value: it returned shape "
                               f"{out.data.shape} for a gradient of shape {grad.shape}")
        if out.data.dtype != grad.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was {grad.dtype}, "
                               f"got {out.data.dtype})")
        grad = out.data
    return grad


def register_post_accumulate_grad_hook(leaf, hook: Callable) -> RemovableHandle:
    """Call ``hook(leaf)`` in every backward, once ``leaf.grad`` holds all of that backward's
    contributions."""
    if not callable(hook):
        raise TypeError(f"hook must be callable, got {type(hook).__name__}")
    if not leaf.requires_grad or leaf.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks can only be registered on leaf tensors "
                           "that require grad")
    return _register(post_accumulate_hooks, leaf, hook)


def run_hooks(leaf) -> None:
    """Run ``leaf``'s post-accumulate-grad hooks, in registration order."""
    for hook in tuple(post_accumulate_hooks.get(id(leaf), ())):
        hook(leaf)
