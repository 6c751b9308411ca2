"""The backward pass: walk the graph from the output back to the leaves.

1. Count, for every node reachable from the output, how many of its consumers are in the
   graph (an iterative depth-first walk: no recursion, so a chain of 100,000 ops is fine).
2. Start from the output's node with the seed gradient and run nodes whose consumers have
   all delivered their gradient (a node's output gradient is then complete): call its
   ``backward``, send each input's gradient along its edge, summing where several meet.
3. Leaves that require grad accumulate into ``.grad``; saved arrays are freed unless
   ``retain_graph=True``.
"""

from __future__ import annotations

import numpy as np

from nanotorch.tensor import Tensor


def _root_base(a: np.ndarray) -> int:
    """Identity of the memory an array views, to tell if two gradients share storage."""
    while a.base is not None and isinstance(a.base, np.ndarray):
        a = a.base
    return id(a)


def _accumulate_leaf(leaf: Tensor, g: np.ndarray, handed_out: set) -> None:
    """``leaf.grad += g``; the first gradient is stored without a copy unless it shares
    memory with one already handed to another tensor (so no two ``.grad`` alias)."""
    if g.shape != leaf.data.shape:
        raise RuntimeError(f"gradient of shape {g.shape} for a tensor of shape {leaf.shape}")
    if leaf.grad is None:
        base = _root_base(g)
        if base in handed_out or g.dtype != leaf.data.dtype:
            g = g.astype(leaf.data.dtype)  # a fresh copy
            base = id(g)
        handed_out.add(base)
        leaf.grad = Tensor._make(g, False)
    else:
        leaf.grad.data = leaf.grad.data + g


def run_backward(root: Tensor, gradient: np.ndarray, retain_graph: bool) -> None:
    """Propagate ``gradient`` (the d(something)/d(root), shaped like ``root``) to the leaves."""
    handed_out = {_root_base(gradient)}
    if root.grad_fn is None:
        _accumulate_leaf(root, gradient, handed_out)
        return

    consumers: dict = {}
    stack = [root.grad_fn]
    seen = {root.grad_fn}
    while stack:
        node = stack.pop()
        for edge in node.edges:
            if edge is None or isinstance(edge, Tensor):
                continue
            consumers[edge] = consumers.get(edge, 0) + 1
            if edge not in seen:
                seen.add(edge)
                stack.append(edge)

    grads = {root.grad_fn: gradient}
    ready = [root.grad_fn]
    while ready:
        node = ready.pop()
        grad = grads.pop(node)
        _check_can_run(node)
        retained = getattr(node, "retained_output", None)
        if retained is not None and retained() is not None:
            out = retained()
            g = grad.astype(out.dtype)  # a copy: .grad never aliases another gradient
            out.grad = Tensor._make(g, False) if out.grad is None else out.grad + g
        input_grads = node.backward(node, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for edge, g in zip(node.edges, input_grads):
            if edge is None or g is None:
                continue
            if isinstance(edge, Tensor):
                _accumulate_leaf(edge, g, handed_out)
                continue
            prev = grads.get(edge)
            grads[edge] = g if prev is None else prev + g
            consumers[edge] -= 1
            if consumers[edge] == 0:
                ready.append(edge)
        if not retain_graph:
            _free(node)


def _check_can_run(node) -> None:
    if node.saved_tensors is None:
        raise RuntimeError(
            f"Trying to backward through the graph a second time: {type(node).__name__}'s saved "
            "arrays were freed by the first backward. Pass retain_graph=True to the first "
            "backward() if you need to call it again.")
    for counter, version in node._saved_versions:
        if counter[0] != version:
            raise RuntimeError(
                f"one of the tensors needed by {type(node).__name__}'s backward has been "
                f"modified by an in-place operation (it is at version {counter[0]}, expected "
                f"{version}); use an out-of-place operation instead.")


def _free(node) -> None:
    if node.saved_tensors:
        node.saved_tensors = None
