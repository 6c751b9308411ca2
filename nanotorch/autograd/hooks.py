"""Post-accumulate-grad hooks: call a function once backward has finished a leaf's ``.grad``.

``Tensor.register_post_accumulate_grad_hook(hook)`` (PyTorch's name) stores ``hook`` here;
the backward engine runs it, in every backward, after the last of that backward's
contributions has been added into the leaf's ``.grad``. DistributedDataParallel starts a
gradient all-reduce there while the rest of backward goes on.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

# id(leaf) -> the hooks registered on it (kept by id: a hook must not keep its tensor alive).
post_accumulate_hooks: dict[int, list[Callable]] = {}


class RemovableHandle:
    """Returned by ``register_post_accumulate_grad_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, key: int, hook: Callable) -> None:
        self._key, self._hook = key, hook

    def remove(self) -> None:
        hooks = post_accumulate_hooks.get(self._key)
        if hooks is not None and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks:
                del post_accumulate_hooks[self._key]


def register_post_accumulate_grad_hook(leaf, hook: Callable) -> RemovableHandle:
    """Call ``hook(leaf)`` in every backward, once ``leaf.grad`` holds all of that backward's
    contributions."""
    if not callable(hook):
        raise TypeError(f"hook must be callable, got {type(hook).__name__}")
    if not leaf.requires_grad or leaf.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks can only be registered on leaf tensors "
                           "that require grad")
    key = id(leaf)
    if key not in post_accumulate_hooks:
        post_accumulate_hooks[key] = []
        weakref.finalize(leaf, post_accumulate_hooks.pop, key, None)
    post_accumulate_hooks[key].append(hook)
    return RemovableHandle(key, hook)


def run_hooks(leaf) -> None:
    """Run ``leaf``'s hooks, in registration order."""
    for hook in tuple(post_accumulate_hooks.get(id(leaf), ())):
        hook(leaf)
